"""Normalisation of HelpDeskEddy API v2 answers into plain dataclasses.

HDE's JSON is irregular (docs/vendors/helpdeskeddy.md):
- §2 some lists are arrays, others objects keyed by id (`/tickets/`,
  `/custom_fields/`), and `pagination.total` is a number or a string;
- §2 three date formats, none ISO 8601, without a time zone;
- §2 dictionary names are localised objects `{"ru": ..., "en": ...}` with
  varying keys, sometimes plain strings; hierarchy fields key them by level;
- §5.3 ids and numbers may arrive as strings; `status_id` is a string slug;
  `freeze_date` may be the string "null"; select custom fields answer
  `{id, name}` or 0; tags may be strings or `{id, name}` objects.
Everything here is pure (no I/O) so it is easy to reason about.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

# §2: ticket/user dates, post/comment dates, sla/freeze dates, plain dates.
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%H:%M:%S %d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y",
                "%Y-%m-%d")
EMPTY_DATES = {"", "null", "none", "0000-00-00 00:00:00", "0000-00-00", "0"}
PLACEHOLDER_EMAIL_DOMAINS = (".invalid",)


def values_of(data) -> list:
    """An array stays an array; an object keyed by id becomes its values in
    the server's order (§2: the key order follows `order_by`)."""
    if isinstance(data, dict):
        return list(data.values())
    if isinstance(data, list):
        return data
    return []


def to_int(value) -> int | None:
    """Numbers that may come as strings ("2", " 15 ") or be empty."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip()
    if not text or text.lower() == "null":
        return None
    try:
        return int(float(text)) if "." in text else int(text)
    except ValueError:
        return None


def to_number(value) -> float | int | None:
    """A number custom field ("4345", "12.5", "1 200,50" typed by a person)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value or "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def parse_datetime(value, tz: tzinfo) -> datetime | None:
    """Any of the §2 formats, read in the HDE system's local zone `tz` (the
    API sends none); empty markers such as "null" give None."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lower() in EMPTY_DATES:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


def localized(name, lang: str = "ru") -> str:
    """§2: pick `lang`, then ru, en, any; accept a plain string and a
    hierarchy's level-keyed object (§9.1: the first level's name)."""
    if isinstance(name, str):
        return name
    if not isinstance(name, dict) or not name:
        return "" if name is None else str(name)
    for key in (lang, "ru", "en"):
        if isinstance(name.get(key), str) and name[key]:
            return name[key]
    first = next(iter(name.values()))
    return localized(first, lang) if isinstance(first, dict) else str(first or "")


def names_of(name) -> dict[str, str]:
    if isinstance(name, dict):
        return {str(k): v for k, v in name.items() if isinstance(v, str)}
    return {"": name} if isinstance(name, str) else {}


@dataclass(frozen=True)
class Ref:
    """A dictionary entry: priority, status (string id), type, department,
    select option."""

    id: int | str
    name: str
    names: dict[str, str] = field(default_factory=dict, compare=False)

    def matches(self, text: str) -> bool:
        wanted = text.strip().casefold()
        return any(v.casefold() == wanted for v in [self.name, *self.names.values()])


@dataclass(frozen=True)
class CustomFieldDef:
    id: int
    name: str
    field_type: str
    names: dict[str, str] = field(default_factory=dict, compare=False)

    def matches(self, text: str) -> bool:
        wanted = text.strip().casefold()
        return any(v.casefold() == wanted for v in [self.name, *self.names.values()])


@dataclass
class User:
    id: int
    name: str
    lastname: str
    email: str
    phone: str
    group_type: str  # "staff" (agents) or "user" (clients), §7
    status: str
    organization: str
    date_created: datetime | None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_staff(self) -> bool:
        return self.group_type == "staff"

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.lastname}".strip()

    @property
    def real_email(self) -> str:
        """The e-mail, or "" when it is a placeholder under a reserved
        `.invalid` domain (HDE needs an e-mail even for phone-only contacts)."""
        domain = self.email.rpartition("@")[2].lower()
        return "" if domain.endswith(PLACEHOLDER_EMAIL_DOMAINS) else self.email


@dataclass
class Ticket:
    id: int
    unique_id: str
    title: str
    status_id: str
    priority_id: int | None
    type_id: int | None
    department_id: int | None
    owner_id: int | None  # None when unassigned (HDE sends 0)
    user_id: int | None
    user_email: str
    user_name: str
    source: str
    date_created: datetime | None
    date_updated: datetime | None
    sla_date: datetime | None
    # field id → value: str for text, number for number (parsed), int 0/1 for
    # checkbox, Ref for a chosen select option, None when empty.
    custom_fields: dict[int, Any] = field(default_factory=dict)
    custom_field_types: dict[int, str] = field(default_factory=dict, repr=False)
    tags: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_closed(self) -> bool:
        return self.status_id == "closed"  # §5.3: the built-in terminal status


@dataclass
class Post:
    """A public reply or (is_comment) an internal staff-only comment."""

    id: int
    ticket_id: int | None
    user_id: int | None
    text: str
    date_created: datetime | None
    is_comment: bool
    raw: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Page:
    items: list
    total: int
    page: int
    total_pages: int


def parse_ref(item: dict, lang: str) -> Ref:
    raw_id = item.get("id")
    ident = to_int(raw_id)
    return Ref(id=str(raw_id) if ident is None else ident, name=localized(item.get("name"), lang),
               names=names_of(item.get("name")))


def parse_status(item: dict, lang: str) -> Ref:
    return Ref(id=str(item.get("id")), name=localized(item.get("name"), lang),
               names=names_of(item.get("name")))


def parse_custom_field_def(item: dict, lang: str) -> CustomFieldDef:
    return CustomFieldDef(id=to_int(item.get("id")) or 0, name=localized(item.get("name"), lang),
                          field_type=str(item.get("field_type") or ""),
                          names=names_of(item.get("name")))


def _custom_value(item: dict, lang: str):
    value, kind = item.get("field_value"), item.get("field_type")
    if kind in ("select", "hierarchy"):
        if isinstance(value, dict) and to_int(value.get("id")):
            return Ref(id=to_int(value["id"]), name=localized(value.get("name"), lang),
                       names=names_of(value.get("name")))
        return None
    if kind == "checkbox":
        return 1 if to_int(value) else 0
    if kind == "number":
        return to_number(value)
    if value in (None, "", "null"):
        return None
    return str(value)


def parse_tags(tags) -> list[str]:
    """§5.3: shape unconfirmed; accept strings and `{id, name}` objects."""
    out = []
    for tag in values_of(tags):
        name = tag.get("name") if isinstance(tag, dict) else tag
        name = localized(name) if isinstance(name, dict) else str(name or "")
        if name:
            out.append(name)
    return out


def parse_ticket(item: dict, tz: tzinfo, lang: str) -> Ticket:
    customs, types = {}, {}
    for entry in values_of(item.get("custom_fields")):
        ident = to_int(entry.get("id"))
        if ident is not None:
            customs[ident] = _custom_value(entry, lang)
            types[ident] = str(entry.get("field_type") or "")
    owner = to_int(item.get("owner_id"))
    return Ticket(
        id=to_int(item.get("id")) or 0,
        unique_id=str(item.get("unique_id") or ""),
        title=str(item.get("title") or ""),
        status_id=str(item.get("status_id") or ""),
        priority_id=to_int(item.get("priority_id")),
        type_id=to_int(item.get("type_id")),
        department_id=to_int(item.get("department_id")),
        owner_id=owner or None,
        user_id=to_int(item.get("user_id")),
        user_email=str(item.get("user_email") or ""),
        user_name=f"{item.get('user_name') or ''} {item.get('user_lastname') or ''}".strip(),
        source=str(item.get("source") or ""),
        date_created=parse_datetime(item.get("date_created"), tz),
        date_updated=parse_datetime(item.get("date_updated"), tz),
        sla_date=parse_datetime(item.get("sla_date"), tz),
        custom_fields=customs,
        custom_field_types=types,
        tags=parse_tags(item.get("tags")),
        raw=item,
    )


def parse_user(item: dict, tz: tzinfo) -> User:
    group = item.get("group") if isinstance(item.get("group"), dict) else {}
    organization = item.get("organization")
    if isinstance(organization, dict):  # §7: "" or an object
        organization = organization.get("name") or ""
    return User(
        id=to_int(item.get("id")) or 0,
        name=str(item.get("name") or ""),
        lastname=str(item.get("lastname") or ""),
        email=str(item.get("email") or ""),
        phone=str(item.get("phone") or ""),
        group_type=str(group.get("type") or "user"),
        status=str(item.get("status") or ""),
        organization=str(organization or ""),
        date_created=parse_datetime(item.get("date_created"), tz),
        raw=item,
    )


def parse_post(item: dict, tz: tzinfo, *, is_comment: bool) -> Post:
    return Post(
        id=to_int(item.get("id")) or 0,
        ticket_id=to_int(item.get("ticket_id")),
        user_id=to_int(item.get("user_id")),
        text=str(item.get("text") or ""),
        date_created=parse_datetime(item.get("date_created"), tz),
        is_comment=is_comment or item.get("visible") == "staff",
        raw=item,
    )


def parse_pagination(body: dict, items: list, page: int) -> Page:
    pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
    total = to_int(pagination.get("total"))  # §2: number or string
    return Page(items=items, total=len(items) if total is None else total,
                page=to_int(pagination.get("current_page")) or page,
                total_pages=to_int(pagination.get("total_pages")) or 1)


# -- the dispatcher's `{date_update}` (H-3) -------------------------------------
# The placeholder's format is documented nowhere: the API's own form, the SLA
# form, either without seconds, or epoch seconds, in the system's zone or in
# UTC (the emulator plays each: switches `date_update_format`,
# `date_update_timezone`).
DATE_UPDATE_FORMATS = (
    ("ymd_hms", "%Y-%m-%d %H:%M:%S", True), ("ymd_hm", "%Y-%m-%d %H:%M", False),
    ("dmy_hms", "%d.%m.%Y %H:%M:%S", True), ("dmy_hm", "%d.%m.%Y %H:%M", False),
    ("iso", "%Y-%m-%dT%H:%M:%S", True), ("iso_hm", "%Y-%m-%dT%H:%M", False),
)


@dataclass(frozen=True)
class DateUpdate:
    """A `{date_update}` value read as far as it goes: the wall-clock time
    (no zone) with or without seconds, or an absolute epoch time."""

    format: str  # one of DATE_UPDATE_FORMATS' names, or "unix"
    wall: datetime | None = None  # naive; the zone is not said
    has_seconds: bool = True
    epoch: int | None = None


def parse_date_update(value) -> DateUpdate | None:
    """Any known form of the placeholder, else None."""
    text = str(value or "").strip()
    if not text or text.lower() in EMPTY_DATES:
        return None
    if text.isdigit() and 9 <= len(text) <= 11:
        return DateUpdate(format="unix", epoch=int(text))
    for name, fmt, seconds in DATE_UPDATE_FORMATS:
        try:
            wall = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return DateUpdate(format=name, wall=wall, has_seconds=seconds)
    try:  # an ISO form with an offset: absolute
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return DateUpdate(format="iso", wall=moment, has_seconds=True)
    return DateUpdate(format="iso_offset", epoch=int(moment.timestamp()))


def date_update_matches(said, marker, tz: tzinfo) -> bool:
    """Whether a webhook's `{date_update}` names the same update as
    `marker`, the ticket's `date_updated` as the API wrote it after the
    portal's own PUT (the loop guard, H-3).

    Both are read through the parsers and compared at the precision both
    have: to the minute when the placeholder has no seconds, to the second
    otherwise; an epoch value as an instant. A wall-clock placeholder carries
    no zone, so it matches in the HDE system's zone (`tz`, the shop's, like
    every HDE date) or in UTC. The price of minutes: another change in the
    same minute, with the same status, passes for the portal's own."""
    said, marker = str(said or "").strip(), str(marker or "").strip()
    if not said or not marker:
        return False
    if said == marker:
        return True
    ours = parse_datetime(marker, tz)
    theirs = parse_date_update(said)
    if ours is None or theirs is None:
        return False
    if theirs.epoch is not None:
        return int(ours.timestamp()) == theirs.epoch
    candidates = (ours.replace(tzinfo=None),
                  ours.astimezone(UTC).replace(tzinfo=None))

    def cut(moment):
        moment = moment.replace(microsecond=0)
        return moment if theirs.has_seconds else moment.replace(second=0)

    return any(cut(c) == cut(theirs.wall) for c in candidates)
