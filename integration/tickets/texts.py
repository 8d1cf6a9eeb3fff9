"""Texts the portal writes into HDE and RetailCRM, in the shop's language.

Each RetailCRM note starts with a marker naming the ticket the way people
know it — HDE's ticket number (`unique_id`, e.g. "Заявка UYA-10518" in a
Russian shop), never the portal's internal id — so a manager reading the
customer's history can find the ticket, and a retry after a crash can
recognise what was already written (see `integration.core.side_effects`).

Nothing the portal writes may run as markup on a vendor's screen, whoever
typed the words (a customer's ticket subject, an operator's note, a store's
product names):
- HDE comments, posts and ticket descriptions are HTML (the API takes and
  shows HTML; posts are e-mailed as HTML): every value is escaped and only
  the portal's own tags remain;
- RetailCRM notes and tasks are documented as plain text, but how every
  screen of the CRM shows them is not; HDE titles and custom fields,
  customer names likewise: `vendor_plain` turns angle brackets into
  look-alike characters, so the text reads the same whether it is shown as
  text or as HTML and never opens a tag.
"""

from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from integration.core.formatting import money, status_shown
from integration.customers.types import ContextStatus, CustomerContext
from integration.models import TicketRecord

PLAIN_SUBSTITUTES = str.maketrans({"<": "‹", ">": "›"})


def vendor_plain(text) -> str:
    """A value for a vendor field that may be rendered as HTML or as text."""
    return str(text or "").translate(PLAIN_SUBSTITUTES)


def ticket_number(*, shop, ticket_id: int, number: str = "") -> str:
    """HDE's ticket number as operators see it (`UYA-10518`), from the
    ticket record the job writes first; `#<id>` only when HDE gave none."""
    if not number:
        number = (TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id)
                  .values_list("unique_id", flat=True).first() or "")
    return vendor_plain(number) if number else f"#{int(ticket_id)}"


def ticket_marker(ticket_id: int, *, shop, number: str = "") -> str:
    """"Заявка UYA-10518" / "Ticket UYA-10518": the start of every note the
    portal writes about a ticket, in the shop's language."""
    with translation.override(shop.language):
        return _("Ticket %(number)s") % {
            "number": ticket_number(shop=shop, ticket_id=ticket_id, number=number)}


def summary_comment(*, shop, context: CustomerContext, decision, widget_link: str,
                    unsent_tags=()) -> str:
    """The compact internal comment: who, how valuable, what is in flight.
    `unsent_tags`: tags the rules chose that HDE does not take in its ticket
    update (H-1), named here so operators still see them."""
    with translation.override(shop.language):
        lines = []
        if context.status == ContextStatus.FOUND:
            customer = context.customer
            flags = " · VIP" if customer.vip else ""
            spent = ngettext("%(n)d order, %(total)s spent", "%(n)d orders, %(total)s spent",
                             customer.orders_count)
            lines.append(f"<b>{escape(customer.name)}</b>{flags} — " + spent % {
                "n": customer.orders_count, "total": money(customer.total_sum, shop.currency)})
            active = [o for o in context.orders if o.bucket == "active"][:5]
            for order in active:
                overdue = " ⚠ " + _("overdue") if order.overdue else ""
                status = escape(status_shown(order.status_name))
                lines.append(f"№ {escape(order.number)}: {status}, "
                             f"{money(order.total, order.currency)}{overdue}")
            if not active:
                lines.append(_("No active orders."))
            if context.manager:
                lines.append(_("Manager: %(name)s") % {"name": escape(context.manager.name)})
        elif context.status == ContextStatus.SEVERAL:
            lines.append(_("Several RetailCRM customers match this sender; pick one in the card."))
        elif context.status == ContextStatus.UNAVAILABLE:
            lines.append(_("RetailCRM was not asked about this sender: the portal's key may not "
                           "read customers."))
        else:
            # What the job knows, not a verdict: it searched the ticket's
            # e-mail (and phone, when HDE gave one); the card searches again
            # and offers a search by hand.
            lines.append(_("No RetailCRM customer found for this sender; the card can search "
                           "further."))
        if decision.priority_rule:
            lines.append(_("Priority set by rule: %(rule)s") % {
                "rule": escape(decision.priority_rule)})
        if unsent_tags:
            lines.append(_("Tags (HelpDeskEddy does not take them here): %(tags)s") % {
                "tags": escape(", ".join(unsent_tags))})
        lines.append(f'<a href="{escape(widget_link)}">' + _("Open the customer card") + "</a>")
        return "<p>" + "<br>".join(lines) + "</p>"


def customer_note(*, shop, ticket_id: int, subject: str, number: str = "") -> str:
    """`number`: HDE's ticket number when the caller has it at hand (else the
    ticket record's). No card link: a note is read by everyone with access
    to RetailCRM for as long as it exists, and the card's signed link acts
    (notes, tasks, replies to the customer) for days; the ticket's number
    finds the ticket in HDE."""
    with translation.override(shop.language):
        return _("%(marker)s: %(subject)s — the customer wrote to support.") % {
            "marker": ticket_marker(ticket_id, shop=shop, number=number),
            "subject": vendor_plain(subject)}


def manager_task(*, shop, ticket_id: int, subject: str, order_numbers: list[str],
                 number: str = "") -> str:
    with translation.override(shop.language):
        return _("%(marker)s: customer with an order in delivery (%(orders)s) wrote to "
                 "support: %(subject)s") % {
            "marker": ticket_marker(ticket_id, shop=shop, number=number),
            "orders": vendor_plain(", ".join(order_numbers)), "subject": vendor_plain(subject)}


def closing_note(*, shop, ticket_id: int, subject: str, number: str = "") -> str:
    with translation.override(shop.language):
        return _("%(marker)s closed: %(subject)s") % {
            "marker": ticket_marker(ticket_id, shop=shop, number=number),
            "subject": vendor_plain(subject)}
