"""Schedules declared in code, and the log purge they run.

Why: a mistyped dotted path in a django-q2 schedule fails only when the
schedule fires (`Function ... is not defined`), hours after a deploy; and a
purge that keeps unfinished events or deletes in one huge statement would
lose work or lock the table.
"""

import pydoc
from datetime import timedelta
from io import StringIO
from math import ceil

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule

from integration import tasks
from integration.models import ApiCall, EventSource, EventState, InboundEvent
from integration.ops import retention
from integration.schedules import SCHEDULES

NAMES = {item["name"] for item in SCHEDULES}


@pytest.mark.parametrize("item", SCHEDULES, ids=[item["name"] for item in SCHEDULES])
def test_every_schedule_func_resolves_to_a_callable(item):
    func = pydoc.locate(item["func"])
    assert callable(func), f"{item['name']}: {item['func']} does not resolve"
    assert item["func"].startswith("integration."), "ensure_schedules manages integration.* only"


def test_schedule_names_are_unique():
    assert len(NAMES) == len(SCHEDULES)


@pytest.mark.django_db
def test_ensure_schedules_is_idempotent_and_removes_stale_rows():
    """Run at every deploy: twice gives one row per name with the code's
    values, drops renamed/removed managed schedules and duplicate rows, and
    leaves schedules it does not manage alone."""
    first = next(iter(SCHEDULES))
    Schedule.objects.create(name="renamed-away", func="integration.tasks.gone_task",
                            schedule_type=Schedule.DAILY)
    Schedule.objects.create(name=first["name"], func=first["func"],
                            schedule_type=Schedule.YEARLY)  # drifted by hand
    Schedule.objects.create(name=first["name"], func=first["func"],
                            schedule_type=Schedule.YEARLY)  # and duplicated
    Schedule.objects.create(name="someone-elses", func="othermodule.job",
                            schedule_type=Schedule.DAILY)

    first_run, second_run = StringIO(), StringIO()
    call_command("ensure_schedules", stdout=first_run)
    call_command("ensure_schedules", stdout=second_run)
    assert "1 stale removed" in first_run.getvalue()
    assert "0 stale removed" in second_run.getvalue()

    managed = Schedule.objects.filter(func__startswith="integration.")
    assert sorted(managed.values_list("name", flat=True)) == sorted(NAMES)
    for item in SCHEDULES:
        row = Schedule.objects.get(name=item["name"])
        for field, value in item.items():
            assert getattr(row, field) == value, (item["name"], field)
    assert not Schedule.objects.filter(name="renamed-away").exists()
    assert Schedule.objects.filter(name="someone-elses").exists()


def _aged(model, age_days, **fields):
    row = model.objects.create(**fields)
    model.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    return row


@pytest.mark.django_db
def test_logs_purge_deletes_old_rows_in_batches_and_keeps_the_rest(
    settings, two_tenants, monkeypatch
):
    """Old API calls and old *finished* events go; recent rows and events
    that may still be worked on (pending, processing, parked) stay, however
    old. The batch size is shrunk so the batching itself is visible in the
    DELETE statements."""
    settings.INTEGRATION = {**settings.INTEGRATION, "LOG_RETENTION_DAYS": 7}
    monkeypatch.setattr(retention, "BATCH", 3)
    shop = two_tenants["a"]["shop"]
    other_shop = two_tenants["b"]["shop"]

    call = {"provider": "retailcrm", "method": "GET", "path": "/api/v5/orders"}
    old_calls = [_aged(ApiCall, 8 + i % 30, shop=shop if i % 2 else other_shop, **call)
                 for i in range(10)]
    recent_calls = [_aged(ApiCall, age, shop=shop, **call) for age in (0, 6)]

    def event(key, state, age):
        return _aged(InboundEvent, age, shop=shop, source=EventSource.HDE_WEBHOOK,
                     source_key=key, state=state)

    old_finished = [event(f"old-{state}-{i}", state, 40)
                    for state in (EventState.DONE, EventState.IGNORED, EventState.DEAD)
                    for i in range(2)]
    old_unfinished = [event(f"old-{state}", state, 40)
                      for state in (EventState.PENDING, EventState.PROCESSING,
                                    EventState.PARKED)]
    recent_done = event("recent-done", EventState.DONE, 1)

    with CaptureQueriesContext(connection) as queries:
        deleted = tasks.logs_purge_task()

    assert deleted == len(old_calls) + len(old_finished)
    assert set(ApiCall.objects.values_list("pk", flat=True)) == {c.pk for c in recent_calls}
    assert set(InboundEvent.objects.values_list("pk", flat=True)) == (
        {e.pk for e in old_unfinished} | {recent_done.pk}
    )
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    api_deletes = [sql for sql in deletes if "integration_apicall" in sql.split("WHERE")[0]]
    assert len(api_deletes) == ceil(len(old_calls) / 3)
    assert tasks.logs_purge_task() == 0  # nothing left to do the second time
