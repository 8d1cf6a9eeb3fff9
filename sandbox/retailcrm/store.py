"""Changes to the emulator's data, shared by the API endpoints and the seed.

Every create or edit writes history records (docs/vendors/retailcrm.md §12) so a client that
polls `/orders/history` with `filter[sinceId]` sees the emulator's changes,
whether they came from the seed, the API or a test.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from sandbox.retailcrm import triggers
from sandbox.retailcrm.models import (
    Account,
    ApiKey,
    Customer,
    HistoryRecord,
    Order,
    TriggerEvent,
)
from sandbox.retailcrm.protocol import ApiProblem, crm_datetime

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

# Order fields whose history `field` name is not just snake_case (§12).
ORDER_HISTORY_FIELDS = {"managerId": "manager", "status": "status"}
CUSTOMER_HISTORY_FIELDS = {"managerId": "manager", "externalId": "external_id"}


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def customer_search_text(doc: dict) -> str:
    """What `filter[name]` matches: the full name and every phone's digits.
    The real matching rules are unverified (§8.1); we match substrings, so a
    client searching the 10 national digits finds +7…, 8… and spaced forms."""
    names = " ".join(doc.get(part, "") for part in ("lastName", "firstName", "patronymic"))
    phones = " ".join(phone_digits(p.get("number", "")) for p in doc.get("phones", []))
    return f"{names.lower()} {phones}".strip()


def customer_stub(customer: Customer) -> dict:
    stub = {"type": "customer", "id": customer.crm_id, "site": customer.site}
    if customer.external_id:
        stub["externalId"] = customer.external_id
    return stub


def order_stub(order: Order) -> dict:
    """The minimal order object history records carry (§12)."""
    stub = {"id": order.crm_id, "number": order.number, "site": order.site,
            "status": order.status}
    if order.external_id:
        stub["externalId"] = order.external_id
    if order.doc.get("managerId"):
        stub["managerId"] = order.doc["managerId"]
    return stub


def render_orders(account: Account, orders: list[Order]) -> list[dict]:
    """Orders embed their customer in full (`customer` and, for individuals,
    `contact`), §11.3. Stored docs keep only the id, so a customer edit shows
    up in every order at once.

    Switches: `order_customer=partial` embeds only the customer's `id` (and
    `email` when it has one), no `contact`; `payments_shape=list` sends
    `payments` as a list instead of an object keyed by id."""
    partial = account.switch("order_customer") == "partial"
    as_list = account.switch("payments_shape") == "list"
    ids = {o.customer_crm_id for o in orders if o.customer_crm_id}
    customers = {
        c.crm_id: c.doc for c in Customer.objects.filter(account=account, crm_id__in=ids)
    }
    rendered = []
    for order in orders:
        doc = dict(order.doc)
        customer = customers.get(order.customer_crm_id)
        if customer is not None and partial:
            doc["customer"] = {"id": customer["id"],
                               **({"email": customer["email"]} if customer.get("email") else {})}
        elif customer is not None:
            doc["customer"] = customer
            doc["contact"] = customer
        if as_list and isinstance(doc.get("payments"), dict):
            doc["payments"] = list(doc["payments"].values())
        rendered.append(doc)
    return rendered


def history_entry(*, account: Account, entity: str, key: ApiKey | None, user_id=None,
                  when=None, field: str, old=None, new=None, target: dict,
                  created: bool = False) -> HistoryRecord:
    doc = {"createdAt": crm_datetime(when or timezone.now(), account.timezone)}
    if created:
        doc["created"] = True
    if key is not None:
        doc["source"] = "api"
    else:
        doc["source"] = "user"
        if user_id:
            doc["user"] = {"id": user_id}
    doc.update({"field": field, "oldValue": old, "newValue": new, entity: target})
    return HistoryRecord(account=account, entity=entity, api_key=key, crm_id=0, doc=doc)


def save_history(account: Account, records: list[HistoryRecord]) -> None:
    """Number the records after the account's last id for the entity and
    insert them in one statement (ascending ids, §12). The ids come from the
    account's counter, so concurrent writers never share one."""
    by_entity: dict[str, list[HistoryRecord]] = {}
    for record in records:
        by_entity.setdefault(record.entity, []).append(record)
    with transaction.atomic():
        for entity, group in sorted(by_entity.items()):
            first = HistoryRecord.allocate_crm_ids(account, len(group), entity=entity)
            for offset, record in enumerate(group):
                record.crm_id = first + offset
                record.doc = {"id": record.crm_id, **record.doc}
        HistoryRecord.objects.bulk_create(records, batch_size=2000)


def _changes(old: dict, new: dict, names: dict) -> list[tuple[str, object, object]]:
    changes = []
    for name, value in new.items():
        if name in ("id", "customer", "contact") or old.get(name) == value:
            continue
        field = names.get(name, snake(name))
        before, after = old.get(name), value
        if name == "status":
            before, after = {"code": before} if before else None, {"code": after}
        elif name == "managerId":
            before, after = ({"id": before} if before else None), ({"id": after} if after else None)
        changes.append((field, before, after))
    return changes


def resolve_site(account: Account, key: ApiKey, site: str | None) -> str:
    """The store a create goes to: `site`, or the key's only store (§3)."""
    visible = key.visible_sites()
    if not site:
        if len(visible) == 1:
            return visible[0]
        raise ApiProblem(400, "Parameter 'site' is missing")
    if site not in account.site_codes():
        raise ApiProblem(400, "Errors in the input parameters", {"site": "Site not found."})
    if site not in visible:
        raise ApiProblem(403, "Access denied.")
    return site


@transaction.atomic
def create_customer(account: Account, key: ApiKey | None, data: dict, site: str) -> Customer:
    if not (data.get("firstName") or data.get("email") or data.get("phones")):
        raise ApiProblem(400, "Errors in the entity format",
                         {"firstName": "Specify the first name"})
    now = timezone.now()
    crm_id = Customer.allocate_crm_ids(account)
    doc = {
        "type": "customer", "id": crm_id, "isContact": False,
        "createdAt": crm_datetime(now, account.timezone), "vip": False, "bad": False,
        "site": site, "contragent": {"contragentType": "individual"}, "tags": [],
        "customFields": [], "ordersCount": 0, "totalSumm": 0, "averageSumm": 0,
        "marginSumm": 0, "personalDiscount": 0, "segments": [], "phones": [],
    }
    allowed = ("externalId", "firstName", "lastName", "patronymic", "email", "phones",
               "managerId", "vip", "bad", "birthday", "sex", "address", "customFields")
    doc.update({name: data[name] for name in allowed if data.get(name) not in (None, "")})
    customer = Customer.objects.create(
        account=account, crm_id=crm_id, external_id=str(doc.get("externalId", "")), site=site,
        email=doc.get("email", "").lower(), search_text=customer_search_text(doc),
        created_at=now, doc=doc,
    )
    save_history(account, [history_entry(
        account=account, entity="customer", key=key, field="id", new=crm_id, created=True,
        target=doc,
    )])
    return customer


@transaction.atomic
def edit_customer(account: Account, key: ApiKey | None, customer: Customer,
                  data: dict) -> Customer:
    old = dict(customer.doc)
    editable = {k: v for k, v in data.items() if k not in ("id", "site", "type", "createdAt")}
    customer.doc = {**old, **editable}
    customer.external_id = str(customer.doc.get("externalId", ""))
    customer.email = customer.doc.get("email", "").lower()
    customer.search_text = customer_search_text(customer.doc)
    customer.save()
    save_history(account, [
        history_entry(account=account, entity="customer", key=key, field=field, old=before,
                      new=after, target=customer_stub(customer))
        for field, before, after in _changes(old, editable, CUSTOMER_HISTORY_FIELDS)
    ])
    return customer


@transaction.atomic
def create_order(account: Account, key: ApiKey | None, data: dict, site: str,
                 customer: Customer | None) -> Order:
    from sandbox.retailcrm.references import status_group_of

    status = data.get("status") or "new"
    if not status_group_of(status) and status not in account.references.get("statuses", {}):
        raise ApiProblem(400, "Errors in the entity format", {"status": "Status not found."})
    now = _created_at(account, data.get("createdAt"))
    if customer is None:
        customer = create_customer(account, key, {
            name: data[name] for name in ("firstName", "lastName", "email") if data.get(name)
        } | ({"phones": [{"number": data["phone"]}]} if data.get("phone") else {}), site)
    crm_id = Order.allocate_crm_ids(account)
    number = data.get("number") or f"{crm_id}{account.references.get('orderNumberSuffix', 'A')}"
    items = data.get("items") or []
    summ = sum(float(i.get("initialPrice", 0)) * float(i.get("quantity", 1)) for i in items)
    delivery = data.get("delivery") or {}
    doc = {
        "id": crm_id, "slug": crm_id, "number": number, "orderType": "eshop-individual",
        "orderMethod": data.get("orderMethod", "phone"), "countryIso": "RU", "currency": "RUB",
        "site": site, "createdAt": crm_datetime(now, account.timezone),
        "statusUpdatedAt": crm_datetime(now, account.timezone), "status": status,
        "summ": summ, "totalSumm": summ + float(delivery.get("cost", 0)), "prepaySum": 0,
        "purchaseSumm": 0, "call": False, "expired": False, "fromApi": True,
        "shipped": False, "customFields": [], "payments": {},
        "items": items, "delivery": delivery,
        "contragent": {"contragentType": "individual"},
    }
    for name in ("externalId", "firstName", "lastName", "phone", "email", "managerId",
                 "customerComment", "managerComment"):
        if data.get(name) not in (None, ""):
            doc[name] = data[name]
    order = Order.objects.create(
        account=account, crm_id=crm_id, customer_crm_id=customer.crm_id, number=number,
        external_id=str(doc.get("externalId", "")), status=status, site=site, created_at=now,
        email=str(doc.get("email", "")).lower(), doc=doc,
    )
    # Re-read under a row lock: two orders of one customer created at once
    # must both count.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    stats = customer.doc
    stats["ordersCount"] = stats.get("ordersCount", 0) + 1
    stats["totalSumm"] = round(stats.get("totalSumm", 0) + doc["totalSumm"], 2)
    stats["averageSumm"] = round(stats["totalSumm"] / stats["ordersCount"], 2)
    customer.save(update_fields=["doc"])
    save_history(account, [history_entry(
        account=account, entity="order", key=key, field="status", new={"code": status},
        created=True, target={**doc, "customer": customer_stub(customer)},
    )])
    triggers.fire(account, order, TriggerEvent.ORDER_CREATED)
    return order


def _created_at(account: Account, value):
    """`createdAt` of a new order: now, or the `Y-m-d H:i:s` the caller sent
    in the account's timezone (orders imported from a shop keep their date)."""
    if value in (None, ""):
        return timezone.now()
    try:
        naive = datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError as error:
        raise ApiProblem(400, "Errors in the entity format",
                         {"createdAt": "This value is not a valid datetime."}) from error
    return naive.replace(tzinfo=ZoneInfo(account.timezone))


@transaction.atomic
def edit_order(account: Account, key: ApiKey | None, order: Order, data: dict, *,
               user_id: int | None = None) -> Order:
    """Change an order as the API's `orders/{x}/edit` does (`key`), or as a
    manager in the back office does (`key=None`, `user_id`: history says
    `source: user` and who). Either way history is written and triggers fire."""
    old = dict(order.doc)
    editable = {k: v for k, v in data.items()
                if k not in ("id", "number", "site", "createdAt", "customer", "contact")}
    if "status" in editable and editable["status"] != old.get("status"):
        if editable["status"] not in account.references.get("statuses", {}):
            raise ApiProblem(400, "Errors in the entity format", {"status": "Status not found."})
        editable["statusUpdatedAt"] = crm_datetime(timezone.now(), account.timezone)
    order.doc = {**old, **editable}
    order.status = order.doc["status"]
    order.external_id = str(order.doc.get("externalId", ""))
    order.email = str(order.doc.get("email", "")).lower()
    order.save()
    changes = _changes(old, {k: v for k, v in editable.items() if k != "statusUpdatedAt"},
                       ORDER_HISTORY_FIELDS)
    save_history(account, [
        history_entry(account=account, entity="order", key=key, user_id=user_id, field=field,
                      old=before, new=after, target=order_stub(order))
        for field, before, after in changes
    ])
    if changes:
        triggers.fire(account, order, TriggerEvent.ORDER_CHANGED)
    if any(field == "status" for field, _, _ in changes):
        triggers.fire(account, order, TriggerEvent.ORDER_STATUS_CHANGED)
    return order
