"""What the order-watch screens offer by name: the shop's RetailCRM statuses
and HDE departments.

The screens ask this service, never a vendor client; the lists come from the
one RetailCRM pick-list reader (`integration.customers.choices`, which also
remembers a failed read for a minute, so a page never waits on a RetailCRM
that is down on every render) and the one HDE reader
(`integration.vendors.helpdeskeddy_choices`).
"""

from django.utils.translation import gettext as _

from integration.core.formatting import status_shown
from integration.customers.choices import retailcrm_choices_get
from integration.vendors.helpdeskeddy_choices import hde_choices_get


def problem_status_choices(shop) -> tuple[list[tuple[str, str]], str]:
    """The shop's RetailCRM statuses as (code, name), in RetailCRM's order;
    when RetailCRM cannot be read, no choices and the reason in words."""
    if shop is None or getattr(shop, "retailcrm", None) is None:
        return [], _("RetailCRM is not connected for this shop.")
    choices = retailcrm_choices_get(shop=shop, picking=True)
    if not choices.available:
        return [], _("RetailCRM statuses can't be read right now; the chosen ones are kept. "
                     "Try again in a minute.")
    return choices.statuses, ""


def problem_statuses_in_force(watch, offered) -> list[str]:
    """What the form shows ticked: the watch's own list, or, before anyone
    chose (None), the default problem status the watch applies when the
    account has it (`watch.problem_statuses_of`): an unticked form over a
    status in force, saved after ticking another, dropped it unseen."""
    from integration.models.orders import DEFAULT_PROBLEM_STATUS

    if watch.problem_statuses is not None:
        return list(watch.problem_statuses)
    return [DEFAULT_PROBLEM_STATUS] if DEFAULT_PROBLEM_STATUS in offered else []


def chosen_status_label(watch, code: str, *, gone: bool) -> str:
    """A chosen problem status RetailCRM does not list right now, in words:
    the name it had when chosen (or on the newest local copy of an order in
    it), else "unnamed status"; `gone` when RetailCRM was read and no
    longer has it. Never the code: it means nothing to a person."""
    from integration.models import LocalOrder

    name = (watch.problem_status_names or {}).get(code) or (
        LocalOrder.objects.for_shop(watch.shop).filter(status=code).exclude(status_name="")
        .order_by("-synced_at").values_list("status_name", flat=True).first())
    name = status_shown(name or "")
    return _("%(name)s (no longer in RetailCRM)") % {"name": name} if gone else name


def chosen_status_names(offered: dict[str, str], chosen: list[str], kept: dict) -> dict:
    """The names to keep with the watch's chosen statuses: RetailCRM's as
    offered now, the ones kept before for a status it does not list."""
    return {code: offered.get(code) or kept.get(code) for code in chosen
            if offered.get(code) or kept.get(code)}


def status_names(shop, *, naming=()) -> dict[str, str]:
    """Code → name of the shop's statuses (empty when RetailCRM cannot be
    read: the caller shows what it has). `naming`: codes about to be shown
    (see `retailcrm_choices_get`)."""
    if shop is None or getattr(shop, "retailcrm", None) is None:
        return {}
    return dict(retailcrm_choices_get(shop=shop, naming=naming).statuses)


def proactive_department_choices(shop) -> list[tuple[int, str]]:
    """HDE departments a proactive ticket may go to (empty when HDE cannot be
    read: the form then keeps the plain field)."""
    return hde_choices_get(shop=shop, picking=True).departments if shop and shop.pk else []
