"""Reply templates: variables, conditions, missing data, sending.

Why our own `{{ group.name }}` substitution and not Django's template engine:
templates are written by shop admins and rendered for every ticket; a full
engine would let them `{% include %}` files, call methods or loop forever.
Here a variable is a name from one fixed list, each with its own formatter
(money in the order's currency, dates in the shop's timezone, reusing the
widget's filters), so an unknown name is a save-time error, never a send-time
surprise, and an empty value is detected before anything reaches HDE.

"The order" of a ticket is the order named in it (pinned by the ticket
subject or by the operator) or else the customer's newest active order.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.html import escape, linebreaks, strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integration.core.formatting import money, phone_shown, shop_date, shop_day
from integration.core.side_effects import side_effect_once
from integration.customers.types import (
    ContextStatus,
    CustomerContext,
    OrderGroup,
    OrderSummary,
)
from integration.models import (
    ReplyKind,
    ReplyTemplate,
    SentReply,
    SideEffect,
    TicketRecord,
)
from integration.vendors.errors import ApiValidationError

VARIABLE_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# A double submit arriving while the first one is still talking to HDE is
# refused for this long rather than posted twice.
IN_FLIGHT = timedelta(seconds=60)
STATUS_GROUPS = ("new", "approval", "assembling", "delivery", "complete", "cancel")
# RetailCRM's standard status groups as an operator reads them (a reason on a
# greyed template names the stage, never the group's code).
STATUS_GROUP_LABELS = {
    "new": gettext_lazy("new"), "approval": gettext_lazy("approval"),
    "assembling": gettext_lazy("assembling"), "delivery": gettext_lazy("delivery"),
    "complete": gettext_lazy("completed"), "cancel": gettext_lazy("cancelled"),
}


class ReplyRefused(Exception):
    """The reply cannot be sent (empty variables, unknown template...)."""


@dataclass
class _Scope:
    shop: object
    context: CustomerContext
    order: OrderSummary | None


def _first(values) -> str:
    return values[0] if values else ""


def _quantity(value) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _payment(scope) -> str:
    labels = {"paid": _("paid"), "partially_paid": _("partially paid"),
              "not_paid": _("not paid")}
    return str(labels.get(scope.order.payment_state, ""))


def _order_date(scope) -> str:
    return shop_day(scope.order.created_at, scope.shop.timezone)


def _first_name(scope) -> str:
    """The name a reply greets by. A customer the portal created from an
    e-mail address carries its local part ("ivan.petrov") as a first name:
    that is not a name to greet anyone by, so it counts as missing and the
    reply is greyed until someone fills the name in RetailCRM."""
    customer = scope.context.customer
    name = (customer.first_name or "").strip() if customer else ""
    if not name or any(c.isdigit() or c in "@._" for c in name) or not any(
            c.isalpha() for c in name):
        return ""
    return name


# name -> (label, needs an order, value getter). Labels name the data in the
# admin's list and in the widget's "missing" reasons.
VARIABLES = {
    "customer.first_name": (gettext_lazy("customer first name"), False, _first_name),
    "customer.name": (gettext_lazy("customer name"), False,
                      lambda s: s.context.customer.name if s.context.customer else ""),
    "customer.email": (gettext_lazy("customer e-mail"), False,
                       lambda s: _first(s.context.customer.emails) if s.context.customer else ""),
    "customer.phone": (gettext_lazy("customer phone"), False,
                       lambda s: phone_shown(_first(s.context.customer.phones))
                       if s.context.customer else ""),
    "order.number": (gettext_lazy("order number"), True, lambda s: s.order.number),
    "order.status": (gettext_lazy("order status"), True, lambda s: s.order.status_name),
    "order.date": (gettext_lazy("order date"), True, _order_date),
    "order.total": (gettext_lazy("order total"), True,
                    lambda s: money(s.order.total, s.order.currency or s.shop.currency)),
    "order.items": (gettext_lazy("order items"), True,
                    lambda s: ", ".join(f"{i.name} × {_quantity(i.quantity)}"
                                        for i in s.order.items)),
    "order.payment": (gettext_lazy("payment state"), True, _payment),
    "order.delivery_type": (gettext_lazy("delivery type"), True,
                            lambda s: s.order.delivery.type_name),
    "order.delivery_date": (gettext_lazy("delivery date"), True,
                            lambda s: shop_date(s.order.delivery.date)),
    "order.delivery_address": (gettext_lazy("delivery address"), True,
                               lambda s: s.order.delivery.address),
    "order.track_number": (gettext_lazy("track number"), True,
                           lambda s: s.order.delivery.track_number),
    "manager.name": (gettext_lazy("manager name"), False,
                     lambda s: s.context.manager.name if s.context.manager else ""),
    "manager.phone": (gettext_lazy("manager phone"), False,
                      lambda s: phone_shown(s.context.manager.phone) if s.context.manager else ""),
    "manager.email": (gettext_lazy("manager e-mail"), False,
                      lambda s: s.context.manager.email if s.context.manager else ""),
    "shop.name": (gettext_lazy("shop name"), False, lambda s: s.shop.name),
}


# -- save time -----------------------------------------------------------------
def reply_body_errors(body: str) -> list[str]:
    """What is wrong with a template's text, for the admin form: unknown
    variables and braces that do not form a variable."""
    errors = []
    unknown = [name for name in VARIABLE_RE.findall(body) if name not in VARIABLES]
    if unknown:
        errors.append(_("Unknown variables: %(names)s.")
                      % {"names": ", ".join(f"{{{{ {n} }}}}" for n in dict.fromkeys(unknown))})
    leftover = VARIABLE_RE.sub("", body)
    if "{{" in leftover or "}}" in leftover:
        errors.append(_("Unclosed braces: write a variable as {{ order.number }}."))
    return errors


def reply_groups_errors(codes: list[str]) -> list[str]:
    unknown = [code for code in codes if code not in STATUS_GROUPS]
    if not unknown:
        return []
    return [_("Unknown status groups: %(codes)s. Use: %(known)s.")
            % {"codes": ", ".join(unknown), "known": ", ".join(STATUS_GROUPS)}]


def reply_template_validate(*, body: str, status_groups: list[str]) -> None:
    """Unknown variables are the admin's mistake to fix now, not an
    operator's surprise when sending (raises ValidationError by field)."""
    errors = {}
    if body_errors := reply_body_errors(body or ""):
        errors["body"] = body_errors
    if group_errors := reply_groups_errors(status_groups):
        errors["order_status_groups"] = group_errors
    if errors:
        raise ValidationError(errors)


# -- render time ---------------------------------------------------------------
def ticket_order(context: CustomerContext) -> OrderSummary | None:
    """The order named in the ticket, else the newest active order."""
    if context.pinned_order_number:
        for order in context.orders:
            if order.number == context.pinned_order_number:
                return order
    active = [o for o in context.orders if o.bucket == OrderGroup.ACTIVE]
    return max(active, key=_created, default=None)


def _created(order) -> datetime:
    try:
        moment = datetime.fromisoformat(order.created_at)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reply_conditions_unmet(template: ReplyTemplate, context: CustomerContext,
                           order: OrderSummary | None) -> list[str]:
    """Why the template does not fit this customer and order (empty: fits)."""
    unmet = []
    if template.order_required and order is None:
        unmet.append(_("there is no order"))
    groups = template.status_groups
    if groups and (order is None or order.status_group not in groups):
        unmet.append(_("the order is not at the stage: %(groups)s") % {
            "groups": ", ".join(str(STATUS_GROUP_LABELS.get(g, g)) for g in groups)})
    if template.vip_only and not (context.customer and context.customer.vip):
        unmet.append(_("the customer is not VIP"))
    return unmet


@dataclass
class RenderedReply:
    template: ReplyTemplate
    text: str
    order_number: str = ""
    missing: list[str] = field(default_factory=list)  # labels of empty variables
    unmet: list[str] = field(default_factory=list)  # conditions that do not hold
    no_order: bool = False

    @property
    def sendable(self) -> bool:
        return not self.missing

    @property
    def fits(self) -> bool:
        return not self.unmet

    @property
    def reason(self) -> str:
        if self.no_order:
            return _("Not available: this ticket names no order and the customer has no active "
                     "order.")
        if self.missing:
            return _("Not available: no %(labels)s for this customer.") % {
                "labels": ", ".join(self.missing)}
        return ""


def reply_render(*, shop, template: ReplyTemplate, context: CustomerContext,
                 order: OrderSummary | None = None) -> RenderedReply:
    """Fill the template for this customer. Empty values are listed in
    `missing` and shown as `[label]` so a greyed preview says what is absent."""
    order = order if order is not None else ticket_order(context)
    scope = _Scope(shop=shop, context=context, order=order)
    missing, no_order = [], False

    def fill(match):
        nonlocal no_order
        name = match.group(1)
        label, needs_order, getter = VARIABLES.get(name, (name, False, None))
        value = ""
        if getter is not None and not (needs_order and order is None):
            with translation.override(template.language):
                value = str(getter(scope) or "").strip()
        no_order = no_order or (needs_order and order is None)
        if not value:
            if str(label) not in missing:
                missing.append(str(label))
            return f"[{label}]"
        return value

    text = VARIABLE_RE.sub(fill, template.body).strip()
    return RenderedReply(template=template, text=text, missing=missing, no_order=no_order,
                         order_number=order.number if order else "",
                         unmet=reply_conditions_unmet(template, context, order))


@dataclass
class ReplyOptions:
    suggested: list[RenderedReply]
    others: list[RenderedReply]


def reply_options_build(*, shop, context: CustomerContext) -> ReplyOptions:
    """The widget's list: templates in the shop's language whose conditions
    hold come first (specific ones before general ones, sendable before
    greyed); the rest is offered under "other templates"."""
    order = ticket_order(context)
    templates = ReplyTemplate.objects.for_shop(shop).filter(active=True)
    rendered = [reply_render(shop=shop, template=t, context=context, order=order)
                for t in templates]
    suggested = [r for r in rendered if r.fits and r.template.language == shop.language]
    others = [r for r in rendered if r not in suggested]
    suggested.sort(key=lambda r: (not r.sendable, not r.template.has_conditions,
                                  r.template.position, r.template.pk))
    others.sort(key=lambda r: (r.template.language != shop.language, not r.sendable,
                               r.template.position, r.template.pk))
    return ReplyOptions(suggested=suggested, others=others)


# -- send time -----------------------------------------------------------------
def ticket_context_get(*, shop, ticket_id: int, customer_id: int | None = None,
                       request_id: str = "") -> CustomerContext:
    """The context the widget page showed for this ticket (served warm from
    the cache the page filled), for rendering on the server at send time."""
    from integration.customers.context import customer_context_get
    from integration.tickets.info import ticket_info_get

    record = TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id).first()
    ticket = ticket_info_get(shop=shop, ticket_id=ticket_id, request_id=request_id)
    return customer_context_get(
        shop=shop, ticket=ticket, customer_id=customer_id or (record.customer_id if record
                                                             else None),
        order_number=record.order_number if record else "", hde_user_id=ticket.user_id,
        request_id=request_id)


PHONE_RE = re.compile(r"^[+\d\s()\-]{7,}$")


def customer_context_for_preview(*, shop, who: str = "",
                                 customer_id: int | None = None) -> CustomerContext:
    """The admin preview's customer: by RetailCRM id, e-mail, phone, or else
    an order number (which also becomes "the order" of the preview)."""
    from integration.customers.context import customer_context_get

    who = who.strip()
    lookup = {}
    if customer_id is None:
        if "@" in who:
            lookup["email"] = who
        elif PHONE_RE.match(who) and sum(c.isdigit() for c in who) >= 7:
            lookup["phone"] = who
        else:
            lookup["order_number"] = who
    return customer_context_get(shop=shop, customer_id=customer_id, with_hde_history=False,
                                **lookup)


def reply_html(text: str) -> str:
    """HDE messages are HTML (posts are e-mailed as such): escape the
    plain text and keep its paragraphs and line breaks."""
    return linebreaks(escape(text))


def _plain(html: str) -> str:
    return " ".join(strip_tags(html).split())


AUTHOR_MODE_TTL = 30 * 24 * 3600


def _author_key(connection) -> str:
    return f"hde-post-author:{connection.identity}"


def reply_author_mode(*, shop) -> str:
    """What this HDE account did the last time the portal named an author:
    "allowed" (the reply went out in the operator's name), "ignored" (HDE
    kept its API user as the author) or "" (not tried yet). Remembered per
    connection identity, so the preview can say plainly who the customer
    will see (docs/vendors/open-questions.md H-5)."""
    connection = getattr(shop, "helpdeskeddy", None)
    return cache.get(_author_key(connection), "") if connection is not None else ""


def reply_agent_name(*, shop) -> str:
    """Who HDE shows as the author when the portal names nobody: the
    connection's API user."""
    connection = getattr(shop, "helpdeskeddy", None)
    return connection.agent_email if connection is not None else ""


def reply_operator_find(*, shop, email: str, request_id: str = "") -> int | None:
    """The HDE staff user an operator says they are (their HDE e-mail).
    This only chooses the author of a reply: it is never a permission (the
    widget link is), and a client's address is refused."""
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    email = (email or "").strip()
    if not email:
        return None
    digest = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
    key = f"hde-operator:{shop.helpdeskeddy.identity}:{digest}"
    found = cache.get(key)
    if found is None:
        client = HelpDeskEddyClient.for_connection(shop.helpdeskeddy, interactive=True,
                                                   request_id=request_id)
        staff = [u for u in client.find_users_by_email(email) if u.is_staff]
        found = staff[0].id if staff else 0
        cache.set(key, found, 3600)
    if not found:
        raise ReplyRefused(_("No HelpDeskEddy operator has the e-mail %(email)s.") % {
            "email": email})
    return found


def reply_send(*, shop, ticket_id: int, template_id: int, kind: str, nonce: str,
               context: CustomerContext, request_id: str = "", text: str | None = None,
               author_id: int | None = None) -> SentReply:
    """Send one template to the ticket as a public post or an internal
    comment, once per page nonce.

    The template is rendered here again (never trusted from the browser) so
    a template with empty variables can never reach the customer. A public
    reply is sent only from the preview the operator confirmed: `text` is
    what they read and perhaps edited there (checked for leftover
    variables); without it the rendered text goes (internal comments).

    `author_id`: the operator's HDE user, when they told the card who they
    are. HDE's API takes it as the post's author (§6), but may keep its API
    user instead; the answer says which, and the card remembers it for the
    next preview (`reply_author_mode`). HDE e-mails a public post to the
    customer like any reply; its "new reply" webhook comes back to the
    ticket job, whose side effects are keyed per ticket, so nothing is
    written twice."""
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    if kind not in ReplyKind.values:
        raise ReplyRefused(_("Unknown way of sending."))
    template = (ReplyTemplate.objects.for_shop(shop).filter(pk=template_id, active=True)
                .first())
    if template is None:
        raise ReplyRefused(_("This reply template does not exist in this shop."))
    if context.status != ContextStatus.FOUND:
        raise ReplyRefused(_("The customer is not known, so the template cannot be filled."))
    rendered = reply_render(shop=shop, template=template, context=context)
    if not rendered.sendable:
        raise ReplyRefused(rendered.reason)
    if text is not None:
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise ReplyRefused(_("The reply is empty."))
        if "{{" in text or "}}" in text:
            raise ReplyRefused(_("The reply still has a variable in braces; replace it with "
                                 "the words the customer should read."))
    else:
        text = rendered.text
    key = f"widget:{nonce}:reply"
    done = SentReply.objects.for_shop(shop).filter(key=key).first()
    if done is not None:
        return done
    html = reply_html(text)
    client = HelpDeskEddyClient.for_connection(shop.helpdeskeddy, interactive=True,
                                               request_id=request_id)
    connection = shop.helpdeskeddy

    def perform():
        if kind != ReplyKind.POST:
            return client.add_comment(ticket_id, html).id
        if not author_id:
            return client.add_post(ticket_id, html).id
        try:
            post = client.add_post(ticket_id, html, user_id=author_id)
        except ApiValidationError:
            # An account that refuses a named author (H-5 answer c): the
            # reply still goes out, from the API user.
            cache.set(_author_key(connection), "ignored", AUTHOR_MODE_TTL)
            return client.add_post(ticket_id, html).id
        cache.set(_author_key(connection),
                  "allowed" if post.user_id == author_id else "ignored", AUTHOR_MODE_TTL)
        return post.id

    def find_existing():
        """A second submit of the same form: refuse while the first one may
        still be posting; after that (the first worker died) look in HDE."""
        effect = SideEffect.objects.get(shop=shop, key=key)
        if timezone.now() - effect.created_at < IN_FLIGHT:
            raise ReplyRefused(_("This reply is being sent already."))
        listing = client.list_posts if kind == ReplyKind.POST else client.list_comments
        wanted = _plain(html)
        return next((m.id for m in listing(ticket_id) if _plain(m.text) == wanted), None)

    message_id = side_effect_once(shop=shop, key=key, perform=perform,
                                  find_existing=find_existing)
    record, _created_now = TicketRecord.objects.get_or_create(shop=shop, ticket_id=ticket_id)
    sent, _created_now = SentReply.objects.get_or_create(shop=shop, key=key, defaults={
        "ticket": record, "template": template, "template_name": template.name[:120],
        "kind": kind, "order_number": rendered.order_number, "text": text,
        "hde_message_id": message_id})
    return sent


def replies_sent_on(*, shop, ticket_id: int):
    return (SentReply.objects.for_shop(shop).filter(ticket__ticket_id=ticket_id)
            .order_by("-sent_at")[:10])
