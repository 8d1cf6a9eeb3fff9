"""Proactive support: an order hit a problem status, support acts first.

Once per order and status (`side_effect_once`, key
`order:<id>:status:<code>:proactive`):
- the customer already has an open HDE ticket → one internal comment there
  (the operator who talks to them anyway learns it; no second ticket);
- otherwise → a new HDE ticket for the customer: subject and body with the
  order in the shop's language, priority from the shop's rules (the same
  engine as for incoming tickets, fed with the customer's context), the
  department from the order-watch settings, tag `proactive`, and a row in the
  ticket records so the console and the ticket job know the customer and order.

"Without notifying the customer" on HDE's API (reference helpdeskeddy-api.md
§5.4, §6): the ticket is created with `create_from_user=0`, so its opening
message is authored by our staff user, not presented as the client's own
request (which is what HDE acknowledges to the client), and nothing is posted
publicly: posts are e-mailed to the client, comments are staff-only. Whether
HDE also sends a "ticket created" notice to the requester depends on the
account's notification templates, which the API does not control; an account
that must never write first should switch that template off for API tickets.
With `notify_customer` on, one public post tells the customer we are on it.
Requester: the customer's HDE user (found by e-mail; created by HDE from
`user_email` when unknown). A customer without an e-mail gets a ticket owned
by the portal's agent, with the phone in the body.
"""

import logging

from django.utils import timezone

from integration.core.side_effects import side_effect_once
from integration.customers.assembly import order_summary
from integration.customers.context import customer_context_get
from integration.customers.types import TicketInfo
from integration.models import TicketRecord
from integration.orders import texts
from integration.orders.watch import order_statuses_get
from integration.tickets.priority import priority_decide

logger = logging.getLogger("integration.order_proactive")

PROACTIVE_TAG = "proactive"
JOB_DEADLINE = 60.0


def proactive_ticket_open(*, shop, watch, order, crm, event, key: str) -> str:
    """Returns `ticket:<id>` or `comment:<ticket id>:<comment id>`."""
    from zoneinfo import ZoneInfo

    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    hde = HelpDeskEddyClient.for_connection(shop.helpdeskeddy, event=event)
    summary = order_summary(order, statuses=order_statuses_get(crm, naming={order.status}),
                            crm_url=crm.base_url,
                            tz=ZoneInfo(shop.timezone), today=timezone.localdate())
    subject = texts.problem_subject(shop=shop, summary=summary)
    state = {}

    def requester():
        """The customer's context and HDE user, looked up once per run."""
        if not state:
            context = customer_context_get(
                shop=shop, customer_id=order.customer_id, order_number=order.number,
                interactive=False, event=event, deadline=JOB_DEADLINE, raise_errors=True,
                with_hde_history=False) if order.customer_id else None
            email = (context.customer.emails or [""])[0] if context and context.customer else ""
            users = hde.find_users_by_email(email) if email else []
            state.update(context=context, email=email, user=users[0] if users else None)
        return state

    def existing_ticket():
        """A retry after a crash between HDE's answer and our record: the
        ticket we created has our subject among the customer's tickets."""
        user = requester()["user"]
        if user is None:
            return None
        return next((f"ticket:{t.id}" for t in hde.user_tickets(user.id) if t.title == subject),
                    None)

    def perform():
        found = requester()
        context, email, user = found["context"], found["email"], found["user"]
        open_tickets = [t for t in hde.user_tickets(user.id) if not t.is_closed] if user else []
        if open_tickets:
            target = open_tickets[0]
            comment = hde.add_comment(target.id, texts.problem_comment(shop=shop,
                                                                       summary=summary))
            logger.info("order_proactive.commented",
                        extra={"shop": shop.pk, "order": order.id, "ticket": target.id})
            return f"comment:{target.id}:{comment.id}"
        return _create(shop=shop, watch=watch, hde=hde, context=context, email=email,
                       user=user, subject=subject, summary=summary, order=order, key=key)

    return side_effect_once(shop=shop, key=key, perform=perform, find_existing=existing_ticket)


def _create(*, shop, watch, hde, context, email, user, subject, summary, order, key) -> str:
    customer = context.customer if context else None
    phone = (customer.phones or [""])[0] if customer else ""
    info = TicketInfo(id=0, subject=subject, department_id=watch.hde_department_id,
                      channel="api", email=email, phone=phone,
                      user_id=user.id if user else None)
    decision = priority_decide(shop=shop, context=context, ticket=info) if context else None
    tags = list(dict.fromkeys([*(decision.tags if decision else []), PROACTIVE_TAG]))
    ticket = hde.create_ticket(
        title=subject, description=texts.problem_body(shop=shop, summary=summary,
                                                      customer=customer),
        user_id=user.id if user else None, user_email="" if user else email,
        priority_id=decision.priority_id if decision else None,
        department_id=watch.hde_department_id, tags=tags,
        custom_fields=(decision.fields or None) if decision else None, create_from_user=False,
    )
    TicketRecord.objects.update_or_create(shop=shop, ticket_id=ticket.id, defaults={
        "unique_id": ticket.unique_id, "subject": subject[:300], "hde_user_id": ticket.user_id,
        "customer_id": order.customer_id, "order_number": order.number,
        "priority_id": decision.priority_id if decision else None,
        "priority_rule": (decision.priority_rule if decision else "")[:200],
        "status": ticket.status_id, "opened_at": ticket.date_created or timezone.now(),
    })
    if watch.notify_customer and (email or user):
        side_effect_once(shop=shop, key=f"{key}:notify",
                         perform=lambda: hde.add_post(ticket.id, texts.customer_notice(
                             shop=shop, summary=summary)).id)
    logger.info("order_proactive.ticket_created",
                extra={"shop": shop.pk, "order": order.id, "ticket": ticket.id})
    return f"ticket:{ticket.id}"
