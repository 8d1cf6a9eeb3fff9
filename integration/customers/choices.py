"""Names from the shop's RetailCRM account for admin pickers and for the
rules' explanations: managers, order statuses and status groups.

They come from the reference books the customer card already caches an
hour per connection identity (`references_get`), so a shop page or a dry run
costs no request while the card is warm, and a person reads "Доставляется"
where RetailCRM stores `delivering`. When the card's books are cold the
three lists are read here, in the request's own thread (a page's form must
not wait on pool threads writing the call log), and cached as long.
"""

import time
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


def retailcrm_choices_get(*, shop, naming=(), picking: bool = False) -> RetailCrmChoices:
    """The lists, read with the shop's *saved* connection (for the reason
    `hde_choices_get` gives: the shop page's form may hold a URL typed a
    moment ago, and the stored key must never go there).

    The newer of the card's books and this module's own copy is used.
    Accounts add statuses and managers at any time, so cached books are
    read again (at most once a minute, `context.BOOKS_RECHECK_AFTER`)
    - for `naming`: status codes about to be shown by name that the books
      lack;
    - when `picking`: a form offers the lists to choose from, and a status
      created in RetailCRM a moment ago must be there to pick.
    A re-read that fails falls back to the books in hand."""
    from integration.customers.context import (
        BOOKS_RECHECK_AFTER,
        REFERENCE_TTL,
        books_name,
        books_unnamed,
    )
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
    cached = [books for books in cache.get_many([references_key(client), own_key]).values()
              if books]
    refs = max(cached, key=lambda books: books.get("read_at", 0), default=None)
    if down and refs is None:  # failed a moment ago: the page must not wait on every render
        return RetailCrmChoices(error=_unavailable(down))
    read_at = refs.get("read_at", 0) if refs is not None else 0
    again = refs is not None and not down and (
        not books_name(refs, naming)
        or (picking and time.time() - read_at >= BOOKS_RECHECK_AFTER))
    if refs is None or again:
        try:
            statuses = client.statuses()
            refs = {"users": client.users(), "statuses": statuses,
                    "status_groups": client.status_groups(), "read_at": time.time(),
                    "unnamed": books_unnamed(statuses, naming,
                                             refs.get("unnamed") if refs else None)}
            cache.set(own_key, refs, REFERENCE_TTL)
        except ApiError as error:
            # The reason is remembered as stored words, not as a sentence:
            # the next reader may read another language.
            cache.set(own_key + ":down", stored_text(error), FAILURE_TTL)
            if refs is None:
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
