"""One history row per processing attempt of an event, over real HTTP to the
emulators: a try that failed keeps its error after the next one succeeds, a
replay adds to the history instead of wiping it, and the event's page in the
sync logs shows every try in words."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from integration.inbox.events import (
    inbound_event_process,
    inbound_event_store,
    inbound_events_replay,
    inbound_events_sweep,
)
from integration.models import AttemptOutcome, EventSource, EventState, InboundEvent
from sandbox.retailcrm.models import Account as RcAccount
from tests.workers import emulator_tickets


def _deliver(shop, ticket_id):
    """A webhook arrives: stored, then processed inline (django-q2 sync mode)."""
    event, _ = inbound_event_store(shop=shop, source=EventSource.HDE_WEBHOOK,
                                   source_key=f"new_ticket:{ticket_id}",
                                   event_type="new_ticket", payload={"ticket_id": ticket_id})
    return InboundEvent.objects.get(pk=event.pk)


def test_a_failed_try_stays_in_the_history_after_the_retry_succeeds(shop, client, admin_user):
    [ticket_id] = emulator_tickets(1, ["ivan.petrov@example.ru"])
    RcAccount.objects.filter(code="demo").update(fault="500")

    event = _deliver(shop, ticket_id)
    assert event.state == EventState.PENDING

    RcAccount.objects.filter(code="demo").update(fault="")
    InboundEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    inbound_events_sweep()
    event.refresh_from_db()
    assert event.state == EventState.DONE and event.last_error == ""

    first, second = event.attempt_log.order_by("number")
    assert (first.number, first.outcome) == (1, AttemptOutcome.RETRY)
    assert "RetailCRM" in first.error and first.calls >= 1
    assert (second.number, second.outcome, second.error) == (2, AttemptOutcome.DONE, "")
    assert second.calls > first.calls  # the successful try read and wrote
    assert first.duration_ms is not None and second.duration_ms is not None
    assert first.started_at <= second.started_at

    client.force_login(admin_user)
    page = client.get(reverse("admin:integration_inboundevent_change", args=[event.pk]),
                      HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "Processing attempts" in text
    table = text[text.index('id="event-attempts"'):text.index("</table>",
                                                               text.index('id="event-attempts"'))]
    assert table.count("<tr data-outcome=") == 2
    assert "Failed, will retry" in table and "Done" in table


def test_a_replay_adds_to_the_history_and_a_killed_try_reads_interrupted(shop):
    [ticket_id] = emulator_tickets(1, ["olga.k@example.ru"])
    connection = shop.helpdeskeddy
    connection.api_key = "revoked-key-000"
    connection.save()

    event = _deliver(shop, ticket_id)
    assert event.state == EventState.PARKED
    [parked] = event.attempt_log.all()
    assert parked.outcome == AttemptOutcome.PARKED and parked.error

    # A worker claims the replayed event and dies mid-run: its row stays
    # "running" until the next claim (the lease lapsed) marks it interrupted.
    assert inbound_events_replay(queryset=InboundEvent.objects.filter(pk=event.pk)) == 1
    event.refresh_from_db()
    assert event.state == EventState.PARKED  # the replay ran inline, parked again
    InboundEvent.objects.filter(pk=event.pk).update(
        state=EventState.PROCESSING, locked_until=timezone.now() - timedelta(seconds=1))
    event.attempt_log.filter(number=2).update(outcome=AttemptOutcome.RUNNING)
    inbound_event_process(event_id=event.pk)

    outcomes = list(event.attempt_log.order_by("number").values_list("number", "outcome"))
    assert outcomes == [(1, AttemptOutcome.PARKED), (2, AttemptOutcome.INTERRUPTED),
                        (3, AttemptOutcome.PARKED)]
