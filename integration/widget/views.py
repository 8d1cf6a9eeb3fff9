"""The widget page an operator opens from the ticket (framed by the HDE
emulator's sidebar, or opened from the link in the ticket's "CRM card"
field in real HDE). Server-rendered, so it shows something useful even when
scripts are blocked; actions are plain forms that come back to the page
(post/redirect/get).

Why no CSRF cookie: the page is framed cross-site inside HDE, where
browsers treat the portal's cookies as third-party and may drop them, so
Django's cookie-based CSRF check would refuse real operators. Instead:
- the signed link is the credential and names one ticket;
- every form carries a nonce the server issued with the page, bound to the
  ticket, the action and the customer, spent by its first submission
  (integration.widget.scope) — a page on another site cannot read it;
- a POST whose `Origin` (or, without one, `Referer`) is another site, or
  that the browser marks as cross-site (`Sec-Fetch-Site`), is refused
  before anything else is looked at.
"""

from urllib.parse import urlencode, urlsplit

from django.conf import settings as django_settings
from django.core import signing
from django.http import HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from integration.replies import service as reply_service
from integration.vendors.advice import action_failure
from integration.vendors.errors import ApiError
from integration.widget import actions as widget_actions
from integration.widget.card import reply_preview_build, widget_card_build, widget_search
from integration.widget.links import (
    WidgetLinkInvalid,
    frame_ancestors,
    widget_link_verify,
    widget_shop_get,
)
from integration.widget.progress import ticket_job_state
from integration.widget.scope import FormRefused, form_nonce_spend

# `reply` is the list's form (internal comments); `reply_post` only the
# preview's, whose nonce only the preview issues: a public reply cannot be
# posted from the list by adding `kind=post` to its form.
ACTIONS = {"note", "task", "customer", "choose", "link_order", "reply", "reply_post"}


def _framed(response, shop):
    response._csp_replace = {"frame-ancestors": frame_ancestors(shop)}
    return response


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def same_origin_post(request) -> bool:
    """Whether a POST comes from the card's own page: its `Origin` (or its
    `Referer` when a browser sends no Origin) is the portal's, and the
    browser does not call it cross-site. A client that sends neither header
    is not a browser acting for someone else; the nonce still applies."""
    if request.headers.get("Sec-Fetch-Site", "") in ("cross-site", "same-site"):
        return False
    own = {_origin_of(django_settings.PORTAL_BASE_URL),
           _origin_of(request.build_absolute_uri("/"))}
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.lower() in own  # "null" (a sandboxed or privacy-hidden origin) fails
    referer = request.headers.get("Referer")
    if referer:
        return _origin_of(referer) in own
    return True


@xframe_options_exempt
@csrf_exempt  # see the module docstring: nonces issued with the page, and the Origin check
def widget_page(request, public_id, token):
    shop = widget_shop_get(public_id)
    with translation.override(shop.language):
        try:
            ticket_id = widget_link_verify(shop=shop, token=token)
        except WidgetLinkInvalid:
            html = render_to_string("widget/invalid.html", {"shop": shop})
            return _framed(HttpResponseForbidden(html), shop)
        if request.method == "POST":
            if not same_origin_post(request):
                html = render_to_string("widget/refused.html", {"shop": shop})
                return _framed(HttpResponseForbidden(html), shop)
            return _framed(_act(request, shop, ticket_id), shop)
        return _framed(_show(request, shop, ticket_id), shop)


def _number(value: str, default=None):
    return int(value) if value.isdigit() and len(value) < 19 else default


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _card_context(request, shop, card, **extra) -> dict:
    """`keep`: the query that keeps this card on the customer it shows (a
    chosen or searched one) when a piece of it is loaded again."""
    customer = request.GET.get("customer", "")
    customer = customer if customer.isdigit() else ""
    return {
        "keep": urlencode({"customer": customer}) if customer else "",
        "keep_customer": customer,
        "shop": shop, "ticket": card.ticket, "ctx": card.context, "card": card,
        "buckets": card.buckets, "ticket_error": card.ticket_error, "forms": card.forms,
        "done": _flash(request, "done"), "failed": _flash(request, "failed"),
        "next_page": card.next_page, "lang": shop.language, "profile": card.profile,
        "replies": card.replies, "replies_sent": card.replies_sent, **extra,
    }


def _show(request, shop, ticket_id):
    """One URL, several answers: the page, or (htmx, `part=`) the piece of it
    that changed — the job strip, the card's body after "Refresh" or after
    the job finished, the blocks of the second step, a reply's preview,
    search results. Each piece also works as a whole page without scripts."""
    part = request.GET.get("part", "")
    if part == "job":
        return _job(request, shop, ticket_id)
    customer_id = _number(request.GET.get("customer", ""))
    card = widget_card_build(
        shop=shop, ticket_id=ticket_id, customer_id=customer_id,
        page=_number(request.GET.get("page", "1"), 1),
        refresh=request.GET.get("refresh") == "1",
        # A reply's preview fills the template from the complete context.
        parts="all" if part == "rest" or request.GET.get("preview") else "first")
    if part == "rest":
        return render(request, "widget/_rest.html", _card_context(request, shop, card))
    if request.GET.get("preview", "").isdigit():
        return _preview(request, shop, ticket_id, card)
    search = None
    if "q" in request.GET:
        search = widget_search(shop=shop, ticket_id=ticket_id, card=card,
                               query=request.GET.get("q", ""))
        if part == "search":
            return render(request, "widget/_search.html",
                          _card_context(request, shop, card, search=search))
    if part == "body":
        return render(request, "widget/_body.html", _card_context(request, shop, card))
    job = ticket_job_state(shop=shop, ticket_id=ticket_id, created_at=card.ticket.created_at)
    return render(request, "widget/page.html", _card_context(
        request, shop, card, job=job, polls=0, search=search, created=card.ticket.created_at,
        announce=job.state == "failed"))


def _job(request, shop, ticket_id):
    """The live strip: asked every two seconds while the ticket is being
    processed; when that ends, the answer stops the polling and tells the
    page (`HX-Trigger: card-changed`) to load its body again."""
    polls = _number(request.GET.get("polls", "0"), 0) + 1
    created = request.GET.get("created", "")[:40]
    job = ticket_job_state(shop=shop, ticket_id=ticket_id, polls=polls, created_at=created)
    response = render(request, "widget/_job.html", {
        "shop": shop, "job": job, "polls": polls, "announce": True, "created": created})
    if not job.busy and request.GET.get("m", "") != job.marker:
        response["HX-Trigger"] = "card-changed"
    return response


def _preview(request, shop, ticket_id, card):
    """"Send as reply" opens this: the text the customer will get, editable,
    who it is sent from, and a confirm button; nothing is sent before."""
    preview = reply_preview_build(shop=shop, ticket_id=ticket_id, card=card,
                                  template_id=int(request.GET["preview"]))
    context = _card_context(request, shop, card, preview=preview)
    template = "widget/_reply_preview.html" if _is_htmx(request) else "widget/preview.html"
    return render(request, template, context)


def _act(request, shop, ticket_id):
    form = request.POST
    action = form.get("action", "")
    if action not in ACTIONS:
        return _back(request, {"failed": _("Unknown action.")})
    back = {}
    try:
        customer_id = form_nonce_spend(shop=shop, ticket_id=ticket_id, action=action,
                                       value=form.get("nonce", ""))
        key = f"widget:{form.get('nonce', '')[:64]}"
        if action == "note":
            widget_actions.widget_note_add(shop=shop, customer_id=customer_id,
                                           text=form.get("text", ""), key=key,
                                           ticket_id=ticket_id)
            back["done"] = _("Note added to the customer in RetailCRM.")
        elif action == "task":
            widget_actions.widget_task_create(
                shop=shop, customer_id=customer_id, text=form.get("text", ""), key=key,
                ticket_id=ticket_id)
            back["done"] = _("Task created for the manager in RetailCRM.")
        elif action == "customer":
            customer = widget_actions.widget_customer_create(
                shop=shop, name=form.get("name", ""), email=form.get("email", ""),
                phone=form.get("phone", ""), key=key, ticket_id=ticket_id)
            back["done"] = (_("Customer created in RetailCRM.") if customer.created else
                            _("This person is already a customer in RetailCRM: "
                              "linked to this ticket."))
        elif action == "choose":
            widget_actions.widget_customer_choose(shop=shop, ticket_id=ticket_id,
                                                  customer_id=customer_id)
            back["done"] = _("Customer linked to this ticket.")
        elif action == "link_order":
            widget_actions.widget_order_link(shop=shop, ticket_id=ticket_id,
                                             order_number=form.get("order_number", ""),
                                             customer_id=customer_id)
            back["done"] = _("Order linked to this ticket.")
        elif action in ("reply", "reply_post"):
            back["done"] = _reply(shop, ticket_id, form, customer_id,
                                  from_preview=action == "reply_post")
    except (FormRefused, widget_actions.ActionRefused, reply_service.ReplyRefused) as refused:
        back["failed"] = str(refused)
    except ApiError as error:
        back["failed"] = action_failure(error, "retailcrm")
    return _back(request, back)


def _reply(shop, ticket_id, form, customer_id, *, from_preview: bool) -> str:
    """Send a reply template (issue 10): rendered again on the server from
    the same cached context the page showed, sent once per form. A public
    reply comes only from the confirmed preview (its `text`); an internal
    comment, which no customer reads, goes straight from the list."""
    kind = "post" if from_preview else form.get("kind", "")
    text = form.get("text") if "text" in form else None
    if kind == "post" and (not from_preview or form.get("confirm") != "1" or text is None):
        raise reply_service.ReplyRefused(
            _("A reply to the customer is sent from its preview: open it, read it, confirm."))
    try:
        author_id = (reply_service.reply_operator_find(
            shop=shop, email=form.get("operator_email", "")[:200])
            if kind == "post" else None)
        context = reply_service.ticket_context_get(shop=shop, ticket_id=ticket_id,
                                                   customer_id=customer_id)
        sent = reply_service.reply_send(
            shop=shop, ticket_id=ticket_id, template_id=_number(form.get("template_id", ""), 0),
            kind=kind, nonce=form.get("nonce", "")[:64], context=context,
            text=text[:10000] if text is not None else None, author_id=author_id)
    except ApiError as error:  # only HDE raises here; RetailCRM trouble is a context state
        raise reply_service.ReplyRefused(action_failure(error, "helpdeskeddy")) from error
    if sent.kind == "comment":
        return _("Internal comment added to the ticket: %(name)s.") % {"name": sent.template_name}
    if author_id and reply_service.reply_author_mode(shop=shop) == "allowed":
        return _("Reply sent to the customer in your name: %(name)s.") % {
            "name": sent.template_name}
    return _("Reply sent to the customer from %(agent)s: %(name)s.") % {
        "name": sent.template_name, "agent": reply_service.reply_agent_name(shop=shop)}


# An action's answer travels in the redirect's query string, signed for
# this card's path and a few minutes: a link carrying any other text (say,
# "your account is blocked") shows nothing.
FLASH_SALT = "widget.flash"
FLASH_MAX_AGE = 300


def _back(request, params):
    signer = signing.TimestampSigner(salt=f"{FLASH_SALT}:{request.path}")
    signed = {name: signer.sign(text) for name, text in params.items()}
    return HttpResponseRedirect(f"{request.path}?{urlencode(signed)}")


def _flash(request, name) -> str:
    value = request.GET.get(name, "")
    if not value:
        return ""
    try:
        return signing.TimestampSigner(salt=f"{FLASH_SALT}:{request.path}").unsign(
            value, max_age=FLASH_MAX_AGE)
    except signing.BadSignature:
        return ""
