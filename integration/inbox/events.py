"""The inbound-event inbox: store first, process at least once, finish in a
visible state.

Lifecycle: `pending` → (claimed with a lease) `processing` → `done` |
`ignored` | `pending` again with `next_attempt_at` (retryable failure, growing
backoff) | `parked` (the vendor refused our key: waits for a person) | `dead`
(gave up; an admin can replay). A worker that dies mid-event leaves it in
`processing` with an expired lease, and the sweep hands it out again, so
handlers must be idempotent in effect (see `integration.core.side_effects`).

Recovery after a killed worker takes seconds, not minutes:
- the lease is short (`LEASE`, 20 s) and renewed every `LEASE_RENEW_EVERY`
  seconds while the handler runs (`integration.core.leases`), up to the task
  time limit: a live job keeps its event however long it legitimately runs,
  a killed one loses it within 20 s;
- when django-q2 starts a worker process (cluster start, or the sentinel
  replacing a dead worker), it runs `inbound_events_recover` in a background
  thread: pending events (whose queued task the dead cluster had pulled and
  took with it) are enqueued at once, and events under a lease nobody renews
  are run right there as soon as it has lapsed, ahead of any backlog;
- the every-minute sweep stays the safety net (a worker that died while the
  others kept running, a task lost by the broker).

Handlers are looked up by (source, event_type) in HANDLERS; they take the
event and raise the client error tree on failure.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from integration.core.leases import lease_kept
from integration.models import (
    ApiCall,
    AttemptOutcome,
    EventAttempt,
    EventSource,
    EventState,
    InboundEvent,
)
from integration.vendors.errors import (
    INTERNAL_ERROR,
    NO_HANDLER,
    ApiError,
    ApiUnauthorized,
    stored_text_named,
)

logger = logging.getLogger("integration.inbox")

# Short and renewed (see the module docstring): a killed worker's event is
# free again at most LEASE after the kill; a live job renews every
# LEASE_RENEW_EVERY seconds, so three renewals in a row must fail before a
# live job's event could be handed out twice (and even then every write is a
# keyed side effect).
LEASE = timedelta(seconds=20)
LEASE_RENEW_EVERY = 5.0
MAX_ATTEMPTS = 8
# 30 s, 1, 2, 4, 8, 16, 32 min... capped at 1 h: a vendor outage of a few
# hours is survived within MAX_ATTEMPTS, HDE's 20-minute ban included.
BACKOFF_BASE = 30
BACKOFF_CAP = 3600

HANDLERS: dict[tuple[str, str], str] = {}


class WebhookSource:
    """The sources the webhook receivers store events under: the receivers
    name them through this service and never import the models."""

    HDE_WEBHOOK = EventSource.HDE_WEBHOOK
    RETAILCRM_TRIGGER = EventSource.RETAILCRM_TRIGGER


def register_handler(source: str, event_type: str, dotted_path: str) -> None:
    HANDLERS[(source, event_type)] = dotted_path


def backoff_seconds(attempts: int) -> int:
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))


def inbound_event_store(*, shop, source: str, source_key: str, event_type: str,
                        payload: dict) -> tuple[InboundEvent, bool]:
    """Store an event once; a repeated delivery returns the stored one.

    A worker can never look for an event that is not committed yet: with the
    ORM broker the task row is written in the same transaction as the event
    (one commit per webhook, and a rollback takes both back); with another
    broker (Redis) it is enqueued after the commit.
    """
    known = HANDLERS.get((source, event_type)) is not None
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                shop=shop, source=source, source_key=source_key[:200], event_type=event_type,
                payload=payload, state=EventState.PENDING if known else EventState.IGNORED,
                last_error="" if known else f"No handler for {source}/{event_type}.",
            )
            if known:
                inbound_event_enqueue(event_id=event.pk)
    except IntegrityError:
        event = InboundEvent.objects.get(shop=shop, source=source, source_key=source_key[:200])
        return event, False
    return event, True


def _broker_is_database() -> bool:
    from django.conf import settings

    return settings.Q_CLUSTER.get("orm") == "default"


def inbound_event_enqueue(*, event_id: int) -> None:
    from django_q.conf import Conf
    from django_q.tasks import async_task

    def enqueue():
        async_task("integration.tasks.inbound_event_process_task", event_id,
                   task_name=f"event-{event_id}", broker=_shared_broker())

    if _broker_is_database() and not Conf.SYNC:
        enqueue()  # same database, same transaction: atomic with the event
    else:
        transaction.on_commit(enqueue)


@lru_cache(maxsize=1)
def _shared_broker():
    """One broker per process. django-q2 builds a new one per task otherwise,
    and its Redis broker opens a new connection pool each time: a TCP connect
    per accepted webhook (measured: Redis accepts were slower than ORM ones)."""
    from django_q.brokers import get_broker

    return get_broker()


def _claim(event_id: int, now):
    """Take the event with a lease; return the lease's end, or None if
    someone else holds it or it is not due. One conditional UPDATE, so two
    workers can't both win."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimable = Q(state=EventState.PENDING) & due | Q(
        state=EventState.PROCESSING, locked_until__lt=now
    )
    until = now + LEASE
    claimed = InboundEvent.objects.filter(claimable, pk=event_id).update(
        state=EventState.PROCESSING, locked_until=until, attempts=F("attempts") + 1
    )
    return until if claimed else None


def _lease_renewal(event_id: int, until):
    """A renewal for the heartbeat: push our lease forward, only while it is
    still ours (processing, with the end we set last)."""
    held = {"until": until}

    def renew() -> bool:
        new_until = max(timezone.now() + LEASE, held["until"])
        renewed = InboundEvent.objects.filter(
            pk=event_id, state=EventState.PROCESSING, locked_until=held["until"],
        ).update(locked_until=new_until)
        if renewed:
            held["until"] = new_until
        return bool(renewed)

    return renew


def task_time_limit() -> float:
    """django-q2's hard limit for one task: renewing past it is pointless."""
    return float(settings.Q_CLUSTER.get("timeout") or 120)


def inbound_event_process(*, event_id: int, now=None) -> str | None:
    """Process one event if it is due; return its final state for this run.
    Each run that claims the event leaves one `EventAttempt` row behind."""
    now = now or timezone.now()
    until = _claim(event_id, now)
    if until is None:
        return None
    event = InboundEvent.objects.select_related("shop").get(pk=event_id)
    attempt = _attempt_open(event, now)
    started = time.monotonic()
    state, error, retry_after = _handle(event, until)
    if state == EventState.PENDING:
        state, error = _retry_later(event, error, retry_after)
    else:
        _finish(event, state, error)
    _attempt_close(attempt, state, error, started)
    return state


def _handle(event: InboundEvent, until) -> tuple[str, str, float | None]:
    """Run the event's handler; say how it went as (state, error, retry
    after). `pending` means a retryable failure."""
    path = HANDLERS.get((event.source, event.event_type))
    if path is None:
        return EventState.IGNORED, NO_HANDLER, None
    handler: Callable = import_string(path)
    try:
        with lease_kept(_lease_renewal(event.pk, until), every=LEASE_RENEW_EVERY,
                        limit=task_time_limit(), name=f"event {event.pk}"):
            handler(event=event)
    except ApiUnauthorized as error:
        return EventState.PARKED, stored_text_named(error), None
    except ApiError as error:
        if not error.retryable:
            return EventState.DEAD, stored_text_named(error), None
        return EventState.PENDING, stored_text_named(error), getattr(error, "retry_after", None)
    except Exception:  # noqa: BLE001 - a bug must not lose the event
        logger.exception("inbox.handler_crashed", extra={"event": event.pk})
        return EventState.PENDING, INTERNAL_ERROR, None
    return EventState.DONE, "", None


def _finish(event: InboundEvent, state: str, error: str) -> str:
    InboundEvent.objects.filter(pk=event.pk).update(
        state=state, last_error=error[:2000], locked_until=None, next_attempt_at=None,
        processed_at=timezone.now(),
    )
    return state


def _retry_later(event: InboundEvent, error: str, retry_after: float | None) -> tuple[str, str]:
    """Schedule the next try with backoff, or give up after the last one;
    return the state and error the event was left with."""
    if event.attempts >= MAX_ATTEMPTS:
        # The state says it gave up; the error stays the last try's own.
        return _finish(event, EventState.DEAD, error), error
    delay = backoff_seconds(event.attempts)
    if retry_after:
        delay = max(delay, int(retry_after) + 1)
    InboundEvent.objects.filter(pk=event.pk).update(
        state=EventState.PENDING, last_error=error[:2000], locked_until=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    return EventState.PENDING, error


# How the event's state after a run reads as the outcome of that attempt.
_OUTCOME_OF_STATE = {
    EventState.DONE: AttemptOutcome.DONE,
    EventState.IGNORED: AttemptOutcome.IGNORED,
    EventState.PENDING: AttemptOutcome.RETRY,
    EventState.PARKED: AttemptOutcome.PARKED,
    EventState.DEAD: AttemptOutcome.DEAD,
}


def _attempt_open(event: InboundEvent, now) -> EventAttempt:
    """Record the try as it starts, so a worker killed mid-run still leaves
    a trace: the next try marks that row interrupted. Numbers continue
    across replays (the event's `attempts` counter starts over; this does
    not)."""
    earlier = EventAttempt.objects.filter(event=event)
    earlier.filter(outcome=AttemptOutcome.RUNNING).update(outcome=AttemptOutcome.INTERRUPTED)
    last = earlier.order_by("-number").values_list("number", flat=True).first() or 0
    return EventAttempt.objects.create(event=event, shop_id=event.shop_id, number=last + 1,
                                       started_at=now)


def _attempt_close(attempt: EventAttempt, state: str, error: str, started: float) -> None:
    """The try's outcome, duration (monotonic clock) and the vendor calls it
    made (the call log ties calls to their event; those since it started)."""
    calls = ApiCall.objects.filter(event_id=attempt.event_id,
                                   created_at__gte=attempt.started_at).count()
    EventAttempt.objects.filter(pk=attempt.pk).update(
        outcome=_OUTCOME_OF_STATE.get(state, AttemptOutcome.RETRY), error=error[:2000],
        duration_ms=round((time.monotonic() - started) * 1000), calls=calls)


def inbound_events_sweep(*, now=None, limit: int = 500, leases: bool = True) -> int:
    """Enqueue due retries and (unless `leases` is False) events whose worker
    died (expired lease)."""
    now = now or timezone.now()
    is_due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    wanted = Q(state=EventState.PENDING) & is_due
    if leases:
        wanted |= Q(state=EventState.PROCESSING, locked_until__lt=now)
    due = InboundEvent.objects.filter(wanted).order_by("created_at").values_list(
        "pk", flat=True)[:limit]
    ids = list(due)
    for event_id in ids:
        inbound_event_enqueue(event_id=event_id)
    return len(ids)


# A starting worker runs this many lapsed events itself, ahead of the queue
# (the rest are enqueued): they were started before anything still queued.
RECOVER_DIRECTLY = 8


def inbound_events_recover(*, now=None, wait: bool = True, sleep=time.sleep) -> int:
    """What a starting worker does (`integration.tasks.worker_started`).

    1. Enqueue what is pending and due: events whose task a killed cluster
       had pulled from the broker (Redis popped it; the ORM broker hides it
       for `retry` seconds) are still `pending` here.
    2. Run the events whose lease has already lapsed, here and now: behind a
       backlog a re-enqueued task would wait for the whole queue, although
       these jobs started before anything in it.
    3. Events still held were held by a live worker or by a dead one; the
       dead one's lease lapses within `LEASE` because nobody renews it. Wake
       when the earliest lease seen ends and look again: a lease that moved
       belongs to a live worker (left alone), one that lapsed is run as in 2.
       Within `LEASE` every lease seen has either moved or lapsed.
    Returns the number of events recovered (enqueued or run).
    """
    now = now or timezone.now()
    recovered = inbound_events_sweep(now=now, leases=False)
    recovered += _run_lapsed(now=now)
    if not wait:
        return recovered
    watched = dict(InboundEvent.objects.filter(
        state=EventState.PROCESSING, locked_until__gte=now,
    ).values_list("pk", "locked_until")[:500])
    while watched:
        pause = (min(watched.values()) - timezone.now()).total_seconds() + 0.5
        sleep(max(0.0, min(pause, LEASE.total_seconds() + 0.5)))
        now = timezone.now()
        current = dict(InboundEvent.objects.filter(
            pk__in=watched, state=EventState.PROCESSING,
        ).values_list("pk", "locked_until"))
        recovered += _run_lapsed(now=now, among=[
            pk for pk, until in current.items() if until is not None and until < now])
        # Still as we saw it and not lapsed yet: keep watching; moved or gone: its own.
        watched = {pk: until for pk, until in current.items()
                   if until is not None and until == watched[pk] and until >= now}
    return recovered


def _run_lapsed(*, now, among: list[int] | None = None) -> int:
    lapsed = InboundEvent.objects.filter(state=EventState.PROCESSING, locked_until__lt=now)
    if among is not None:
        lapsed = lapsed.filter(pk__in=among)
    ids = list(lapsed.order_by("locked_until").values_list("pk", flat=True)[:500])
    for event_id in ids[RECOVER_DIRECTLY:]:
        inbound_event_enqueue(event_id=event_id)
    for event_id in ids[:RECOVER_DIRECTLY]:
        # The claim is conditional: if the periodic sweep's task took it
        # first, this is a no-op.
        inbound_event_process(event_id=event_id)
    return len(ids)


REPLAYABLE_STATES = (EventState.DEAD, EventState.PARKED, EventState.IGNORED)


def inbound_events_replay(*, queryset) -> int:
    """Admin replay: dead or parked events start over with fresh attempts."""
    ids = list(queryset.filter(state__in=REPLAYABLE_STATES).values_list("pk", flat=True))
    InboundEvent.objects.filter(pk__in=ids).update(
        state=EventState.PENDING, attempts=0, next_attempt_at=None, locked_until=None,
        last_error="",
    )
    for event_id in ids:
        inbound_event_enqueue(event_id=event_id)
    return len(ids)


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay of a person's selection did, and why the rest was left:
    the words "nothing to replay: they already succeeded" come from here."""

    queued: int = 0
    succeeded: int = 0  # done: replaying would repeat finished work
    in_progress: int = 0  # pending or processing: the inbox is on them already
    not_allowed: int = 0  # replayable, but in an agency the person may only read

    @property
    def skipped(self) -> int:
        return self.succeeded + self.in_progress + self.not_allowed


def inbound_events_replay_selected(*, queryset, editable_shops) -> ReplayOutcome:
    """Replay the selected events the person may replay (`editable_shops`:
    the shops of agencies they edit, from tenancy.access) and count the
    others by reason, in one aggregate query."""
    counts = queryset.aggregate(
        succeeded=Count("pk", filter=Q(state=EventState.DONE)),
        in_progress=Count("pk", filter=Q(state__in=[EventState.PENDING,
                                                    EventState.PROCESSING])),
        not_allowed=Count("pk", filter=Q(state__in=REPLAYABLE_STATES)
                          & ~Q(shop__in=editable_shops)),
    )
    queued = inbound_events_replay(queryset=queryset.filter(shop__in=editable_shops))
    return ReplayOutcome(queued=queued, **counts)
