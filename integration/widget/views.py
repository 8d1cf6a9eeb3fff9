"""The widget page an operator opens from the ticket (framed by the HDE
emulator's sidebar, or opened from the link in the ticket's "CRM card"
field in real HDE). Server-rendered, so it shows something useful even when
scripts are blocked; actions are plain forms that come back to the page
(post/redirect/get), each guarded by a one-time nonce."""

import secrets
import time
import uuid
from urllib.parse import urlencode

from django.http import HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from integration.customers.context import customer_context_get
from integration.customers.types import TicketInfo
from integration.models import Shop, TicketRecord
from integration.replies import service as reply_service
from integration.tickets.info import ticket_info_get
from integration.vendors.errors import ApiError
from integration.widget import actions as widget_actions
from integration.widget.api import widget_request_record
from integration.widget.links import WidgetLinkInvalid, frame_ancestors, widget_link_verify
from integration.widget.profile import profile_rows

ACTIONS = {"note", "task", "customer", "choose", "link_order", "reply"}


def _framed(response, shop):
    response._csp_replace = {"frame-ancestors": frame_ancestors(shop)}
    return response


@xframe_options_exempt
@csrf_exempt  # Framed cross-site, so no CSRF cookie; the signed link is the credential.
def widget_page(request, public_id, token):
    shop = get_object_or_404(Shop.objects.select_related("retailcrm", "helpdeskeddy"),
                             public_id=public_id, active=True)
    with translation.override(shop.language):
        try:
            ticket_id = widget_link_verify(shop=shop, token=token)
        except WidgetLinkInvalid:
            html = render_to_string("widget/invalid.html", {"shop": shop})
            return _framed(HttpResponseForbidden(html), shop)
        if request.method == "POST":
            return _framed(_act(request, shop, ticket_id), shop)
        return _framed(_show(request, shop, ticket_id), shop)


def _show(request, shop, ticket_id):
    started = time.monotonic()
    request_id = uuid.uuid4().hex
    record = TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id).first()
    ticket_error = ""
    try:
        ticket = ticket_info_get(shop=shop, ticket_id=ticket_id, request_id=request_id)
    except ApiError as error:
        ticket = TicketInfo(id=ticket_id)
        ticket_error = _("HelpDeskEddy did not answer (%(err)s); the ticket's sender is "
                         "unknown for now.") % {"err": error.message}
    chosen = request.GET.get("customer", "")
    customer_id = int(chosen) if chosen.isdigit() else (record.customer_id if record else None)
    page = int(request.GET.get("page", "1")) if request.GET.get("page", "1").isdigit() else 1
    context = customer_context_get(
        shop=shop, ticket=ticket, customer_id=customer_id,
        order_number=record.order_number if record else "",
        hde_user_id=ticket.user_id, page=max(1, page),
        refresh=request.GET.get("refresh") == "1", request_id=request_id,
    )
    widget_request_record(shop=shop, request_id=request_id, channel="page", started=started,
                          context=context)
    buckets = {name: [o for o in context.orders if o.bucket == name]
               for name in ("active", "completed", "cancelled")}
    found = context.status == "found"
    return render(request, "widget/page.html", {
        "shop": shop, "ticket": ticket, "ctx": context, "buckets": buckets,
        "ticket_error": ticket_error, "nonce": secrets.token_urlsafe(16),
        "done": request.GET.get("done", ""), "failed": request.GET.get("failed", ""),
        "next_page": context.orders_page + 1
        if context.orders_page * 20 < context.orders_total_count else None,
        "lang": shop.language,
        "profile": profile_rows(shop=shop, context=context),
        "replies": reply_service.reply_options_build(shop=shop, context=context)
        if found else None,
        "replies_sent": reply_service.replies_sent_on(shop=shop, ticket_id=ticket_id)
        if found else (),
    })


def _act(request, shop, ticket_id):
    form = request.POST
    action = form.get("action", "")
    nonce = form.get("nonce", "")[:64]
    back = {}
    if action not in ACTIONS or not nonce:
        return _back(request, {"failed": _("Unknown action.")})
    try:
        customer_id = int(form.get("customer_id") or 0)
        if action == "note":
            widget_actions.widget_note_add(shop=shop, customer_id=customer_id,
                                           text=form.get("text", ""), nonce=nonce,
                                           ticket_id=ticket_id)
            back["done"] = _("Note added to the customer in RetailCRM.")
        elif action == "task":
            widget_actions.widget_task_create(
                shop=shop, customer_id=customer_id, text=form.get("text", ""), nonce=nonce,
                manager_id=int(form.get("manager_id") or 0) or None, ticket_id=ticket_id)
            back["done"] = _("Task created for the manager in RetailCRM.")
        elif action == "customer":
            new_id = widget_actions.widget_customer_create(
                shop=shop, name=form.get("name", ""), email=form.get("email", ""),
                phone=form.get("phone", ""), nonce=nonce,
                hde_user_id=int(form.get("hde_user_id") or 0) or None)
            TicketRecord.objects.update_or_create(shop=shop, ticket_id=ticket_id,
                                                  defaults={"customer_id": new_id})
            back["done"] = _("Customer created in RetailCRM.")
        elif action == "choose":
            hde_user_id = int(form.get("hde_user_id") or 0)
            if hde_user_id:
                widget_actions.widget_customer_choose(shop=shop, hde_user_id=hde_user_id,
                                                      customer_id=customer_id)
            TicketRecord.objects.update_or_create(shop=shop, ticket_id=ticket_id,
                                                  defaults={"customer_id": customer_id})
            back["done"] = _("Customer linked to this ticket.")
        elif action == "link_order":
            widget_actions.widget_order_link(shop=shop, ticket_id=ticket_id,
                                             order_number=form.get("order_number", ""))
            back["done"] = _("Order linked to this ticket.")
        elif action == "reply":
            back["done"] = _reply(shop, ticket_id, form, nonce, customer_id)
    except (widget_actions.ActionRefused, reply_service.ReplyRefused) as refused:
        back["failed"] = str(refused)
    except ApiError as error:
        back["failed"] = _("RetailCRM refused: %(err)s") % {"err": error.message}
    except ValueError:
        back["failed"] = _("The form was incomplete.")
    return _back(request, back)


def _reply(shop, ticket_id, form, nonce, customer_id) -> str:
    """Send a reply template (issue 10): rendered again on the server from
    the same cached context the page showed, sent once per nonce."""
    try:
        context = reply_service.ticket_context_get(shop=shop, ticket_id=ticket_id,
                                                   customer_id=customer_id or None)
        sent = reply_service.reply_send(
            shop=shop, ticket_id=ticket_id, template_id=int(form.get("template_id") or 0),
            kind=form.get("kind", ""), nonce=nonce, context=context)
    except ApiError as error:  # only HDE raises here; RetailCRM trouble is a context state
        raise reply_service.ReplyRefused(
            _("HelpDeskEddy refused: %(err)s") % {"err": error.message}) from error
    if sent.kind == "comment":
        return _("Internal comment added to the ticket: %(name)s.") % {"name": sent.template_name}
    return _("Reply sent to the customer: %(name)s.") % {"name": sent.template_name}


def _back(request, params):
    return HttpResponseRedirect(f"{request.path}?{urlencode(params)}")
