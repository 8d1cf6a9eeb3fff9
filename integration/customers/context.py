"""Customer context: who is behind a ticket and what their orders are doing.

Speed by design (cold: two sequential RetailCRM round-trips whatever the
order count, where the account answers as documented; the open questions
add one only where the answer needs it):
1. *Find*: the e-mail, phone and order-number searches run in parallel; the
   search answers carry the full customer record, aggregates included
   (ordersCount, totalSumm, averageSumm), so no order paging is needed. (A
   phone not found in its first form is searched in its other forms at
   once, R-2.)
2. *Fill*: the first page of orders (newest first whatever the list's
   order, R-1: `customer_orders_newest`), notes, the pinned order (unless
   round-trip 1 already searched it), a customer found only as an order's
   stub (R-8) and reference books (statuses, managers: cached for an hour)
   run in parallel, beside the customer's previous HDE tickets.
First paint (`parts="first"`, the card's first request and the API's
first step): for an e-mail lookup, round-trip 1 also asks for the orders
`filter[email]` finds (`orders_by_email`), so the profile and the
customer's orders come back after one round-trip. What that filter matches
is an open question (R-9), so only orders whose embedded customer is the
customer found are shown; orders placed under another e-mail, the notes,
the history and the manager follow in round-trip 2, which the second step
(`parts="all"`, the next request) runs from a hand-over the first leaves in
the cache (the customer record, the pinned order), by customer id.

The assembled context is cached per shop and customer (TTL per shop) and
dropped when an order of that customer changes; a stale copy is kept for a
day so a RetailCRM outage shows the last known data with its age instead of
"no orders". Answers come within a deadline whatever the vendor does.

Reads by id stay inside the shop's store: RetailCRM answers
`customers/{id}?by=id` for every store the key sees, while the searches are
filtered by the shop's store. So a customer read by id (asked for, remembered
or cached) whose store is not the shop's answers exactly like a customer that
does not exist (`customer_site_allowed`).
"""

import hashlib
import logging
import time
from dataclasses import asdict
from datetime import date, datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.core.tenant_regex import tenant_search
from integration.core.threads import threaded, wait_on
from integration.customers import assembly
from integration.customers.types import (
    Candidate,
    ContextStatus,
    CustomerContext,
    TicketInfo,
)
from integration.models import ShopSettings
from integration.vendors import facts
from integration.vendors.errors import (
    OUTCOME_WORDS,
    ApiError,
    ApiNotFound,
    shown_text,
    vendor_detail,
)

logger = logging.getLogger("integration.context")

DEADLINE_SECONDS = 3.0
REFERENCE_TTL = 3600
STALE_TTL = 24 * 3600
ORDERS_PAGE_SIZE = 20
# Reference books that turn an order's codes into the account's words
# (delivery "self-delivery" → "Самовывоз"), read with the statuses.
ORDER_BOOKS = ("delivery_types", "payment_types", "payment_statuses")


# -- cache entries --------------------------------------------------------------
# One entry per lookup and one per context page, each kept a day: the time
# it stops being fresh is inside it, so the same entry serves the warm card
# and, past that, the "last known data" answer of an outage. A cold card
# writes one entry per step (the database cache costs a transaction per key).
def _version_key(shop_id: int, customer_id: int) -> str:
    return f"ctxver:{shop_id}:{customer_id}"


def _context_key(shop_id, customer_id, page) -> str:
    """{"version", "fresh_until", "stored_at", "context"}: fresh while the
    customer's version (bumped when an order changes) is the one stored and
    the shop's TTL has not passed."""
    return f"ctx:{shop_id}:{customer_id}:{page}"


def _lookup_key(shop_id, email, phone, order_number) -> str:
    """{"id", "fresh_until", "first"}: the customer an identifier resolved
    to; `first` is what a first paint found (see the module docstring)."""
    digest = hashlib.sha256(f"{email.lower()}|{phone}|{order_number}".encode()).hexdigest()
    return f"ctxlookup:{shop_id}:{digest[:32]}"


def lookup_customer_id(entry) -> int | None:
    """The customer id of a lookup entry (also the bare id entries were)."""
    if isinstance(entry, dict):
        return entry.get("id")
    return entry


def _fresh(entry) -> bool:
    return not isinstance(entry, dict) or entry.get("fresh_until", 0) > time.time()


# The second step uses what the first found only this long after (the
# browser asks for it at once; a later card reads the customer again).
FIRST_TTL = 120


def customer_context_invalidate(*, shop_id: int, customer_id: int) -> None:
    """Drop every cached page of a customer's context (an order changed)."""
    cache.set(_version_key(shop_id, customer_id), time.time_ns(), None)


def _references_key(client) -> str:
    """Per connection identity (account URL + key digest): see references_get."""
    return f"rcrm-ref:v2:{client.connection.identity}"


def active_status_codes(client, refs=None) -> list[str]:
    """The account's status codes outside the finished groups, when its
    reference books are already cached (nothing is read for this: the card
    asks for active orders only when it can do so in parallel). `refs`:
    the books when the caller has them in hand."""
    refs = refs if refs is not None else cache.get(_references_key(client))
    if not refs:
        return []
    finished = set(assembly.FINISHED_GROUPS)
    return [code for code, status in (refs.get("statuses") or {}).items()
            if getattr(status, "group", "") not in finished]


# A status created in RetailCRM after the books were cached is missing from
# them: an order in it showed its code ("delivering_by_courier") on the card
# and in HDE until the hour was up. Books that lack the status of an order
# about to be shown or written are read again at once; a code they still
# lack after that read (a status deleted in RetailCRM, or one it never had)
# is looked for again at most once in this many seconds per connection, so
# it does not cost a read per card.
BOOKS_RECHECK_AFTER = 60


def books_name(books: dict, codes) -> bool:
    """Whether cached books (a dict with "statuses" and, from a read that
    looked for codes, "unnamed": {code: when looked for}) will do for orders
    in `codes`: they name each one, or looked for it less than
    BOOKS_RECHECK_AFTER ago and RetailCRM did not name it."""
    statuses, unnamed = books.get("statuses") or {}, books.get("unnamed") or {}
    now = time.time()
    return all(code in statuses or now - unnamed.get(code, 0) < BOOKS_RECHECK_AFTER
               for code in codes if code)


def books_unnamed(statuses: dict, codes, before: dict | None = None) -> dict:
    """For books just read: the codes asked about that they do not name,
    with when they were looked for (`books_name`), kept beside those an
    earlier read (`before`, the replaced books' record) looked for within
    the minute: two orders in two unnamed statuses, asked about in turn,
    must not make every card read the books again."""
    now = time.time()
    kept = {code: when for code, when in (before or {}).items()
            if code not in statuses and now - when < BOOKS_RECHECK_AFTER}
    return {**kept, **{code: now for code in codes if code and code not in statuses}}


def references_get(client, shop, *, naming=()) -> dict:
    """Statuses, status groups, managers and the order books (delivery and
    payment names), cached an hour per connection
    identity (account URL + key digest), never per host: two accounts on one
    host, or a shop that typed another's account URL with a key RetailCRM
    refuses, must not read each other's managers (names, e-mails, phones).

    `naming`: status codes of the orders about to be shown; cached books
    that lack one are read again (`books_name`)."""
    key = _references_key(client)
    cached = cache.get(key)
    if cached is not None and books_name(cached, naming):
        return cached
    # A key without the users right (the wizard saves it, with that feature
    # off) is not asked for managers: the 403 would flag the connection and
    # take the statuses down with it.
    from integration.vendors.facts import right_available

    optional = (*ORDER_BOOKS, "users")
    wanted = ["statuses", "status_groups", *ORDER_BOOKS]
    if right_available(shop, "user_read"):
        wanted.append("users")
    futures = {name: threaded(getattr(client, name)) for name in wanted}
    refs = {name: future.result() for name, future in futures.items()
            if name not in optional}
    refs["users"] = []
    for name in (n for n in optional if n in futures):  # a card without them still works
        try:
            refs[name] = futures[name].result()
        except ApiError as error:
            logger.info("context.book_failed", extra={"book": name, "error": str(error)})
            refs[name] = [] if name == "users" else {}
    refs["read_at"] = time.time()
    refs["unnamed"] = books_unnamed(refs["statuses"], naming,
                                    cached.get("unnamed") if cached else None)
    cache.set(key, refs, REFERENCE_TTL)
    return refs


class CustomerOutOfScope(ApiNotFound):
    """A customer of a store the shop does not own: told apart from a real
    404 only in the logs, never in an answer."""


def customer_site_allowed(*, shop, site: str) -> bool:
    """Whether a customer of store `site` belongs to this shop. A connection
    without a store code sees whatever stores its key sees (the key is the
    boundary); with a code, only that store."""
    connection = getattr(shop, "retailcrm", None)
    code = (connection.site_code if connection is not None else "") or ""
    return not code or (site or "") == code


def _not_found_context() -> CustomerContext:
    return CustomerContext(status=ContextStatus.UNKNOWN, matched_by="id",
                           notice=_("No such customer in this shop's RetailCRM store."))


def _fresh_context(shop_id, customer_id, page) -> dict | None:
    got = cache.get_many([_version_key(shop_id, customer_id),
                          _context_key(shop_id, customer_id, page)])
    entry = got.get(_context_key(shop_id, customer_id, page))
    if (isinstance(entry, dict) and _fresh(entry)
            and entry.get("version") == got.get(_version_key(shop_id, customer_id), 0)):
        return entry["context"]
    return None


def customer_site_check(*, shop, customer_id: int, request_id: str = "") -> int | None:
    """Raise CustomerOutOfScope unless the customer exists in the shop's
    store: from a cached context when there is one, else one read. Every
    write by id (notes, tasks from the API) goes through here.

    Returns the customer's responsible manager as RetailCRM records it, so
    that a task goes to the manager the CRM names, never to an id a form
    posted."""
    from integration.vendors.retailcrm import RetailCrmClient

    cached = _fresh_context(shop.pk, customer_id, 1)
    if cached is not None and cached.get("customer"):
        site = cached["customer"].get("site", "")
        manager_id = cached["customer"].get("manager_id")
    else:
        connection = getattr(shop, "retailcrm", None)
        if connection is None:
            raise CustomerOutOfScope(_("RetailCRM is not connected for this shop."))
        client = RetailCrmClient.for_connection(connection, interactive=True,
                                                request_id=request_id)
        customer = client.customer(customer_id)
        site, manager_id = customer.site, customer.manager_id
    if not customer_site_allowed(shop=shop, site=site):
        logger.warning("context.customer_out_of_scope",
                       extra={"shop": shop.pk, "customer": customer_id})
        raise CustomerOutOfScope(_("No such customer in this shop's RetailCRM store."))
    return manager_id


def order_number_in(text: str, pattern: str) -> str:
    """The first order number in a ticket subject/body, by the shop's pattern."""
    # Bounded in input and time: the pattern is the tenant's, the text anyone's.
    match = tenant_search(pattern, text)
    return (match.group(1) if match.groups() else match.group(0)) if match else ""


# -- the service --------------------------------------------------------------
def customer_context_get(*, shop, email: str = "", phone: str = "", order_number: str = "",
                         ticket: TicketInfo | None = None, customer_id: int | None = None,
                         hde_user_id: int | None = None, page: int = 1, refresh: bool = False,
                         interactive: bool = True, request_id: str = "", event=None,
                         deadline: float = DEADLINE_SECONDS, today: date | None = None,
                         raise_errors: bool = False, with_hde_history: bool = True,
                         use_memory: bool = True, parts: str = "all") -> CustomerContext:
    """The context for a ticket or an identifier.

    `parts="first"`: the first paint (module docstring): for a customer
    found by e-mail, the profile and their orders after one round-trip,
    with `complete=False`; ask again with `parts="all"` for the rest. Every
    other case (a known or remembered customer, a phone or order-number
    match, the chooser, nobody) answers complete, as `parts="all"` does.

    Interactive callers (the widget) get an answer within `deadline` whatever
    RetailCRM does. Jobs pass `raise_errors=True` to get the client's error
    (so the inbox can retry, park or give up) and `with_hde_history=False`
    to keep a new ticket within three HDE calls.

    A remembered or cached customer that is gone or outside the shop's store
    (the store code changed, a link made before the store rule) is
    forgotten and the customer is searched for again (`use_memory=False`).
    """
    arguments = {k: v for k, v in locals().items() if k != "use_memory"}
    from integration.vendors.retailcrm import RetailCrmClient

    started, asked_at = time.monotonic(), time.time()
    settings = ShopSettings.of(shop)
    ticket = ticket or TicketInfo(id=0)
    email = (email or ticket.email or "").strip()
    phone = (phone or ticket.phone or "").strip()
    if not order_number:
        order_number = order_number_in(f"{ticket.subject}\n{ticket.body}",
                                       settings.order_number_pattern)
    connection = getattr(shop, "retailcrm", None)
    if connection is None:
        return CustomerContext(status=ContextStatus.UNAVAILABLE,
                               notice=_("RetailCRM is not connected for this shop."))
    client = RetailCrmClient.for_connection(connection, interactive=interactive, event=event,
                                            request_id=request_id)

    # One bulk insert for the call log of the whole lookup (see
    # BaseClient.call_log_batch), however many threads it fans out to.
    with client.call_log_batch():
        def remaining() -> float:
            return max(0.05, deadline - (time.monotonic() - started))

        # 1. Find the customer (remembered link, cached lookup, or parallel searches).
        lookup_key = _lookup_key(shop.pk, email, phone, order_number)
        asked_for = customer_id is not None
        if customer_id is None and hde_user_id and use_memory:
            customer_id = _remembered(shop, hde_user_id)
        refs_key = _references_key(client)
        # The reference books are read only on the way to RetailCRM: a warm
        # card needs neither them nor their unpickling.
        lookup = cache.get(lookup_key) if customer_id is None else None
        refs, refs_read = None, False
        found, handed = None, None
        if customer_id is None and not refresh and use_memory and lookup is not None \
                and _fresh(lookup):
            customer_id = lookup_customer_id(lookup)
            first = lookup.get("first") if isinstance(lookup, dict) else None
            if first and first["at"] > time.time() - FIRST_TTL:
                handed = first
        first_step = parts == "first"
        if customer_id is None:
            refs, refs_read = cache.get(refs_key), True
            try:
                found = _find(client, email=email, phone=phone, order_number=order_number,
                              timeout=remaining(), first_step=first_step,
                              refs=None if refs is not None or not first_step
                              else threaded(references_get, client, shop))
            except (ApiError, TimeoutError) as error:
                if raise_errors:
                    raise
                stale_id = lookup_customer_id(lookup)
                if stale_id is None:
                    return CustomerContext(status=ContextStatus.UNAVAILABLE,
                                           notice=assembly.unavailable_notice(
                                               error, failure=client.last_failure))
                customer_id = stale_id
            else:
                if found.status != ContextStatus.FOUND:
                    return found.context
                customer_id = found.customer.id
                if refs is None and found.refs is not None:
                    refs = found.refs_result() or None
                if hde_user_id:
                    _remember(shop, hde_user_id, customer_id)
        paint_first = (first_step and found is not None and found.email_orders is not None
                       and page == 1)
        if found is not None and not paint_first:
            _lookup_store(lookup_key, customer_id, settings)

        # 2. Warm: the assembled context from the cache (unless the first step
        # just read the customer afresh: then the second fills from that).
        version_key = _version_key(shop.pk, customer_id)
        key = _context_key(shop.pk, customer_id, page)
        got = cache.get_many([version_key, key])
        version, entry = got.get(version_key, 0), got.get(key)
        entry = entry if isinstance(entry, dict) and "context" in entry else None
        fresh = (entry is not None and _fresh(entry) and entry.get("version") == version
                 and not (handed and handed["at"] > entry.get("stored_at", 0)))
        if not refresh and fresh:
            if paint_first:
                _lookup_store(lookup_key, customer_id, settings)
            context = assembly.from_cache(entry["context"])
            if context.customer and not customer_site_allowed(shop=shop,
                                                              site=context.customer.site):
                if not asked_for and use_memory:
                    return _search_again(shop, hde_user_id, lookup_key, arguments)
                return _not_found_context()
            context.pinned_order_number = order_number or context.pinned_order_number
            return assembly.pin_order(context)

        if not refs_read:
            refs = cache.get(refs_key)

        # 2b. The first paint, when round-trip 1 brought the customer's orders.
        if paint_first:
            context = _first_paint(client, shop, found, refs=refs or {}, order_number=order_number,
                                   today=today, timeout=remaining(), asked_at=asked_at)
            _lookup_store(lookup_key, customer_id, settings, first={
                "customer": found.customer, "pinned": found.orders,
                "matched_by": found.matched_by, "at": time.time()})
            return assembly.pin_order(context)

        # 3. Cold: fill in parallel (the second step: from what the first found).
        if found is None and handed is not None:
            found = _Found(ContextStatus.FOUND, customer=handed["customer"],
                           matched_by=handed["matched_by"], orders=handed["pinned"])
        try:
            context = _fill(client, shop, settings, customer_id=customer_id,
                            customer=found.customer if found else None, page=page,
                            order_number=order_number, refs=refs,
                            pinned_orders=found.orders if found else None,
                            hde_user_id=((hde_user_id or ticket.user_id) if with_hde_history
                                         else None),
                            timeout=remaining(), today=today,
                            books_required=raise_errors and _books_readable(shop),
                            asked_at=asked_at)
        except ApiNotFound:
            if not asked_for and found is None and use_memory:
                return _search_again(shop, hde_user_id, lookup_key, arguments)
            if raise_errors:
                raise
            return _not_found_context()
        except (ApiError, TimeoutError) as error:
            if raise_errors:
                raise
            if entry is None:
                return CustomerContext(status=ContextStatus.UNAVAILABLE,
                                       notice=assembly.unavailable_notice(
                                           error, failure=client.last_failure))
            context = assembly.from_cache(entry["context"])
            context.notice = assembly.stale_notice(context, error, failure=client.last_failure)
            return assembly.pin_order(context)
        context.matched_by = found.matched_by if found else "remembered"
        if not context.notice:
            now = time.time()
            cache.set(key, {"version": version, "stored_at": now,
                            "fresh_until": now + settings.context_ttl_seconds,
                            "context": asdict(context)}, STALE_TTL)
        return assembly.pin_order(context)


def _books_readable(shop) -> bool:
    """Unless the key is known to lack the right to read reference books
    (then the feature is off and a job works without them)."""
    return facts.right_available(shop, "reference_read")


def _lookup_store(lookup_key, customer_id, settings, *, first=None) -> None:
    """One entry: the customer, fresh for the shop's TTL, kept a day for
    outages; `first`: the first paint's hand-over to the second step."""
    cache.set(lookup_key, {"id": customer_id, "first": first,
                           "fresh_until": time.time() + settings.context_ttl_seconds},
              STALE_TTL)


def _search_again(shop, hde_user_id, lookup_key, arguments) -> CustomerContext:
    """The remembered customer is no longer this shop's: forget it, search."""
    logger.info("context.memory_forgotten", extra={"shop": shop.pk})
    if hde_user_id:
        _forget(shop, hde_user_id)
    cache.delete(lookup_key)
    return customer_context_get(**{**arguments, "refresh": True}, use_memory=False)


class _Found:
    """What round-trip 1 found. `orders`: the order-number search's answer
    (None when it did not run or failed), handed to round-trip 2 so the
    same search is never sent twice in one lookup. `email_orders`: the
    first paint's `filter[email]` candidates (None when not asked or not
    answered); `refs`: the reference books' future when they were read
    beside the searches."""

    def __init__(self, status, *, customer=None, matched_by="", context=None, orders=None,
                 email_orders=None, refs=None):
        self.status, self.customer, self.matched_by = status, customer, matched_by
        self.context, self.orders = context, orders
        self.email_orders, self.refs = email_orders, refs

    def refs_result(self) -> dict:
        """The books read beside the searches; empty ones when they failed
        (names then fall back to codes, as in the second round-trip)."""
        if self.refs is not None and self.refs.done() and self.refs.exception() is None:
            return self.refs.result()
        return {}


def _find(client, *, email, phone, order_number, timeout, first_step=False,
          refs=None) -> _Found:
    """Round-trip 1: every identifier searched at once; the most specific
    identifier with results wins (e-mail, then phone, then order number).
    Several customers for one identifier give the chooser, never a guess.

    `first_step`: the orders `filter[email]` finds are asked beside the
    searches (`email_orders`, optional: a failure or a late answer only
    means the first paint waits for the second step); `refs`: the books'
    future, read beside them when they were not cached."""
    searches, extras = {}, {}
    ask_orders = bool(first_step and email) and facts.fact_answer(
        client.connection, facts.RC_ORDER_EMAIL_FILTER) != facts.FILTER_IGNORED
    # The round-trip's slots in one step, before anything leaves.
    client.slots_ahead(bool(email) + bool(phone) + bool(order_number) + ask_orders)
    if email:
        searches["email"] = threaded(client.customers_by_email, email)
    if phone:
        searches["phone"] = threaded(client.customers_by_phone, phone)
    if order_number:
        searches["order_number"] = threaded(client.orders_by_number, order_number)
    if not searches:
        return _Found(ContextStatus.UNKNOWN, context=CustomerContext(
            status=ContextStatus.UNKNOWN, notice=_("The ticket has no e-mail, phone or order.")))
    if ask_orders:
        extras["email_orders"] = threaded(client.orders_by_email, email)
    if refs is not None:
        extras["refs"] = refs
    done, pending = wait_on([*searches.values(), *extras.values()], timeout=timeout)
    if any(future in pending for future in searches.values()):
        raise TimeoutError("RetailCRM did not answer the customer search in time.")
    email_orders = None
    candidates = extras.get("email_orders")
    if candidates is not None and candidates not in pending:
        try:
            email_orders = candidates.result()
        except ApiError as error:
            logger.info("context.email_orders_failed", extra={"error": str(error)})
    orders = None
    if "order_number" in searches and searches["order_number"].exception() is None:
        orders = searches["order_number"].result()
    for matched_by in ("email", "phone", "order_number"):
        if matched_by not in searches:
            continue
        result = searches[matched_by].result()  # re-raises the client's ApiError
        customers = (assembly.customers_of_orders(client, result) if matched_by == "order_number"
                     else result)
        unique = list({c.id: c for c in customers}.values())
        if len(unique) == 1 and matched_by == "order_number" and (email or phone):
            # The sender's own e-mail or phone found nobody, but the order
            # named in the ticket belongs to someone: anyone can type an
            # order number. Offered for the operator to confirm, never
            # taken: no profile, no replies, no automation on a stranger's
            # word.
            return _Found(ContextStatus.SEVERAL, context=CustomerContext(
                status=ContextStatus.SEVERAL, candidates=_candidates(unique),
                matched_by=matched_by, pinned_order_number=order_number,
                notice=_("The order named in the ticket belongs to this customer, but the "
                         "sender's e-mail or phone is not theirs: link only if you are sure.")))
        if len(unique) == 1:
            return _Found(ContextStatus.FOUND, customer=unique[0], matched_by=matched_by,
                          orders=orders, refs=extras.get("refs"),
                          email_orders=email_orders if matched_by == "email" else None)
        if len(unique) > 1:
            return _Found(ContextStatus.SEVERAL, context=CustomerContext(
                status=ContextStatus.SEVERAL, candidates=_candidates(unique),
                matched_by=matched_by, pinned_order_number=order_number))
    return _Found(ContextStatus.UNKNOWN, context=CustomerContext(
        status=ContextStatus.UNKNOWN, pinned_order_number=order_number))


def _candidates(customers) -> list[Candidate]:
    return [Candidate(id=c.id, name=assembly.full_name(c), email=c.email,
                      phone=(c.phones or [""])[0], site=c.site, orders_count=c.orders_count)
            for c in customers]


def _first_paint(client, shop, found: _Found, *, refs, order_number, today,
                 timeout, asked_at=0.0) -> CustomerContext:
    """Round-trip 1's answer as a card: the profile, and of the orders
    `filter[email]` found only those whose embedded customer is the
    customer found: the filter may match the order's own e-mail, the
    customer's, part of either, or nothing at all (R-9), so an order placed
    with this address by someone else is never shown as theirs. The page
    counts the customer's own `ordersCount`, so the card reserves the
    places of orders still to come; round-trip 2 (by customer id) brings
    those placed under another e-mail, with the notes, the history and the
    manager (`complete=False` until then)."""
    from integration.vendors.retailcrm import newest_first
    from integration.vendors.retailcrm_parsing import Page

    customer = found.customer
    own = [o for o in found.email_orders if o.customer_id == customer.id]
    pinned = [o for o in found.orders or [] if o.customer_id == customer.id]
    total = max(customer.orders_count, len(own))
    orders_page = Page(items=newest_first(own)[:ORDERS_PAGE_SIZE], total_count=total,
                       current_page=1, total_pages=max(1, -(-total // ORDERS_PAGE_SIZE)),
                       limit=ORDERS_PAGE_SIZE)
    refs = _books_naming(client, shop, refs, [*orders_page.items, *pinned], required=False,
                         timeout=timeout, asked_at=asked_at)
    no_notes_yet = Page(items=[], total_count=0, current_page=1, total_pages=0,
                        limit=ORDERS_PAGE_SIZE)  # not read yet, which is not a failure
    context = assembly.build(
        shop=shop, crm_url=client.base_url, customer=customer, orders_page=orders_page,
        pinned=pinned, notes=no_notes_yet, tickets=[], refs=refs,
        today=today or timezone.localdate())
    context.matched_by = found.matched_by
    context.pinned_order_number = order_number
    context.complete = False
    context.fetched_at = datetime.now(tz=timezone.get_current_timezone()).isoformat()
    return context


def _fill(client, shop, settings, *, customer_id, customer, page, order_number, hde_user_id,
          timeout, today, pinned_orders=None, refs=None,
          books_required=False, asked_at=0.0) -> CustomerContext:
    """Round-trip 2: everything about a known customer, in parallel.

    `customer`: the record round-trip 1 found, used as it is when whole; a
    stub embedded in an order (R-8) is read by id here, in parallel with
    the rest. `pinned_orders`: round-trip 1's answer for `order_number`,
    when it ran (otherwise the order is searched for here).

    `books_required`: the reference books are not optional (the ticket job).
    The card can show a notice for books not loaded in time; a job cannot:
    without the status book it wrote status codes into HDE's fields and its
    comment ("delivering") and its priority rules by status group matched
    nothing, for good (seen in CI under load). So it raises instead, and
    the event is retried with backoff like any other RetailCRM failure."""
    started = time.monotonic()
    if customer is not None and not assembly.customer_whole(customer):
        customer = None
    # Every active order, however old: the newest page alone hid an order
    # still in delivery behind twenty newer ones. In parallel, when the
    # status book is known, and only where the first page cannot hold all.
    active_codes = active_status_codes(client, refs) if page == 1 else []
    active = bool(active_codes) and (customer is None
                                     or customer.orders_count > ORDERS_PAGE_SIZE)
    pinned_wanted = bool(order_number) and pinned_orders is None
    # The round-trip's slots in one step: orders, notes and the optional reads.
    client.slots_ahead(2 + (customer is None) + active + pinned_wanted)
    jobs = {
        "orders": threaded(client.customer_orders_newest, customer_id, limit=ORDERS_PAGE_SIZE,
                            page=page),
        "notes": threaded(client.customer_notes, customer_id, limit=ORDERS_PAGE_SIZE),
    }
    if refs is None:  # not cached: read beside the rest (a thread of its own)
        jobs["refs"] = threaded(references_get, client, shop)
    if customer is None:
        jobs["customer"] = threaded(client.customer, customer_id)
    if active:
        jobs["active"] = threaded(client.customer_orders_in_statuses, customer_id, active_codes)
    if pinned_wanted:
        jobs["pinned"] = threaded(client.orders_by_number, order_number)
    hde_clients: list = []
    if hde_user_id and getattr(shop, "helpdeskeddy", None) is not None:
        jobs["tickets"] = threaded(assembly.previous_tickets, shop, hde_user_id,
                                    client.interactive, hde_clients)
    done, pending = wait_on(jobs.values(), timeout=timeout)
    if jobs["orders"] in pending or ("customer" in jobs and jobs["customer"] in pending):
        raise TimeoutError("RetailCRM did not answer with the customer's orders in time.")
    customer = customer or jobs["customer"].result()
    if not customer_site_allowed(shop=shop, site=customer.site):
        logger.warning("context.customer_out_of_scope",
                       extra={"shop": shop.pk, "customer": customer_id})
        raise CustomerOutOfScope("The customer belongs to another store.")
    orders_page = jobs["orders"].result()
    late, failed = [], []

    def optional(name, default):
        future = jobs.get(name)
        if future is None:
            return default
        label = assembly.PART_LABELS[name]
        if future in pending:
            # Still retrying at the deadline: what the vendor last answered,
            # when it answered (a rate limit, a server error), else late.
            owner = (hde_clients[0] if hde_clients else None) if name == "tickets" else client
            cause = owner.last_failure if owner is not None else ""
            if cause in OUTCOME_WORDS and cause != "timeout":
                failed.append((label, shown_text(OUTCOME_WORDS[cause])))
            else:
                late.append(label)
            return default
        try:
            return future.result()
        except ApiError as error:
            logger.info("context.part_failed", extra={"part": name, "error": str(error)})
            failed.append((label, vendor_detail(error)))
            return default

    if refs is None and books_required:
        # Waited for past the deadline: a job that first waited on another's
        # claim (the sender's customer) reaches here with little of it left,
        # and the reads are bounded by the client's own timeouts, whose
        # ApiError goes to the job.
        refs = jobs["refs"].result()
    if refs is None:
        refs = optional("refs", {"statuses": {}, "status_groups": {}, "users": []})
    pinned = pinned_orders if pinned_orders is not None else optional("pinned", [])
    pinned = [o for o in pinned if o.customer_id in (None, customer_id)]
    active = [o for o in optional("active", []) if o.customer_id in (None, customer_id)]
    pinned = pinned + [o for o in active if all(o.id != p.id for p in pinned)]
    refs = _books_naming(client, shop, refs, [*orders_page.items, *pinned],
                         required=books_required,
                         timeout=timeout - (time.monotonic() - started), asked_at=asked_at)
    context = assembly.build(
        shop=shop, crm_url=client.base_url, customer=customer, orders_page=orders_page,
        pinned=pinned, notes=optional("notes", None), tickets=optional("tickets", []),
        refs=refs, today=today or timezone.localdate(),
    )
    context.pinned_order_number = order_number
    context.fetched_at = datetime.now(tz=timezone.get_current_timezone()).isoformat()
    if late or failed:
        context.notice = assembly.parts_notice(late, failed)
    return context


def _books_naming(client, shop, refs, orders, *, required, timeout, asked_at=0.0) -> dict:
    """The books, read again when they were cached before a status one of
    `orders` is in (`books_name`). A job waits for them (a failure goes to
    the job: it retries rather than write a code); the card waits what is
    left of its deadline and otherwise shows what it has.

    Books read during this very lookup (after `asked_at`, epoch seconds)
    are as fresh as a second read would be: the codes they lack are only
    noted as unnamed (a cold card read the whole books twice)."""
    codes = {order.status for order in orders}
    if not refs.get("statuses") or books_name(refs, codes):
        return refs
    if refs.get("read_at", 0) >= asked_at > 0:
        _books_note_unnamed(client, refs, codes)
        return refs
    again = threaded(references_get, client, shop, naming=codes)
    if required:
        return again.result()
    done, _pending = wait_on([again], timeout=max(0.05, timeout))
    if again in done and again.exception() is None:
        return again.result()
    logger.info("context.books_again_late", extra={"shop": shop.pk})
    return refs


def _books_note_unnamed(client, refs, codes) -> None:
    """Record in the cached books (the same read only) the codes they lack."""
    key = _references_key(client)
    cached = cache.get(key)
    if cached is not None and cached.get("read_at") == refs.get("read_at"):
        cached["unnamed"] = books_unnamed(cached.get("statuses") or {}, codes,
                                          cached.get("unnamed"))
        cache.set(key, cached, REFERENCE_TTL)


def _remembered(shop, hde_user_id):
    from integration.models import CustomerLink

    return (CustomerLink.objects.for_shop(shop).filter(hde_user_id=hde_user_id)
            .values_list("customer_id", flat=True).first())


def _remember(shop, hde_user_id, customer_id):
    from integration.models import CustomerLink

    CustomerLink.objects.update_or_create(shop=shop, hde_user_id=hde_user_id,
                                          defaults={"customer_id": customer_id})


def _forget(shop, hde_user_id):
    from integration.models import CustomerLink

    CustomerLink.objects.for_shop(shop).filter(hde_user_id=hde_user_id).delete()


def customer_link_set(*, shop, hde_user_id: int, customer_id: int) -> None:
    """The operator picked a customer in the chooser: remember it."""
    _remember(shop, hde_user_id, customer_id)
