"""HelpDeskEddy API v2 client.

Facts and quirks: docs/vendors/helpdeskeddy.md (sections quoted
below). The transport (pooled session, timeouts, GET-only retries, the shared
throttle, one `ApiCall` row per attempt, connection health) is `BaseClient`;
this module adds what is specific to HDE:

- HTTP Basic with the agent's e-mail and API key (§1);
- JSON bodies for ticket create/update, form fields for posts and comments
  (§1, §6: what real integrations send);
- the `errors` envelope (§3), including successful deletes answered inside
  that same array with `s-` codes, and the rate-limit ban: HTTP 401 `e-401`
  "Ban" after 300 requests/minute for the whole account (§4). A ban is
  recorded in the shared throttle so every process and shop on that HDE
  account stops calling it until it lifts (the admin shows `banned_until`);
- `X-Rate-Limit-Remaining` (§4): another script may share the account, so
  background calls wait when the vendor says few requests are left;
- normalisation of keyed lists, localised names, the three date formats and
  numbers sent as strings (see helpdeskeddy_parsing).

The client never special-cases the emulator: the sandbox is just another
`base_url`.
"""

import base64
import contextlib
import time
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext

from integration.vendors import call_log, facts, throttle
from integration.vendors.base import NOT_JSON, BaseClient
from integration.vendors.errors import (
    ApiAccessDenied,
    ApiBanned,
    ApiError,
    ApiNotFound,
    ApiRateLimited,
    ApiServerError,
    ApiUnauthorized,
    ApiUnexpectedResponse,
    ApiValidationError,
    ThrottleExhausted,
)
from integration.vendors.helpdeskeddy_parsing import (
    CustomFieldDef,
    Page,
    Post,
    Ref,
    Ticket,
    User,
    parse_custom_field_def,
    parse_pagination,
    parse_post,
    parse_ref,
    parse_status,
    parse_ticket,
    parse_user,
    to_int,
    values_of,
)

__all__ = ["HelpDeskEddyClient", "CustomFieldDef", "Page", "Post", "Ref", "Ticket", "User"]

REFERENCE_TTL = 3600  # dictionaries change rarely; an admin edit shows within the hour
MAX_REFERENCE_PAGES = 20
OPEN_FIRST_LIMIT = 30
# Pages of a plain user search read when `exact_search=1` found nobody
# (H-2: the flag may be ignored, or be case-sensitive); 30 users a page.
MAX_SEARCH_PAGES = 3


def ticket_page_url(base_url: str, ticket_id: int, language: str = "ru") -> str:
    """The agent's page of a ticket: real HDE keeps it at
    `/<lang>/ticket/list/filter/id/<list filter>/ticket/<id>/` after the
    system's URL (extension/README.md); list filter 1 is "all tickets"."""
    lang = language if language in ("ru", "en") else "ru"
    return f"{base_url.rstrip('/')}/{lang}/ticket/list/filter/id/1/ticket/{int(ticket_id)}/"


def _first_error(body) -> dict:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


def is_ban(status_code: int, body) -> bool:
    """§3/§4: the ban answer is HTTP 401 with `e-401` titled "Ban" (the
    details say "Ban for 20 min. API limit reached ...")."""
    if status_code != 401:
        return False
    error = _first_error(body)
    title = str(error.get("title") or "").strip().lower()
    details = str(error.get("details") or "").strip().lower()
    return title == "ban" or details.startswith("ban ")


class HelpDeskEddyClient(BaseClient):
    provider = "helpdeskeddy"
    rate_limit_settings = ("HDE_RATE_LIMIT", "HDE_RATE_WINDOW", "HDE_INTERACTIVE_RESERVE")
    # Values the call log keeps as they are; the rest (e-mails, phones, names,
    # free text) is hashed (see call_log).
    log_params = call_log.HDE_PARAMS

    def __init__(self, *, shop, connection, interactive=False, event=None, request_id=""):
        self.last_rate_limit: tuple[int | None, int | None] = (None, None)
        # Tags a write was asked to set but that HDE does not take (refused
        # or ignored, H-1): the caller may mention them elsewhere.
        self.tags_unsent: list[str] = []
        super().__init__(shop=shop, connection=connection, interactive=interactive,
                         event=event, request_id=request_id)
        # §2: dates carry no zone; they are the HDE system's local time, which
        # we take to be the shop's configured zone.
        try:
            self.tz = zoneinfo.ZoneInfo(getattr(shop, "timezone", "") or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.tz = zoneinfo.ZoneInfo("UTC")
        self.lang = getattr(shop, "language", "") or "ru"

    @classmethod
    def for_connection(cls, connection, *, interactive=False, event=None, request_id=""):
        return cls(shop=connection.shop, connection=connection, interactive=interactive,
                   event=event, request_id=request_id)

    # -- BaseClient hooks ----------------------------------------------------
    def _basic_token(self) -> str:
        pair = f"{self.connection.agent_email}:{self.connection.api_key}"
        return base64.b64encode(pair.encode("utf-8")).decode("ascii")

    def auth_headers(self) -> dict[str, str]:
        """§1: Basic base64(email:api_key); JSON answers."""
        return {"Authorization": f"Basic {self._basic_token()}", "Accept": "application/json"}

    def secrets(self) -> list[str]:
        return [self.connection.api_key, self._basic_token()]

    def before_request(self) -> None:
        """Background calls yield to the vendor's own count (§4): when HDE
        said few requests are left in its minute, another client is probably
        using the account too, so wait for the window to pass (or give up
        with ThrottleExhausted when that is longer than we may wait).
        Interactive calls go on: the operator is waiting and the reserve in
        our own budget is for them."""
        if self.interactive:
            return
        knobs = settings.INTEGRATION
        wait = throttle.low_remaining_wait(
            self.account_key, threshold=knobs["HDE_LOW_REMAINING"], window=knobs["HDE_RATE_WINDOW"]
        )
        if wait <= 0:
            return
        if wait > knobs["THROTTLE_MAX_WAIT"]:
            raise ThrottleExhausted(
                f"HelpDeskEddy reports few requests left for this account; "
                f"next window in {wait:.0f}s.",
                retry_after=wait, provider=self.provider,
            )
        time.sleep(wait)

    def after_response(self, response) -> None:
        """Record `X-Rate-Limit-Remaining` for every process, and a ban."""
        limit = to_int(response.headers.get("X-Rate-Limit"))
        remaining = to_int(response.headers.get("X-Rate-Limit-Remaining"))
        self.last_rate_limit = (limit, remaining)
        # For BaseClient._record to put into ApiCall.rate_limit_remaining.
        self._local.rate_limit_remaining = remaining
        if response.status_code == 401:
            try:
                body = response.json()
            except ValueError:
                body = None
            if is_ban(401, body):
                # The ban answer's "remaining 0" describes the ban, not a
                # window: recording it would hold background calls back for
                # a further window after the ban lifts.
                throttle.record_ban(self.account_key, settings.INTEGRATION["HDE_BAN_SECONDS"])
                return
        if remaining is not None:
            throttle.record_remaining(self.account_key, remaining)

    def raise_for_response(self, response, body, path: str) -> None:
        """Map HDE answers to the shared error tree (§3)."""
        status = response.status_code
        error = _first_error(body)
        text = " ".join(str(error.get(k) or "") for k in ("title", "details")).strip()
        errors = body.get("errors") if isinstance(body, dict) else None
        if 200 <= status < 300:
            # §3: a success may come in the errors envelope ("s-204"); an
            # "e-" code inside a 200 is still an error.
            code = str(error.get("code") or "")
            if code.startswith("e-"):
                raise ApiValidationError(f"HelpDeskEddy: {text}", status_code=status,
                                         errors=errors)
            return
        if is_ban(status, body):
            raise ApiBanned(
                f"HelpDeskEddy banned the account's API access: {text}",
                status_code=status, errors=errors,
                retry_after=float(settings.INTEGRATION["HDE_BAN_SECONDS"]),
            )
        if body is NOT_JSON and status < 500:
            raise ApiUnexpectedResponse(
                "The answer is not HelpDeskEddy's JSON: check the account URL.",
                status_code=status,
            )
        message = f"HelpDeskEddy: {text}" if text else "HelpDeskEddy refused the request."
        if status == 401:
            raise ApiUnauthorized(message, status_code=status, errors=errors)
        if status == 403:
            raise ApiAccessDenied(message, status_code=status, errors=errors)
        if status == 404:
            raise ApiNotFound(message, status_code=status, errors=errors)
        if status == 429:
            retry_after = to_int(response.headers.get("Retry-After"))
            raise ApiRateLimited(message, status_code=status, errors=errors,
                                 retry_after=float(retry_after) if retry_after else None)
        if status in (400, 409, 422):
            raise ApiValidationError(message, status_code=status, errors=errors)
        if status >= 500:
            raise ApiServerError(message, status_code=status, errors=errors)
        raise ApiError(message, status_code=status, errors=errors)

    # -- helpers -------------------------------------------------------------
    def _get(self, path: str, **params):
        return self.request("GET", path, params={k: v for k, v in params.items()
                                                 if v not in (None, "")} or None)

    def _data(self, body, path: str):
        if not isinstance(body, dict) or "data" not in body:
            raise ApiUnexpectedResponse("HelpDeskEddy answered without `data`.", path=path,
                                        provider=self.provider)
        return body["data"]

    @property
    def host(self) -> str:
        """The account as people read it: host, plus the path prefix of the
        base URL if any (never user-info)."""
        return self.connection.host + urlsplit(self.base_url).path.rstrip("/")

    # -- connection ----------------------------------------------------------
    def test_connection(self) -> str:
        """One cheap call that proves the key, and remembers which HDE user
        it belongs to: the portal's own comments and changes are authored by
        that user, which is how the loop guard recognises them."""
        me = self.find_users_by_email(self.connection.agent_email)
        if not me:
            raise ApiAccessDenied(
                f"The key works, but no HDE user has the e-mail {self.connection.agent_email}.",
                provider=self.provider,
            )
        user = me[0]
        if self.connection.hde_user_id != user.id:
            self.connection.hde_user_id = user.id
            self.connection.save(update_fields=["hde_user_id"])
        # Shown to whoever tests the connection (wizard, admin): their language.
        role = gettext("agent") if user.is_staff else gettext("client (not an agent!)")
        limit, remaining = self.last_rate_limit
        quota = gettext("; %(remaining)s of %(limit)s requests left this minute") % {
            "remaining": remaining, "limit": limit} if limit else ""
        return gettext("Connected to %(host)s as %(user)s (%(role)s)%(quota)s.") % {
            "host": self.host, "user": user.full_name or user.email, "role": role,
            "quota": quota}

    # -- tickets -------------------------------------------------------------
    def get_ticket(self, ticket_id: int) -> Ticket:
        path = f"/api/v2/tickets/{int(ticket_id)}/"
        return parse_ticket(self._data(self._get(path), path), self.tz, self.lang)

    def list_tickets(self, *, page: int = 1, user_ids=None, owner_ids=None, status_ids=None,
                     priority_ids=None, search: str = "", order_by: str = "",
                     updated_from=None) -> Page:
        """§5.2; `data` is an object keyed by ticket id in sort order."""
        path = "/api/v2/tickets/"

        def csv(values):
            return ",".join(str(v) for v in values) if values else None

        body = self._get(
            path, page=page, user_list=csv(user_ids), owner_list=csv(owner_ids),
            status_list=csv(status_ids), priority_list=csv(priority_ids), search=search,
            order_by=order_by,
            from_date_updated=(updated_from.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
                               if updated_from else None),
        )
        items = [parse_ticket(item, self.tz, self.lang)
                 for item in values_of(self._data(body, path))]
        return parse_pagination(body, items, page)

    def user_tickets(self, user_id: int, *, limit: int = OPEN_FIRST_LIMIT) -> list[Ticket]:
        """The requester's latest tickets, open ones first, newest first
        within each group (one request: statuses can be custom, so "open"
        means "not closed")."""
        page = self.list_tickets(user_ids=[user_id], order_by="date_updated{desc}")
        tickets = sorted(page.items, key=lambda t: t.date_updated.timestamp()
                         if t.date_updated else 0, reverse=True)
        tickets.sort(key=lambda t: t.is_closed)
        return tickets[:limit]

    def create_ticket(self, *, title: str, description: str, user_email: str = "",
                      user_id: int | None = None, priority_id: int | None = None,
                      status_id: str | None = None, type_id: int | None = None,
                      department_id: int | None = None, owner_id: int | None = None,
                      custom_fields: dict | None = None, tags: list[str] | None = None,
                      create_from_user: bool = True) -> Ticket:
        """§5.4 (JSON). `user_email` creates the client in HDE when unknown.
        Not retried here: a timed-out create may have succeeded. Tags follow
        what this account does with them (H-1, see `_write_with_tags`): a
        refusal creates the ticket without them (a refused create created
        nothing, so sending it again is safe)."""
        payload = {"title": title, "description": description,
                   "create_from_user": 1 if create_from_user else 0}
        optional = {"user_email": user_email or None, "user_id": user_id,
                    "priority_id": priority_id, "status_id": status_id, "type_id": type_id,
                    "department_id": department_id, "owner_id": owner_id, "tags": tags,
                    "custom_fields": self._custom_payload(custom_fields)}
        payload.update({k: v for k, v in optional.items() if v is not None})
        return self._write_with_tags("POST", "/api/v2/tickets/", payload,
                                     facts.HDE_TAGS_ON_CREATE)

    def update_ticket(self, ticket_id: int, *, priority_id: int | None = None,
                      status_id: str | None = None, type_id: int | None = None,
                      owner_id: int | None = None, custom_fields: dict | None = None,
                      tags: list[str] | None = None) -> Ticket:
        """Everything in one PUT (§5.5): each PUT fires the account's
        "ticket changed" dispatcher rules, so fewer writes mean fewer
        webhooks back to us. `tags` replaces the ticket's tags; custom fields
        merge by id. `tags` is not in every list of the update's parameters
        (H-1): see `_write_with_tags` for what happens when HDE refuses or
        ignores them."""
        payload = {"priority_id": priority_id, "status_id": status_id, "type_id": type_id,
                   "owner_id": owner_id, "tags": tags,
                   "custom_fields": self._custom_payload(custom_fields)}
        payload = {k: v for k, v in payload.items() if v is not None}
        if not payload:
            raise ValueError("update_ticket() needs at least one field to change.")
        return self._write_with_tags("PUT", f"/api/v2/tickets/{int(ticket_id)}/", payload,
                                     facts.HDE_TAGS_ON_UPDATE, ticket_id=int(ticket_id))

    def tags_supported(self, fact: str = facts.HDE_TAGS_ON_UPDATE) -> bool:
        """False once this connection learned that HDE refuses or ignores
        `tags` in this write (ticket update, or create with
        `facts.HDE_TAGS_ON_CREATE`); unknown counts as supported (tried)."""
        return facts.fact_answer(self.connection, fact) not in (facts.TAGS_REFUSED,
                                                                facts.TAGS_IGNORED)

    def _write_with_tags(self, method: str, path: str, payload: dict, fact: str, *,
                         ticket_id: int | None = None) -> Ticket:
        """A ticket write whose `tags` HDE may refuse or ignore (H-1).

        - Known not to take them (this connection learned it, or the probe
          settled it): they are left out, and everything else is written.
        - Refused (a validation error while tags were sent): the same write
          again without them; if that succeeds, the tags were the reason,
          remembered for the connection. Priority and custom fields are never
          lost to the tags.
        - Not known yet: after the first write with tags on this connection,
          the ticket is read back once; tags missing means HDE ignores them,
          remembered too. Later writes trust the answer.
        The tags that did not reach HDE are kept in `tags_unsent`."""
        tags = payload.get("tags")
        if tags is not None and not self.tags_supported(fact):
            self.tags_unsent = list(tags)
            payload = {k: v for k, v in payload.items() if k != "tags"}
            if not payload:  # only tags were asked for
                return self.get_ticket(ticket_id)
            tags = None
        if tags is None:
            return self._send_ticket(method, path, payload)
        try:
            ticket = self._send_ticket(method, path, payload)
        except ApiValidationError as refused:
            without = {k: v for k, v in payload.items() if k != "tags"}
            if not without:
                facts.fact_set(self.connection, fact, facts.TAGS_REFUSED,
                               status=refused.status_code)
                self.tags_unsent = list(tags)
                return self.get_ticket(ticket_id)
            ticket = self._send_ticket(method, path, without)  # raises if tags were not it
            facts.fact_set(self.connection, fact, facts.TAGS_REFUSED, status=refused.status_code)
            self.tags_unsent = list(tags)
            return ticket
        if tags and facts.fact_answer(self.connection, fact) != facts.TAGS_STICK:
            fresh = self.get_ticket(ticket.id or ticket_id)
            applied = {t.casefold() for t in fresh.tags}
            if {t.casefold() for t in tags} <= applied:
                facts.fact_set(self.connection, fact, facts.TAGS_STICK)
            else:
                facts.fact_set(self.connection, fact, facts.TAGS_IGNORED,
                               sent=len(tags), applied=len(applied))
                self.tags_unsent = list(tags)
            return fresh
        return ticket

    def _send_ticket(self, method: str, path: str, payload: dict) -> Ticket:
        body = self.request(method, path, json_body=payload)
        return parse_ticket(self._data(body, path), self.tz, self.lang)

    @staticmethod
    def _custom_payload(values: dict | None) -> dict | None:
        """§9.3: an object keyed by field id as a string; None clears to ""."""
        if values is None:
            return None
        return {str(k): ("" if v is None else getattr(v, "id", v)) for k, v in values.items()}

    # -- posts and comments (§6) ---------------------------------------------
    def add_comment(self, ticket_id: int, text: str, *, user_id: int | None = None) -> Post:
        """An internal note, visible to staff only: where integration notes
        belong (never a public post, which e-mails the client)."""
        return self._add_message(ticket_id, "comments", text, user_id)

    def add_post(self, ticket_id: int, text: str, *, user_id: int | None = None) -> Post:
        """A public reply: HDE sends it to the client."""
        return self._add_message(ticket_id, "posts", text, user_id)

    def _add_message(self, ticket_id, kind, text, user_id) -> Post:
        form = {"text": text}
        if user_id:
            form["user_id"] = str(user_id)
        path = f"/api/v2/tickets/{int(ticket_id)}/{kind}/"
        body = self.request("POST", path, data=form)  # form fields, like real integrations
        return parse_post(self._data(body, path), self.tz, is_comment=kind == "comments")

    def delete_comment(self, ticket_id: int, comment_id: int) -> str:
        """Remove an internal comment (e.g. the portal's outdated summary).

        §3 quirk: success is answered inside the `errors` array with an
        `s-204` code; returns its details text."""
        path = f"/api/v2/tickets/{int(ticket_id)}/comments/{int(comment_id)}/"
        body = self.request("DELETE", path)
        return str(_first_error(body).get("details") or "")

    def list_posts(self, ticket_id: int) -> list[Post]:
        return self._list_messages(ticket_id, "posts")

    def list_comments(self, ticket_id: int) -> list[Post]:
        return self._list_messages(ticket_id, "comments")

    def _list_messages(self, ticket_id, kind) -> list[Post]:
        """First page (30), returned oldest first whatever the server order
        (§6: newest first is reported but unverified)."""
        path = f"/api/v2/tickets/{int(ticket_id)}/{kind}/"
        items = [parse_post(item, self.tz, is_comment=kind == "comments")
                 for item in values_of(self._data(self._get(path), path))]
        return sorted(items, key=lambda p: (p.date_created.timestamp() if p.date_created
                                            else 0, p.id))

    # -- users (§7) ------------------------------------------------------------
    def get_user(self, user_id: int) -> User:
        path = f"/api/v2/users/{int(user_id)}/"
        return parse_user(self._data(self._get(path), path), self.tz)

    def search_users(self, query: str, *, exact: bool = False, page: int = 1) -> Page:
        path = "/api/v2/users/"
        body = self._get(path, search=query, exact_search=1 if exact else None, page=page)
        items = [parse_user(item, self.tz) for item in values_of(self._data(body, path))]
        return parse_pagination(body, items, page)

    def find_users_by_email(self, email: str) -> list[User]:
        """§7: `search` + `exact_search=1`, then compare e-mails ourselves
        (case-insensitively), since the search also matches names and its
        exact mode is ambiguously documented (H-2). When that finds nobody
        the flag may have been ignored (a substring search sorted by name:
        the user can be on a later page) or be case-sensitive, so a plain
        search follows, a few pages, with the same comparison; skipped where
        the probe found the flag honoured without regard to case."""
        wanted = email.strip().casefold()
        if not wanted:
            return []
        page = self.search_users(email.strip(), exact=True)
        found = [u for u in page.items if u.email.strip().casefold() == wanted]
        known = facts.fact_answer(self.connection, facts.HDE_EXACT_SEARCH)
        if found or known == "honoured":
            return found
        # Known to be ignored: that answer was the plain search's first page.
        start = 2 if known == "ignored" else 1
        if start > page.total_pages:
            return found
        for number in range(start, MAX_SEARCH_PAGES + 1):
            page = self.search_users(email.strip(), page=number)
            found = [u for u in page.items if u.email.strip().casefold() == wanted]
            if found or number >= page.total_pages:
                break
        return found

    # -- dictionaries (cached per connection identity) -----------------------------
    def _reference_key(self, kind: str) -> str:
        """Per connection identity (account URL + key), never per host: a
        shop on another account of the same host, or one that typed this
        account's URL with a key HDE refuses, must not read these lists."""
        return f"hde:ref:v2:{self.connection.identity}:{kind}"

    def _reference(self, kind: str, path: str, max_age: float | None = None) -> list[dict]:
        """Raw dictionary items, cached for an hour in the shared cache under
        the connection's identity (shops using one key of one HDE account
        share it); names are localised per call, so shops with different
        languages share too.

        `max_age` (seconds): a form offering the list to pick from wants it
        no older than that (a field created in HDE a moment ago must be
        there). Such a re-read is optional: when it fails, the cached list
        serves, the connection's health is left as it was, and the list is
        not asked again for `max_age` (admin pages reloaded while HDE fails
        must not pile requests on it: 300 a minute bans the account)."""
        key = self._reference_key(kind)
        cached = cache.get(key)
        if cached is not None and (max_age is None
                                   or time.time() - cached["read_at"] < max_age):
            return cached["items"]
        refreshing = cached is not None
        try:
            with self.optional_calls() if refreshing else contextlib.nullcontext():
                items = self._reference_read(path)
        except ApiError:
            if not refreshing:
                raise
            # Served as it is, and not asked again for `max_age`.
            cache.set(key, {**cached, "read_at": time.time()}, REFERENCE_TTL)
            return cached["items"]
        cache.set(key, {"items": items, "read_at": time.time()}, REFERENCE_TTL)
        return items

    def _reference_read(self, path: str) -> list[dict]:
        items, page = [], 1
        while page <= MAX_REFERENCE_PAGES:
            body = self._get(path, page=page if page > 1 else None)
            items.extend(values_of(self._data(body, path)))
            pagination = body.get("pagination") or {}
            if page >= (to_int(pagination.get("total_pages")) or 1):
                break
            page += 1
        return items

    def priorities(self, max_age: float | None = None) -> list[Ref]:
        """§8: ids are not ordered by severity; map by name or config."""
        return [parse_ref(i, self.lang) for i in self._reference("priorities",
                                                                 "/api/v2/priorities/", max_age)]

    def statuses(self) -> list[Ref]:
        """§5.3: string ids (`open`, `process`, `closed`, custom slugs)."""
        return [parse_status(i, self.lang) for i in self._reference("statuses",
                                                                    "/api/v2/statuses/")]

    def ticket_types(self, max_age: float | None = None) -> list[Ref]:
        return [parse_ref(i, self.lang) for i in self._reference("types", "/api/v2/types/",
                                                                 max_age)]

    def departments(self, max_age: float | None = None) -> list[Ref]:
        return [parse_ref(i, self.lang) for i in self._reference("departments",
                                                                 "/api/v2/departments/",
                                                                 max_age)]

    def custom_fields(self, max_age: float | None = None) -> list[CustomFieldDef]:
        """§9.1: an object keyed by id, paginated."""
        return [parse_custom_field_def(i, self.lang)
                for i in self._reference("custom_fields", "/api/v2/custom_fields/", max_age)]

    def custom_field_id(self, name: str) -> int | None:
        """Id of the ticket custom field called `name` in any language."""
        return next((f.id for f in self.custom_fields() if f.matches(name)), None)

    def forget_reference(self) -> None:
        """Drop the cached dictionaries of this account (after an admin edit)."""
        cache.delete_many([self._reference_key(kind) for kind in
                           ("priorities", "statuses", "types", "departments", "custom_fields")])
