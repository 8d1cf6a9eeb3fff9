"""The inbox state machine: retries with backoff, parking, dead letters,
leases after a crashed worker, replay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.inbox import events as inbox
from integration.models import EventState, InboundEvent
from tests import inbox_handlers


@pytest.fixture(autouse=True)
def _handlers(monkeypatch):
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_ticket"), "tests.inbox_handlers.behave")
    inbox_handlers.CALLS.clear()


@pytest.fixture
def store(two_tenants):
    shop = two_tenants["a"]["shop"]

    def make(outcome, key="k1"):
        event, _ = inbox.inbound_event_store(shop=shop, source="hde", source_key=key,
                                             event_type="new_ticket",
                                             payload={"outcome": outcome})
        return event

    return make


def _state(event):
    event.refresh_from_db()
    return event.state


@pytest.mark.django_db
def test_success_is_done_once(store):
    event = store("ok")
    assert inbox.inbound_event_process(event_id=event.pk) == EventState.DONE
    assert inbox.inbound_event_process(event_id=event.pk) is None  # not claimable again
    assert inbox_handlers.CALLS == [event.pk]


@pytest.mark.django_db
def test_retryable_failure_backs_off_then_dies(store):
    event = store("timeout")
    now = timezone.now()
    delays = []
    for _attempt in range(inbox.MAX_ATTEMPTS):
        state = inbox.inbound_event_process(event_id=event.pk, now=now)
        event.refresh_from_db()
        if state == EventState.PENDING:
            delays.append(round((event.next_attempt_at - timezone.now()).total_seconds()))
            # Not due yet: a second worker gets nothing.
            assert inbox.inbound_event_process(event_id=event.pk, now=now) is None
            now = event.next_attempt_at + timedelta(seconds=1)
    assert event.state == EventState.DEAD
    assert "Gave up after 8 attempts" in event.last_error
    assert delays == sorted(delays) and delays[0] in (29, 30) and delays[-1] <= 3600
    assert len(inbox_handlers.CALLS) == inbox.MAX_ATTEMPTS


@pytest.mark.django_db
def test_rate_limit_waits_at_least_retry_after(store):
    event = store("rate_limited")
    assert inbox.inbound_event_process(event_id=event.pk) == EventState.PENDING
    event.refresh_from_db()
    assert (event.next_attempt_at - timezone.now()).total_seconds() > 590


@pytest.mark.django_db
@pytest.mark.parametrize("outcome,state", [("unauthorized", EventState.PARKED),
                                           ("validation", EventState.DEAD)])
def test_final_failures(store, outcome, state):
    event = store(outcome)
    assert inbox.inbound_event_process(event_id=event.pk) == state
    event.refresh_from_db()
    assert event.last_error


@pytest.mark.django_db
def test_a_bug_in_a_handler_is_retried_not_lost(store):
    event = store("crash")
    assert inbox.inbound_event_process(event_id=event.pk) == EventState.PENDING
    event.refresh_from_db()
    assert "ZeroDivisionError" in event.last_error


@pytest.mark.django_db
def test_crashed_worker_lease_expires_and_sweep_recovers(store, django_capture_on_commit_callbacks):
    event = store("ok")
    # A worker claimed it and died: state processing, lease in the past.
    InboundEvent.objects.filter(pk=event.pk).update(
        state=EventState.PROCESSING, locked_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert inbox.inbound_events_sweep() == 1
    assert _state(event) == EventState.DONE


@pytest.mark.django_db
def test_live_lease_is_respected(store):
    event = store("ok")
    InboundEvent.objects.filter(pk=event.pk).update(
        state=EventState.PROCESSING, locked_until=timezone.now() + timedelta(minutes=4))
    assert inbox.inbound_event_process(event_id=event.pk) is None
    assert inbox.inbound_events_sweep() == 0


@pytest.mark.django_db
def test_replay_restarts_dead_events(store, monkeypatch, django_capture_on_commit_callbacks):
    event = store("validation")
    inbox.inbound_event_process(event_id=event.pk)
    assert _state(event) == EventState.DEAD
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_ticket"), "tests.inbox_handlers.succeed")
    with django_capture_on_commit_callbacks(execute=True):
        assert inbox.inbound_events_replay(queryset=InboundEvent.objects.all()) == 1
    event.refresh_from_db()
    assert (event.state, event.attempts) == (EventState.DONE, 1)


@pytest.mark.django_db
def test_event_without_handler_is_stored_as_ignored(two_tenants):
    event, created = inbox.inbound_event_store(
        shop=two_tenants["a"]["shop"], source="hde", source_key="x", event_type="mystery",
        payload={})
    assert created and event.state == EventState.IGNORED
