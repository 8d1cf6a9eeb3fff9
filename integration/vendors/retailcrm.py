"""RetailCRM API v5 client for one shop's connection.

Transport, throttle, retries, call logging and connection health come from
`BaseClient`; this module knows RetailCRM's URLs, encodings and envelope
(docs/vendors/retailcrm.md, cited as §N). The same
code talks to a real `https://<account>.retailcrm.ru` and to the sandbox
emulator: the account URL is configuration, nothing here special-cases it.

Timestamps in answers carry no offset; they are in the *account's* timezone
(§7). `account_settings()` (also run by `test_connection()`) reads it and
keeps it in the shared cache for a day, so every later client of that account
parses in the right zone without an extra round-trip; until then the shop's
timezone is the best guess.
"""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.utils.translation import gettext

from integration.vendors import call_log
from integration.vendors import retailcrm_parsing as parsing
from integration.vendors.base import NOT_JSON, BaseClient
from integration.vendors.errors import (
    ApiAccessDenied,
    ApiError,
    ApiNotFound,
    ApiRateLimited,
    ApiServerError,
    ApiUnauthorized,
    ApiUnexpectedResponse,
    ApiValidationError,
)
from integration.vendors.retailcrm_parsing import (
    AccountSettings,
    Credentials,
    Customer,
    HistoryBatch,
    Note,
    Order,
    Page,
    RightsCheck,
    SettingsRead,
    Site,
    Status,
    StatusGroup,
    User,
)

PAGE_LIMITS = (20, 50, 100)  # the only accepted `limit` values (§5.2)
# At most this many pages of 100 are read to find a customer's newest orders
# when the list's order cannot be told: 1,000 orders.
NEWEST_SCAN_PAGES = 10
HISTORY_LIMIT = 100  # history pages hold at most 100 records (§12)
TIMEZONE_CACHE_SECONDS = 24 * 3600
WRONG_URL_HINT = (
    "RetailCRM answered with an HTML page instead of JSON: the account URL looks wrong "
    "(expected https://<account>.retailcrm.ru)."
)


class RetailCrmClient(BaseClient):
    provider = "retailcrm"
    rate_limit_settings = (
        "RETAILCRM_RATE_LIMIT", "RETAILCRM_RATE_WINDOW", "RETAILCRM_INTERACTIVE_RESERVE",
    )
    rate_limit_statuses = (429, 503)  # 503 is RetailCRM's nginx limit page (§6)
    # Values the call log keeps as they are; the rest (e-mails, phones, names,
    # free text) is hashed (see call_log).
    log_params = call_log.RETAILCRM_PARAMS

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        known = cache.get(self._timezone_cache_key())
        self.tz = ZoneInfo(known or getattr(self.shop, "timezone", "") or "Europe/Moscow")
        self.site_code = getattr(self.connection, "site_code", "") or ""

    @classmethod
    def for_connection(cls, connection, *, interactive=False, event=None, request_id=""):
        return cls(shop=connection.shop, connection=connection, interactive=interactive,
                   event=event, request_id=request_id)

    def auth_headers(self) -> dict[str, str]:
        # The header, never the `apiKey` query parameter, so keys stay out of
        # URLs, proxies and logs (§2).
        return {"X-API-KEY": self.connection.api_key}

    # -- the envelope -------------------------------------------------------
    def raise_for_response(self, response, body, path: str) -> None:
        error = error_for_response(response, body)
        if error is not None:
            raise error

    def _get(self, path: str, params=None) -> dict:
        return self.request("GET", path, params=params)

    def _post(self, path: str, **fields) -> dict:
        """Form-encoded POST; nested entities as one JSON-string field (§4)."""
        data = {
            name: json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list))
            else value
            for name, value in fields.items() if value is not None
        }
        return self.request("POST", path, data=data)

    def _site_filter(self) -> dict:
        return {"filter[sites][]": [self.site_code]} if self.site_code else {}

    # -- account ------------------------------------------------------------
    def api_versions(self) -> list[str]:
        """`/api/api-versions` (unversioned, §1): with `/api/credentials`, what
        decides that an address is a RetailCRM account at all."""
        body = self._get("/api/api-versions")
        versions = body.get("versions") if isinstance(body, dict) else None
        if not isinstance(versions, list):
            raise ApiUnexpectedResponse(WRONG_URL_HINT, provider=self.provider,
                                        path="/api/api-versions")
        return [str(v) for v in versions]

    def check_credentials(self) -> Credentials:
        """`/api/credentials` is unversioned (§1): the key's scopes and stores,
        compared with what the portal needs."""
        return parsing.parse_credentials(self._get("/api/credentials"))

    def rights_check(self, credentials: Credentials) -> RightsCheck:
        """Which of the rights the portal needs the key has, tolerating other
        names (docs/vendors/open-questions.md R-6): a right listed under the
        expected name, in the deprecated method list, or under a similar or
        split name counts as there; a read right found nowhere is tried with
        one harmless read (the read that needs it); a write right found
        nowhere is "not confirmed" (writes are never tried on a real
        account). The reads are optional calls: a refusal is the answer, not
        a broken connection."""
        how = parsing.rights_resolve(credentials)
        missing, unconfirmed = [], []
        reads = {
            "customer_read": lambda: self._get("/api/v5/customers", {"limit": 20}),
            "order_read": lambda: self._get("/api/v5/orders", {"limit": 20}),
            "reference_read": lambda: self._get("/api/v5/reference/statuses"),
            "user_read": lambda: self._get("/api/v5/users", {"limit": 20}),
        }
        for right in parsing.REQUIRED_SCOPES:
            if right in how:
                continue
            if right not in reads:
                unconfirmed.append(right)
                continue
            try:
                with self.optional_calls():
                    reads[right]()
            except ApiAccessDenied:
                missing.append(right)
            else:
                how[right] = "read"
        return RightsCheck(confirmed=how, missing=missing, unconfirmed=unconfirmed)

    def account_settings(self) -> AccountSettings:
        """`/api/v5/settings`; remembers the account timezone (§7)."""
        settings = parsing.parse_settings(self._get("/api/v5/settings"))
        if settings.timezone:
            self.tz = ZoneInfo(settings.timezone)
            cache.set(self._timezone_cache_key(), settings.timezone, TIMEZONE_CACHE_SECONDS)
        return settings

    def account_settings_optional(self, *, source: str = "check") -> SettingsRead:
        """The account settings when they can be read; otherwise the shop's
        zone and a reason (R-7: not every key may read them, and the portal
        needs them only for the time zone). A refusal is remembered for the
        connection, so later tests stop asking until the probe or a test
        after a key change finds them readable again; a server error is
        only reported (it may pass)."""
        from integration.vendors import facts

        if facts.fact_answer(self.connection, facts.RC_SETTINGS) == facts.UNAVAILABLE:
            return SettingsRead(settings=None, skipped=True, reason="refused",
                                zone=str(self.tz))
        try:
            with self.optional_calls():
                account = self.account_settings()
        except ApiAccessDenied:
            facts.fact_set(self.connection, facts.RC_SETTINGS, facts.UNAVAILABLE,
                           source=source, status=403)
            return SettingsRead(settings=None, reason="refused", zone=str(self.tz))
        except ApiError as error:
            return SettingsRead(settings=None, reason="failed", zone=str(self.tz),
                                status=error.status_code)
        return SettingsRead(settings=account, zone=account.timezone or str(self.tz))

    def _timezone_cache_key(self) -> str:
        # Per connection identity (account URL + key), not per host: one
        # host may serve several accounts.
        return f"retailcrm:account-timezone:{self.connection.identity}"

    def test_connection(self) -> str:
        """One line for the admin's "Test connections" action, in the admin's
        language. Only `api-versions` and `credentials` decide that the key
        works; the settings are optional (R-7) and missing rights switch
        features off (R-6): both become warnings, kept for the caller in
        `warnings` (and `missing_rights`), and the rights are remembered for
        the connection (integration.vendors.facts)."""
        from integration.vendors import facts

        self.api_versions()
        credentials = self.check_credentials()
        rights = self.rights_check(credentials)
        facts.fact_set(self.connection, facts.RC_RIGHTS, source="check",
                       **rights.as_fact())
        read = self.account_settings_optional()
        self.missing_rights = {right: facts.RIGHT_FEATURES[right] for right in rights.off}
        self.warnings = []
        stores = ", ".join(self.store_names(credentials.sites_available)) or gettext("none")
        scope = (gettext("all stores") if credentials.site_access == "access_full"
                 else gettext("selected stores"))
        summary = gettext("Key works; %(scope)s: %(stores)s; timezone %(tz)s") % {
            "scope": scope, "stores": stores, "tz": read.zone or gettext("unknown")}
        if read.settings is None:
            self.warnings.append(read.warning())
            summary += "; " + read.warning()
        if self.site_code and self.site_code not in credentials.sites_available:
            self.warnings.append(gettext("the key cannot see store '%(site)s'") % {
                "site": self.site_code})
            summary += gettext("; WARNING: the key cannot see store '%(site)s'") % {
                "site": self.site_code}
        if rights.off:
            missing = "; ".join(gettext("%(right)s (to %(feature)s)") % {
                "right": facts.RIGHT_NAMES[right], "feature": facts.RIGHT_FEATURES[right]}
                for right in rights.off)
            self.warnings.append(missing)
            return summary + gettext("; missing rights, these features are off: "
                                     "%(rights)s") % {"rights": missing}
        return summary + gettext("; all needed rights present")

    # -- customers ----------------------------------------------------------
    def customers_by_email(self, email: str) -> list[Customer]:
        """Customers whose e-mail is this address, letter case aside.

        Whether `filter[email]` ignores case and whether it matches part of
        the address are not documented (§8.1, R-3), so nothing relies on it:
        the address is searched as the customer wrote it and, when that
        differs, lower-cased too, both at once (one round-trip; the second
        is left out once the contract probe found the search
        case-insensitive), and the answers are compared here, casefolded."""
        from integration.core.threads import threaded_inner
        from integration.vendors import facts

        written = email.strip()
        wanted = written.casefold()
        if not wanted:
            return []
        queries = [written]
        if (written.lower() != written
                and facts.fact_answer(self.connection, facts.RC_EMAIL_CASE) != "insensitive"):
            queries.append(written.lower())
        if len(queries) == 1:
            found = self._customers_by_email_filter(written)
        else:
            futures = [threaded_inner(self._customers_by_email_filter, q) for q in queries]
            found = [c for future in futures for c in future.result()]
        unique = {}
        for customer in found:
            if customer.email.strip().casefold() == wanted:
                unique.setdefault(customer.id, customer)
        return list(unique.values())

    def _customers_by_email_filter(self, value: str) -> list[Customer]:
        body = self._get("/api/v5/customers", {"filter[email]": value, "limit": 100,
                                                **self._site_filter()})
        return [parsing.parse_customer(raw, self.tz) for raw in body.get("customers") or []]

    def customers_by_phone(self, phone: str) -> list[Customer]:
        """There is no `filter[phone]`: `filter[name]` also matches phones
        (§8.1, §18.8), and how it matches is not documented (R-2: any part
        of the digits, the whole number as stored, a prefix). So the number
        is searched in the forms it may be stored in: the first form (the
        one the contract probe found working, else the ten national digits,
        a substring of every stored +7/8/spaced form); when that finds
        nobody, every other form at once, in parallel (one more round-trip):
        `+7…`, `8…`, `7…`, ten digits, and the number as the customer wrote
        it. Only customers one of whose phones normalises to the same E.164
        number are kept, so no form can match a wrong customer."""
        from integration.core.threads import threaded_inner

        wanted = parsing.normalise_phone(phone)
        if not wanted:
            return []
        first, *others = self._phone_queries(wanted, phone)
        found = self._customers_with_phone(first, wanted)
        if found or not others:
            return found
        futures = [threaded_inner(self._customers_with_phone, query, wanted)
                   for query in others]
        unique = {}
        for future in futures:
            for customer in future.result():  # re-raises the client's ApiError
                unique.setdefault(customer.id, customer)
        return list(unique.values())

    def _phone_queries(self, wanted: str, written: str) -> list[str]:
        """The `filter[name]` values to try, best first, without repeats.
        A Russian number: the forms the probe settled for this account (the
        `phone_forms` fact) first, then the rest; other numbers: all digits
        with the country code, then with `+`."""
        from integration.vendors import facts

        if wanted.startswith("+7") and len(wanted) == 12:
            learned = facts.phone_forms(self.connection)
            forms = [*learned, *(f for f in facts.PHONE_FORMS if f not in learned)]
            queries = [facts.phone_query(wanted, form) for form in forms]
        else:
            queries = [wanted.lstrip("+"), wanted]
        queries.append(" ".join(written.split()))
        return list(dict.fromkeys(q for q in queries if q))

    def _customers_with_phone(self, query: str, wanted: str) -> list[Customer]:
        body = self._get("/api/v5/customers", {"filter[name]": query, "limit": 100,
                                                **self._site_filter()})
        found = [parsing.parse_customer(raw, self.tz) for raw in body.get("customers") or []]
        return [c for c in found
                if any(parsing.normalise_phone(p) == wanted for p in c.phones)]

    def customers_search(self, text: str, *, limit: int = 20) -> list[Customer]:
        """An operator's free-text search (a name, or part of one): RetailCRM's
        `filter[name]` matches names, e-mails and phones (§8.1), inside the
        shop's store."""
        text = text.strip()
        if not text:
            return []
        body = self._get("/api/v5/customers", {"filter[name]": text, "limit": limit,
                                                **self._site_filter()})
        return [parsing.parse_customer(raw, self.tz) for raw in body.get("customers") or []]

    def customer(self, customer_id: int) -> Customer:
        """By internal id: `by=id`, because the path means externalId by
        default (§3, §18.2)."""
        body = self._get(f"/api/v5/customers/{int(customer_id)}", {"by": "id"})
        return parsing.parse_customer(body.get("customer") or {}, self.tz)

    def create_customer(self, *, first_name: str, last_name: str = "", email: str = "",
                        phone: str = "", external_id: str = "", site: str = "") -> int:
        customer = {"firstName": first_name}
        if last_name:
            customer["lastName"] = last_name
        if email:
            customer["email"] = email
        if phone:
            customer["phones"] = [{"number": phone}]
        if external_id:
            customer["externalId"] = external_id
        body = self._post("/api/v5/customers/create", customer=customer,
                          site=site or self.site_code or None)
        return int(body["id"])

    # -- orders -------------------------------------------------------------
    def customer_orders(self, customer_id: int, *, limit: int = 20, page: int = 1) -> Page[Order]:
        """One page of the list as the server orders it, which is not
        documented (R-1): callers that need the newest use
        `customer_orders_newest`."""
        if limit not in PAGE_LIMITS:
            raise ValueError(f"limit must be one of {PAGE_LIMITS}")
        body = self._get("/api/v5/orders", {"filter[customerId]": int(customer_id),
                                             "limit": limit, "page": page})
        return parsing.parse_page(body, "orders", lambda raw: parsing.parse_order(raw, self.tz))

    def customer_orders_newest(self, customer_id: int, *, limit: int = 20,
                               page: int = 1) -> Page[Order]:
        """Page `page` of the customer's orders counted from the newest
        (by `createdAt`, then id), whatever order the list comes in (R-1:
        not documented, and the list takes no sort parameter, §11.1).

        Page 1 of the server's list is read first. Everything on it: sorted
        here, one request. More orders than one page: the list's direction
        is told from that page (its order by date, else the probe's
        `order_list_order` fact); newest first → the same page number is
        the wanted one; oldest first → the wanted orders are the last ones,
        and the one or two server pages holding them are read at once;
        neither → every page (100 a request, at most `NEWEST_SCAN_PAGES`)
        is read and sorted here. So a customer with many orders costs one
        more round-trip only where the list does not come newest first."""
        from integration.core.threads import threaded_inner

        first = self.customer_orders(customer_id, limit=limit, page=1)
        total = max(first.total_count, len(first.items))
        start, end = (page - 1) * limit, page * limit
        pages = max(1, -(-total // limit))
        if first.total_pages <= 1 and total <= limit:
            items = newest_first(first.items)[start:end]
        else:
            direction = self._orders_direction(first.items)
            if direction == "newest_first":
                chosen = (first if page == 1 else
                          self.customer_orders(customer_id, limit=limit, page=page))
                items = newest_first(chosen.items)
            elif direction == "oldest_first":
                # Positions (0 = oldest) of the wanted orders, and the
                # server pages that hold them.
                low, high = max(0, total - end), max(0, total - start)
                wanted = range(low // limit + 1, (max(high, 1) - 1) // limit + 2)
                futures = {number: threaded_inner(self.customer_orders, customer_id,
                                                  limit=limit, page=number)
                           for number in wanted if number != 1}
                held = []
                for number in wanted:
                    got = first if number == 1 else futures[number].result()
                    offset = (number - 1) * limit
                    held += [order for index, order in enumerate(got.items)
                             if low <= offset + index < high]
                items = newest_first(held)
            else:
                items = newest_first(self._all_customer_orders(customer_id))[start:end]
        return Page(items=items, total_count=total, current_page=page, total_pages=pages,
                    limit=limit)

    def _orders_direction(self, items) -> str:
        """newest_first / oldest_first / mixed: from the page when it is
        decisive (two orders or more, in one direction), else as the probe
        found the account's list (`order_list_order`)."""
        from integration.vendors import facts

        keys = [order_sort_key(order) for order in items]
        if len(set(keys)) > 1:
            if all(a >= b for a, b in zip(keys, keys[1:], strict=False)):
                return "newest_first"
            if all(a <= b for a, b in zip(keys, keys[1:], strict=False)):
                return "oldest_first"
            return "mixed"
        learned = facts.fact_answer(self.connection, facts.RC_ORDER_LIST_ORDER)
        return {"newest_first": "newest_first", "oldest_first": "oldest_first",
                "id_asc": "oldest_first"}.get(learned, "mixed")

    def _all_customer_orders(self, customer_id: int) -> list[Order]:
        from integration.core.threads import threaded_inner

        limit = max(PAGE_LIMITS)
        first = self.customer_orders(customer_id, limit=limit, page=1)
        last = min(first.total_pages, NEWEST_SCAN_PAGES)
        futures = [threaded_inner(self.customer_orders, customer_id, limit=limit, page=number)
                   for number in range(2, last + 1)]
        return [*first.items, *(order for future in futures for order in future.result().items)]

    def orders_by_email(self, email: str, *, limit: int = 20) -> list[Order]:
        """Up to `limit` orders that `filter[email]` finds for this address,
        in the shop's store: the card's first paint, asked in the same
        round-trip as the customer search.

        What the filter matches is not documented (R-9: the order's own
        e-mail, the customer's, part of either, or nothing when the server
        ignores it), so the answer is only *candidates*: the caller keeps
        the orders whose embedded customer is the customer it found, and
        reconciles by customer id afterwards; it does not ask at all once
        the probe found that the account ignores the filter (the
        `order_email_filter` fact: the answer would be any orders)."""
        body = self._get("/api/v5/orders", {"filter[email]": email.strip(), "limit": limit,
                                             **self._site_filter()})
        return [parsing.parse_order(raw, self.tz) for raw in body.get("orders") or []]

    def orders_by_number(self, number: str) -> list[Order]:
        body = self._get("/api/v5/orders", {"filter[numbers][]": [number.strip()],
                                             "limit": 20, **self._site_filter()})
        return [parsing.parse_order(raw, self.tz) for raw in body.get("orders") or []]

    def order(self, order_id: int) -> Order:
        """By internal id: `by=id`, because the path means externalId by
        default (§3, §11.2). A deleted order answers 404 (ApiNotFound)."""
        body = self._get(f"/api/v5/orders/{int(order_id)}", {"by": "id"})
        return parsing.parse_order(body.get("order") or {}, self.tz)

    def customer_orders_in_statuses(self, customer_id: int, statuses) -> list[Order]:
        """The customer's orders in these status codes, up to 100, in one
        request (`filter[extendedStatus][]` takes status codes, §11.1): the
        card's active orders, however old, beside its newest page."""
        codes = sorted({str(code) for code in statuses if code})
        if not codes:
            return []
        body = self._get("/api/v5/orders", {"filter[customerId]": int(customer_id),
                                             "filter[extendedStatus][]": codes,
                                             "limit": max(PAGE_LIMITS)})
        return [parsing.parse_order(raw, self.tz) for raw in body.get("orders") or []]

    def orders_by_ids(self, order_ids) -> list[Order]:
        """Up to 100 orders in one request (`filter[ids][]`, §11.1); ids the
        key cannot see, or deleted orders, are simply absent."""
        ids = sorted({int(i) for i in order_ids})
        if len(ids) > max(PAGE_LIMITS):
            raise ValueError(f"at most {max(PAGE_LIMITS)} ids per request")
        if not ids:
            return []
        body = self._get("/api/v5/orders", {"filter[ids][]": ids, "limit": max(PAGE_LIMITS)})
        return [parsing.parse_order(raw, self.tz) for raw in body.get("orders") or []]

    def order_history_newest_id(self, *, max_steps: int = 5) -> int:
        """The id of the newest order-history record (0 when there is none):
        where a new watcher starts, instead of replaying years of history.
        Usually two requests whatever the history size: page 1 for the page
        count, then the last page (records ascend by id, §12). A page may
        come back empty while others hold records (R-5): then step back a
        page at a time (at most `max_steps`), never starting from 0, which
        would replay all history."""
        first = self._get("/api/v5/orders/history", {"limit": HISTORY_LIMIT})
        pages = int((first.get("pagination") or {}).get("totalPageCount", 1) or 1)
        ids = []
        for page in range(pages, max(0, pages - max_steps), -1):
            body = first if page == 1 else self._get(
                "/api/v5/orders/history", {"limit": HISTORY_LIMIT, "page": page})
            ids = [int(raw["id"]) for raw in body.get("history") or [] if raw.get("id")]
            if ids:
                break
        if not ids:
            ids = [int(raw["id"]) for raw in first.get("history") or [] if raw.get("id")]
        return max(ids, default=0)

    def order_history(self, since_id: int | None = None, *, page: int = 1,
                      limit: int = HISTORY_LIMIT) -> HistoryBatch:
        """Changes after `since_id`, ascending (§12), one page of them. A
        page may hold no records while `pagination` says more pages follow
        (R-5: records filtered out after paging), so the caller follows
        `current_page`/`total_pages`, not the emptiness of a page: `more`
        says another page with the same `since_id` is waiting. `last_id` is
        the cursor to store (the newest id read, else `since_id`). Records
        with `by_this_key` are our own writes (§18.15)."""
        params = {"limit": min(limit, HISTORY_LIMIT)}
        if since_id is not None:
            params["filter[sinceId]"] = int(since_id)
        if page > 1:
            params["page"] = int(page)
        body = self._get("/api/v5/orders/history", params)
        records = [parsing.parse_history_record(raw, self.tz)
                   for raw in body.get("history") or []]
        pagination = body.get("pagination") or {}
        current = int(pagination.get("currentPage", page) or page)
        total = int(pagination.get("totalPageCount", 1) or 0)
        return HistoryBatch(
            records=records,
            last_id=records[-1].id if records else since_id,
            more=current < total,
            current_page=current,
            total_pages=total,
        )

    # -- notes and tasks ----------------------------------------------------
    def customer_notes(self, customer_id: int, *, limit: int = 20, page: int = 1) -> Page[Note]:
        body = self._get("/api/v5/customers/notes", {
            "filter[customerIds][]": [int(customer_id)], "limit": limit, "page": page,
        })
        return parsing.parse_page(body, "notes", lambda raw: parsing.parse_note(raw, self.tz))

    def create_note(self, customer_id: int, text: str, *, manager_id: int | None = None) -> int:
        note = {"text": text, "customer": {"id": int(customer_id)}}
        if manager_id:
            note["managerId"] = int(manager_id)
        return int(self._post("/api/v5/customers/notes/create", note=note)["id"])

    def create_task(self, *, text: str, performer_id: int, customer_id: int | None = None,
                    order_id: int | None = None, commentary: str = "",
                    due: datetime | None = None) -> int:
        """`performerId` on write (the read model calls it `performer`, §13.2);
        `datetime` is `Y-m-d H:i` in the account timezone (§7)."""
        task = {"text": text, "performerId": int(performer_id)}
        if commentary:
            task["commentary"] = commentary
        if customer_id:
            task["customer"] = {"id": int(customer_id)}
        if order_id:
            task["order"] = {"id": int(order_id)}
        if due is not None:
            task["datetime"] = due.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        return int(self._post("/api/v5/tasks/create", task=task,
                              site=self.site_code or None)["id"])

    # -- users and reference books --------------------------------------------
    def users(self) -> list[User]:
        """Every user (all pages of 100); cache the result, it rarely changes."""
        users, page = [], 1
        while True:
            body = self._get("/api/v5/users", {"limit": 100, "page": page})
            result = parsing.parse_page(body, "users", parsing.parse_user)
            users.extend(result.items)
            if not result.has_next:
                return users
            page += 1

    def user(self, user_id: int) -> User:
        return parsing.parse_user(self._get(f"/api/v5/users/{int(user_id)}").get("user") or {})

    def statuses(self) -> dict[str, Status]:
        return parsing.parse_statuses(self._get("/api/v5/reference/statuses"))

    def status_groups(self) -> dict[str, StatusGroup]:
        return parsing.parse_status_groups(self._get("/api/v5/reference/status-groups"))

    def delivery_types(self) -> dict[str, str]:
        """Code → name ("self-delivery" → "Самовывоз"): an order carries the
        code only, and a person must never read it."""
        return parsing.parse_names(self._get("/api/v5/reference/delivery-types"),
                                   "deliveryTypes")

    def payment_types(self) -> dict[str, str]:
        return parsing.parse_names(self._get("/api/v5/reference/payment-types"),
                                   "paymentTypes")

    def payment_statuses(self) -> dict[str, dict]:
        return parsing.parse_payment_statuses(
            self._get("/api/v5/reference/payment-statuses"))

    def sites(self) -> dict[str, Site]:
        return parsing.parse_sites(self._get("/api/v5/reference/sites"))

    def store_names(self, codes: list[str]) -> list[str]:
        """The stores' names from the `sites` reference book, for people
        (a code such as `main` is RetailCRM's key, not what a shop calls its
        store). A key without `reference_read`, or a failed read, falls back
        to the codes: the summary must not fail over a label."""
        try:
            book = self.sites()
        except ApiError:
            return list(codes)
        return [book[code].name if code in book and book[code].name else code
                for code in codes]


def order_sort_key(order) -> tuple:
    """Newer sorts higher: `createdAt`, then id (an order without a date
    counts as oldest)."""
    created = order.created_at.timestamp() if order.created_at else float("-inf")
    return (created, order.id or 0)


def newest_first(orders) -> list:
    return sorted(orders, key=order_sort_key, reverse=True)


def error_for_response(response, body) -> ApiError | None:
    """The error an answer stands for, or None for a success.

    - 503 (and 429) is the rate limit (§6), usually an nginx HTML page;
    - other 5xx are the vendor's trouble;
    - non-JSON otherwise means a wrong account URL (§5.3: HTML 404/405 for a
      missing account) or a broken body;
    - `success: false` is an error even with HTTP 200 (§18.11);
    - `errors` may be an object or a list (§5.3); kept on the error.
    """
    status = response.status_code
    if status in (429, 503):
        return ApiRateLimited(
            "RetailCRM rate limit exceeded (10 requests/second per account).",
            retry_after=_retry_after(response), status_code=status,
        )
    if status >= 500:
        return ApiServerError("RetailCRM server error.", status_code=status)
    if body is NOT_JSON or not isinstance(body, dict):
        first = response.text.lstrip()[:1]
        if first == "<" or "html" in response.headers.get("Content-Type", ""):
            return ApiUnexpectedResponse(WRONG_URL_HINT, status_code=status)
        return ApiUnexpectedResponse("RetailCRM answered with malformed JSON.",
                                     status_code=status)
    if status < 400 and body.get("success") is not False:
        return None
    # No text of its own: the client's words, with no HTTP code (the status
    # is on the error for the log; a person reads words).
    message = str(body.get("errorMsg") or "RetailCRM refused the request.")
    errors = parsing.error_details(body)
    if errors:
        message = f"{message} " + "; ".join(f"{k}: {v}" for k, v in errors.items())
    kwargs = {"status_code": status, "errors": errors}
    if "Access denied" in message:
        return ApiAccessDenied(message, **kwargs)
    if "apiKey" in message or status == 401:
        return ApiUnauthorized(message, **kwargs)
    if status == 403:
        return ApiAccessDenied(message, **kwargs)
    if status == 404 or message.startswith("Not found"):
        return ApiNotFound(message, **kwargs)
    if 400 <= status < 500 or body.get("success") is False:
        return ApiValidationError(message, **kwargs)
    return ApiError(message, **kwargs)


def _retry_after(response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
