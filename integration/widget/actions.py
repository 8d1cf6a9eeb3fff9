"""What an operator can do from the widget, each one RetailCRM call through
the client, confirmed in place. Every form carries a one-time nonce used as
the side-effect key, so a double click never creates two notes."""

from django.utils import translation
from django.utils.translation import gettext

from integration.core.side_effects import side_effect_once
from integration.customers.context import customer_context_invalidate, customer_link_set
from integration.models import ShopSettings, TicketRecord


class ActionRefused(Exception):
    """The action cannot run (no manager to assign, missing text...)."""


def _client(shop, request_id=""):
    from integration.vendors.retailcrm import RetailCrmClient

    return RetailCrmClient.for_connection(shop.retailcrm, interactive=True,
                                          request_id=request_id)


def widget_note_add(*, shop, customer_id: int, text: str, nonce: str, ticket_id: int = 0,
                    request_id: str = "") -> str:
    text = text.strip()
    if not text:
        raise ActionRefused(gettext("The note is empty."))
    if ticket_id:
        text = f"Ticket #{ticket_id}: {text}"
    result = side_effect_once(
        shop=shop, key=f"widget:{nonce}:note",
        perform=lambda: _client(shop, request_id).create_note(customer_id, text),
    )
    customer_context_invalidate(shop_id=shop.pk, customer_id=customer_id)
    return result


def widget_task_create(*, shop, customer_id: int, text: str, nonce: str, manager_id=None,
                       ticket_id: int = 0, request_id: str = "") -> str:
    settings = ShopSettings.of(shop)
    performer = manager_id or settings.fallback_manager_id
    if not performer:
        raise ActionRefused(gettext("The customer has no responsible manager and no fallback "
                                    "manager is set in the shop's automation settings."))
    text = text.strip()
    if not text:
        with translation.override(shop.language):  # written into RetailCRM
            text = gettext("Customer wrote to support (ticket #%(id)s)") % {"id": ticket_id}
    return side_effect_once(
        shop=shop, key=f"widget:{nonce}:task",
        perform=lambda: _client(shop, request_id).create_task(
            text=text, performer_id=performer, customer_id=customer_id),
    )


def widget_customer_create(*, shop, name: str, email: str, phone: str, nonce: str,
                           hde_user_id: int | None = None, request_id: str = "") -> int:
    first, _, last = name.strip().partition(" ")
    if not (first or email or phone):
        raise ActionRefused(gettext("Give at least a name, an e-mail or a phone."))
    settings = ShopSettings.of(shop)
    result = side_effect_once(
        shop=shop, key=f"widget:{nonce}:customer",
        perform=lambda: _client(shop, request_id).create_customer(
            first_name=first or email or phone, last_name=last, email=email, phone=phone,
            site=settings.customer_site_code),
    )
    customer_id = int(result)
    if hde_user_id:
        customer_link_set(shop=shop, hde_user_id=hde_user_id, customer_id=customer_id)
    return customer_id


def widget_customer_choose(*, shop, hde_user_id: int, customer_id: int) -> None:
    customer_link_set(shop=shop, hde_user_id=hde_user_id, customer_id=customer_id)


def widget_order_link(*, shop, ticket_id: int, order_number: str) -> None:
    """Pin an order to the ticket (kept in the ticket record, shown first)."""
    TicketRecord.objects.update_or_create(
        shop=shop, ticket_id=ticket_id, defaults={"order_number": order_number.strip()[:40]})
