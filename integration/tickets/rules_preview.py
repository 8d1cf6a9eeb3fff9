"""Explaining priority rules before they act: a dry run over recent tickets
and a decision for one e-mail, each with the trace of matched conditions.
Nothing here writes to a vendor."""

from dataclasses import dataclass

from integration.customers.context import customer_context_get
from integration.customers.types import CustomerContext, TicketInfo
from integration.models import TicketRecord
from integration.tickets.priority import Decision, priority_decide


@dataclass
class DryRunRow:
    ticket_id: int
    subject: str
    customer: str
    current_priority: int | None
    decision: Decision
    notice: str

    @property
    def changes(self) -> bool:
        return self.decision.priority_id not in (None, self.current_priority)


def rules_dry_run(*, shop, limit: int = 20) -> list[DryRunRow]:
    rows = []
    for record in TicketRecord.objects.for_shop(shop).order_by("-created_at")[:limit]:
        ticket = TicketInfo(id=record.ticket_id, subject=record.subject,
                            user_id=record.hde_user_id)
        context = (customer_context_get(shop=shop, customer_id=record.customer_id,
                                        ticket=ticket, order_number=record.order_number)
                   if record.customer_id else CustomerContext(status="unknown"))
        rows.append(DryRunRow(
            ticket_id=record.ticket_id, subject=record.subject,
            customer=context.customer.name if context.customer else "—",
            current_priority=record.priority_id,
            decision=priority_decide(shop=shop, context=context, ticket=ticket),
            notice=context.notice))
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
