"""One active shop per HelpDeskEddy account and key.

Why: a shop's work on HDE is keyed by ticket id inside the shop (events,
side effects, ticket records). Two active shops wired to the same HDE
account with the same key are two portals' worth of work on one desk: the
second one's reconciliation back-fills the account's open tickets and writes
its own notes, links and priorities on tickets the first one already
handled. So the shop page and the wizard refuse to make a second active shop
on an account + key that an active shop already uses (`hde_account_refusal`),
and reconciliation leaves alone the tickets another shop on the same account
has handled, whatever its key (integration.tickets.reconcile).

The check compares the account address (origin and path) and the key; only
someone who holds the key learns that another shop uses it, and the message
names no shop. When that shop is another agency's, the message does not ask
to deactivate it (nobody here can) and says no more than that the account
is in use elsewhere in the portal (`hde_account_refusal`).
"""

import hmac

from django.utils.translation import gettext_lazy as _

from integration.core import outbound_policy
from integration.models import HelpDeskEddyConnection

HDE_ACCOUNT_TAKEN = _(
    "Another active shop already works on this HelpDeskEddy account with this key: both "
    "would handle every ticket (notes, links and priorities twice). Deactivate the other "
    "shop first.")
HDE_ACCOUNT_TAKEN_ELSEWHERE = _(
    "This HelpDeskEddy account and key already serve an active shop elsewhere in this "
    "portal: both would handle every ticket (notes, links and priorities twice). Check that "
    "this is your own HelpDeskEddy account and key; if it is, ask the portal's "
    "administrator.")


def _same_key(left: str, right: str) -> bool:
    return hmac.compare_digest((left or "").encode(), (right or "").encode())


def _host(base_url: str) -> str:
    """The host name alone, for narrowing the rows compared in Python."""
    origin = outbound_policy.origin_of(base_url)
    return origin.split("://", 1)[1].rsplit(":", 1)[0].strip("[]") if origin else ""


def _takers(*, shop, base_url: str, api_key: str) -> list:
    """The agency ids of the active shops other than `shop` that use this
    HDE account (`base_url`'s account address) with this key."""
    host = _host(base_url)
    if not host or not api_key:
        return []
    account = outbound_policy.account_url(base_url)
    others = (HelpDeskEddyConnection.objects.filter(shop__active=True,
                                                    base_url__icontains=host)
              .exclude(shop_id=getattr(shop, "pk", None)).select_related("shop"))
    return [other.shop.agency_id for other in others
            if outbound_policy.account_url(other.base_url) == account
            and _same_key(other.api_key, api_key)]


def hde_account_refusal(*, shop, base_url: str, api_key: str) -> str:
    """Why `shop` may not be active on this HDE account and key, or "": the
    other shop is the same agency's (deactivate it) or someone else's (no
    action here, nothing said of whose)."""
    agencies = _takers(shop=shop, base_url=base_url, api_key=api_key)
    if not agencies:
        return ""
    mine = getattr(shop, "agency_id", None)
    return str(HDE_ACCOUNT_TAKEN if mine in agencies else HDE_ACCOUNT_TAKEN_ELSEWHERE)


def hde_account_refusal_of_saved(*, shop) -> str:
    """The same for the shop's saved HDE connection."""
    connection = HelpDeskEddyConnection.objects.filter(shop_id=shop.pk).first()
    if connection is None:
        return ""
    return hde_account_refusal(shop=shop, base_url=connection.base_url,
                               api_key=connection.api_key)


def shop_ids_on_hde_account(*, base_url: str):
    """Every shop whose HDE connection points at this account (any key)."""
    host = _host(base_url)
    if not host:
        return []
    account = outbound_policy.account_url(base_url)
    return [connection.shop_id for connection in HelpDeskEddyConnection.objects.filter(
        base_url__icontains=host).only("shop_id", "base_url")
        if outbound_policy.account_url(connection.base_url) == account]
