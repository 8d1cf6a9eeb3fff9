"""What the order-watch screens offer by name: the shop's RetailCRM statuses
and HDE departments.

The admin used to build its own vendor clients for these; the readers live
here so a screen only asks a service (and the HDE lists come from the one
HDE pick-list reader, `integration.vendors.helpdeskeddy_choices`).
"""

from django.utils.translation import gettext as _

from integration.orders.watch import order_statuses_get
from integration.vendors.errors import ApiError, vendor_detail
from integration.vendors.helpdeskeddy_choices import hde_choices_get


def _retailcrm_client(shop):
    from integration.vendors.retailcrm import RetailCrmClient

    connection = getattr(shop, "retailcrm", None) if shop else None
    return RetailCrmClient.for_connection(connection, interactive=True) if connection else None


def problem_status_choices(shop) -> tuple[list[tuple[str, str]], str]:
    """The shop's active RetailCRM statuses as (code, name), in RetailCRM's
    order, from the hour-long cache; when RetailCRM cannot be read, no
    choices and the reason in words."""
    client = _retailcrm_client(shop)
    if client is None:
        return [], _("RetailCRM is not connected for this shop.")
    try:
        statuses = order_statuses_get(client)
    except ApiError as error:
        return [], _("RetailCRM statuses are unavailable: %(error)s") % {
            "error": vendor_detail(error)}
    ordered = sorted(statuses.values(), key=lambda s: (s.ordering, s.code))
    return [(s.code, s.name) for s in ordered if s.active], ""


def status_names(shop) -> dict[str, str]:
    """Code → name of the shop's statuses (empty when RetailCRM cannot be
    read: the caller shows what it has)."""
    client = _retailcrm_client(shop)
    if client is None:
        return {}
    try:
        return {code: status.name for code, status in order_statuses_get(client).items()}
    except ApiError:
        return {}


def proactive_department_choices(shop) -> list[tuple[int, str]]:
    """HDE departments a proactive ticket may go to (empty when HDE cannot be
    read: the form then keeps the plain field)."""
    return hde_choices_get(shop=shop).departments if shop and shop.pk else []
