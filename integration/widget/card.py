"""The card a widget link opens: which customer it shows and which forms it
hands out (the page view renders it; the rules live here, not in the view).

The card shows the ticket's requester as the lookup chain resolves them (the
customer the ticket is linked to, the remembered customer of the HDE user,
or a fresh search), and records that customer, or the candidates when
several match, as the ticket's scope. Another customer is shown only when it
is in that scope (integration.widget.scope); any other `?customer=` is
ignored with a notice and the requester is shown instead.
"""

import inspect
import time
import uuid
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from integration.customers.context import customer_context_get
from integration.customers.types import ContextStatus, CustomerContext, TicketInfo
from integration.models import ScopeReason, TicketRecord, WidgetRequest
from integration.replies import service as reply_service
from integration.tickets.info import requester_notice, ticket_info_get
from integration.vendors.errors import ApiError, clause, vendor_detail
from integration.widget.profile import profile_rows
from integration.widget.scope import (
    form_nonce_issue,
    form_nonces_expire,
    scope_add,
    scope_expire,
    scope_reason,
    scope_search_remember,
)

ORDERS_PAGE_SIZE = 20
# The context service answers in two steps where it can (profile and orders
# after one RetailCRM round-trip, then notes, history and the manager): the
# page paints the first and fills the reserved blocks from the second. A
# context service without `parts` answers complete at once, and the page
# then needs no second request.
TWO_STEP = "parts" in inspect.signature(customer_context_get).parameters


@dataclass
class Card:
    shop: object
    ticket: TicketInfo
    context: CustomerContext
    ticket_error: str = ""
    refused: str = ""  # why the asked-for customer is not shown
    forms: dict = field(default_factory=dict)  # action -> nonce
    candidates: list = field(default_factory=list)  # (Candidate, nonce)
    profile: list = field(default_factory=list)
    replies: object = None
    replies_sent: tuple = ()

    @property
    def complete(self) -> bool:
        """False after the first step: notes, history and the manager follow."""
        return getattr(self.context, "complete", True)

    @property
    def manager_ready(self) -> bool:
        """The manager is painted with the first step when the users book
        (cached, or read beside the first round-trip) names them, or the
        customer has none: the slot above the orders then never changes
        height when the rest arrives."""
        customer = self.context.customer
        return (self.complete or self.context.manager is not None
                or (customer is not None and customer.manager_id is None))

    @property
    def orders_pending(self) -> range:
        """Places kept for orders the second step will add (the customer's
        own count says how many the page will hold), so the card does not
        jump when they arrive."""
        if self.complete:
            return range(0)
        ctx = self.context
        return range(max(0, min(ORDERS_PAGE_SIZE, ctx.orders_total_count) - len(ctx.orders)))

    @property
    def buckets(self) -> dict:
        return {name: [o for o in self.context.orders if o.bucket == name]
                for name in ("active", "completed", "cancelled")}

    @property
    def next_page(self) -> int | None:
        ctx = self.context
        return ctx.orders_page + 1 if ctx.orders_page * ORDERS_PAGE_SIZE < \
            ctx.orders_total_count else None


def widget_request_record(*, shop, request_id, channel, started, context) -> None:
    """One row per card or API answer: how long, from the cache or not, what
    state (the health dashboard's widget timings)."""
    WidgetRequest.objects.create(
        shop=shop, request_id=request_id, channel=channel,
        duration_ms=int((time.monotonic() - started) * 1000),
        cache_hit=context.cache_age_seconds is not None, outcome=context.status,
    )


def _ticket(shop, ticket_id, request_id) -> tuple[TicketInfo, str]:
    try:
        info = ticket_info_get(shop=shop, ticket_id=ticket_id, request_id=request_id)
    except ApiError as error:
        # The card may still show a customer linked to the ticket before:
        # the notice says the sender could not be checked, not that nobody
        # is known.
        return TicketInfo(id=ticket_id), _(
            "HelpDeskEddy is unavailable right now: %(err)s. The ticket's sender can't be "
            "checked until it answers.") % {"err": clause(vendor_detail(error))}
    return info, requester_notice(info)


def _remember_scope(shop, ticket_id, context: CustomerContext) -> None:
    """What the requester resolves to becomes the ticket's scope."""
    if context.status == ContextStatus.FOUND and context.customer:
        scope_add(shop=shop, ticket_id=ticket_id, customer_ids=[context.customer.id],
                  reason=ScopeReason.REQUESTER)
    elif context.status == ContextStatus.SEVERAL:
        scope_add(shop=shop, ticket_id=ticket_id,
                  customer_ids=[c.id for c in context.candidates],
                  reason=ScopeReason.CANDIDATE)


def widget_card_build(*, shop, ticket_id: int, customer_id: int | None = None, page: int = 1,
                      refresh: bool = False, parts: str = "all") -> Card:
    """`parts="first"`: the first paint (see TWO_STEP); "all": complete."""
    started = time.monotonic()
    request_id = uuid.uuid4().hex
    scope_expire(shop=shop)
    record = TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id).first()
    ticket, ticket_error = _ticket(shop, ticket_id, request_id)
    order_number = record.order_number if record else ""

    step = {"parts": parts} if TWO_STEP and parts != "all" else {}

    def context_for(wanted):
        return customer_context_get(
            shop=shop, ticket=ticket, customer_id=wanted, order_number=order_number,
            hde_user_id=ticket.user_id, page=max(1, page), refresh=refresh,
            request_id=request_id, **step)

    requester_id = record.customer_id if record else None
    refused = ""
    if customer_id is not None and customer_id != requester_id:
        if scope_reason(shop=shop, ticket_id=ticket_id, customer_id=customer_id) is None:
            # The scope may not be recorded yet (the card was never opened
            # since the job linked the ticket): resolve the requester first.
            context = context_for(requester_id)
            _remember_scope(shop, ticket_id, context)
            if scope_reason(shop=shop, ticket_id=ticket_id, customer_id=customer_id) is None:
                refused = _("That customer is not linked to this ticket; the card shows the "
                            "ticket's requester.")
            else:
                context = context_for(customer_id)
        else:
            context = context_for(customer_id)
    else:
        context = context_for(requester_id)
        _remember_scope(shop, ticket_id, context)
    widget_request_record(shop=shop, request_id=request_id, channel="page", started=started,
                          context=context)
    card = Card(shop=shop, ticket=ticket, context=context, ticket_error=ticket_error,
                refused=refused)
    _hand_out_forms(card, ticket_id)
    if context.status == ContextStatus.FOUND:
        card.profile = profile_rows(shop=shop, context=context)
        card.replies = reply_service.reply_options_build(shop=shop, context=context)
        card.replies_sent = reply_service.replies_sent_on(shop=shop, ticket_id=ticket_id)
    return card


STORES_TTL = 3600


def store_names(shop) -> dict[str, str]:
    """RetailCRM's store names by code ("main" → "Уютный дом"), cached an
    hour per connection identity: candidates from two stores are told apart
    by the name people know, never by the code."""
    from django.core.cache import cache

    from integration.vendors.retailcrm import RetailCrmClient

    connection = getattr(shop, "retailcrm", None)
    if connection is None:
        return {}
    key = f"rcrm-sites:{connection.identity}"
    names = cache.get(key)
    if names is None:
        try:
            sites = RetailCrmClient.for_connection(connection, interactive=True).sites()
        except ApiError:
            return {}
        names = {code: site.name for code, site in sites.items()}
        cache.set(key, names, STORES_TTL)
    return names


def _hand_out_forms(card: Card, ticket_id: int) -> None:
    """One nonce per form on the page, bound to what that form may touch."""
    shop, context = card.shop, card.context
    form_nonces_expire(shop=shop)
    if context.status == ContextStatus.FOUND and context.customer:
        for action in ("note", "task", "link_order", "reply"):
            card.forms[action] = form_nonce_issue(shop=shop, ticket_id=ticket_id, action=action,
                                                  customer_id=context.customer.id)
    elif context.status == ContextStatus.SEVERAL:
        stores = store_names(shop) if len({c.site for c in context.candidates}) > 1 else {}
        card.candidates = [
            (candidate, form_nonce_issue(shop=shop, ticket_id=ticket_id, action="choose",
                                         customer_id=candidate.id),
             stores.get(candidate.site, ""))
            for candidate in context.candidates]
    elif context.status == ContextStatus.UNKNOWN:
        card.forms["customer"] = form_nonce_issue(shop=shop, ticket_id=ticket_id,
                                                  action="customer")


# -- manual search ---------------------------------------------------------------
@dataclass
class CardSearch:
    query: str
    hits: list = field(default_factory=list)  # (Candidate, nonce of "choose")
    notice: str = ""


def widget_search(*, shop, ticket_id: int, card: Card, query: str) -> CardSearch:
    """The operator's search from this ticket's card: the hits join the
    ticket's scope (so the card may open them) and each gets a "link to this
    ticket" form."""
    from integration.customers.search import customer_search

    result = customer_search(shop=shop, query=query)
    kept = scope_search_remember(shop=shop, ticket_id=ticket_id, customers=result.hits)
    return CardSearch(query=result.query, notice=result.notice, hits=[
        (hit, form_nonce_issue(shop=shop, ticket_id=ticket_id, action="choose",
                               customer_id=hit.id)) for hit in kept])


# -- reply preview -----------------------------------------------------------------
@dataclass
class ReplyPreview:
    template: object = None
    text: str = ""
    nonce: str = ""
    author_mode: str = ""  # reply_service.reply_author_mode
    agent: str = ""
    refused: str = ""


def reply_preview_build(*, shop, ticket_id: int, card: Card, template_id: int) -> ReplyPreview:
    """What "Send as reply" shows before anything is sent: the filled text
    (editable), who HDE will show as its author, and a fresh form."""
    from integration.models import ReplyTemplate

    context = card.context
    template = ReplyTemplate.objects.for_shop(shop).filter(pk=template_id, active=True).first()
    if template is None:
        return ReplyPreview(refused=_("This reply template does not exist in this shop."))
    if context.status != ContextStatus.FOUND or context.customer is None:
        return ReplyPreview(template=template, refused=_(
            "The customer is not known, so the template cannot be filled."))
    rendered = reply_service.reply_render(shop=shop, template=template, context=context)
    if not rendered.sendable:
        return ReplyPreview(template=template, refused=rendered.reason)
    return ReplyPreview(
        template=template, text=rendered.text,
        nonce=form_nonce_issue(shop=shop, ticket_id=ticket_id, action="reply_post",
                               customer_id=context.customer.id),
        author_mode=reply_service.reply_author_mode(shop=shop),
        agent=reply_service.reply_agent_name(shop=shop))
