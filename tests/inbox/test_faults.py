"""Vendor faults seen from the ticket job and the operator's screens, over
real HTTP to both emulators: the job never loses an event and never writes
twice; while a vendor is down the backlog waits with a readable reason and
drains afterwards; during an HDE ban no request reaches HDE at all; garbage
answers (truncated JSON, an HTML page, a body that stalls) are retried, not
crashed on. Process-level faults (SIGKILL, dropped database connection) are
in test_faults_workers.py.

"Time passes" is written down, never slept: the retry's `next_attempt_at`
(or the ban's end) is moved into the past, then the real sweep runs.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integration.inbox.events import inbound_event_store, inbound_events_sweep
from integration.models import (
    ApiCall,
    ConnectionStatus,
    EventSource,
    EventState,
    InboundEvent,
    RateLimitState,
    SideEffect,
)
from integration.vendors.errors import INTERNAL_ERROR
from sandbox.hde.models import Account as HdeAccount
from sandbox.hde.models import Message
from sandbox.retailcrm.models import Account as RcAccount
from tests.workers import emulator_tickets

EMAIL = "ivan.petrov@example.ru"


def _deliver(shop, tickets):
    """Webhooks arrive: stored, then processed inline (django-q2 sync mode)."""
    for ticket_id in tickets:
        inbound_event_store(shop=shop, source=EventSource.HDE_WEBHOOK,
                            source_key=f"new_ticket:{ticket_id}", event_type="new_ticket",
                            payload={"ticket_id": ticket_id})
    return InboundEvent.objects.filter(shop=shop, event_type="new_ticket")


def _time_passes(events):
    """The retries fall due; the sweep (the every-minute schedule) runs."""
    events.filter(state=EventState.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    return inbound_events_sweep()


def _comments(ticket_id):
    return Message.objects.filter(ticket__account__code="demo", ticket__hid=ticket_id,
                                  is_comment=True).count()


def test_retailcrm_down_for_a_while_backlog_waits_visibly_then_drains(shop, client,
                                                                     admin_user):
    tickets = emulator_tickets(3, [EMAIL])
    RcAccount.objects.filter(code="demo").update(fault="500")

    events = _deliver(shop, tickets)

    assert set(events.values_list("state", flat=True)) == {EventState.PENDING}
    for event in events:
        assert "RetailCRM" in event.last_error and event.next_attempt_at > timezone.now()
    assert all(_comments(t) == 0 for t in tickets)  # nothing half-written in HDE
    # Operators see it: the connection is failing in the admin, with the reason.
    shop.retailcrm.refresh_from_db()
    assert shop.retailcrm.status in {ConnectionStatus.FAILING, ConnectionStatus.NEEDS_ATTENTION}
    client.force_login(admin_user)
    shops_page = client.get(reverse("admin:integration_shop_changelist")).content.decode()
    assert shop.retailcrm.get_status_display() in shops_page
    events_page = client.get(reverse("admin:integration_inboundevent_changelist")).content
    assert b"Pending" in events_page

    # A retry while it is still down changes nothing but the attempt count.
    assert _time_passes(events) == 3
    assert set(events.values_list("state", flat=True)) == {EventState.PENDING}
    assert set(events.values_list("attempts", flat=True)) == {2}

    RcAccount.objects.filter(code="demo").update(fault="")
    assert _time_passes(events) == 3
    assert set(events.values_list("state", flat=True)) == {EventState.DONE}
    assert [_comments(t) for t in tickets] == [1, 1, 1]
    shop.retailcrm.refresh_from_db()
    assert shop.retailcrm.status == ConnectionStatus.OK


def test_during_an_hde_ban_not_one_request_reaches_hde(shop, hde_limits):
    hde_limits(HDE_BAN_SECONDS=600)
    tickets = emulator_tickets(4, [EMAIL])
    HdeAccount.objects.filter(code="demo").update(
        rate_limit_enabled=True, rate_limit_per_minute=10000,
        banned_until=timezone.now() + timedelta(minutes=10))
    before = HdeAccount.objects.get(code="demo").requests_received

    events = _deliver(shop, tickets[:1])
    # The first call learns of the ban (401 "Ban") and the portal remembers it.
    assert HdeAccount.objects.get(code="demo").requests_received == before + 1
    state = RateLimitState.objects.get(key__startswith="helpdeskeddy:")
    assert state.banned_until > timezone.now() + timedelta(minutes=9)

    events = _deliver(shop, tickets[1:])
    assert _time_passes(events) == 4
    assert HdeAccount.objects.get(code="demo").requests_received == before + 1
    assert set(events.values_list("state", flat=True)) == {EventState.PENDING}
    for event in events:
        assert event.next_attempt_at >= state.banned_until - timedelta(seconds=5)
    assert ApiCall.objects.filter(shop=shop, outcome="banned").count() >= 1

    # The ban lifts (vendor and portal agree it is over): the backlog drains.
    HdeAccount.objects.filter(code="demo").update(banned_until=None)
    RateLimitState.objects.filter(pk=state.pk).update(banned_until=timezone.now())
    assert _time_passes(events) == 4
    assert set(events.values_list("state", flat=True)) == {EventState.DONE}
    assert [_comments(t) for t in tickets] == [1, 1, 1, 1]


@pytest.mark.parametrize("vendor,fault", [
    ("hde", "malformed_json"), ("hde", "html"), ("hde", "slow_body"),
    ("retailcrm", "malformed"), ("retailcrm", "html"), ("retailcrm", "slow"),
])
def test_garbage_answers_are_retried_not_crashed_on(shop, hde_limits, rc_knobs, vendor, fault):
    hde_limits(HTTP_READ_TIMEOUT=1.0, HTTP_RETRY_TOTAL=0)
    rc_knobs.INTEGRATION = {**rc_knobs.INTEGRATION, "HTTP_READ_TIMEOUT": 1.0,
                            "HTTP_RETRY_TOTAL": 0}
    [ticket] = emulator_tickets(1, [EMAIL])
    if vendor == "hde":  # the body stalls 3 s between its halves: a read timeout
        HdeAccount.objects.filter(code="demo").update(fault_kind=fault, fault_next=1,
                                                      fault_sleep_seconds=3.0)
    else:
        RcAccount.objects.filter(code="demo").update(fault=fault, fault_burst=1,
                                                     slow_body_ms=3000)

    events = _deliver(shop, [ticket])

    event = events.get()
    assert event.state == EventState.PENDING, event.last_error
    assert event.last_error != INTERNAL_ERROR, event.last_error
    assert ("helpdeskeddy" if vendor == "hde" else "retailcrm") in event.last_error.lower()
    assert _comments(ticket) == 0 or vendor == "retailcrm"  # never a comment on garbage

    assert _time_passes(events) == 1
    event.refresh_from_db()
    assert event.state == EventState.DONE, event.last_error
    assert _comments(ticket) == 1
    assert SideEffect.objects.filter(shop=shop, key=f"ticket:{ticket}:hde_comment",
                                     state="done").count() == 1
