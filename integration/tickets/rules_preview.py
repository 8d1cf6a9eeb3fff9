"""Explaining priority rules before they act: a dry run over recent tickets
and a decision for one e-mail, each with the trace of matched conditions.
Nothing here writes to a vendor.

The dry run reads one customer context per ticket. Read one after another
they made a page of 20 tickets take seconds; they are independent, so they
are read four at a time, each customer once however many of the tickets are
theirs, and without the customer's earlier HDE tickets (the card's history,
which no rule looks at): measured in README "Dry run of priority rules".
"""

from dataclasses import dataclass

from integration.core.threads import map_side_by_side
from integration.customers.context import customer_context_get, order_number_in
from integration.customers.types import CustomerContext, TicketInfo
from integration.models import ShopSettings, TicketRecord
from integration.tickets.priority import Decision, priority_decide
from integration.vendors.helpdeskeddy import ticket_page_url

DRY_RUN_WORKERS = 4


@dataclass
class DryRunRow:
    ticket_id: int
    number: str
    subject: str
    customer: str
    current_priority: int | None
    decision: Decision
    notice: str
    url: str = ""

    @property
    def changes(self) -> bool:
        return self.decision.priority_id not in (None, self.current_priority)


def _context_key(record, pattern: str) -> tuple:
    """Whose context, with which order pinned (as the ticket job pins it:
    the record's order, else a number in the subject)."""
    return (record.customer_id,
            record.order_number or order_number_in(record.subject, pattern))


def rules_dry_run(*, shop, limit: int = 20) -> list[DryRunRow]:
    """What the rules would do to the shop's last `limit` tickets: those
    whose priority would change first, then the rest; newest first in each."""
    records = list(TicketRecord.objects.for_shop(shop).order_by("-created_at", "-pk")[:limit])
    pattern = ShopSettings.of(shop).order_number_pattern
    keys = {record.pk: _context_key(record, pattern) for record in records}
    wanted = list(dict.fromkeys(keys[r.pk] for r in records if r.customer_id))

    def read(key):
        customer_id, order_number = key
        return customer_context_get(shop=shop, customer_id=customer_id,
                                    order_number=order_number, with_hde_history=False)

    # The first alone: it fills the account's reference books (statuses,
    # managers) into the cache, which parallel first reads would each fetch.
    found = [read(key) for key in wanted[:1]]
    found += map_side_by_side(read, wanted[1:], workers=DRY_RUN_WORKERS)
    contexts = dict(zip(wanted, found, strict=True))
    hde = getattr(shop, "helpdeskeddy", None)
    rows = []
    for record in records:
        ticket = TicketInfo(id=record.ticket_id, subject=record.subject,
                            user_id=record.hde_user_id)
        context = (contexts[keys[record.pk]] if record.customer_id
                   else CustomerContext(status="unknown"))
        rows.append(DryRunRow(
            ticket_id=record.ticket_id, number=record.unique_id or str(record.ticket_id),
            subject=record.subject,
            customer=context.customer.name if context.customer else "",
            current_priority=record.priority_id,
            decision=priority_decide(shop=shop, context=context, ticket=ticket),
            notice=context.notice,
            url=ticket_page_url(hde.base_url, record.ticket_id, shop.language) if hde else ""))
    rows.sort(key=lambda row: not row.changes)  # stable: newest first within each group
    return rows


@dataclass
class TryResult:
    context: CustomerContext
    decision: Decision


def rules_try_email(*, shop, email: str) -> TryResult:
    context = customer_context_get(shop=shop, email=email)
    ticket = TicketInfo(id=0, email=email)
    return TryResult(context=context,
                     decision=priority_decide(shop=shop, context=context, ticket=ticket))
