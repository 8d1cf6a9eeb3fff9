"""What an operator can do from the card or the JSON API, one service for
both: each action is one RetailCRM call through the client, done at most
once per idempotency key (the page's spent nonce, or the API client's own
key), never outside the shop's store.

Who the action touches is decided by the caller's credential: on the page,
the spent form's customer (integration.widget.scope); on the API, whatever
the shop's token names, checked against the shop's store here. Linking a
customer to a ticket (choose, create) always links the ticket's requester as
HDE tells it, never a user id taken from a form.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext

from integration.core.side_effects import side_effect_once
from integration.customers.context import (
    customer_context_invalidate,
    customer_link_set,
    customer_site_check,
)
from integration.customers.senders import SenderCustomer, sender_customer_get_or_create
from integration.models import ScopeReason, ShopSettings, TicketRecord
from integration.tickets.texts import ticket_marker, ticket_number, vendor_plain
from integration.vendors.errors import ApiNotFound
from integration.widget.scope import CHOOSABLE, scope_add, scope_reason


class ActionRefused(Exception):
    """The action cannot run (no manager to assign, missing text...)."""


def _client(shop, request_id=""):
    from integration.vendors.retailcrm import RetailCrmClient

    return RetailCrmClient.for_connection(shop.retailcrm, interactive=True,
                                          request_id=request_id)


def _in_store(shop, customer_id: int, request_id: str) -> int | None:
    """A write by id reaches only a customer of the shop's store; any other
    id is refused exactly like one that does not exist. Returns the
    customer's responsible manager in RetailCRM."""
    if not customer_id:
        raise ActionRefused(gettext("Pick a customer first."))
    try:
        return customer_site_check(shop=shop, customer_id=customer_id, request_id=request_id)
    except ApiNotFound as missing:
        raise ActionRefused(gettext("No such customer in this shop's RetailCRM store.")) \
            from missing


def _number(shop, ticket_id: int, request_id: str = "") -> str:
    """HDE's number of the ticket (what a note names): from the ticket
    record, or, when the card acts before the ticket job recorded the
    ticket, read from HDE (the record is the job's to create: it fills the
    subject, requester and dates at once)."""
    number = (TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id)
              .values_list("unique_id", flat=True).first())
    if number or getattr(shop, "helpdeskeddy", None) is None:
        return number or ""
    from integration.vendors.errors import ApiError
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    try:
        ticket = HelpDeskEddyClient.for_connection(
            shop.helpdeskeddy, interactive=True, request_id=request_id).get_ticket(ticket_id)
    except ApiError:
        return ""
    return ticket.unique_id


def widget_note_add(*, shop, customer_id: int, text: str, key: str, ticket_id: int = 0,
                    request_id: str = "") -> str:
    text = vendor_plain(text.strip())
    if not text:
        raise ActionRefused(gettext("The note is empty."))
    _in_store(shop, customer_id, request_id)
    if ticket_id:
        number = _number(shop, ticket_id, request_id)
        text = f"{ticket_marker(ticket_id, shop=shop, number=number)}: {text}"
    result = side_effect_once(
        shop=shop, key=f"{key}:note",
        perform=lambda: _client(shop, request_id).create_note(customer_id, text),
    )
    customer_context_invalidate(shop_id=shop.pk, customer_id=customer_id)
    return result


def widget_task_create(*, shop, customer_id: int, text: str, key: str, manager_id=None,
                       ticket_id: int = 0, request_id: str = "") -> str:
    """A task for the customer's responsible manager as RetailCRM names
    them (read with the store check, or from the card's cache), else the
    shop's fallback manager. Never a performer taken from the request: the
    page may have painted before the manager was known, and a posted id is
    anyone's to change. Only the JSON API, whose caller holds the shop's
    own token, may name the performer (`manager_id`)."""
    performer = _in_store(shop, customer_id, request_id)
    performer = manager_id or performer or ShopSettings.of(shop).fallback_manager_id
    if not performer:
        raise ActionRefused(gettext("The customer has no responsible manager and no fallback "
                                    "manager is set in the shop's automation settings."))
    text = vendor_plain(text.strip())
    if not text:
        with translation.override(shop.language):  # written into RetailCRM
            text = gettext("Customer wrote to support (ticket %(number)s)") % {
                "number": ticket_number(shop=shop, ticket_id=ticket_id,
                                        number=_number(shop, ticket_id, request_id))} \
                if ticket_id else gettext("Customer wrote to support")
    elif ticket_id:
        number = _number(shop, ticket_id, request_id)
        text = f"{ticket_marker(ticket_id, shop=shop, number=number)}: {text}"
    return side_effect_once(
        shop=shop, key=f"{key}:task",
        perform=lambda: _client(shop, request_id).create_task(
            text=text, performer_id=performer, customer_id=customer_id),
    )


def _requester(shop, ticket_id: int, request_id: str) -> int | None:
    """The ticket's requester as HDE tells it (cached by tickets.info)."""
    from integration.tickets.info import ticket_info_get

    if getattr(shop, "helpdeskeddy", None) is None:
        return None
    return ticket_info_get(shop=shop, ticket_id=ticket_id, request_id=request_id).user_id


def widget_ticket_link(*, shop, ticket_id: int, customer_id: int, reason: str,
                       request_id: str = "") -> None:
    """This ticket is about this customer: the ticket record, the card's
    scope and the requester's remembered customer (so their next ticket
    skips the search) all say so."""
    TicketRecord.objects.update_or_create(shop=shop, ticket_id=ticket_id,
                                          defaults={"customer_id": customer_id})
    scope_add(shop=shop, ticket_id=ticket_id, customer_ids=[customer_id], reason=reason)
    hde_user_id = _requester(shop, ticket_id, request_id)
    if hde_user_id:
        customer_link_set(shop=shop, hde_user_id=hde_user_id, customer_id=customer_id)


def widget_customer_create(*, shop, name: str, email: str, phone: str, key: str,
                           ticket_id: int | None = None, hde_user_id: int | None = None,
                           request_id: str = "") -> SenderCustomer:
    """The customer for the person the operator typed in: found in the
    shop's store when RetailCRM already has them (the ticket job, or another
    operator, may have just created them), else created, at most once per
    person (integration.customers.senders) and once per form (`key`). With a
    ticket, the ticket and its requester are linked to the customer, from the
    page and the API alike; `hde_user_id` (API, without a ticket) links that
    HDE user."""
    first, _, last = vendor_plain(name.strip()).partition(" ")
    email = email.strip()
    phone = vendor_plain(phone.strip())
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ActionRefused(gettext("The e-mail address is not valid.")) from None
        if any(c in email for c in '<>"'):  # valid when quoted, yet markup on a screen
            raise ActionRefused(gettext("The e-mail address is not valid."))
    if not (first or email or phone):
        raise ActionRefused(gettext("Give at least a name, an e-mail or a phone."))
    settings = ShopSettings.of(shop)
    outcome = {}

    def once():
        customer = sender_customer_get_or_create(
            shop=shop, crm=_client(shop, request_id), email=email, phone=phone,
            first_name=first or vendor_plain(email) or phone, last_name=last,
            site=settings.customer_site_code, look_first=True)
        outcome["created"] = customer.created
        return customer.id

    customer_id = int(side_effect_once(shop=shop, key=f"{key}:customer", perform=once))
    if ticket_id:
        widget_ticket_link(shop=shop, ticket_id=ticket_id, customer_id=customer_id,
                           reason=ScopeReason.CREATED, request_id=request_id)
    elif hde_user_id:
        customer_link_set(shop=shop, hde_user_id=hde_user_id, customer_id=customer_id)
    # A form sent twice answers as the first time did, which created it.
    return SenderCustomer(id=customer_id, created=outcome.get("created", True))


def widget_customer_choose(*, shop, ticket_id: int, customer_id: int,
                           request_id: str = "") -> None:
    """The operator picked one of the customers the card offered."""
    if scope_reason(shop=shop, ticket_id=ticket_id, customer_id=customer_id) not in CHOOSABLE:
        raise ActionRefused(gettext("This customer was not offered for this ticket."))
    widget_ticket_link(shop=shop, ticket_id=ticket_id, customer_id=customer_id,
                       reason=ScopeReason.CANDIDATE, request_id=request_id)


def widget_order_link(*, shop, ticket_id: int, order_number: str, customer_id: int,
                      request_id: str = "") -> None:
    """Pin an order to the ticket (kept in the ticket record, shown first):
    only an order of the card's customer (the form's), as RetailCRM says.
    A pinned number steers later lookups of the ticket, so another
    customer's order, or any made-up string, is refused."""
    number = order_number.strip()[:40]
    if not number or not customer_id:
        raise ActionRefused(gettext("Pick one of this customer's orders."))
    orders = _client(shop, request_id).orders_by_number(number)
    if not any(order.customer_id == customer_id for order in orders):
        raise ActionRefused(gettext("This order is not one of this customer's orders."))
    TicketRecord.objects.update_or_create(
        shop=shop, ticket_id=ticket_id, defaults={"order_number": number})
