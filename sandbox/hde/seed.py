"""Deterministic seed of the HelpDeskEddy emulator.

`seed(base_url=...)` wipes the emulator's tables and recreates two accounts
(`demo`, `agency-second`) with the dictionaries of docs/vendors/helpdeskeddy.md §8/§13, the
custom fields the portal writes, one staff integration user whose key the
portal uses, client users from `sandbox.demo_people.PEOPLE`, and tickets
covering every lookup path: known e-mail, unknown sender, phone-only contact
and order numbers in subjects. Dispatcher rules are not created here: the
portal's seed wiring points them at the portal with `add_webhook_rule`.

Phone-only contacts: HDE requires an e-mail for every user, so they get a
placeholder `<digits>@phone.invalid` (see services.placeholder_email) and the
phone in the user's `phone` field.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from sandbox.demo_people import PEOPLE, PEOPLE_BY_KEY
from sandbox.hde import services as svc
from sandbox.hde.behaviour import BOARD
from sandbox.hde.models import (
    Account,
    CustomField,
    CustomFieldOption,
    Delivery,
    Department,
    HdeUser,
    Message,
    Priority,
    Status,
    Ticket,
    TicketType,
    WebhookRule,
)

ACCOUNTS = [
    {"code": "demo", "name": "Демо-магазин", "agent_email": "integration@demo-shop.example",
     "api_key": "hde-demo-3c1f0a9e7b52d4"},
    {"code": "agency-second", "name": "Второе агентство",
     "agent_email": "integration@agency-second.example", "api_key": "hde-second-8d24e6b1c907aa"},
]
# A second, human agent with their own key on the demo account: the rate
# limit is per account, so both keys share it (§4).
OPERATOR = {"name": "Ольга", "lastname": "Операторова", "email": "operator@demo-shop.example",
            "api_key": "hde-demo-operator-51a0b2c3"}

# Ids are NOT ordered by severity (docs/vendors/helpdeskeddy.md §8): map by name, never by number.
PRIORITIES = [
    (1, {"ru": "Срочно", "en": "Very urgent"}, "#c53030"),
    (2, {"ru": "Стандартно", "en": "Standard"}, "#2b6cb0"),
    (3, {"ru": "Средний", "en": "Medium"}, "#b7791f"),
    (4, {"ru": "Низкий", "en": "Low"}, "#718096"),
]
STATUSES = [
    ("open", {"ru": "Открыто", "en": "Open"}),
    ("process", {"ru": "В процессе", "en": "In progress"}),
    ("6", {"ru": "Ждём ответа клиента", "en": "Waiting for customer"}),  # numeric-looking slug
    ("closed", {"ru": "Выполнено", "en": "Closed"}),
]
TYPES = [
    (0, {"ru": "Без типа", "en": "Without type"}),
    (1, {"ru": "Проблема", "en": "Problem"}),
    (2, {"ru": "Задание", "en": "Task"}),
    (3, {"ru": "Ошибка", "en": "Bug"}),
]
DEPARTMENTS = [
    (1, {"ru": "Отдел поддержки", "en": "Support"}),
    (2, {"ru": "Отдел продаж", "en": "Sales"}),
]
CRM_CARD, CUSTOMER_ID, ORDERS_COUNT, TOTAL_SPENT, LAST_ORDER_STATUS, SEGMENT = 1, 2, 3, 4, 5, 6
CUSTOM_FIELDS = [
    (CRM_CARD, {"ru": "Карточка CRM", "en": "CRM card"}, "text"),
    (CUSTOMER_ID, {"ru": "ID клиента RetailCRM", "en": "RetailCRM customer id"}, "text"),
    (ORDERS_COUNT, {"ru": "Количество заказов", "en": "Orders count"}, "number"),
    (TOTAL_SPENT, {"ru": "Сумма покупок", "en": "Total spent"}, "number"),
    (LAST_ORDER_STATUS, {"ru": "Статус последнего заказа", "en": "Last order status"}, "text"),
    (SEGMENT, {"ru": "Сегмент", "en": "Segment"}, "select"),
]
SEGMENT_OPTIONS = [
    (1, {"ru": "VIP", "en": "VIP"}),
    (2, {"ru": "Постоянный", "en": "Regular"}),
    (3, {"ru": "Опт", "en": "Wholesale"}),
]
BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Europe/Moscow"))

# (person key or e-mail, subject, first message, status, agent reply, internal comment)
DEMO_TICKETS = [
    ("vip", "Спасибо за быструю доставку", "Всё пришло вовремя, спасибо!", "closed",
     "Рады помочь!", ""),
    ("vip", "Где мой заказ 1001A?", "Добрый день! Заказ 1001A должен был прийти вчера.",
     "open", "", ""),
    ("delivery", "Когда привезут заказ?", "Подскажите, когда курьер приедет?", "open", "", ""),
    ("problem", "Курьер не приехал", "Ждала весь день, курьера так и не было.", "open", "", ""),
    ("overdue", "Заказ 1004A задерживается", "Срок доставки прошёл, заказа нет.", "process",
     "Уточняем у службы доставки.", "Проверить трек-номер у СДЭК."),
    ("new", "Вопрос по размеру", "Какой размер выбрать при росте 170?", "open", "", ""),
    ("big", "Счёт для оптовой партии", "Пришлите, пожалуйста, счёт на 200 единиц.", "open", "",
     ""),
    ("huge", "Обновление каталога для маркетплейса", "Нужна выгрузка остатков.", "open", "", ""),
    ("phone_only", "Звонок: вопрос по доставке", "Клиент звонил, спрашивал про доставку.",
     "open", "", ""),
    ("twin_sites", "Возврат товара", "Хочу вернуть куртку, не подошла.", "open", "", ""),
    ("cancelled", "Почему отменили мой заказ?", "Заказ отменён без объяснений.", "open", "", ""),
    ("unknown", "Хочу купить подарочный сертификат", "Есть ли сертификаты на 5000?", "open", "",
     ""),
    ("newcomer@example.net", "Здравствуйте, есть ли в наличии?", "Интересует модель X.", "open",
     "", ""),
]
SECOND_TICKETS = [
    ("delivery", "Заказ 2001B не пришёл", "Где посылка?", "open", "", ""),
    ("new", "Консультация", "Нужна консультация по товару.", "open", "", ""),
    ("unknown", "Оптовые цены", "Какие условия для оптовиков?", "process", "", ""),
]


def _wipe():
    Delivery.objects.all().delete()
    WebhookRule.objects.all().delete()
    Message.objects.all().delete()
    Ticket.objects.all().delete()
    HdeUser.objects.all().delete()
    Account.objects.all().delete()


def _dictionaries(account):
    for hid, name, color in PRIORITIES:
        Priority.objects.create(account=account, hid=hid, name=name, color=color)
    for position, (slug, name) in enumerate(STATUSES):
        Status.objects.create(account=account, slug=slug, name=name, position=position)
    for hid, name in TYPES:
        TicketType.objects.create(account=account, hid=hid, name=name)
    for hid, name in DEPARTMENTS:
        Department.objects.create(account=account, hid=hid, name=name)
    for hid, name, field_type in CUSTOM_FIELDS:
        field = CustomField.objects.create(account=account, hid=hid, name=name,
                                           field_type=field_type)
        if field_type == "select":
            for option_hid, option_name in SEGMENT_OPTIONS:
                CustomFieldOption.objects.create(field=field, hid=option_hid, name=option_name)


def _users(account, spec) -> dict[str, HdeUser]:
    def make(hid, **fields):
        return HdeUser.objects.create(account=account, hid=hid, date_created=BASE_TIME,
                                      date_updated=BASE_TIME, **fields)

    users = {"agent": make(1, name="Интеграция", lastname="RetailCRM", email=spec["agent_email"],
                           group_type=HdeUser.STAFF, api_key=spec["api_key"])}
    if account.code == "demo":
        users["operator"] = make(2, group_type=HdeUser.STAFF, **OPERATOR)
    hid = 10
    for person in PEOPLE:
        phone = person.phone_in_hde or person.phone
        email = person.email or svc.placeholder_email(phone)
        users[person.key] = make(hid, name=person.first_name, lastname=person.last_name,
                                 email=email, phone=phone)
        hid += 1
    return users


def _tickets(account, users, specs):
    agent = users["agent"]
    for index, (who, title, text, status, reply, comment) in enumerate(specs, start=1):
        at = BASE_TIME + timedelta(hours=index * 3)
        user = users.get(who) or svc.user_for_contact(account, email=who)
        ticket = Ticket.objects.create(
            account=account, hid=index, unique_id=svc.unique_id_for(index), title=title,
            source="phone" if who == "phone_only" else "email", status_id=status,
            priority_id=2, user=user, owner=users.get("operator") if reply else None,
            date_created=at, date_updated=at + timedelta(minutes=30 if reply or comment else 0),
        )
        hid = svc.next_hid(Message, account)
        Message.objects.create(account=account, hid=hid, ticket=ticket, user=user,
                               text=f"<p>{text}</p>", date_created=at)
        if reply:
            Message.objects.create(account=account, hid=hid + 1, ticket=ticket,
                                   user=users.get("operator", agent), text=f"<p>{reply}</p>",
                                   date_created=at + timedelta(minutes=20))
        if comment:
            Message.objects.create(account=account, hid=hid + 2, ticket=ticket,
                                   user=users.get("operator", agent), is_comment=True,
                                   text=f"<p>{comment}</p>",
                                   date_created=at + timedelta(minutes=30))


@dataclass
class SeedMessage:
    user: HdeUser
    text: str  # HTML, as HDE stores posts
    at: datetime
    is_comment: bool = False


@dataclass
class SeedTicket:
    """A ticket with its conversation, for `add_tickets` (the demo history)."""

    hid: int
    user: HdeUser
    title: str
    opened_at: datetime
    updated_at: datetime
    status: str = "open"
    priority_id: int = 2
    tags: list = field(default_factory=list)
    custom_fields: dict = field(default_factory=dict)
    owner: HdeUser | None = None
    messages: list[SeedMessage] = field(default_factory=list)


def clients_add(account, people: list[tuple[str, str, str, str]]) -> dict[str, HdeUser]:
    """Client users for (first name, last name, e-mail, phone), e-mail →
    user; those already there are kept, the rest bulk-inserted."""
    known = {u.email.lower(): u for u in HdeUser.objects.filter(account=account)}
    missing = list({email.lower(): (first, last, email, phone)
                    for first, last, email, phone in people
                    if email.lower() not in known}.values())
    if missing:
        first_hid = svc.next_hid(HdeUser, account, len(missing))
        HdeUser.objects.bulk_create([
            HdeUser(account=account, hid=first_hid + offset, name=first, lastname=last,
                    email=email, phone=phone, date_created=BASE_TIME, date_updated=BASE_TIME)
            for offset, (first, last, email, phone) in enumerate(missing)])
        known = {u.email.lower(): u for u in HdeUser.objects.filter(account=account)}
    return {email.lower(): known[email.lower()] for _, _, email, _ in people}


def add_tickets(account, tickets: list[SeedTicket]) -> None:
    """Bulk-insert tickets whose ids the caller reserved (`svc.next_hid(Ticket,
    account, n)`) with their messages, numbered in time order."""
    Ticket.objects.bulk_create([
        Ticket(account=account, hid=t.hid, unique_id=svc.unique_id_for(t.hid), title=t.title,
               source="email", status_id=t.status, priority_id=t.priority_id, user=t.user,
               owner=t.owner, custom_fields={str(k): v for k, v in t.custom_fields.items()},
               tags=list(t.tags), date_created=t.opened_at, date_updated=t.updated_at)
        for t in tickets], batch_size=500)
    ids = dict(Ticket.objects.filter(account=account, hid__in=[t.hid for t in tickets])
               .values_list("hid", "pk"))
    messages = sorted(((m, t) for t in tickets for m in t.messages), key=lambda mt: mt[0].at)
    if not messages:
        return
    first_hid = svc.next_hid(Message, account, len(messages))
    Message.objects.bulk_create([
        Message(account=account, hid=first_hid + offset, ticket_id=ids[t.hid], user=m.user,
                text=m.text, is_comment=m.is_comment, date_created=m.at)
        for offset, (m, t) in enumerate(messages)], batch_size=500)


def seed(*, base_url: str, behaviour: dict[str, dict] | None = None) -> dict:
    """Wipe and recreate the emulator's data; return the accounts the
    portal's seed needs (URL, agent e-mail, key, ticket page).

    `behaviour` maps an account code to its answers to the vendor's open
    questions (sandbox.hde.behaviour), e.g. `{"demo": {"tags_on_update":
    "refuse"}}`; accounts not named keep every default."""
    base_url = base_url.rstrip("/")
    behaviour = behaviour or {}
    unknown = set(behaviour) - {spec["code"] for spec in ACCOUNTS}
    if unknown:
        raise ValueError(f"no HDE emulator account {', '.join(sorted(unknown))}")
    accounts = []
    with transaction.atomic():
        _wipe()
        for spec in ACCOUNTS:
            account = Account.objects.create(
                code=spec["code"], name=spec["name"],
                behaviour=BOARD.validate(behaviour.get(spec["code"], {})))
            _dictionaries(account)
            users = _users(account, spec)
            _tickets(account, users, DEMO_TICKETS if spec["code"] == "demo" else SECOND_TICKETS)
            accounts.append({
                "code": account.code,
                "url": f"{base_url}/sandbox/hde/{account.code}",
                "email": spec["agent_email"],
                "api_key": spec["api_key"],
                "agent_user_id": users["agent"].hid,
                "ticket_page": f"{base_url}/sandbox/hde/{account.code}/tickets/",
            })
    return {"accounts": accounts}


__all__ = ["seed", "add_tickets", "clients_add", "SeedTicket", "SeedMessage", "PEOPLE_BY_KEY",
           "CRM_CARD", "CUSTOMER_ID", "ORDERS_COUNT", "TOTAL_SPENT", "LAST_ORDER_STATUS",
           "SEGMENT"]
