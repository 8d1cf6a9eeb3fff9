"""Deterministic demo data for the RetailCRM emulator.

`seed(base_url=...)` wipes the emulator's tables and recreates:
- account `demo` (sites `main`, `outlet`; Europe/Moscow) with the cast of
  `sandbox.demo_people` (every order profile: 0 to 10,000 orders, VIP and
  segmented, overdue, delivery problem, phone-only, one e-mail on two sites,
  two customers sharing one phone), managers, notes, a task and seeded
  filler customers whose newest orders fall in the last RECENT_DAYS days (the
  weeks the portal's analytics and the demo history read);
- account `agency-second` (site `second`; Asia/Yekaterinburg, so account
  timezones really differ) with its own managers and filler customers.

Names, numbers, ids and amounts are the same on every run (a fixed random
seed); dates are relative to the day of seeding so "overdue" and "newest"
stay true. Everything is bulk-inserted: 10,000 orders take about a second.
"""

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from sandbox.demo_people import PEOPLE, DemoPerson
from sandbox.retailcrm import gate
from sandbox.retailcrm.behaviour import BOARD
from sandbox.retailcrm.models import (
    Account,
    ApiKey,
    Customer,
    HistoryRecord,
    Note,
    Order,
    Task,
    Trigger,
    TriggerDelivery,
    User,
)
from sandbox.retailcrm.references import (
    COMPLETED_GROUPS,
    order_books,
    site_book,
    status_books,
)
from sandbox.retailcrm.seed_data import (
    ACTIVE_OLD_STATUSES,
    CITIES,
    DELIVERIES,
    FEMALE,
    FILLER_NEWEST,
    MALE,
    PHONE_FORMATS,
    PRODUCTS,
    SEGMENTS,
)
from sandbox.retailcrm.store import customer_search_text

FULL_SCOPES = [
    "customer_read", "customer_write", "order_read", "order_write", "reference_read",
    "user_read", "task_read", "task_write", "integration_read", "integration_write",
]
READONLY_SCOPES = ["customer_read", "order_read", "reference_read"]

DEMO_FULL_KEY = "demoFullAccessKey7Qm2Xw9Lp4Rt6Vb8Nc1"
DEMO_READONLY_KEY = "demoReadOnlyKey3Hs5Jd8Kf2Lg6Pq9Zx"
DEMO_OUTLET_KEY = "demoOutletOnlyKey4Tw7Ye1Ui3Op5As"
SECOND_FULL_KEY = "secondAgencyKey8Mn2Bv5Cx7Zl9Kj4Hg"

FIRST_ORDER_ID = 1001
# Filler customers' newest orders are spread over this many days back from
# the seed (the demo's "30+ days of history"; sandbox.demo_history).
RECENT_DAYS = 42


@dataclass
class AccountPlan:
    code: str
    name: str
    tz: str
    sites: list[tuple[str, str, str]]
    suffix: str
    keys: list[tuple[str, list[str], list[str]]]  # (key, scopes, sites)
    managers: list[tuple[str, str, str, str, str, bool]]
    people: list[DemoPerson] = field(default_factory=list)
    fillers: int = 0
    # Answers to the vendor's open questions (sandbox.retailcrm.behaviour):
    # `{"order_list_order": "oldest_first"}`; empty = every default.
    behaviour: dict = field(default_factory=dict)


PLANS = [
    AccountPlan(
        code="demo", name="Демо-магазин «Уютный дом»", tz="Europe/Moscow",
        sites=[("main", "Уютный дом", "https://uyutny-dom.example.ru"),
               ("outlet", "Уютный дом — Аутлет", "https://outlet.uyutny-dom.example.ru")],
        suffix="A",
        keys=[(DEMO_FULL_KEY, FULL_SCOPES, []), (DEMO_READONLY_KEY, READONLY_SCOPES, []),
              (DEMO_OUTLET_KEY, FULL_SCOPES, ["outlet"])],
        managers=[
            ("Екатерина", "Иванова", "Старший менеджер", "e.ivanova@uyutny-dom.example.ru",
             "+7 (495) 100-20-01", True),
            ("Алексей", "Смирнов", "Менеджер по продажам", "a.smirnov@uyutny-dom.example.ru",
             "+7 (495) 100-20-02", True),
            ("Наталья", "Орлова", "Менеджер службы доставки",
             "n.orlova@uyutny-dom.example.ru", "+7 (495) 100-20-03", True),
            ("Игорь", "Фёдоров", "Менеджер по работе с оптовиками",
             "i.fedorov@uyutny-dom.example.ru", "+7 (495) 100-20-04", True),
            ("Олег", "Уволенный", "Менеджер (уволен)", "o.old@uyutny-dom.example.ru", "",
             False),
        ],
        people=[person for person in PEOPLE if person.in_retailcrm],
        fillers=120,
    ),
    AccountPlan(
        code="agency-second", name="Магазин «Второй»", tz="Asia/Yekaterinburg",
        sites=[("second", "Второй магазин", "https://second.example.ru")], suffix="B",
        keys=[(SECOND_FULL_KEY, FULL_SCOPES, [])],
        managers=[
            ("Марина", "Белова", "Руководитель отдела продаж", "m.belova@second.example.ru",
             "+7 (343) 200-10-01", True),
            ("Руслан", "Ахметов", "Менеджер", "r.akhmetov@second.example.ru",
             "+7 (343) 200-10-02", True),
        ],
        fillers=25,
    ),
]

# The "one phone for two customers" case: Anna Smirnova's husband, same phone
# written differently.
PHONE_TWIN = DemoPerson("vip_twin", "Пётр", "Смирнов", "petr.smirnov@example.ru",
                        "8 (916) 123-45-67", orders=1, newest_order_status="complete")


def seed(*, base_url: str, behaviour: dict[str, dict] | None = None,
         now: datetime | None = None) -> dict:
    """Wipe the emulator and recreate the demo accounts; see the module doc.
    `behaviour` maps an account code to its answers to the vendor's open
    questions (sandbox.retailcrm.behaviour), e.g. `{"demo":
    {"order_list_order": "oldest_first"}}`."""
    base_url = base_url.rstrip("/")
    behaviour = behaviour or {}
    unknown = set(behaviour) - {plan.code for plan in PLANS}
    if unknown:
        raise ValueError(f"no RetailCRM emulator account {', '.join(sorted(unknown))}")
    now = (now or timezone.now()).replace(microsecond=0)
    with transaction.atomic():
        for model in (TriggerDelivery, Trigger, HistoryRecord, Task, Note, Order, Customer,
                      User, ApiKey, Account):
            model.objects.all().delete()
        result = {"accounts": [
            seed_account(replace(plan, behaviour={**plan.behaviour,
                                                  **behaviour.get(plan.code, {})}),
                         base_url=base_url, now=now)
            for plan in PLANS]}
    gate.limiter.reset()
    return result


class _Builder:
    def __init__(self, plan: AccountPlan, account: Account, now: datetime):
        self.plan, self.account, self.now = plan, account, now
        self.tz = ZoneInfo(plan.tz)
        self.rng = random.Random(f"retailcrm-seed-{plan.code}")
        self.customers: list[Customer] = []
        self.order_specs: list[dict] = []
        self.manager_ids = [i for i, m in enumerate(plan.managers, start=1) if m[5]]
        self.payment_id = 1
        self.fresh_orders = 0

    def stamp(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def add_customer(self, person: DemoPerson, site: str, *, manager_id: int,
                     created_at: datetime, recent: int = 0) -> Customer:
        crm_id = len(self.customers) + 1
        doc = {
            "type": "customer", "id": crm_id, "externalId": f"{site}-{crm_id}",
            "isContact": False, "createdAt": self.stamp(created_at), "managerId": manager_id,
            "vip": person.vip, "bad": False, "site": site,
            "contragent": {"contragentType": "individual"},
            "tags": [{"name": tag, "color": "#3e89b6", "attached": False}
                     for tag in person.tags],
            # PHP backend quirk: an empty map is `[]` (§7).
            "customFields": {"loyalty_card": f"77{crm_id:06d}"} if person.vip else [],
            "personalDiscount": 5 if person.vip else 0, "cumulativeDiscount": 0,
            "segments": [
                {"id": index, "code": code, "name": SEGMENTS.get(code, code),
                 "createdAt": "2024-01-15 10:00:00", "isDynamic": code != "vip",
                 "customersCount": 0, "active": True}
                for index, code in enumerate(person.segments, start=1)
            ],
            "firstName": person.first_name, "lastName": person.last_name,
            "phones": [{"number": person.phone}] if person.phone else [],
            "ordersCount": 0, "totalSumm": 0, "averageSumm": 0, "marginSumm": 0,
        }
        if person.email:  # absent, not null, when there is none (§8.3)
            doc["email"] = person.email
        city, street, index = self.rng.choice(CITIES)
        if self.rng.random() < 0.8:
            doc["address"] = {"id": crm_id, "index": index, "countryIso": "RU", "city": city,
                              "text": f"{index}, г. {city}, {street}, д. {self.rng.randint(1, 90)}"}
        customer = Customer(
            account=self.account, crm_id=crm_id, external_id=doc["externalId"], site=site,
            email=person.email.lower(), search_text=customer_search_text(doc),
            created_at=created_at, doc=doc,
        )
        self.customers.append(customer)
        if recent:
            self._plan_recent_orders(customer, person, recent)
        else:
            self._plan_orders(customer, person)
        return customer

    def _plan_orders(self, customer: Customer, person: DemoPerson) -> None:
        """Newest first: the newest gets the person's status; older ones are
        mostly complete. Big customers spread over about three years."""
        spacing_hours = max(1.0, 26000 / max(person.orders, 1))
        newest_at = self.now - timedelta(hours=self.rng.randint(6, 60))
        for position in range(person.orders):
            created = newest_at - timedelta(hours=spacing_hours * position
                                            + self.rng.randint(0, 5))
            if position == 0:
                status = person.newest_order_status or self.rng.choice(FILLER_NEWEST)
            else:
                status = self.rng.choice(ACTIVE_OLD_STATUSES)
            self.order_specs.append({
                "customer": customer, "created": created, "status": status,
                "overdue": position == 0 and person.overdue,
            })

    def _plan_recent_orders(self, customer: Customer, person: DemoPerson, recent: int) -> None:
        """A filler's newest `recent` orders at random moments of the last
        RECENT_DAYS days, the rest before that. An order of the last week
        may still be in progress; an older one is done (mostly complete,
        sometimes cancelled), as in a real shop."""
        rng = self.rng
        moments = sorted((self.now - timedelta(minutes=rng.randint(6 * 60, RECENT_DAYS * 1440))
                          for _ in range(recent)), reverse=True)
        spacing_hours = max(24.0, 26000 / max(person.orders, 1))
        horizon = self.now - timedelta(days=RECENT_DAYS)
        moments += [horizon - timedelta(hours=spacing_hours * (position + 1) + rng.randint(0, 5))
                    for position in range(person.orders - recent)]
        for created in moments:
            if self.now - created < timedelta(days=7):
                # In turn, so every stage of the order process is on show.
                status = FILLER_NEWEST[self.fresh_orders % len(FILLER_NEWEST)]
                self.fresh_orders += 1
            else:
                status = rng.choice(ACTIVE_OLD_STATUSES)
            self.order_specs.append({
                "customer": customer, "created": created, "overdue": False, "status": status,
            })

    def build_orders(self, statuses: dict) -> list[Order]:
        """Ids ascend with creation time, as in a real account."""
        self.order_specs.sort(key=lambda spec: (spec["created"], spec["customer"].crm_id))
        orders = []
        for offset, spec in enumerate(self.order_specs):
            crm_id = FIRST_ORDER_ID + offset
            orders.append(self._order(crm_id, spec, statuses))
        return orders

    def _order(self, crm_id: int, spec: dict, statuses: dict) -> Order:
        customer, created, status = spec["customer"], spec["created"], spec["status"]
        person = customer.doc
        rng = self.rng
        items = []
        for line in range(rng.choice([1, 1, 2, 3])):
            name, price = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 1, 2])
            items.append({
                "id": crm_id * 10 + line, "initialPrice": price, "discountTotal": 0,
                "prices": [{"price": price, "quantity": quantity}], "vatRate": "none",
                "createdAt": self.stamp(created), "quantity": quantity,
                "status": "new", "purchasePrice": round(price * 0.6), "ordering": line,
                "offer": {"id": 5000 + PRODUCTS.index((name, price)), "name": name,
                          "displayName": name, "unit": {"code": "pc", "name": "Штука",
                                                        "sym": "шт."}},
            })
        summ = float(sum(i["initialPrice"] * i["quantity"] for i in items))
        delivery_code, delivery_name, delivery_cost = rng.choice(DELIVERIES)
        group = statuses[status]["group"]
        if spec["overdue"]:
            delivery_date = (self.now - timedelta(days=4)).astimezone(self.tz).date()
        elif group in COMPLETED_GROUPS:
            delivery_date = (created + timedelta(days=3)).astimezone(self.tz).date()
        else:
            delivery_date = (self.now + timedelta(days=rng.randint(1, 5))).astimezone(
                self.tz).date()
        address = person.get("address", {}).get("text", "г. Москва, ул. Тверская, д. 1")
        delivery = {"code": delivery_code, "cost": delivery_cost, "netCost": delivery_cost * 0.8,
                    "date": date.isoformat(delivery_date), "address": {"text": address}}
        if delivery_code != "self-delivery":
            delivery["time"] = {"from": "10:00", "to": "18:00"}
        if status == "delivery-problem":
            delivery["data"] = {"status": "problem", "trackNumber": f"RP{crm_id:09d}RU"}
        total = summ + delivery_cost
        payments: dict = {}  # {} when empty: observed as an object (§11.3)
        if group == "complete" or status == "prepayed" or (group == "delivery"
                                                           and rng.random() < 0.5):
            payment_id = self.payment_id
            self.payment_id += 1
            payments[str(payment_id)] = {
                "id": payment_id, "status": "paid", "type": "bank-card", "amount": total,
                "paidAt": self.stamp(created + timedelta(minutes=20)),
            }
        status_updated = created + timedelta(hours=2 if group != "new" else 0)
        doc = {
            "id": crm_id, "slug": crm_id, "number": f"{crm_id}{self.plan.suffix}",
            "externalId": f"web-{crm_id}", "orderType": "eshop-individual",
            "orderMethod": rng.choice(["shopping-cart", "phone", "one-click"]),
            "privilegeType": "none", "countryIso": "RU", "currency": "RUB",
            "site": customer.site, "createdAt": self.stamp(created),
            "statusUpdatedAt": self.stamp(status_updated), "status": status,
            "summ": summ, "totalSumm": total,
            "prepaySum": total if payments else 0, "purchaseSumm": round(summ * 0.6, 2),
            "firstName": person["firstName"], "lastName": person.get("lastName", ""),
            "call": False, "expired": spec["overdue"], "fromApi": False,
            "shipped": group in ("delivery", "complete"),
            "contragent": {"contragentType": "individual"},
            "delivery": delivery, "items": items, "payments": payments,
            "customFields": {"gift_wrap": True} if rng.random() < 0.1 else [],
        }
        if person.get("phones"):
            doc["phone"] = person["phones"][0]["number"]
        if person.get("email"):
            doc["email"] = person["email"]
        if person.get("managerId"):
            doc["managerId"] = person["managerId"]
        if status == "delivery-problem":
            doc["managerComment"] = "Курьер не смог связаться с покупателем, заказ на складе."
        stats = person
        stats["ordersCount"] += 1
        stats["totalSumm"] = round(stats["totalSumm"] + total, 2)
        stats["averageSumm"] = round(stats["totalSumm"] / stats["ordersCount"], 2)
        return Order(
            account=self.account, crm_id=crm_id, customer_crm_id=customer.crm_id,
            number=doc["number"], external_id=doc["externalId"], status=status,
            email=doc.get("email", "").lower(), site=customer.site, created_at=created, doc=doc,
        )


def seed_account(plan: AccountPlan, *, base_url: str, now: datetime | None = None) -> dict:
    """Create one account from a plan (the tests use small plans)."""
    now = now or timezone.now().replace(microsecond=0)
    statuses, groups = status_books()
    account = Account.objects.create(
        code=plan.code, name=plan.name, timezone=plan.tz,
        references={"statuses": statuses, "statusGroups": groups,
                    "sites": site_book(plan.sites), "orderNumberSuffix": plan.suffix,
                    **order_books()},
        behaviour=BOARD.validate(plan.behaviour),
    )
    keys = ApiKey.objects.bulk_create([
        ApiKey(account=account, key=key, scopes=scopes, sites=sites)
        for key, scopes, sites in plan.keys
    ])
    builder = _Builder(plan, account, now)
    User.objects.bulk_create([
        User(account=account, crm_id=crm_id, doc=_user_doc(builder, crm_id, manager))
        for crm_id, manager in enumerate(plan.managers, start=1)
    ])
    people = _add_customers(plan, builder)
    orders = builder.build_orders(statuses)
    Customer.objects.bulk_create(builder.customers, batch_size=1000)
    Order.objects.bulk_create(orders, batch_size=1000)
    _add_notes_and_tasks(builder, people, orders)
    _add_history(builder, orders)
    newest = {}
    for order in sorted(orders, key=lambda o: o.crm_id, reverse=True):
        newest.setdefault(order.customer_crm_id, order.number)
    return {
        "code": plan.code,
        "name": plan.name,
        "url": f"{base_url}/sandbox/retailcrm/{plan.code}",
        "api_key": keys[0].key,
        "restricted_keys": {
            "read_only" if key.scopes == READONLY_SCOPES else "outlet_only": key.key
            for key in keys[1:]
        },
        "sites": [code for code, _, _ in plan.sites],
        # The store a portal shop works with (the connection's site code).
        "site": plan.sites[0][0],
        "timezone": plan.tz,
        "people": {
            person_key: {
                "customers": {c.site: c.crm_id for c in customers},
                "orders_count": customers[0].doc["ordersCount"],
                "newest_order_number": newest.get(customers[0].crm_id, ""),
            }
            for person_key, customers in people.items()
        },
    }


def _user_doc(builder: _Builder, crm_id: int, manager) -> dict:
    first, last, position, email, phone, active = manager
    doc = {
        "id": crm_id, "createdAt": builder.stamp(builder.now - timedelta(days=900 - crm_id)),
        "active": active, "email": email, "firstName": first, "lastName": last,
        "position": position, "status": "free" if active else "break", "online": active,
        "isAdmin": crm_id == 1, "isManager": True,
        "groups": [{"id": 1, "name": "Менеджеры", "code": "manager"}],
    }
    if phone:
        doc["phone"] = phone
    return doc


def _add_customers(plan: AccountPlan, builder: _Builder) -> dict[str, list[Customer]]:
    people: dict[str, list[Customer]] = {}
    cast = list(plan.people) + ([PHONE_TWIN] if plan.people else [])
    for position, person in enumerate(cast):
        manager = builder.manager_ids[position % len(builder.manager_ids)]
        for site in person.sites:
            created = builder.now - timedelta(days=1200 - position)
            people.setdefault(person.key, []).append(
                builder.add_customer(person, site, manager_id=manager, created_at=created))
    rng = builder.rng
    site_codes = [code for code, _, _ in plan.sites]
    for index in range(plan.fillers):
        female = rng.random() < 0.5
        first_names, last_names = FEMALE if female else MALE
        digits = f"9{rng.randint(10, 99)}{rng.randint(1000000, 9999999)}"
        # Every spelling in turn, so even a small seed stores +7…, 8…, 7…
        # and bare ten-digit numbers.
        phone = PHONE_FORMATS[index % len(PHONE_FORMATS)].format(
            a=digits[:3], b=digits[3:6], c=digits[6:8], d=digits[8:])
        person = DemoPerson(
            f"filler-{index}", rng.choice(first_names), rng.choice(last_names),
            email=f"client{index + 1}.{plan.code}@example.ru" if rng.random() < 0.8 else "",
            phone=phone if rng.random() < 0.9 else "",
            orders=rng.choice([0, 1, 1, 2, 3, 5, 8]), vip=rng.random() < 0.05,
            segments=("loyal",) if rng.random() < 0.2 else (),
        )
        recent = min(person.orders, rng.choice([1, 1, 1, 2, 2, 3]))
        builder.add_customer(person, rng.choice(site_codes),
                             manager_id=rng.choice(builder.manager_ids),
                             created_at=builder.now - timedelta(days=rng.randint(60, 1100)),
                             recent=recent)
    return people


def _add_notes_and_tasks(builder: _Builder, people: dict, orders: list[Order]) -> None:
    texts = {
        "vip": ["Предпочитает доставку после 18:00.", "Просила звонить только на мобильный."],
        "problem": ["Курьер не дозвонился, покупательница ждёт повторную доставку."],
        "overdue": ["Обещали доставку в срок, клиент уже спрашивал."],
        "delivery": ["Просил предупредить за час до приезда курьера."],
    }
    notes, crm_id = [], 0
    for person_key, lines in texts.items():
        for customer in people.get(person_key, [])[:1]:
            for offset, text in enumerate(lines):
                crm_id += 1
                created = builder.now - timedelta(days=10 - offset, hours=crm_id)
                notes.append(Note(
                    account=builder.account, crm_id=crm_id, customer_crm_id=customer.crm_id,
                    created_at=created, doc={
                        "id": crm_id, "text": text, "createdAt": builder.stamp(created),
                        "managerId": customer.doc["managerId"],
                        "customer": {"id": customer.crm_id, "externalId": customer.external_id,
                                     "site": customer.site, "type": "customer"},
                    }))
    Note.objects.bulk_create(notes)
    tasks = []
    for customer in people.get("problem", [])[:1]:
        order = max((o for o in orders if o.customer_crm_id == customer.crm_id),
                    key=lambda o: o.crm_id)
        tasks.append(Task(account=builder.account, crm_id=1, doc={
            "id": 1, "text": "Связаться с клиенткой по проблеме доставки",
            "commentary": f"Заказ {order.number}",
            "datetime": (builder.now + timedelta(days=1)).astimezone(builder.tz).strftime(
                "%Y-%m-%d %H:%M"),
            "createdAt": builder.stamp(builder.now - timedelta(hours=3)), "complete": False,
            "creator": 1, "performer": customer.doc["managerId"], "performerType": "user",
            "customer": {"type": "customer", "id": customer.crm_id,
                         "externalId": customer.external_id, "site": customer.site},
            "order": {"id": order.crm_id, "number": order.number, "site": order.site},
        }))
    Task.objects.bulk_create(tasks)


def _add_history(builder: _Builder, orders: list[Order]) -> None:
    """A creation record per customer and order, plus a status change for
    every order that left `new`, in time order with ascending ids (§12)."""
    entries: list[tuple[datetime, str, dict]] = []
    for customer in builder.customers:
        entries.append((customer.created_at, "customer", {
            "created": True, "source": "user", "user": {"id": customer.doc["managerId"]},
            "field": "id", "oldValue": None, "newValue": customer.crm_id,
            "customer": {key: value for key, value in customer.doc.items()
                         if key not in ("ordersCount", "totalSumm", "averageSumm")},
        }))
    for order in orders:
        stub = {"id": order.crm_id, "number": order.number, "externalId": order.external_id,
                "site": order.site, "status": order.status}
        manager = order.doc.get("managerId")
        created_doc = {key: value for key, value in order.doc.items()}
        created_doc["status"] = "new"
        created_doc["customer"] = {"type": "customer", "id": order.customer_crm_id}
        entries.append((order.created_at, "order", {
            "created": True, "source": "user", "user": {"id": manager or 1},
            "field": "status", "oldValue": None, "newValue": {"code": "new"},
            "order": created_doc,
        }))
        if order.status != "new":
            entries.append((order.created_at + timedelta(hours=2), "order", {
                "source": "user", "user": {"id": manager or 1}, "field": "status",
                "oldValue": {"code": "new"}, "newValue": {"code": order.status},
                "order": {**stub, **({"managerId": manager} if manager else {})},
            }))
    entries.sort(key=lambda entry: entry[0])
    counters = {"order": 0, "customer": 0}
    records = []
    for moment, entity, doc in entries:
        counters[entity] += 1
        crm_id = counters[entity]
        records.append(HistoryRecord(
            account=builder.account, entity=entity, crm_id=crm_id,
            doc={"id": crm_id, "createdAt": builder.stamp(moment), **doc},
        ))
    HistoryRecord.objects.bulk_create(records, batch_size=2000)
