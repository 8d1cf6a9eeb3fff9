"""The contract probe: every assumption the portal makes about RetailCRM and
HelpDeskEddy, checked against one shop's own accounts with its own keys.

Why: the clients were written from the vendors' documentation, which leaves
questions open (docs/vendors/open-questions.md), and the emulators answer
each of them either way. Which way a real account answers is learned only
by asking it. The probe asks, says per assumption whether it *holds*,
*differs* or *could not be checked*, keeps the report (`ProbeReport`), and
switches the portal's tolerant paths to what it found (`VendorFact`): tags
not supported stop being sent, unreadable settings stop being asked for,
missing rights turn their features off, the phone forms that found
customers are recorded for the lookup.

Rules it keeps:
- read-only by default; nothing is ever written to RetailCRM;
- `write_test` (a separate, confirmed action) creates one test ticket in
  HDE whose requester is the portal's own agent (nobody is e-mailed), sets a
  priority, a custom field and tags, reads it back and closes it; the
  ticket job leaves that ticket alone (`probe_ticket`);
- every request goes through the clients (throttle, call log, outbound
  policy) as background calls, and as optional calls: a refusal is an
  answer, never a reason to flag the connection;
- evidence is ids, counts and shapes, never an e-mail, phone, name or text
  of a customer; lines hold message ids and parameters, translated when
  shown (`line_view`).
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop

from integration.models import (
    EventSource,
    FieldMapping,
    InboundEvent,
    OrderWatch,
    PriorityRule,
    ProbeOutcome,
    ProbeReport,
    Provider,
    ShopSettings,
)
from integration.vendors import facts
from integration.vendors.errors import ApiAccessDenied, ApiError, ApiValidationError

logger = logging.getLogger("integration.probe")

HOLDS, DIFFERS, UNCHECKED = ProbeOutcome.HOLDS, ProbeOutcome.DIFFERS, ProbeOutcome.UNCHECKED
PROBE_TAG, PROBE_TAG_UPDATE = "portal-probe", "portal-probe-update"
PROBE_TITLE = "[portal-probe] "
PROBE_FIELD_VALUE = "portal-probe"
KEEP_REPORTS = 20
CUSTOMER_SAMPLE = 100  # customers read once for the e-mail, phone and order samples
PHONE_SAMPLES = 3
HISTORY_WINDOW = 1000  # history records read back from the newest
HISTORY_MAX_PAGES = 12
TICKET_KEYS = ("id", "unique_id", "title", "status_id", "priority_id", "user_id",
               "date_created", "date_updated", "custom_fields")

# What each check verifies, in words (shown as the line's title).
TITLES = {
    "rc.api": gettext_noop("RetailCRM answers as RetailCRM (API versions, v5)"),
    "rc.rights": gettext_noop("The key's rights under the names the portal expects"),
    "rc.settings": gettext_noop("The account settings (time zone) can be read"),
    "rc.email": gettext_noop("Customer search by e-mail finds an address in any letter case"),
    "rc.phone": gettext_noop("Customer search by phone finds a number by its ten digits"),
    "rc.orders_order": gettext_noop("A customer's orders come newest first"),
    "rc.orders_filters": gettext_noop("The orders list's e-mail and customer filters"),
    "rc.order_customer": gettext_noop("Orders carry the whole customer"),
    "rc.history": gettext_noop("Order history pages: shape and pagination"),
    "rc.references": gettext_noop("Reference books (statuses, groups, stores, delivery and "
                                  "payment types)"),
    "rc.users": gettext_noop("Users (the responsible manager)"),
    "hde.exact_search": gettext_noop("User search with exact matching"),
    "hde.ticket": gettext_noop("A ticket reads with the fields the portal uses"),
    "hde.custom_fields": gettext_noop("The custom fields the shop writes exist"),
    "hde.statuses": gettext_noop("Ticket statuses (closed and the open ones)"),
    "hde.priorities": gettext_noop("The priorities the shop sets exist"),
    "hde.rate_limit": gettext_noop("Rate-limit headers on every answer"),
    "hde.date_formats": gettext_noop("Date formats: the API's and the webhook's"),
    "hde.write": gettext_noop("A ticket update writes priority and custom fields"),
    "hde.tags_on_update": gettext_noop("Tags in the ticket update are applied"),
    "hde.tags_on_create": gettext_noop("Tags on a new ticket are applied"),
}
OUTCOME_WORDS = {
    "access_denied": gettext_noop("access denied"),
    "unauthorized": gettext_noop("the key was refused"),
    "refused_by_policy": gettext_noop("refused by policy"),
    "not_found": gettext_noop("not found"),
    "server_error": gettext_noop("a server error"),
    "timeout": gettext_noop("timed out"),
    "host_error": gettext_noop("unreachable"),
    "rate_limited": gettext_noop("rate limited"),
    "banned": gettext_noop("rate limited"),
    "throttled": gettext_noop("rate limited"),
    "validation": gettext_noop("refused as invalid"),
    "unexpected": gettext_noop("not the vendor's answer"),
    "error": gettext_noop("an error"),
}
ORDER_WORDS = {
    "newest_first": gettext_noop("newest first"),
    "oldest_first": gettext_noop("oldest first"),
    "id_asc": gettext_noop("by id, ascending"),
    "mixed": gettext_noop("in no recognisable order"),
}
FORM_WORDS = {
    "national": gettext_noop("ten digits"),
    "plus7": gettext_noop("+7 and ten digits"),
    "eight": gettext_noop("8 and ten digits"),
    "seven": gettext_noop("7 and ten digits"),
    "stored": gettext_noop("exactly as stored"),
}
DATE_WORDS = {
    "ymd_hms": "YYYY-MM-DD HH:MM:SS", "ymd_hm": "YYYY-MM-DD HH:MM",
    "dmy_hms": "DD.MM.YYYY HH:MM:SS", "dmy_hm": "DD.MM.YYYY HH:MM",
    "iso": "YYYY-MM-DDTHH:MM:SS", "iso_hm": "YYYY-MM-DDTHH:MM",
    "unix": gettext_noop("seconds since 1970"), "iso_offset": "YYYY-MM-DDTHH:MM:SS±HH:MM",
}
TAG_WORDS = {
    facts.TAGS_STICK: gettext_noop("applied"),
    facts.TAGS_REFUSED: gettext_noop("refused (the request fails)"),
    facts.TAGS_IGNORED: gettext_noop("ignored (the request succeeds, tags unchanged)"),
}


def probe_ticket(ticket, connection) -> bool:
    """The probe's own test ticket: its title starts with the probe's mark
    and its requester is the portal's own agent (no customer can be that
    agent), so the ticket job leaves it alone."""
    agent = getattr(connection, "hde_user_id", None)
    return bool(agent) and ticket.user_id == agent and ticket.title.startswith(PROBE_TITLE)


def text(msgid: str, **params) -> list:
    """A message kept for later translation: [msgid, params]."""
    return [msgid, params]


@dataclass
class Line:
    check: str
    provider: str
    question: str = ""  # the entry in docs/vendors/open-questions.md
    outcome: str = UNCHECKED
    tolerated: bool = True  # the portal works under what was found
    detail: list = field(default_factory=list)
    evidence: list = field(default_factory=list)
    switched: list = field(default_factory=list)  # what the result changed in the portal

    def holds(self, detail=None):
        self.outcome = HOLDS
        if detail:
            self.detail = detail

    def differs(self, detail=None, *, tolerated=True):
        self.outcome, self.tolerated = DIFFERS, tolerated
        if detail:
            self.detail = detail

    def unchecked(self, detail=None):
        self.outcome = UNCHECKED
        if detail:
            self.detail = detail

    def failed(self, error: ApiError):
        """The request the check needs failed: could not check (and why, in
        fixed words and the status)."""
        self.unchecked(text(gettext_noop("The request failed: %(reason)s."),
                            reason=OUTCOME_WORDS.get(error.outcome, OUTCOME_WORDS["error"])))
        if error.status_code:
            self.evidence.append(text(gettext_noop("HTTP status %(status)s"),
                                      status=error.status_code))

    def see(self, msgid: str, **params):
        self.evidence.append(text(msgid, **params))

    def as_dict(self) -> dict:
        return {"check": self.check, "provider": self.provider, "question": self.question,
                "outcome": self.outcome, "tolerated": self.tolerated, "detail": self.detail,
                "evidence": self.evidence, "switched": self.switched}


# -- running ---------------------------------------------------------------------
def probe_start(*, shop, write_test: bool = False, user=None) -> ProbeReport:
    """A report row for a run about to start (the admin shows it as running)."""
    report = ProbeReport.objects.create(shop=shop, write_test=write_test, requested_by=user)
    old = list(ProbeReport.objects.for_shop(shop).order_by("-started_at", "-pk")
               .values_list("pk", flat=True)[KEEP_REPORTS:])
    ProbeReport.objects.filter(pk__in=old).delete()
    return report


def probe_running(shop) -> ProbeReport | None:
    """A run of this shop that started in the last ten minutes and has not
    finished (one at a time per shop)."""
    since = timezone.now() - timedelta(minutes=10)
    return ProbeReport.objects.for_shop(shop).filter(finished_at__isnull=True,
                                                     started_at__gte=since).first()


def probe_run(*, report: ProbeReport) -> ProbeReport:
    """Run every check for the report's shop and store the lines."""
    shop = report.shop
    lines: list[Line] = []
    try:
        connection = getattr(shop, "retailcrm", None)
        if connection is not None:
            lines.extend(RetailCrmProbe(shop, connection).run())
        connection = getattr(shop, "helpdeskeddy", None)
        if connection is not None:
            lines.extend(HdeProbe(shop, connection, write_test=report.write_test).run())
        if not lines:
            report.error = gettext_noop("The shop has no vendor connection to check.")
    except Exception:
        logger.exception("probe.failed", extra={"shop": shop.pk})
        report.error = gettext_noop("The check stopped on an internal error; the lines "
                                    "before it were kept.")
        _finish(report, lines)
        raise
    return _finish(report, lines)


def _finish(report: ProbeReport, lines: list) -> ProbeReport:
    report.lines = [line.as_dict() for line in lines]
    report.finished_at = timezone.now()
    report.save(update_fields=["lines", "error", "finished_at"])
    return report


def _check(line: Line, body) -> Line:
    """Run one check's body; a failed request makes the line "could not
    check" instead of ending the probe."""
    try:
        body(line)
    except ApiError as error:
        line.failed(error)
    return line


# -- RetailCRM --------------------------------------------------------------------
class RetailCrmProbe:
    def __init__(self, shop, connection):
        from integration.vendors.retailcrm import RetailCrmClient

        self.shop, self.connection = shop, connection
        self.client = RetailCrmClient.for_connection(connection)
        self._customers = None

    def get(self, path, params=None):
        with self.client.optional_calls():
            return self.client._get(path, params)

    def run(self) -> list[Line]:
        api = _check(Line("rc.api", Provider.RETAILCRM), self.api)
        if api.outcome != HOLDS:
            return [api]  # not RetailCRM (or no key): nothing else means anything
        return [api] + [
            _check(Line(check, Provider.RETAILCRM, question), body)
            for check, question, body in (
                ("rc.rights", "R-6", self.rights),
                ("rc.settings", "R-7", self.settings),
                ("rc.email", "R-3", self.email),
                ("rc.phone", "R-2", self.phone),
                ("rc.orders_order", "R-1", self.orders_order),
                ("rc.orders_filters", "R-9", self.orders_filters),
                ("rc.order_customer", "R-8", self.order_customer),
                ("rc.history", "R-5", self.history),
                ("rc.references", "R-12", self.references),
                ("rc.users", "", self.users),
            )]

    def customers(self) -> list[dict]:
        """One page of customers, read once, for the samples."""
        if self._customers is None:
            body = self.get("/api/v5/customers", {"limit": CUSTOMER_SAMPLE})
            self._customers = [c for c in body.get("customers") or [] if isinstance(c, dict)]
        return self._customers

    def api(self, line: Line):
        with self.client.optional_calls():
            versions = self.client.api_versions()
        line.see(gettext_noop("API versions offered: %(versions)s"),
                 versions=", ".join(versions))
        if any(v.split(".")[0] == "5" for v in versions):
            line.holds()
        else:
            line.differs(text(gettext_noop("The account offers no version 5 of the API, which "
                                           "the portal uses.")), tolerated=False)

    def rights(self, line: Line):
        with self.client.optional_calls():
            credentials = self.client.check_credentials()
            rights = self.client.rights_check(credentials)
        facts.fact_set(self.connection, facts.RC_RIGHTS, source="probe", **rights.as_fact())
        line.see(gettext_noop("%(n)s rights listed; stores visible: %(stores)s"),
                 n=len(credentials.scopes), stores=len(credentials.sites_available))
        if credentials.paths:
            line.see(gettext_noop("The old list of methods is filled (%(n)s methods)"),
                     n=len(credentials.paths))
        how_words = {"methods": gettext_noop("found in the list of methods"),
                     "similar": gettext_noop("found under another name"),
                     "read": gettext_noop("not listed, but its read works")}
        for right, how in rights.confirmed.items():
            if how != "name":
                line.see(gettext_noop("%(right)s: %(how)s"), right=right, how=how_words[how])
        for right in rights.missing:
            line.see(gettext_noop("%(right)s: its read is refused"), right=right)
        for right in rights.unconfirmed:
            line.see(gettext_noop("%(right)s: not found under any name (writes are never "
                                  "tried)"), right=right)
        if rights.off:
            line.switched.append(text(gettext_noop("Switched off: %(features)s."),
                                      features=[str(facts.RIGHT_FEATURES[r])
                                                for r in rights.off]))
        else:
            line.switched.append(text(gettext_noop("Every feature is on.")))
        if all(how == "name" for how in rights.confirmed.values()) and not rights.off:
            line.holds()
        elif not rights.off:
            line.differs(text(gettext_noop("Every right is there, under other names: the "
                                           "portal recognises them.")))
        else:
            line.differs(text(gettext_noop("Some rights are missing: their features are off, "
                                           "the rest works.")))

    def settings(self, line: Line):
        try:
            with self.client.optional_calls():
                account = self.client.account_settings()
        except ApiError as error:
            if not isinstance(error, ApiAccessDenied) and not error.status_code:
                raise
            facts.fact_set(self.connection, facts.RC_SETTINGS, facts.UNAVAILABLE,
                           source="probe", status=error.status_code)
            line.see(gettext_noop("HTTP status %(status)s"), status=error.status_code)
            line.switched.append(text(gettext_noop("The settings are no longer asked for; "
                                                   "times are read in the shop's time zone "
                                                   "(%(zone)s)."), zone=self.shop.timezone))
            line.differs(text(gettext_noop("The settings cannot be read with this key "
                                           "(%(reason)s)."),
                              reason=OUTCOME_WORDS.get(error.outcome, OUTCOME_WORDS["error"])))
            return
        facts.fact_set(self.connection, facts.RC_SETTINGS, facts.AVAILABLE, source="probe")
        line.see(gettext_noop("Time zone: %(zone)s"), zone=account.timezone or "—")
        line.holds()

    def email(self, line: Line):
        sample = next((c for c in self.customers() if "@" in str(c.get("email") or "")), None)
        if sample is None:
            line.unchecked(text(gettext_noop("No customer with an e-mail among the first "
                                             "%(n)s."), n=CUSTOMER_SAMPLE))
            return
        stored = str(sample["email"])
        line.see(gettext_noop("Sample: customer %(id)s"), id=sample.get("id"))

        def finds(value):
            body = self.get("/api/v5/customers", {"filter[email]": value, "limit": 100})
            return any(c.get("id") == sample.get("id") for c in body.get("customers") or [])

        as_stored, upper = finds(stored), finds(stored.upper())
        local = finds(stored.partition("@")[0])
        yes, no = gettext_noop("found"), gettext_noop("not found")
        line.see(gettext_noop("As stored: %(a)s; in capitals: %(b)s; by the part before @: "
                              "%(c)s"), a=yes if as_stored else no, b=yes if upper else no,
                 c=yes if local else no)
        if not as_stored:
            line.differs(text(gettext_noop("A customer is not found by the e-mail stored on "
                                           "them.")), tolerated=False)
            return
        facts.fact_set(self.connection, facts.RC_EMAIL_CASE,
                       "insensitive" if upper else "sensitive", source="probe",
                       substring=local)
        if upper:
            line.holds()
        else:
            line.differs(text(gettext_noop("The search respects letter case: the portal "
                                           "searches an address as written and in lower case, "
                                           "but a customer stored with capitals who writes in "
                                           "lower case is missed.")), tolerated=False)

    def phone(self, line: Line):
        from integration.vendors.retailcrm_parsing import normalise_phone

        samples = []
        for customer in self.customers():
            for phone in customer.get("phones") or []:
                number = str((phone or {}).get("number") or "")
                e164 = normalise_phone(number)
                if e164.startswith("+7") and len(e164) == 12:
                    samples.append((customer.get("id"), number, e164[2:]))
                    break
            if len(samples) >= PHONE_SAMPLES:
                break
        if not samples:
            line.unchecked(text(gettext_noop("No customer with a Russian phone among the first "
                                             "%(n)s."), n=CUSTOMER_SAMPLE))
            return
        found = {form: 0 for form in FORM_WORDS}
        for customer_id, stored, ten in samples:
            forms = {"national": ten, "plus7": "+7" + ten, "eight": "8" + ten,
                     "seven": "7" + ten, "stored": stored}
            for form, value in forms.items():
                body = self.get("/api/v5/customers", {"filter[name]": value, "limit": 100})
                if any(c.get("id") == customer_id for c in body.get("customers") or []):
                    found[form] += 1
        for form, count in found.items():
            line.see(gettext_noop("%(form)s: %(found)s of %(tried)s found"),
                     form=FORM_WORDS[form], found=count, tried=len(samples))
        working = sorted((f for f in found if f != "stored" and found[f]),
                         key=lambda f: (-found[f], list(FORM_WORDS).index(f)))
        facts.fact_set(self.connection, facts.RC_PHONE_FORMS, ",".join(working) or "none",
                       source="probe", forms=working, samples=len(samples))
        if working:
            line.switched.append(text(gettext_noop("Phone forms to try, best first: "
                                                   "%(forms)s."),
                                      forms=[FORM_WORDS[f] for f in working]))
        if found["national"] == len(samples):
            line.holds()
        elif any(found[f] == len(samples) for f in working):
            line.differs(text(gettext_noop("Ten digits do not find every customer; the forms "
                                           "that do are recorded for the lookup.")))
        else:
            # No form the portal can build from what a customer writes finds
            # every sample: numbers stored with spaces or brackets are found
            # only when written exactly so. Not something the lookup can
            # work around: a deployer must know before going live.
            line.differs(text(gettext_noop("No phone form the portal builds finds every "
                                           "customer: a number stored with spaces or brackets "
                                           "is found only when the customer writes it exactly "
                                           "that way.")), tolerated=False)

    def _richest(self) -> dict | None:
        candidates = [c for c in self.customers() if int(c.get("ordersCount") or 0) >= 2]
        return max(candidates, key=lambda c: int(c.get("ordersCount") or 0), default=None)

    def orders_order(self, line: Line):
        from integration.vendors.retailcrm_parsing import parse_datetime

        customer = self._richest()
        if customer is None:
            line.unchecked(text(gettext_noop("No customer with two or more orders among the "
                                             "first %(n)s."), n=CUSTOMER_SAMPLE))
            return
        body = self.get("/api/v5/orders", {"filter[customerId]": customer["id"], "limit": 20})
        orders = [o for o in body.get("orders") or [] if isinstance(o, dict)]
        dates = [parse_datetime(o.get("createdAt"), self.client.tz) for o in orders]
        ids = [int(o.get("id") or 0) for o in orders]
        line.see(gettext_noop("Customer %(id)s: %(n)s orders, %(page)s on the first page"),
                 id=customer["id"], n=customer.get("ordersCount"), page=len(orders))
        if len(orders) < 2 or None in dates:
            line.unchecked(text(gettext_noop("Too few orders with dates to tell.")))
            return
        if all(a >= b for a, b in zip(dates, dates[1:], strict=False)):
            found = "newest_first"
        elif all(a <= b for a, b in zip(dates, dates[1:], strict=False)):
            found = "oldest_first"
        elif ids == sorted(ids):
            found = "id_asc"
        else:
            found = "mixed"
        facts.fact_set(self.connection, facts.RC_ORDER_LIST_ORDER, found, source="probe")
        line.see(gettext_noop("Order of the list: %(order)s"), order=ORDER_WORDS[found])
        if found == "newest_first":
            line.holds()
        else:
            line.differs(text(gettext_noop("The newest orders are not first: the portal "
                                           "sorts them itself and, for customers with more "
                                           "than one page of orders, reads the pages that "
                                           "hold the newest (one more round-trip).")))

    def orders_filters(self, line: Line):
        customer = next((c for c in sorted(self.customers(),
                                           key=lambda c: -int(c.get("ordersCount") or 0))
                         if "@" in str(c.get("email") or "") and c.get("ordersCount")), None)
        if customer is None:
            line.unchecked(text(gettext_noop("No customer with orders and an e-mail among the "
                                             "first %(n)s."), n=CUSTOMER_SAMPLE))
            return

        def ids(params):
            body = self.get("/api/v5/orders", {**params, "limit": 100})
            found = {o.get("id") for o in body.get("orders") or [] if isinstance(o, dict)}
            total = int((body.get("pagination") or {}).get("totalCount") or len(found))
            return found, total

        own, own_total = ids({"filter[customerId]": customer["id"]})
        by_email, email_total = ids({"filter[email]": customer["email"]})
        _, everything = ids({})
        name = str(customer.get("lastName") or customer.get("firstName") or "")
        by_name = ids({"filter[customer]": name})[0] if name else set()
        line.see(gettext_noop("Customer %(id)s: %(own)s orders by customer id; by e-mail "
                              "%(email)s (%(email_own)s of them theirs); by name %(name)s "
                              "(%(name_own)s of them theirs)"),
                 id=customer["id"], own=own_total, email=email_total,
                 email_own=len(by_email & own), name=len(by_name), name_own=len(by_name & own))
        # What the card's first paint can expect of filter[email]: the
        # answer decides whether it is asked at all.
        if email_total == everything and own_total < everything:
            answer = facts.FILTER_IGNORED
            line.differs(text(gettext_noop(
                "The account ignores the e-mail filter on orders (it answers every order): "
                "the card shows the orders after its second round-trip, by customer id.")))
            line.switched.append(text(gettext_noop(
                "The card no longer asks for orders by e-mail.")))
        elif own <= by_email:
            answer = facts.FILTER_CUSTOMER_ORDERS
            line.holds(text(gettext_noop(
                "The e-mail filter finds the customer's orders: the card shows them after "
                "one round-trip (only the found customer's; the rest are checked by customer "
                "id).")))
        else:
            answer = facts.FILTER_PART
            line.differs(text(gettext_noop(
                "The e-mail filter finds only some of the customer's orders (those placed "
                "with this e-mail): the card shows them first and the others after its second "
                "round-trip, by customer id.")))
        if by_email - own:
            line.see(gettext_noop("%(n)s orders of other customers match this e-mail; the card "
                                  "never shows them as this customer's"), n=len(by_email - own))
        facts.fact_set(self.connection, facts.RC_ORDER_EMAIL_FILTER, answer, source="probe",
                       own=own_total, matched=email_total)

    def order_customer(self, line: Line):
        body = self.get("/api/v5/orders", {"limit": 20})
        orders = [o for o in body.get("orders") or [] if isinstance(o, dict)]
        if not orders:
            line.unchecked(text(gettext_noop("The account has no orders.")))
            return
        partial = [o.get("id") for o in orders
                   if not {"firstName", "lastName"} & set(o.get("customer") or {})
                   or "ordersCount" not in (o.get("customer") or {})]
        keys = sorted(set().union(*[set(o.get("customer") or {}) for o in orders]))
        line.see(gettext_noop("%(n)s orders read; keys of the embedded customer: %(keys)s"),
                 n=len(orders), keys=", ".join(keys[:20]))
        shapes = {type(o.get("payments")).__name__ for o in orders if "payments" in o}
        line.see(gettext_noop("Payments as: %(shapes)s (both are read)"),
                 shapes=", ".join(sorted({"dict": gettext_noop("an object keyed by id"),
                                          "list": gettext_noop("a list")}.get(s, s)
                                         for s in shapes)) or "—")
        if not partial:
            line.holds()
        else:
            line.see(gettext_noop("%(n)s orders carry only part of the customer"),
                     n=len(partial))
            line.differs(text(gettext_noop("Orders carry only part of the customer: a "
                                           "customer found by an order number needs its own "
                                           "read.")))

    def history(self, line: Line):
        with self.client.optional_calls():
            newest = self.client.order_history_newest_id()
        if not newest:
            line.unchecked(text(gettext_noop("The account's order history is empty.")))
            return
        since = max(0, newest - HISTORY_WINDOW)
        empty_with_more, pages, records, keys = 0, 0, 0, set()
        page, total = 1, 1
        while page <= min(total, HISTORY_MAX_PAGES):
            body = self.get("/api/v5/orders/history",
                            {"filter[sinceId]": since, "limit": 100,
                             **({"page": page} if page > 1 else {})})
            history = [r for r in body.get("history") or [] if isinstance(r, dict)]
            pagination = body.get("pagination") or {}
            total = int(pagination.get("totalPageCount") or 0)
            current = int(pagination.get("currentPage") or page)
            pages, records = pages + 1, records + len(history)
            if not history and current < total:
                empty_with_more += 1
            for record in history[:5]:
                keys |= set(record)
            page += 1
        line.see(gettext_noop("%(pages)s pages read after a cursor %(window)s records below "
                              "the newest: %(records)s records, %(empty)s empty pages with more "
                              "to follow"), pages=pages, window=HISTORY_WINDOW, records=records,
                 empty=empty_with_more)
        missing = [k for k in ("id", "createdAt", "field", "order") if keys and k not in keys]
        if keys:
            line.see(gettext_noop("Keys of a record: %(keys)s"), keys=", ".join(sorted(keys)))
        facts.fact_set(self.connection, facts.RC_HISTORY_PAGES,
                       "empty_pages" if empty_with_more else "normal", source="probe",
                       pages=pages, empty=empty_with_more)
        if missing:
            line.differs(text(gettext_noop("History records lack %(keys)s."),
                              keys=", ".join(missing)), tolerated=False)
        elif empty_with_more:
            line.differs(text(gettext_noop("Some pages are empty while more follow; order watch "
                                           "follows the pagination, so it reads past them.")))
        else:
            line.holds(text(gettext_noop("No empty page with more to follow was seen (a clean "
                                         "run does not prove there never is one).")))

    def references(self, line: Line):
        counts = {}
        for name, path, key in (
                ("statuses", "/api/v5/reference/statuses", "statuses"),
                ("groups", "/api/v5/reference/status-groups", "statusGroups"),
                ("sites", "/api/v5/reference/sites", "sites"),
                ("delivery", "/api/v5/reference/delivery-types", "deliveryTypes"),
                ("payment", "/api/v5/reference/payment-types", "paymentTypes")):
            book = self.get(path).get(key)
            counts[name] = len(book) if isinstance(book, (dict, list)) else 0
            if name == "statuses":
                statuses = book if isinstance(book, dict) else {}
        line.see(gettext_noop("Statuses %(statuses)s, groups %(groups)s, stores %(sites)s, "
                              "delivery types %(delivery)s, payment types %(payment)s"),
                 **counts)
        watch = OrderWatch.objects.filter(shop=self.shop).first()
        wanted = (watch.problem_statuses if watch and watch.problem_statuses is not None
                  else ["delivery-problem"])
        absent = [code for code in wanted if code not in statuses]
        if absent:
            line.see(gettext_noop("Problem statuses of order watch the account lacks: "
                                  "%(n)s"), n=len(absent))
        if counts["statuses"] and counts["sites"]:
            line.holds()
        else:
            line.differs(text(gettext_noop("A reference book came back empty.")),
                         tolerated=False)

    def users(self, line: Line):
        body = self.get("/api/v5/users", {"limit": 20})
        users = [u for u in body.get("users") or [] if isinstance(u, dict)]
        managers = sum(1 for u in users if u.get("isManager"))
        line.see(gettext_noop("%(n)s users on the first page, %(managers)s of them managers"),
                 n=len(users), managers=managers)
        if users:
            line.holds()
        else:
            line.differs(text(gettext_noop("The user list is empty: no manager can be shown "
                                           "or given a task.")))


# -- HelpDeskEddy -----------------------------------------------------------------
class HdeProbe:
    def __init__(self, shop, connection, *, write_test: bool = False):
        from integration.vendors.helpdeskeddy import HelpDeskEddyClient

        self.shop, self.connection, self.write_test = shop, connection, write_test
        self.client = HelpDeskEddyClient.for_connection(connection)
        self.settings = ShopSettings.of(shop)
        self._rate_seen = None

    def run(self) -> list[Line]:
        lines = [_check(Line(check, Provider.HELPDESKEDDY, question), body)
                 for check, question, body in (
                     ("hde.exact_search", "H-2", self.exact_search),
                     ("hde.ticket", "", self.ticket),
                     ("hde.custom_fields", "", self.custom_fields),
                     ("hde.statuses", "", self.statuses),
                     ("hde.priorities", "", self.priorities),
                     ("hde.rate_limit", "", self.rate_limit),
                     ("hde.date_formats", "H-3", self.date_formats),
                 )]
        if self.write_test:
            lines.extend(self.writes())
        else:
            lines.extend(self.tags_known())
        return lines

    def search(self, query, *, exact):
        with self.client.optional_calls():
            page = self.client.search_users(query, exact=exact)
        self._rate_seen = self.client.last_rate_limit
        return page

    def exact_search(self, line: Line):
        email = self.connection.agent_email.strip()
        wanted = email.casefold()

        def has(page):
            return any(u.email.strip().casefold() == wanted for u in page.items)

        exact = self.search(email, exact=True)
        local = self.search(email.partition("@")[0], exact=True)
        upper = self.search(email.upper(), exact=True)
        yes, no = gettext_noop("found"), gettext_noop("not found")
        line.see(gettext_noop("The agent's address: %(a)s (%(n)s users answered); by the part "
                              "before @: %(b)s; in capitals: %(c)s"),
                 a=yes if has(exact) else no, n=len(exact.items), b=yes if has(local) else no,
                 c=yes if has(upper) else no)
        if not has(exact):
            plain = self.search(email, exact=False)
            if has(plain):
                facts.fact_set(self.connection, facts.HDE_EXACT_SEARCH, "case_sensitive",
                               source="probe")
                line.differs(text(gettext_noop("The exact search misses the agent; the plain "
                                               "search with the portal's own comparison finds "
                                               "them (the portal falls back to it).")))
            else:
                line.differs(text(gettext_noop("No search finds the agent's own address.")),
                             tolerated=False)
            return
        if has(local):
            facts.fact_set(self.connection, facts.HDE_EXACT_SEARCH, "ignored", source="probe")
            line.differs(text(gettext_noop("The exact flag is ignored: the search matches parts "
                                           "of addresses. The portal compares addresses itself "
                                           "and reads further pages when needed.")))
        elif not has(upper):
            facts.fact_set(self.connection, facts.HDE_EXACT_SEARCH, "case_sensitive",
                           source="probe")
            line.differs(text(gettext_noop("The exact search respects letter case; the portal "
                                           "falls back to a plain search and compares "
                                           "addresses without regard to case.")))
        else:
            facts.fact_set(self.connection, facts.HDE_EXACT_SEARCH, "honoured", source="probe")
            line.switched.append(text(gettext_noop("No fallback search is made after an exact "
                                                   "search that finds nobody.")))
            line.holds()

    def ticket(self, line: Line):
        with self.client.optional_calls():
            page = self.client.list_tickets(order_by="date_created{desc}")
        line.see(gettext_noop("%(n)s tickets in the account"), n=page.total)
        if not page.items:
            line.unchecked(text(gettext_noop("The account has no ticket to read.")))
            return
        with self.client.optional_calls():
            ticket = self.client.get_ticket(page.items[0].id)
        self._rate_seen = self.client.last_rate_limit
        raw = ticket.raw or {}
        missing = [k for k in TICKET_KEYS if k not in raw]
        line.see(gettext_noop("Ticket %(id)s read; %(fields)s custom fields; tags as %(tags)s"),
                 id=ticket.id, fields=len(ticket.custom_fields),
                 tags=_tags_shape(raw.get("tags")))
        if missing:
            line.differs(text(gettext_noop("A ticket lacks %(keys)s."),
                              keys=", ".join(missing)), tolerated=False)
        else:
            line.holds()

    def custom_fields(self, line: Line):
        with self.client.optional_calls():
            self.client.forget_reference()
            fields = self.client.custom_fields()
        known = {f.id for f in fields}
        wanted = set(FieldMapping.objects.for_shop(self.shop).values_list("hde_field_id",
                                                                          flat=True))
        wanted |= {f for f in PriorityRule.objects.for_shop(self.shop)
                   .values_list("set_field_id", flat=True) if f}
        if self.settings.crm_card_field_id:
            wanted.add(self.settings.crm_card_field_id)
        absent = sorted(wanted - known)
        line.see(gettext_noop("%(n)s custom fields in the account; the shop writes %(wanted)s"),
                 n=len(known), wanted=len(wanted))
        if absent:
            line.see(gettext_noop("Field ids the account lacks: %(ids)s"),
                     ids=", ".join(str(i) for i in absent))
            line.differs(text(gettext_noop("Some custom fields the shop writes do not exist: "
                                           "fix the field mappings or rules.")),
                         tolerated=False)
        else:
            line.holds()

    def statuses(self, line: Line):
        with self.client.optional_calls():
            statuses = self.client.statuses()
        ids = [str(s.id) for s in statuses]
        line.see(gettext_noop("%(n)s statuses; %(open)s of them count as open"),
                 n=len(ids), open=sum(1 for i in ids if i != "closed"))
        if "closed" in ids:
            line.holds(text(gettext_noop("The built-in closed status is there; every other "
                                         "status counts as open (reconciliation included).")))
        else:
            line.differs(text(gettext_noop("The account has no built-in closed status: closed "
                                           "tickets are not recognised.")), tolerated=False)

    def priorities(self, line: Line):
        with self.client.optional_calls():
            priorities = self.client.priorities()
        known = {p.id for p in priorities}
        wanted = {p for p in (self.settings.normal_priority_id, self.settings.high_priority_id)
                  if p}
        wanted |= {p for p in PriorityRule.objects.for_shop(self.shop)
                   .values_list("set_priority_id", flat=True) if p}
        line.see(gettext_noop("%(n)s priorities in the account; the shop sets %(wanted)s"),
                 n=len(known), wanted=len(wanted))
        if wanted - known:
            line.differs(text(gettext_noop("Some priorities the shop sets do not exist: fix the "
                                           "automation settings or rules.")), tolerated=False)
        else:
            line.holds()

    def rate_limit(self, line: Line):
        if self._rate_seen is None:
            self.search(self.connection.agent_email, exact=True)
        limit, remaining = self._rate_seen
        line.see(gettext_noop("Limit %(limit)s, remaining %(remaining)s"),
                 limit=limit if limit is not None else "—",
                 remaining=remaining if remaining is not None else "—")
        if limit is not None and remaining is not None:
            line.holds()
        else:
            line.differs(text(gettext_noop("No rate-limit headers: the portal keeps to its own "
                                           "budget only.")))

    def date_formats(self, line: Line):
        from integration.vendors.helpdeskeddy_parsing import (
            parse_date_update,
            parse_datetime,
        )

        with self.client.optional_calls():
            page = self.client.list_tickets(order_by="date_updated{desc}")
        api = next((t.raw.get("date_updated") for t in page.items if t.raw), None)
        api_ok = bool(api) and parse_datetime(api, self.client.tz) is not None
        line.see(gettext_noop("The API's update time: %(form)s"),
                 form=DATE_WORDS["ymd_hms"] if api_ok else gettext_noop("not understood"))
        said = (InboundEvent.objects.for_shop(self.shop)
                .filter(source=EventSource.HDE_WEBHOOK, event_type="ticket_changed",
                        payload__has_key="date_update")
                .order_by("-created_at").values_list("payload", flat=True).first())
        if not said:
            line.unchecked(text(gettext_noop("No \"ticket changed\" webhook has arrived yet; "
                                             "its date format is checked once one has.")))
            return
        parsed = parse_date_update(said.get("date_update"))
        if parsed is None:
            line.differs(text(gettext_noop("The webhook's update time is in a form the portal "
                                           "does not read: its own changes cost one read "
                                           "each.")), tolerated=True)
            return
        facts.fact_set(self.connection, facts.HDE_DATE_UPDATE, parsed.format, source="probe")
        line.see(gettext_noop("The webhook's update time: %(form)s"),
                 form=DATE_WORDS.get(parsed.format, parsed.format))
        if parsed.format == "ymd_hms" and api_ok:
            line.holds()
        else:
            line.differs(text(gettext_noop("The webhook writes the time otherwise than the API; "
                                           "the loop guard reads both and compares them at the "
                                           "precision both have.")))

    # -- tags: known from work, or the write test ---------------------------------
    def tags_known(self) -> list[Line]:
        lines = []
        for check, name in (("hde.tags_on_update", facts.HDE_TAGS_ON_UPDATE),
                            ("hde.tags_on_create", facts.HDE_TAGS_ON_CREATE)):
            line = Line(check, Provider.HELPDESKEDDY, "H-1")
            answer = facts.fact_answer(self.connection, name)
            if not answer:
                line.unchecked(text(gettext_noop("Settled only by the write test (or by the "
                                                 "ticket job's first update).")))
            else:
                line.see(gettext_noop("Learned earlier: tags %(answer)s"),
                         answer=TAG_WORDS.get(answer, answer))
                _tags_outcome(line, answer)
            lines.append(line)
        return lines

    def writes(self) -> list[Line]:
        """The write test: one test ticket, requester the portal's agent."""
        write = Line("hde.write", Provider.HELPDESKEDDY, "")
        on_create = Line("hde.tags_on_create", Provider.HELPDESKEDDY, "H-1")
        on_update = Line("hde.tags_on_update", Provider.HELPDESKEDDY, "H-1")
        try:
            self._writes(write, on_create, on_update)
        except ApiError as error:
            for line in (write, on_create, on_update):
                if line.outcome == UNCHECKED and not line.detail:
                    line.failed(error)
        return [write, on_create, on_update]

    def _send(self, method, path, payload):
        with self.client.optional_calls():
            return self.client._send_ticket(method, path, payload)

    def _reread(self, ticket_id):
        with self.client.optional_calls():
            return self.client.get_ticket(ticket_id)

    def _writes(self, write: Line, on_create: Line, on_update: Line):
        if not self.connection.hde_user_id:
            # Records the key's own HDE user: the requester of the test
            # ticket, and how the ticket job knows to leave it alone.
            with self.client.optional_calls():
                self.client.test_connection()
        agent = self.connection.hde_user_id
        if not agent:
            write.unchecked(text(gettext_noop("The agent of the key was not found; test the "
                                              "connection first.")))
            return
        with translation.override(self.shop.language or "ru"):
            created = {"title": PROBE_TITLE + gettext("contract check, safe to delete"),
                       "description": gettext("Created by the portal's contract check; it "
                                              "closes this ticket itself."),
                       "create_from_user": 0, "user_id": agent, "tags": [PROBE_TAG]}
        try:
            ticket = self._send("POST", "/api/v2/tickets/", created)
            answer = None
        except ApiValidationError as refused:
            ticket = self._send("POST", "/api/v2/tickets/",
                                {k: v for k, v in created.items() if k != "tags"})
            answer = facts.TAGS_REFUSED
            on_create.see(gettext_noop("HTTP status %(status)s"), status=refused.status_code)
        on_create.see(gettext_noop("Test ticket %(id)s created"), id=ticket.id)
        try:
            if answer is None:
                fresh = self._reread(ticket.id)
                answer = (facts.TAGS_STICK if PROBE_TAG in fresh.tags
                          else facts.TAGS_IGNORED)
            facts.fact_set(self.connection, facts.HDE_TAGS_ON_CREATE, answer, source="probe")
            _tags_outcome(on_create, answer)
            self._update(ticket, write, on_update)
        finally:
            with self.client.optional_calls():
                self.client._send_ticket("PUT", f"/api/v2/tickets/{ticket.id}/",
                                         {"status_id": "closed"})
            write.see(gettext_noop("Test ticket %(id)s closed"), id=ticket.id)

    def _update(self, ticket, write: Line, on_update: Line):
        with self.client.optional_calls():
            priorities = self.client.priorities()
            fields = self.client.custom_fields()
        priority = next((p.id for p in priorities if p.id != ticket.priority_id), None)
        text_field = (self.settings.crm_card_field_id
                      or next((f.id for f in fields if f.field_type in ("text", "textarea",
                                                                           "input")), None))
        change = {"tags": [PROBE_TAG, PROBE_TAG_UPDATE]}
        if priority is not None:
            change["priority_id"] = priority
        if text_field is not None:
            change["custom_fields"] = {str(text_field): PROBE_FIELD_VALUE}
        path = f"/api/v2/tickets/{ticket.id}/"
        answer = None
        try:
            self._send("PUT", path, change)
        except ApiValidationError as refused:
            on_update.see(gettext_noop("HTTP status %(status)s"), status=refused.status_code)
            without = {k: v for k, v in change.items() if k != "tags"}
            if without:
                self._send("PUT", path, without)
            answer = facts.TAGS_REFUSED
        fresh = self._reread(ticket.id)
        if answer is None:
            answer = (facts.TAGS_STICK if PROBE_TAG_UPDATE in fresh.tags
                      else facts.TAGS_IGNORED)
        facts.fact_set(self.connection, facts.HDE_TAGS_ON_UPDATE, answer, source="probe")
        _tags_outcome(on_update, answer)
        if answer != facts.TAGS_STICK:
            on_update.switched.append(text(gettext_noop("Tags are no longer sent in ticket "
                                                        "updates; the comment names them.")))
        priority_ok = priority is None or fresh.priority_id == priority
        value = fresh.custom_fields.get(text_field) if text_field is not None else None
        field_ok = text_field is None or str(value or "") == PROBE_FIELD_VALUE
        yes, no = gettext_noop("written"), gettext_noop("not written")
        write.see(gettext_noop("Priority: %(priority)s; custom field: %(field)s"),
                  priority=yes if priority_ok else no, field=yes if field_ok else no)
        if priority_ok and field_ok:
            write.holds()
        else:
            write.differs(text(gettext_noop("The update did not write everything it was "
                                            "given.")), tolerated=False)


def _tags_outcome(line: Line, answer: str) -> None:
    if answer == facts.TAGS_STICK:
        line.holds()
    else:
        line.differs(text(gettext_noop("Tags not supported here: %(answer)s. The portal stops "
                                       "sending them; everything else is written."),
                          answer=TAG_WORDS.get(answer, answer)))


def _tags_shape(tags) -> str:
    if tags is None:
        return gettext_noop("absent")
    items = list(tags.values()) if isinstance(tags, dict) else tags if isinstance(
        tags, list) else []
    if not items:
        return gettext_noop("an empty list")
    if all(isinstance(t, dict) for t in items):
        return gettext_noop("objects with a name")
    return gettext_noop("names")


# -- showing ---------------------------------------------------------------------
def _render(message) -> str:
    """[msgid, params] in the current language; list parameters joined,
    text parameters that are message ids translated too.

    A `right` parameter is a RetailCRM right as the account spelled it (the
    report keeps it so, for the facts it switched); a person reads it by
    name, never as a scope code, and it opens its sentence."""
    if not message:
        return ""
    msgid, params = message[0], dict(message[1] or {})
    shown = {}
    for key, value in params.items():
        if key == "right":
            value = capfirst(facts.right_name(str(value)))
        elif isinstance(value, list):
            value = ", ".join(gettext(str(v)) for v in value)
        elif isinstance(value, str):
            value = gettext(value) if value else value
        shown[key] = value
    try:
        return gettext(msgid) % shown
    except (KeyError, TypeError, ValueError):
        return gettext(msgid)


def line_view(line: dict) -> dict:
    """A stored line as a person reads it (title, outcome, detail, evidence,
    what it switched), in the current language."""
    return {
        "check": line.get("check", ""),
        "provider": "RetailCRM" if line.get("provider") == Provider.RETAILCRM else
        "HelpDeskEddy",
        "question": line.get("question", ""),
        "title": gettext(TITLES.get(line.get("check", ""), line.get("check", ""))),
        "outcome": line.get("outcome", UNCHECKED),
        "outcome_label": ProbeOutcome(line.get("outcome", UNCHECKED)).label,
        "tolerated": line.get("tolerated", True),
        "detail": _render(line.get("detail")),
        "evidence": [_render(e) for e in line.get("evidence") or []],
        "switched": [_render(e) for e in line.get("switched") or []],
    }


def report_view(report: ProbeReport | None) -> dict | None:
    if report is None:
        return None
    return {"report": report, "lines": [line_view(line) for line in report.lines or []],
            "holds": report.count(HOLDS), "differs": report.count(DIFFERS),
            "unchecked": report.count(UNCHECKED), "untolerated": report.untolerated,
            "error": gettext(report.error) if report.error else ""}


def latest_report(shop) -> ProbeReport | None:
    return ProbeReport.objects.for_shop(shop).order_by("-started_at", "-pk").first()
