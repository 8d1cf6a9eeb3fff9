"""An operator's manual customer search from the card: when the lookup chain
found nobody (a customer writing from a new address) or the wrong person.

One box, whatever the operator has: an e-mail, a phone, an order number or a
name. What was typed decides the searches, all inside the shop's store (the
client's searches carry its store filter, and every hit is checked again by
`customer_site_allowed`), run in parallel so an ambiguous query (a number
that may be a phone or an order) costs one round-trip.

The card remembers the hits in the ticket's scope (integration.widget.scope,
`scope_search_remember`) so it may then open or link them; the search
itself knows nothing of tickets.
"""

import logging
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from integration.core.threads import threaded, wait_on
from integration.customers import assembly
from integration.customers.context import customer_site_allowed
from integration.customers.types import Candidate
from integration.vendors.errors import ApiError, people_text

logger = logging.getLogger("integration.customers.search")

MIN_QUERY = 3
MAX_HITS = 20
SEARCH_TIMEOUT = 5.0
PHONE_RE = re.compile(r"^[+\d\s()\-.]+$")
ORDER_RE = re.compile(r"^[\w\-/]{1,40}$")


@dataclass
class SearchResult:
    query: str
    hits: list[Candidate] = field(default_factory=list)
    notice: str = ""  # why there is nothing to show, in the operator's words


def _kinds(query: str) -> list[str]:
    """Which searches a query deserves."""
    if "@" in query:
        return ["email"]
    digits = sum(c.isdigit() for c in query)
    kinds = []
    if PHONE_RE.match(query) and digits >= 7:
        kinds.append("phone")
    if ORDER_RE.match(query) and any(c.isdigit() for c in query):
        kinds.append("order_number")
    if not kinds or any(c.isalpha() for c in query):
        kinds.append("name")
    return kinds


def customer_search(*, shop, query: str, request_id: str = "") -> SearchResult:
    from integration.vendors.retailcrm import RetailCrmClient

    query = " ".join((query or "").split())[:100]
    result = SearchResult(query=query)
    if len(query) < MIN_QUERY:
        result.notice = _("Type at least %(n)d characters: a name, an e-mail, a phone or an "
                          "order number.") % {"n": MIN_QUERY}
        return result
    connection = getattr(shop, "retailcrm", None)
    if connection is None:
        result.notice = _("RetailCRM is not connected for this shop.")
        return result
    client = RetailCrmClient.for_connection(connection, interactive=True, request_id=request_id)
    calls = {"email": client.customers_by_email, "phone": client.customers_by_phone,
             "order_number": client.orders_by_number, "name": client.customers_search}
    futures = {kind: threaded(calls[kind], query) for kind in _kinds(query)}
    done, pending = wait_on(futures.values(), timeout=SEARCH_TIMEOUT)
    customers, failures = [], []
    for kind, future in futures.items():
        if future in pending:
            failures.append(_("RetailCRM did not answer in time"))
            continue
        try:
            found = future.result()
        except ApiError as error:
            logger.info("search.failed", extra={"kind": kind, "error": str(error)})
            failures.append(people_text(error))
            continue
        customers.extend(assembly.customers_of_orders(client, found)
                         if kind == "order_number" else found)
    unique = {}
    for customer in customers:
        if customer.id and customer_site_allowed(shop=shop, site=customer.site):
            unique.setdefault(customer.id, customer)
    result.hits = [Candidate(id=c.id, name=assembly.full_name(c), email=c.email,
                             phone=(c.phones or [""])[0], site=c.site,
                             orders_count=c.orders_count)
                   for c in list(unique.values())[:MAX_HITS]]
    if not result.hits:
        result.notice = (_("The search did not work: %(error)s. Try again in a minute.")
                         % {"error": failures[0]} if failures else
                         _("Nobody in this shop's RetailCRM matches “%(query)s”.")
                         % {"query": query})
    return result
