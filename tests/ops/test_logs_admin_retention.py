"""Retention of the log tables the sync-log screens show: widget request
timings and refused-secret records go too, each after its own setting."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.models import (
    ApiCall,
    AuthFailure,
    EventSource,
    EventState,
    InboundEvent,
    RateLimitState,
    WidgetRequest,
)
from integration.ops import retention


def _aged(model, age, **fields):
    row = model.objects.create(**fields)
    model.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


@pytest.mark.django_db
def test_widget_requests_and_auth_failures_are_purged_by_their_settings(
    settings, two_tenants, monkeypatch
):
    settings.INTEGRATION = {**settings.INTEGRATION, "LOG_RETENTION_DAYS": 10,
                            "AUTH_FAILURE_RETENTION_HOURS": 6}
    monkeypatch.setattr(retention, "BATCH", 2)
    shop = two_tenants["a"]["shop"]
    widget = {"shop": shop, "request_id": "r", "duration_ms": 5, "outcome": "ok"}
    old_widget = [_aged(WidgetRequest, timedelta(days=11), **widget) for _ in range(5)]
    kept_widget = _aged(WidgetRequest, timedelta(days=9), **widget)
    old_failures = [_aged(AuthFailure, timedelta(hours=7), key=f"hde:{i}") for i in range(3)]
    kept_failure = _aged(AuthFailure, timedelta(hours=5), key="hde:new")
    # An API call that a purged event caused survives the event (and the
    # other way round the event link is simply cleared).
    dead = _aged(InboundEvent, timedelta(days=11), shop=shop, source=EventSource.HDE_WEBHOOK,
                 source_key="k", state=EventState.DEAD)
    call = _aged(ApiCall, timedelta(days=1), shop=shop, provider="retailcrm", method="GET",
                 path="/x", event=dead)

    deleted = retention.logs_purge()

    assert deleted == len(old_widget) + len(old_failures) + 1
    assert list(WidgetRequest.objects.values_list("pk", flat=True)) == [kept_widget.pk]
    assert list(AuthFailure.objects.values_list("pk", flat=True)) == [kept_failure.pk]
    call.refresh_from_db()
    assert call.event_id is None
    assert retention.logs_purge() == 0


@pytest.mark.django_db
def test_retention_defaults_follow_the_deploy_readme(settings):
    """deploy/README.md documents 30 days for logs, 24 h for refused secrets."""
    integration = {k: v for k, v in settings.INTEGRATION.items()
                   if k not in ("LOG_RETENTION_DAYS", "AUTH_FAILURE_RETENTION_HOURS")}
    settings.INTEGRATION = integration
    now = timezone.now()
    AuthFailure.objects.create(key="x")
    AuthFailure.objects.filter(key="x").update(created_at=now - timedelta(hours=23))
    assert retention.logs_purge(now=now) == 0
    assert retention.logs_purge(now=now + timedelta(hours=2)) == 1


@pytest.mark.django_db
def test_idle_throttle_rows_go_bans_and_live_rows_stay():
    """One throttle row per vendor account and key: rotated keys and deleted
    shops must not leave theirs forever (a thousand shops rotate keys)."""
    now = timezone.now()
    day = timedelta(days=1, minutes=1)
    rows = {name: RateLimitState.objects.create(key=name, hits=[], **fields) for name, fields in {
        "rotated-key": {}, "live": {}, "read-recently": {"remaining": 10, "remaining_at": now},
        "banned": {"banned_until": now + timedelta(minutes=5)}}.items()}
    RateLimitState.objects.exclude(key="live").update(updated_at=now - day)

    assert retention.logs_purge() == 1
    assert set(RateLimitState.objects.values_list("key", flat=True)) == set(rows) - {
        "rotated-key"}
