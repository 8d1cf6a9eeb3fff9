"""What the emulated HDE does, shared by the API views, the ticket page and
the new-ticket form, so a ticket created by hand behaves exactly like one
created through `POST /api/v2/tickets/` (same validation, same dispatcher
events).

JSON shapes follow docs/vendors/helpdeskeddy.md; section numbers are quoted
beside each quirk.
"""

import re
import zoneinfo
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sandbox.hde.models import (
    Account,
    CustomField,
    CustomFieldOption,
    Department,
    Event,
    HdeUser,
    IdSequence,
    Message,
    Priority,
    Status,
    Ticket,
    TicketType,
)
from sandbox.numbering import allocate

PAGE_SIZE = 30  # docs/vendors/helpdeskeddy.md §2: 30 tickets/users per page, `per_page` ignored
STAFF_GROUP = {"id": 1, "type": "staff", "name": {"ru": "Администраторы", "en": "Administrators"},
               "disable": 0}
CLIENT_GROUP = {"id": 2, "type": "user", "name": {"ru": "Клиенты", "en": "Clients"}, "disable": 0}
PHONE_PLACEHOLDER_DOMAIN = "phone.invalid"


class HdeError(Exception):
    """An answer in HDE's `errors` envelope (docs/vendors/helpdeskeddy.md §3)."""

    def __init__(self, status: int, title: str, details: str = ""):
        super().__init__(details or title)
        self.status = status
        self.title = title
        self.details = details

    def body(self) -> dict:
        return {"errors": [{"code": f"e-{self.status}", "title": self.title,
                            "details": self.details}]}


def not_found(what: str) -> HdeError:
    return HdeError(404, "Not found", what)


def invalid(details: str) -> HdeError:
    return HdeError(400, "Bad request", details)


# --- dates (docs/vendors/helpdeskeddy.md §2: three non-ISO formats, local time of the system) --
def _local(account: Account, value):
    return value.astimezone(zoneinfo.ZoneInfo(account.timezone))


def fmt_datetime(account, value) -> str:
    """Tickets and users: `YYYY-MM-DD HH:MM:SS`."""
    return _local(account, value).strftime("%Y-%m-%d %H:%M:%S")


def fmt_post_date(account, value) -> str:
    """Posts and comments: `HH:MM:SS DD.MM.YYYY`."""
    return _local(account, value).strftime("%H:%M:%S %d.%m.%Y")


def parse_filter_date(account, text: str):
    from datetime import datetime

    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise invalid(f"Wrong date format: {text}; expected YYYY-MM-DD HH:MM:SS") from exc
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(account.timezone))


def phone_digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def placeholder_email(phone: str) -> str:
    """HDE requires an e-mail for every user (§7). A contact known only by
    phone gets `<digits>@phone.invalid` (RFC 2606 reserves `.invalid`, so it
    can never receive mail), with a Russian leading 8 written as 7."""
    digits = phone_digits(phone)
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return f"{digits}@{PHONE_PLACEHOLDER_DOMAIN}"


# --- JSON shapes ---------------------------------------------------------
def name_of(names: dict) -> str:
    return names.get("ru") or names.get("en") or next(iter(names.values()), "")


def user_json(account, user: HdeUser) -> dict:
    """User object of docs/vendors/helpdeskeddy.md §7; `api_key` is never exposed."""
    return {
        "id": user.hid,
        "date_created": fmt_datetime(account, user.date_created),
        "date_updated": fmt_datetime(account, user.date_updated),
        "name": user.name, "lastname": user.lastname, "alias": "",
        "email": user.email, "phone": user.phone, "skype": "", "website": "",
        "organization": user.organization or "",
        "status": user.status, "language": "ru", "notifications": "1",
        "group": STAFF_GROUP if user.group_type == HdeUser.STAFF else CLIENT_GROUP,
        "ldap_username": None, "user_status": "offline", "department": [1],
        "custom_fields": [],
    }


def custom_values_json(account, values: dict) -> list[dict]:
    """Reference §5.3: read back as an array of every ticket field; a select
    answers `{id, name}` (0 when unset), numbers come as strings."""
    out = []
    for field in CustomField.objects.filter(account=account).prefetch_related("options"):
        raw = values.get(str(field.hid), "")
        if field.field_type == "select":
            option = next((o for o in field.options.all() if str(o.hid) == str(raw)), None)
            value = {"id": option.hid, "name": option.name} if option else 0
        elif field.field_type == "checkbox":
            value = 1 if str(raw) in ("1", "true", "True") else 0
        else:
            value = "" if raw is None else str(raw)
        out.append({"id": field.hid, "field_type": field.field_type, "field_value": value})
    return out


def ticket_json(account, ticket: Ticket) -> dict:
    owner, user = ticket.owner, ticket.user
    department = Department.objects.filter(account=account, hid=ticket.department_id).first()
    return {
        "id": ticket.hid, "pid": 0, "unique_id": ticket.unique_id,
        "date_created": fmt_datetime(account, ticket.date_created),
        "date_updated": fmt_datetime(account, ticket.date_updated),
        "title": ticket.title, "source": ticket.source,
        "status_id": ticket.status_id, "priority_id": ticket.priority_id,
        "type_id": ticket.type_id, "department_id": ticket.department_id,
        "department_name": name_of(department.name) if department else "",
        "owner_id": owner.hid if owner else 0,
        "owner_name": owner.name if owner else "",
        "owner_lastname": owner.lastname if owner else "",
        "owner_email": owner.email if owner else "",
        "user_id": user.hid, "user_name": user.name, "user_lastname": user.lastname,
        "user_email": user.email,
        "cc": [], "bcc": [], "followers": [], "ticket_lock": 0,
        "sla_date": ticket.sla_date, "sla_flag": 0,
        "freeze_date": "null",  # §5.3: literally the string "null"
        "freeze": 0, "deleted": 0, "viewed_by_staff": 1, "viewed_by_client": 1,
        "rate": "", "rate_comment": "", "rate_date": "",
        "custom_fields": custom_values_json(account, ticket.custom_fields or {}),
        "tags": list(ticket.tags or []),  # §5.3: shape unconfirmed; names as strings
        "jira_issues": [],
    }


def message_json(account, message: Message) -> dict:
    """Post object of docs/vendors/helpdeskeddy.md §6; comments add `visible: staff` and have
    no `date_updated`."""
    data = {
        "ticket_id": message.ticket.hid, "id": message.hid, "user_id": message.user.hid,
        "text": message.text, "date_created": fmt_post_date(account, message.date_created),
        "files": [],
    }
    if message.is_comment:
        data["visible"] = "staff"
    else:
        data["date_updated"] = data["date_created"]
    return data


def named_json(items) -> list[dict]:
    return [{"id": item.hid, "name": item.name} for item in items]


def custom_fields_json(account) -> dict:
    """Reference §9.1: an object keyed by id, unlike most dictionaries."""
    permissions = {
        role: {"view": True, "edit": True, "required_to_create_ticket": False,
               "required_to_close_ticket": False}
        for role in ("staff", "user")
    }
    return {
        str(field.hid): {"id": field.hid, "name": field.name, "field_type": field.field_type,
                         "permissions": permissions}
        for field in CustomField.objects.filter(account=account)
    }


def paginate(items: list, page: int, *, total_as_string: bool = False):
    total = len(items)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    chunk = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    # §2: `total` has been seen both as a number and as a string.
    pagination = {"total": str(total) if total_as_string else total, "per_page": PAGE_SIZE,
                  "current_page": page, "total_pages": pages}
    return chunk, pagination


# --- lookups ---------------------------------------------------------------
def get_ticket(account, hid) -> Ticket:
    ticket = (Ticket.objects.select_related("owner", "user")
              .filter(account=account, hid=_int(hid, "ticket id")).first())
    if ticket is None:
        raise not_found(f"Ticket with id {{{hid}}} not found")
    return ticket


def get_user(account, hid) -> HdeUser:
    user = HdeUser.objects.filter(account=account, hid=_int(hid, "user id")).first()
    if user is None:
        raise not_found(f"User with id {{{hid}}} not found")
    return user


def _int(value, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(f"Wrong {what}: {value!r}") from exc


SEQUENCE_KINDS = {Ticket: "ticket", Message: "message", HdeUser: "user"}


def next_hid(model, account, count: int = 1) -> int:
    """Reserve `count` ids of `model` (Ticket, Message or HdeUser) in the
    account and return the first. A counter row per account and kind is
    locked until the caller's transaction ends, so requests served at once
    (several web processes on PostgreSQL) never share an id: HDE itself
    never answers a duplicate-key 500 (see sandbox.numbering)."""
    return allocate(IdSequence, account=account, kind=SEQUENCE_KINDS[model],
                    rows=model.objects.filter(account=account), field="hid", count=count)


def unique_id_for(hid: int) -> str:
    """Human ticket number (letters-digits, docs/vendors/helpdeskeddy.md §5.3), deterministic."""
    letters = "".join(chr(ord("A") + (hid * k) % 26) for k in (7, 11, 13))
    return f"{letters}-{10000 + hid * 37 % 90000}"


def search_users(account, *, search="", exact=False, id_list="", group_list=""):
    users = HdeUser.objects.filter(account=account)
    if id_list:
        users = users.filter(hid__in=[_int(x, "id") for x in id_list.split(",") if x.strip()])
    if group_list:
        groups = {g.strip() for g in group_list.split(",")}
        types = {t for gid, t in (("1", HdeUser.STAFF), ("2", HdeUser.CLIENT)) if gid in groups}
        users = users.filter(group_type__in=types)
    search = (search or "").strip()
    if search:
        # Switches: `exact_search=ignored` treats exact_search=1 as a plain
        # substring search; `user_search_phone=ignored` never matches phones
        # (both unverified, §7, §15.2-3).
        exact = exact and account.switch("exact_search") == "honoured"
        digits = phone_digits(search) if account.switch("user_search_phone") == "digits" else ""
        if exact:
            query = Q(email__iexact=search) | Q(name__iexact=search) | Q(lastname__iexact=search)
        else:
            query = (Q(email__icontains=search) | Q(name__icontains=search)
                     | Q(lastname__icontains=search))
        users = list(users.filter(query)) + (
            [u for u in users if len(digits) >= 5 and digits in phone_digits(u.phone)]
            if digits and not exact else []
        )
        seen, unique = set(), []
        for user in users:
            if user.pk not in seen:
                seen.add(user.pk)
                unique.append(user)
        users = unique
    # §7: default order is name{asc}
    return sorted(users, key=lambda u: (u.name.lower(), u.hid))


def create_user(account, *, email, name="", lastname="", phone="", group_type=HdeUser.CLIENT):
    now = timezone.now()
    if not email or "@" not in email:
        raise invalid("Field email is required and must be an e-mail")
    if HdeUser.objects.filter(account=account, email__iexact=email).exists():
        raise invalid(f"User with email {email} already exists")
    with transaction.atomic():
        return HdeUser.objects.create(
            account=account, hid=next_hid(HdeUser, account), name=name or email.split("@")[0],
            lastname=lastname, email=email, phone=phone, group_type=group_type,
            date_created=now, date_updated=now,
        )


def user_for_contact(account, *, email="", phone="", name="") -> HdeUser:
    """Find or create the requester the way HDE's `user_email` does (§5.4);
    a phone-only contact gets a placeholder address (see HdeUser)."""
    if email:
        user = HdeUser.objects.filter(account=account, email__iexact=email).first()
        return user or create_user(account, email=email, name=name)
    digits = phone_digits(phone)
    if not digits:
        raise invalid("An e-mail or a phone is required")
    for user in HdeUser.objects.filter(account=account).exclude(phone=""):
        if phone_digits(user.phone)[-10:] == digits[-10:]:
            return user
    return create_user(account, email=placeholder_email(phone), name=name or phone, phone=phone)


# --- writes ---------------------------------------------------------------
@dataclass
class Actor:
    """Who makes a change: the API key's user, or the page's demo agent."""

    user: HdeUser


def _validate_refs(account, data: dict) -> dict:
    """Check dictionary ids of a create/update body; return clean values."""
    clean = {}
    if data.get("status_id") not in (None, ""):
        slug = str(data["status_id"])
        if not Status.objects.filter(account=account, slug=slug).exists():
            raise invalid(f"Status {slug} not found")
        clean["status_id"] = slug
    for key, model in (("priority_id", Priority), ("type_id", TicketType),
                       ("department_id", Department)):
        if data.get(key) not in (None, ""):
            value = _int(data[key], key)
            if not model.objects.filter(account=account, hid=value).exists():
                raise invalid(f"{key} {value} not found")
            clean[key] = value
    if "owner_id" in data:
        if data["owner_id"] in ("", None, 0, "0"):
            clean["owner"] = None
        else:
            owner = get_user(account, data["owner_id"])
            if owner.group_type != HdeUser.STAFF:
                raise invalid(f"User {owner.hid} is not staff and cannot own tickets")
            clean["owner"] = owner
    if "custom_fields" in data:
        clean["custom_fields"] = _validate_custom_fields(account, data["custom_fields"])
    if "tags" in data:
        tags = data["tags"]
        if isinstance(tags, str):
            tags = [t for t in tags.split(",")]
        if not isinstance(tags, list):
            raise invalid("tags must be an array of names")
        clean["tags"] = [str(t).strip() for t in tags if str(t).strip()]
    if "title" in data:
        if not str(data["title"]).strip():
            raise invalid("Field title is required")
        clean["title"] = str(data["title"])[:500]
    if "sla_date" in data:
        clean["sla_date"] = str(data["sla_date"] or "")
    return clean


def _validate_custom_fields(account, values) -> dict:
    """§9.3: `{"<field_id>": value}`; unknown ids are rejected (assumed, §5.5)."""
    if not isinstance(values, dict):
        raise invalid("custom_fields must be an object keyed by field id")
    fields = {str(f.hid): f for f in CustomField.objects.filter(account=account)}
    refuse_unknown = account.switch("unknown_custom_fields") == "refuse"
    clean = {}
    for key, value in values.items():
        field = fields.get(str(key))
        if field is None and not refuse_unknown:
            continue
        if field is None:
            raise invalid(f"Custom field {key} not found")
        if field.field_type == "select" and value not in ("", None, 0, "0"):
            if not CustomFieldOption.objects.filter(field=field, hid=_int(value, key)).exists():
                raise invalid(f"Option {value} of custom field {key} not found")
        clean[str(key)] = "" if value is None else value
    return clean


def create_ticket(account, data: dict, actor: Actor) -> Ticket:
    """POST /tickets/ (§5.4): `title` and `description` required; the
    requester is `user_id`, else `user_email` (auto-created), else the
    caller."""
    from sandbox.hde import dispatcher

    title = str(data.get("title") or "").strip()
    description = str(data.get("description") or "").strip()
    if not title:
        raise invalid("Field title is required")
    if not description:
        raise invalid("Field description is required")
    with transaction.atomic():
        clean = _validate_refs(account, data)
        if data.get("user_id") not in (None, "", 0, "0"):
            requester = get_user(account, data["user_id"])
        elif data.get("user_email"):
            requester = user_for_contact(account, email=str(data["user_email"]).strip(),
                                         name=str(data.get("user_name") or ""))
        else:
            requester = actor.user
        now = timezone.now()
        hid = next_hid(Ticket, account)
        ticket = Ticket.objects.create(
            account=account, hid=hid, unique_id=unique_id_for(hid), title=title,
            source=str(data.get("source") or "api"),
            status_id=clean.get("status_id", "open"), priority_id=clean.get("priority_id", 2),
            type_id=clean.get("type_id", 0), department_id=clean.get("department_id", 1),
            owner=clean.get("owner"), user=requester,
            custom_fields=clean.get("custom_fields", {}), tags=clean.get("tags", []),
            sla_date=clean.get("sla_date", ""), date_created=now, date_updated=now,
        )
        from_user = str(data.get("create_from_user", "1")).lower() not in ("0", "false")
        Message.objects.create(
            account=account, hid=next_hid(Message, account), ticket=ticket,
            user=requester if from_user else actor.user, text=description, date_created=now,
        )
        dispatcher.fire(account, Event.NEW_TICKET, ticket)
    return ticket


def update_ticket(account, ticket: Ticket, data: dict, actor: Actor) -> Ticket:
    """PUT /tickets/{id}/ (§5.5): partial merge; custom fields merge by id,
    tags replace; any change bumps `date_updated` and fires
    `ticket_changed`, including changes made by the integration itself."""
    from sandbox.hde import dispatcher

    with transaction.atomic():
        clean = _validate_refs(account, _tags_on_update(account, data))
        changed = False
        for key, value in clean.items():
            if key == "custom_fields":
                merged = {**(ticket.custom_fields or {}), **value}
                if merged != ticket.custom_fields:
                    ticket.custom_fields, changed = merged, True
            elif key == "tags" and account.switch("tags_on_update") == "append":
                merged = list(dict.fromkeys([*(ticket.tags or []), *value]))
                if merged != ticket.tags:
                    ticket.tags, changed = merged, True
            elif getattr(ticket, key) != value:
                setattr(ticket, key, value)
                changed = True
        if changed:
            ticket.date_updated = timezone.now()
            ticket.save()
            dispatcher.fire(account, Event.TICKET_CHANGED, ticket)
    return ticket


def _tags_on_update(account, data: dict) -> dict:
    """`tags` is not in every list of PUT parameters (§5.5), so whether a
    real HDE applies it is open. Switch `tags_on_update`: `stick` replaces
    the tags, `append` adds to them, `refuse` answers the validation error
    for an unknown parameter (nothing applied), `ignore` applies the rest."""
    if "tags" not in data:
        return data
    answer = account.switch("tags_on_update")
    if answer == "refuse":
        raise invalid("Unknown parameter: tags")
    if answer == "ignore":
        return {key: value for key, value in data.items() if key != "tags"}
    return data


def add_message(account, ticket: Ticket, *, text: str, author: HdeUser,
                is_comment: bool) -> Message:
    """POST /posts/ or /comments/ (§6). A client's reply reopens a closed
    ticket, as a help desk does."""
    from sandbox.hde import dispatcher

    if not str(text or "").strip():
        raise invalid("Field text is required")
    with transaction.atomic():
        now = timezone.now()
        message = Message.objects.create(
            account=account, hid=next_hid(Message, account), ticket=ticket, user=author,
            text=str(text), is_comment=is_comment, date_created=now,
        )
        ticket.date_updated = now
        if not is_comment and author.group_type == HdeUser.CLIENT and ticket.status_id == "closed":
            ticket.status_id = "open"
        ticket.save(update_fields=["date_updated", "status_id"])
        dispatcher.fire(account, Event.NEW_COMMENT if is_comment else Event.NEW_REPLY, ticket)
    return message
