"""Where the portal's work on one ticket stands, for the card's live strip.

The card can be open before the ticket job has run (the browser extension
asks for a link as soon as the operator opens the ticket; the emulator frames
the link the job's own update wrote, while the job still writes the comment
and the RetailCRM note). What it shows then would be out of date a second
later: "unknown customer" for a sender the job is about to create, no
priority rule yet. So the card says "processing…" and asks again every few
seconds until the inbox says the ticket's events are finished, then reloads
its body once.

The inbox is the record: a ticket's HDE events are stored under keys
`new_ticket:<id>`, `new_reply:<id>:…`, `ticket_changed:<id>:…`
(integration.inbox.keys), each `pending` → `processing` → `done` (or
retried, parked, dead). Nothing here calls a vendor.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from integration.core.formatting import shop_datetime
from integration.inbox.keys import ticket_events_q
from integration.models import EventSource, EventState, InboundEvent, TicketRecord

WAITING = "waiting"  # no event stored yet: HDE's dispatcher has not called
PROCESSING = "processing"
RETRYING = "retrying"
DONE = "done"
FAILED = "failed"
BUSY = {WAITING, PROCESSING, RETRYING}
# Polls of the card while nothing has arrived at all before it stops asking
# (every 2 s: two minutes); a ticket the dispatcher never sends (no rule
# configured) must not keep a page busy forever. Only a ticket younger than
# WAITING_AGE is waited for: an older one the portal never saw (opened before
# the shop was connected) is simply shown.
WAITING_POLLS = 60
WAITING_AGE = timedelta(minutes=10)


@dataclass
class JobState:
    state: str
    text: str = ""  # what the strip says, in the shop's language
    marker: str = ""  # changes when anything about the ticket's processing changes

    @property
    def busy(self) -> bool:
        return self.state in BUSY


def _events(shop, ticket_id: int):
    return (InboundEvent.objects.for_shop(shop)
            .filter(source=EventSource.HDE_WEBHOOK)
            .filter(ticket_events_q(ticket_id)))


def _recent(created_at: str) -> bool:
    try:
        created = datetime.fromisoformat(created_at)
    except (TypeError, ValueError):
        return False
    if timezone.is_naive(created):
        created = timezone.make_aware(created)
    return timezone.now() - created < WAITING_AGE


def ticket_job_state(*, shop, ticket_id: int, polls: int = 0,
                     created_at: str = "") -> JobState:
    """Where the ticket's events stand (processing while any is pending or
    running; failed when the newest gave up), worded for the operator.
    `created_at`: the ticket's creation in HDE (TicketInfo), to tell a ticket
    on its way to the portal from one that predates it."""
    events = list(_events(shop, ticket_id).order_by("-created_at", "-pk")[:20])
    record = TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id).first()
    if not events:
        if record is not None or polls >= WAITING_POLLS or not _recent(created_at):
            return JobState(DONE, marker="none")
        return JobState(WAITING, _("Processing the ticket…"), marker="waiting")
    marker = hashlib.sha256(",".join(f"{e.pk}:{e.state}:{e.attempts}" for e in events)
                            .encode()).hexdigest()[:16]
    # Busy while any of them is: the echo of the portal's own update is
    # finished long before the job that made it.
    busy = [e for e in events if e.state in (EventState.PENDING, EventState.PROCESSING)]
    now = timezone.now()
    waiting = [e for e in busy if e.state == EventState.PENDING and e.attempts
               and e.next_attempt_at and e.next_attempt_at > now]
    if waiting and len(waiting) == len(busy):
        retry_at = min(e.next_attempt_at for e in waiting)
        return JobState(RETRYING, _(
            "Processing is delayed: a service did not answer. The portal tries again at "
            "%(time)s.") % {"time": shop_datetime(retry_at.isoformat(), shop.timezone)[-5:]},
            marker)
    if busy:
        return JobState(PROCESSING, _("Processing the ticket…"), marker)
    if events[0].state in (EventState.DEAD, EventState.PARKED):
        return JobState(FAILED, _(
            "The portal could not process this ticket. An administrator can see why and "
            "replay it in the sync log."), marker)
    if record is not None and record.priority_rule:
        return JobState(DONE, _("Ticket processed: priority set by the rule «%(rule)s».") % {
            "rule": record.priority_rule}, marker)
    return JobState(DONE, _("Ticket processed."), marker)
