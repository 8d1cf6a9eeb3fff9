"""Texts of proactive tickets, in the shop's language.

Status names come from RetailCRM as the account spells them; everything the
portal words itself goes through gettext. The subject names the order and
its status, which is also how a retry recognises a ticket it already created
(services.order_proactive).
"""

from django.utils import translation
from django.utils.html import escape
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from integration.core.formatting import money, phones_shown, shop_date, shop_day, status_shown
from integration.customers.types import CustomerProfile, OrderSummary
from integration.tickets.texts import vendor_plain


def problem_subject(*, shop, summary: OrderSummary) -> str:
    """The HDE ticket's title: plain text wherever HDE shows it (see
    integration.tickets.texts on what the vendors render)."""
    with translation.override(shop.language):
        return _("%(status)s: order %(number)s") % {
            "status": capfirst(vendor_plain(status_shown(summary.status_name))),
            "number": vendor_plain(summary.number)}


def _order_lines(summary: OrderSummary, shop) -> list[str]:
    """The order as a person reads it: dates in the shop's time zone and
    language, money in its currency, names (not codes) from RetailCRM."""
    lines = [_("Order %(number)s of %(date)s, %(total)s") % {
        "number": escape(summary.number),
        "date": escape(shop_day(summary.created_at, shop.timezone)),
        "total": money(summary.total, summary.currency)}]
    for item in summary.items[:10]:
        quantity = f"{item.quantity:g}"
        lines.append(f"— {escape(item.name)} × {quantity}, {money(item.price, summary.currency)}")
    delivery = summary.delivery
    if delivery.type_name or delivery.date or delivery.address:
        parts = [p for p in (delivery.type_name, shop_date(delivery.date), delivery.address) if p]
        lines.append(_("Delivery: %(details)s") % {"details": escape(", ".join(parts))})
    if delivery.track_number:
        lines.append(_("Tracking number: %(track)s") % {"track": escape(delivery.track_number)})
    return lines


def problem_body(*, shop, summary: OrderSummary, customer: CustomerProfile | None) -> str:
    """The ticket's first message. Staff-authored and never e-mailed unless
    the shop switched customer notification on; still, nothing in it is
    internal-only (no manager comments), in case the customer sees it."""
    with translation.override(shop.language):
        lines = [_("The order moved to the status «%(status)s» in RetailCRM. This ticket was "
                   "opened by the portal before the customer wrote.")
                 % {"status": escape(summary.status_name)} if summary.status_name else
                 _("The order moved to a status without a name in RetailCRM. This ticket was "
                   "opened by the portal before the customer wrote.")]
        if customer is not None:
            contacts = ", ".join([*customer.emails, *phones_shown(customer.phones)])
            lines.append(_("Customer: %(name)s") % {"name": escape(customer.name)}
                         + (f" ({escape(contacts)})" if contacts else ""))
        lines.extend(_order_lines(summary, shop))
        lines.append(f'<a href="{escape(summary.url)}">' + _("Open the order in RetailCRM")
                     + "</a>")
        return "<p>" + "<br>".join(lines) + "</p>"


def problem_comment(*, shop, summary: OrderSummary) -> str:
    """The internal comment on the customer's open ticket instead of a new one."""
    with translation.override(shop.language):
        lines = [_("Heads-up: order %(number)s moved to the status «%(status)s» in RetailCRM.")
                 % {"number": escape(summary.number), "status": escape(summary.status_name)}
                 if summary.status_name else
                 _("Heads-up: order %(number)s moved to a status without a name in RetailCRM.")
                 % {"number": escape(summary.number)}]
        lines.extend(_order_lines(summary, shop)[1:])
        lines.append(f'<a href="{escape(summary.url)}">' + _("Open the order in RetailCRM")
                     + "</a>")
        return "<p>" + "<br>".join(lines) + "</p>"


def customer_notice(*, shop, summary: OrderSummary) -> str:
    """The public reply, only when the shop asked to notify customers."""
    with translation.override(shop.language):
        if not summary.status_name:  # the customer is not told "unnamed status"
            return "<p>" + _(
                "Hello! We noticed a problem with your order %(number)s and are already "
                "working on it. We will get back to you shortly.") % {
                "number": escape(summary.number)} + "</p>"
        return "<p>" + _(
            "Hello! We noticed a problem with your order %(number)s (%(status)s) and are "
            "already working on it. We will get back to you shortly.") % {
            "number": escape(summary.number), "status": escape(summary.status_name)} + "</p>"
