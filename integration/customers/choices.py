"""Names from the shop's RetailCRM account for admin pickers and for the
rules' explanations: managers, order statuses and status groups.

They come from the reference books the customer card already caches an
hour per connection identity (`references_get`), so a shop page or a dry run
costs no request while the card is warm, and a person reads "Доставляется"
where RetailCRM stores `delivering`. When the card's books are cold the
three lists are read here, in the request's own thread (a page's form must
not wait on pool threads writing the call log), and cached as long.
"""

from dataclasses import dataclass, field

from django.core.cache import cache
from django.utils.translation import gettext

from integration.vendors.errors import ApiError, shown_text, stored_text

FAILURE_TTL = 60  # seconds a failed read is remembered


@dataclass
class RetailCrmChoices:
    managers: list[tuple[int, str]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    status_groups: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    @property
    def available(self) -> bool:
        return not self.error

    def name_of(self, source: str, code) -> str:
        """The name behind a code or id ("managers", "statuses",
        "status_groups"); "" when unknown."""
        if code in (None, ""):
            return ""
        wanted = str(code).strip().lower()
        return next((label for key, label in getattr(self, source)
                     if str(key).lower() == wanted), "")


def _unavailable(reason: str) -> str:
    return gettext("RetailCRM lists are unavailable (%(reason)s); type ids instead.") % {
        "reason": shown_text(reason)}


def _by_ordering(items):
    return sorted(items, key=lambda item: (getattr(item, "ordering", 0), item.name.casefold()))


def retailcrm_choices_get(*, shop) -> RetailCrmChoices:
    """The lists, read with the shop's *saved* connection (for the reason
    `hde_choices_get` gives: the shop page's form may hold a URL typed a
    moment ago, and the stored key must never go there)."""
    from integration.customers.context import REFERENCE_TTL
    from integration.customers.context import _references_key as references_key
    from integration.models import RetailCrmConnection
    from integration.vendors.retailcrm import RetailCrmClient

    connection = (RetailCrmConnection.objects.select_related("shop")
                  .filter(shop_id=shop.pk).first() if shop.pk else None)
    if connection is None:
        return RetailCrmChoices(error=gettext("RetailCRM is not connected for this shop."))
    client = RetailCrmClient.for_connection(connection, interactive=True)
    own_key = f"rcrm-choices:v1:{connection.identity}"
    down = cache.get(own_key + ":down")
    if down:  # failed a moment ago: the page must not wait for it on every render
        return RetailCrmChoices(error=_unavailable(down))
    try:
        refs = cache.get(references_key(client)) or cache.get(own_key)
        if refs is None:
            refs = {"users": client.users(), "statuses": client.statuses(),
                    "status_groups": client.status_groups()}
            cache.set(own_key, refs, REFERENCE_TTL)
    except ApiError as error:
        # The reason is remembered as stored words, not as a sentence: the
        # next reader may read another language.
        cache.set(own_key + ":down", stored_text(error), FAILURE_TTL)
        return RetailCrmChoices(error=_unavailable(stored_text(error)))
    users = sorted((user for user in refs.get("users") or [] if user.active),
                   key=lambda user: user.full_name.casefold())
    return RetailCrmChoices(
        managers=[(user.id, user.full_name) for user in users],
        statuses=[(status.code, status.name)
                  for status in _by_ordering((refs.get("statuses") or {}).values())],
        status_groups=[(group.code, group.name)
                       for group in _by_ordering((refs.get("status_groups") or {}).values())],
    )
