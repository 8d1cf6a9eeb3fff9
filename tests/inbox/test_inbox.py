"""The inbox state machine: retries with backoff, parking, dead letters,
leases after a crashed worker, replay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.inbox import events as inbox
from integration.models import EventState, InboundEvent
from integration.vendors import errors
from tests import inbox_handlers
from tests.workers import wait_for as workers_wait_for


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
    # The state says it gave up; the error is the last try's, in fixed words
    # a reader's language translates (never an English sentence stored).
    assert event.last_error == errors.TIMED_OUT
    assert event.attempt_log.order_by("-number").first().outcome == "dead"
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
    # The traceback goes to the log; people read fixed words, never Python.
    assert event.last_error == errors.INTERNAL_ERROR


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


@pytest.mark.django_db
def test_a_starting_worker_recovers_stranded_and_dead_events_not_live_ones(
        store, django_capture_on_commit_callbacks):
    """A killed cluster leaves two kinds of events: `pending` ones whose task
    it had pulled from the broker (stranded), and `processing` ones under a
    lease nobody renews any more. A starting worker enqueues the first at
    once and runs the second itself as soon as their lease has run out
    (already lapsed: at once); an event whose lease a live worker renews
    meanwhile stays with that worker. The wait is a time-machine shift,
    handed in as the recovery's sleep."""
    import time_machine

    stranded, lapsed, dead, live, not_due = (store("ok", key=k) for k in "sxdln")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        now = timezone.now()
        InboundEvent.objects.filter(pk__in=[dead.pk, live.pk]).update(
            state=EventState.PROCESSING, locked_until=now + timedelta(seconds=15))
        InboundEvent.objects.filter(pk=lapsed.pk).update(
            state=EventState.PROCESSING, locked_until=now - timedelta(seconds=1))
        InboundEvent.objects.filter(pk=not_due.pk).update(
            next_attempt_at=now + timedelta(minutes=5))
        paused = []

        def time_passes(seconds):
            paused.append(seconds)
            # Meanwhile the live worker's heartbeat renews its lease.
            InboundEvent.objects.filter(pk=live.pk).update(
                locked_until=timezone.now() + timedelta(seconds=seconds) + inbox.LEASE)
            clock.shift(seconds)

        with django_capture_on_commit_callbacks(execute=True) as enqueued:
            assert inbox.inbound_events_recover(sleep=time_passes) == 3
            ran_here = list(inbox_handlers.CALLS)
    assert len(enqueued) == 1 and ran_here == [lapsed.pk, dead.pk]
    assert len(paused) == 1 and 15 < paused[0] <= inbox.LEASE.total_seconds() + 1
    assert sorted(inbox_handlers.CALLS) == sorted([lapsed.pk, dead.pk, stranded.pk])
    assert [_state(e) for e in (stranded, lapsed, dead, live, not_due)] == [
        EventState.DONE, EventState.DONE, EventState.DONE, EventState.PROCESSING,
        EventState.PENDING]


@pytest.mark.django_db(transaction=True)
def test_a_long_job_keeps_its_event_by_renewing_the_lease(two_tenants, monkeypatch):
    """A job may run for minutes (HDE throttled); its lease is short so that a
    dead worker's is not. While the handler runs the lease moves forward, so
    the event is not handed out when the first lease would have ended; when
    the job ends it is released."""
    import threading

    from django.db import connections

    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_ticket"), "tests.inbox_handlers.hold")
    inbox_handlers.RELEASE.clear()
    event = InboundEvent.objects.create(shop=two_tenants["a"]["shop"], source="hde",
                                        source_key="long", event_type="new_ticket")
    worker = threading.Thread(target=lambda: (inbox.inbound_event_process(event_id=event.pk),
                                              connections.close_all()))
    worker.start()
    first = workers_wait_for(lambda: InboundEvent.objects.filter(
        pk=event.pk, state=EventState.PROCESSING).values_list("locked_until", flat=True).first(),
        timeout=10)
    renewed = workers_wait_for(lambda: InboundEvent.objects.filter(
        pk=event.pk, locked_until__gt=first).values_list("locked_until", flat=True).first(),
        timeout=inbox.LEASE_RENEW_EVERY * 3)
    assert renewed - first >= timedelta(seconds=inbox.LEASE_RENEW_EVERY - 1)
    # Where the first lease has run out, a second worker still gets nothing.
    assert inbox.inbound_event_process(event_id=event.pk,
                                       now=first + timedelta(seconds=1)) is None
    inbox_handlers.RELEASE.set()
    worker.join(30)
    event.refresh_from_db()
    assert (event.state, event.locked_until, event.attempts) == (EventState.DONE, None, 1)
    assert inbox_handlers.CALLS == [event.pk]
