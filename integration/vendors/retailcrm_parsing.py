"""RetailCRM API v5 answers turned into plain dataclasses.

Every parser is defensive about the vendor's documented quirks
(docs/vendors/retailcrm.md §7, §18):
- absent values are omitted, not null (§18.6): always `.get()`;
- `customFields` is `[]` when empty and an object otherwise (§7);
- `payments` is an object keyed by payment id *or* a list (§11.3);
- `errors` is an object of field messages *or* a list of strings (§5.3);
- reference books are objects keyed by code (§10);
- timestamps are `Y-m-d H:i:s` without an offset, in the account's timezone
  (§7); task `datetime` is `Y-m-d H:i`.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

import phonenumbers

from integration.core.phones import phone_parse

T = TypeVar("T")

# What the portal's features need from a key, and why (shown to the admin).
REQUIRED_SCOPES = {
    "customer_read": "find customers for tickets",
    "order_read": "show orders and poll order history",
    "reference_read": "show status names and sites",
    "user_read": "show the responsible manager",
    "customer_write": "create customers and notes from tickets",
    "task_write": "create tasks for managers",
}


def parse_datetime(value, tz: ZoneInfo) -> datetime | None:
    """`2021-02-25 09:37:48` (or task-style `2021-02-25 09:37`) in the
    account's timezone → an aware datetime; anything else → None."""
    if not value or not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    try:  # abandoned-cart style with an offset (`Y-m-d H:i:sP`, §7)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def parse_date(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def as_mapping(value) -> dict:
    """`customFields`-style values: `[]` (PHP's empty map) or an object."""
    return dict(value) if isinstance(value, dict) else {}


def as_records(value) -> list[dict]:
    """`payments`-style values: an object keyed by id, or a list."""
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, dict)]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def error_details(body) -> dict:
    """`errors` as a dict: a list of strings becomes {"0": ..., "1": ...}."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):
        return {str(k): str(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return {str(i): str(v) for i, v in enumerate(errors)}
    return {}


def normalise_phone(raw: str, region: str = "RU") -> str:
    """E.164 for comparison: `8 (916) 123-45-67`, `+7 916 1234567` and
    `79161234567` are the same number. Empty string when unparseable."""
    number = phone_parse(raw, region)
    if number is None:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass
class Page(Generic[T]):
    items: list[T]
    total_count: int
    current_page: int
    total_pages: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.current_page < self.total_pages


def parse_page(body: dict, key: str, parse_item) -> Page:
    pagination = body.get("pagination") or {}
    items = [parse_item(raw) for raw in body.get(key) or [] if isinstance(raw, dict)]
    return Page(
        items=items,
        total_count=int(pagination.get("totalCount", len(items))),
        current_page=int(pagination.get("currentPage", 1)),
        total_pages=int(pagination.get("totalPageCount", 1)),
        limit=int(pagination.get("limit", len(items))),
    )


# The methods each right stands for, as the deprecated `credentials` list of
# method paths names them (§2): a key whose rights have other names still
# lists the methods it may call there.
RIGHT_PATHS = {
    "customer_read": ("/api/v5/customers",),
    "order_read": ("/api/v5/orders", "/api/v5/orders/history"),
    "reference_read": ("/api/v5/reference/statuses",),
    "user_read": ("/api/v5/users",),
    "customer_write": ("/api/v5/customers/create", "/api/v5/customers/notes/create"),
    "task_write": ("/api/v5/tasks/create",),
}
READ_RIGHTS = ("customer_read", "order_read", "reference_read", "user_read")
WRITE_ACTIONS = {"write", "create", "edit"}


@dataclass
class Credentials:
    scopes: list[str]
    site_access: str  # access_full | access_selective
    sites_available: list[str]
    # Required rights not listed under the exact name the portal expects
    # (right → the feature that needs it); `rights_resolve` may still find
    # them under another name or in the method list.
    missing: dict[str, str]
    extra: list[str]  # rights the key has beyond what the portal needs
    paths: list[str] = field(default_factory=list)  # deprecated method list (§2)

    @property
    def ok(self) -> bool:
        return not self.missing


def parse_credentials(body: dict) -> Credentials:
    scopes = [s for s in body.get("scopes") or [] if isinstance(s, str)]
    paths = [p for p in body.get("credentials") or [] if isinstance(p, str)]
    return Credentials(
        scopes=scopes,
        site_access=body.get("siteAccess", ""),
        sites_available=list(body.get("sitesAvailable") or []),
        missing={s: why for s, why in REQUIRED_SCOPES.items() if s not in scopes},
        extra=sorted(set(scopes) - set(REQUIRED_SCOPES) - set(_renamed_scopes(scopes))),
        paths=paths,
    )


def right_tokens(name: str) -> tuple[str, ...]:
    """`Customers_Notes_Write` → ("customer", "note", "write"): the parts of
    a right's name, lower-case, plurals folded."""
    parts = [p for p in name.strip().lower().replace("-", "_").split("_") if p]
    return tuple(p[:-1] if len(p) > 3 and p.endswith("s") else p for p in parts)


def _similar(right: str, scopes) -> list[str]:
    """The listed rights that read like `right` under another spelling
    (`customers_read`), or, for a write right, the finer rights it may have
    been split into (`task_create`; `customer_create` plus a notes right)."""
    entity, action = right_tokens(right)[:-1], right_tokens(right)[-1]
    tokens = {scope: right_tokens(scope) for scope in scopes}
    if action == "read":
        return [s for s, t in tokens.items() if t[:-1] == entity and t[-1:] == ("read",)]
    writes = [s for s, t in tokens.items() if t and t[-1] in WRITE_ACTIONS]
    own = [s for s in writes if tokens[s][:-1] == entity]
    if right == "customer_write":
        # Creating customers and writing notes: both must be there.
        notes = [s for s in writes if "note" in tokens[s][:-1]]
        creates = [s for s in own if tokens[s][-1] in ("write", "create")]
        return [*creates, *notes] if creates and notes else []
    return [s for s in own if tokens[s][-1] in ("write", "create")]


def _renamed_scopes(scopes) -> list[str]:
    found = []
    for right in REQUIRED_SCOPES:
        if right not in scopes:
            found.extend(_similar(right, scopes))
    return found


def rights_resolve(credentials: Credentials) -> dict[str, str]:
    """How each required right is known to be there: "name" (listed as the
    portal expects), "methods" (every method it stands for is in the
    deprecated method list), "similar" (listed under another spelling or
    split into finer rights). Rights absent from the result are not
    confirmed by the answer alone (the client may still try a harmless read
    for a read right)."""
    paths = set(credentials.paths)
    found = {}
    for right in REQUIRED_SCOPES:
        if right in credentials.scopes:
            found[right] = "name"
        elif paths and all(p in paths for p in RIGHT_PATHS[right]):
            found[right] = "methods"
        elif _similar(right, credentials.scopes):
            found[right] = "similar"
    return found


@dataclass
class AccountSettings:
    timezone: str  # IANA name; naive vendor timestamps are in it (§7)
    currency: str


@dataclass
class SettingsRead:
    """The account settings, or why they are missing (R-7: optional)."""

    settings: AccountSettings | None
    zone: str  # the account's zone, else the one the client reads times in
    reason: str = ""  # refused | failed
    skipped: bool = False  # not asked: known to be refused for this key
    status: int | None = None

    def warning(self) -> str:
        """In the reader's language: what could not be read and what the
        portal does instead."""
        from django.utils.translation import gettext

        if self.reason == "refused":
            return gettext("the key may not read the account settings; times are read in "
                           "the time zone %(zone)s") % {"zone": self.zone}
        return gettext("the account settings could not be read just now; times are read in "
                       "the time zone %(zone)s") % {"zone": self.zone}


@dataclass
class RightsCheck:
    """The key's rights as the portal needs them (R-6)."""

    confirmed: dict[str, str]  # right → how it was confirmed (name, methods, similar, read)
    missing: list[str]  # refused when tried
    unconfirmed: list[str]  # write rights found under no name (never tried)

    @property
    def off(self) -> list[str]:
        """Rights whose features are switched off, in the portal's order."""
        return [r for r in REQUIRED_SCOPES if r in self.missing or r in self.unconfirmed]

    def as_fact(self) -> dict:
        return {"confirmed": dict(self.confirmed), "missing": list(self.missing),
                "unconfirmed": list(self.unconfirmed)}


def parse_settings(body: dict) -> AccountSettings:
    """`/api/v5/settings`: each setting is `{"value": …, "updated_at": …}`."""
    settings = body.get("settings") or {}
    return AccountSettings(
        timezone=(settings.get("timezone") or {}).get("value") or "",
        currency=(settings.get("default_currency") or {}).get("value") or "",
    )


@dataclass
class Customer:
    id: int
    site: str
    first_name: str = ""
    last_name: str = ""
    patronymic: str = ""
    email: str = ""
    phones: list[str] = field(default_factory=list)
    external_id: str = ""
    type: str = "customer"
    vip: bool = False
    bad: bool = False
    manager_id: int | None = None
    created_at: datetime | None = None
    orders_count: int = 0
    total_summ: float = 0.0
    average_summ: float = 0.0
    segments: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom_fields: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)


def parse_customer(raw: dict, tz: ZoneInfo) -> Customer:
    return Customer(
        id=int(raw["id"]),
        site=raw.get("site", ""),
        first_name=raw.get("firstName", "") or raw.get("nickName", ""),
        last_name=raw.get("lastName", ""),
        patronymic=raw.get("patronymic", ""),
        email=raw.get("email", ""),
        phones=[p["number"] for p in raw.get("phones") or [] if p.get("number")],
        external_id=str(raw.get("externalId", "")),
        type=raw.get("type", "customer"),
        vip=bool(raw.get("vip", False)),
        bad=bool(raw.get("bad", False)),
        manager_id=raw.get("managerId"),
        created_at=parse_datetime(raw.get("createdAt"), tz),
        orders_count=int(raw.get("ordersCount", 0) or 0),
        total_summ=float(raw.get("totalSumm", 0) or 0),
        average_summ=float(raw.get("averageSumm", 0) or 0),
        segments=[s.get("name") or s.get("code", "") for s in raw.get("segments") or []],
        tags=[t.get("name", "") if isinstance(t, dict) else str(t) for t in raw.get("tags") or []],
        custom_fields=as_mapping(raw.get("customFields")),
        raw=raw,
    )


@dataclass
class OrderItem:
    name: str
    quantity: float
    price: float
    status: str = ""


@dataclass
class Payment:
    id: int | None
    type: str
    status: str
    amount: float
    paid_at: datetime | None


@dataclass
class Order:
    id: int
    number: str
    site: str
    status: str
    created_at: datetime | None
    total_summ: float
    summ: float = 0.0
    currency: str = "RUB"
    external_id: str = ""
    customer_id: int | None = None
    manager_id: int | None = None
    status_updated_at: datetime | None = None
    delivery_date: date | None = None
    delivery_code: str = ""
    delivery_cost: float = 0.0
    delivery_address: str = ""
    items: list[OrderItem] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    custom_fields: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def paid_amount(self) -> float:
        return sum(p.amount for p in self.payments if p.status == "paid")


def parse_order(raw: dict, tz: ZoneInfo) -> Order:
    delivery = raw.get("delivery") or {}
    customer = raw.get("customer") or {}
    items = []
    for item in raw.get("items") or []:
        offer = item.get("offer") or {}
        items.append(OrderItem(
            name=offer.get("displayName") or offer.get("name") or item.get("productName", ""),
            quantity=float(item.get("quantity", 1) or 0),
            price=float(item.get("initialPrice", 0) or 0),
            status=item.get("status", ""),
        ))
    payments = [
        Payment(id=p.get("id"), type=p.get("type", ""), status=p.get("status", ""),
                amount=float(p.get("amount", 0) or 0),
                paid_at=parse_datetime(p.get("paidAt"), tz))
        for p in as_records(raw.get("payments"))
    ]
    return Order(
        id=int(raw["id"]),
        number=str(raw.get("number", "")),
        site=raw.get("site", ""),
        status=raw.get("status", ""),
        created_at=parse_datetime(raw.get("createdAt"), tz),
        total_summ=float(raw.get("totalSumm", 0) or 0),
        summ=float(raw.get("summ", 0) or 0),
        currency=raw.get("currency", "RUB"),
        external_id=str(raw.get("externalId", "")),
        customer_id=individual_customer_id(customer),
        manager_id=raw.get("managerId"),
        status_updated_at=parse_datetime(raw.get("statusUpdatedAt"), tz),
        delivery_date=parse_date(delivery.get("date")),
        delivery_code=delivery.get("code", ""),
        delivery_cost=float(delivery.get("cost", 0) or 0),
        delivery_address=(delivery.get("address") or {}).get("text", ""),
        items=items,
        payments=payments,
        custom_fields=as_mapping(raw.get("customFields")),
        raw=raw,
    )


@dataclass
class HistoryRecord:
    id: int
    created_at: datetime | None
    field: str
    source: str
    by_this_key: bool  # `apiKey.current`: our own change, skip it (§18.15)
    created: bool
    deleted: bool
    old_value: object
    new_value: object
    order_id: int | None
    order_number: str
    customer_id: int | None
    status: str
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class HistoryBatch:
    records: list[HistoryRecord]
    last_id: int | None  # the cursor to store (newest id read, else since_id)
    more: bool  # pagination says another page follows (same since_id, next page)
    current_page: int = 1
    total_pages: int = 1


def parse_history_record(raw: dict, tz: ZoneInfo) -> HistoryRecord:
    order = raw.get("order") or {}
    customer = order.get("customer") or raw.get("customer") or {}
    return HistoryRecord(
        id=int(raw["id"]),
        created_at=parse_datetime(raw.get("createdAt"), tz),
        field=raw.get("field", ""),
        source=raw.get("source", ""),
        by_this_key=bool((raw.get("apiKey") or {}).get("current", False)),
        created=bool(raw.get("created", False)),
        deleted=bool(raw.get("deleted", False)),
        old_value=raw.get("oldValue"),
        new_value=raw.get("newValue"),
        order_id=order.get("id"),
        order_number=str(order.get("number", "")),
        customer_id=customer.get("id"),
        status=order.get("status", ""),
        raw=raw,
    )


@dataclass
class Note:
    id: int
    text: str
    created_at: datetime | None
    customer_id: int | None
    manager_id: int | None = None


def parse_note(raw: dict, tz: ZoneInfo) -> Note:
    return Note(
        id=int(raw["id"]),
        text=raw.get("text", ""),
        created_at=parse_datetime(raw.get("createdAt"), tz),
        customer_id=(raw.get("customer") or {}).get("id"),
        manager_id=raw.get("managerId"),  # only when the note has an author (§9)
    )


@dataclass
class User:
    id: int
    first_name: str = ""
    last_name: str = ""
    patronymic: str = ""
    email: str = ""
    phone: str = ""
    position: str = ""
    active: bool = True
    is_manager: bool = False

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email


def parse_user(raw: dict) -> User:
    return User(
        id=int(raw["id"]), first_name=raw.get("firstName", ""),
        last_name=raw.get("lastName", ""), patronymic=raw.get("patronymic", ""),
        email=raw.get("email", ""), phone=raw.get("phone", ""),
        position=raw.get("position", ""), active=bool(raw.get("active", True)),
        is_manager=bool(raw.get("isManager", False)),
    )


@dataclass
class Status:
    code: str
    name: str
    group: str
    active: bool = True
    ordering: int = 0


@dataclass
class StatusGroup:
    code: str
    name: str
    process: bool
    statuses: list[str]
    active: bool = True
    ordering: int = 0


@dataclass
class Site:
    code: str
    name: str
    url: str = ""
    currency: str = ""


def keyed_book(value) -> dict[str, dict]:
    """Reference books are objects keyed by code (§10); an empty book may
    arrive as `[]`, and a list of objects is accepted for robustness."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items() if isinstance(v, dict)}
    if isinstance(value, list):
        return {str(v["code"]): v for v in value if isinstance(v, dict) and v.get("code")}
    return {}


def parse_statuses(body: dict) -> dict[str, Status]:
    return {
        code: Status(code=code, name=raw.get("name", code), group=raw.get("group", ""),
                     active=bool(raw.get("active", True)), ordering=int(raw.get("ordering", 0)))
        for code, raw in keyed_book(body.get("statuses")).items()
    }


def parse_status_groups(body: dict) -> dict[str, StatusGroup]:
    return {
        code: StatusGroup(code=code, name=raw.get("name", code),
                          process=bool(raw.get("process", False)),
                          statuses=list(raw.get("statuses") or []),
                          active=bool(raw.get("active", True)),
                          ordering=int(raw.get("ordering", 0)))
        for code, raw in keyed_book(body.get("statusGroups")).items()
    }


def parse_names(body: dict, book: str) -> dict[str, str]:
    """A reference book of named things keyed by code (delivery types,
    payment types, order methods, §10) as code → the account's name for it."""
    return {code: str(raw.get("name") or code)
            for code, raw in keyed_book(body.get(book)).items() if isinstance(raw, dict)}


def parse_payment_statuses(body: dict) -> dict[str, dict]:
    """`/reference/payment-statuses`: code → {"name", "complete"}; whether a
    payment in that status counts as paid is the account's own setting
    (`paymentComplete`), not a list of codes we guess."""
    return {code: {"name": str(raw.get("name") or code),
                   "complete": bool(raw.get("paymentComplete"))}
            for code, raw in keyed_book(body.get("paymentStatuses")).items()
            if isinstance(raw, dict)}


def parse_sites(body: dict) -> dict[str, Site]:
    return {
        code: Site(code=code, name=raw.get("name", code), url=raw.get("url", ""),
                   currency=raw.get("currency", ""))
        for code, raw in keyed_book(body.get("sites")).items()
    }


def individual_customer_id(customer: dict):
    """The id of the individual customer an order embeds. A corporate
    order's `customer` is the company (`type: customer_corporate`,
    docs/vendors/retailcrm.md §8.7), numbered apart from individuals: its id
    must never make the order look like a person's with the same number."""
    return customer.get("id") if customer.get("type", "customer") == "customer" else None
