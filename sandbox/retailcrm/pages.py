"""A very small RetailCRM back office: the emulator's HTML pages.

`/sandbox/retailcrm/<account>/customers/`, `…/customers/<id>/`, `…/orders/`
and `…/orders/<id>/` show what the account holds the way a shop's manager
sees it in RetailCRM: names from the account's reference books (statuses,
delivery and payment types), money in the account's currency, and the notes
and tasks the portal wrote through the API. The customer page and the order
page change an order's status through `sandbox.retailcrm.store.edit_order`,
exactly the path an API edit takes, so history records the change and
triggers fire: that is how a demo user makes order watch react. Both pages
show the trigger log of their orders (queued, sent with the answer's status,
failed), so the user sees RetailCRM call the portal.

The pages play the vendor's Russian back office, so their words are
Russian (no mixing, no gettext: they are the vendor's UI, not ours).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from sandbox.retailcrm import store
from sandbox.retailcrm.models import (
    Account,
    Customer,
    HistoryRecord,
    Note,
    Order,
    Task,
    TriggerDelivery,
    User,
)

CUSTOMERS_PER_PAGE = 50
ORDERS_PER_PAGE = 20
TRIGGER_LOG_ROWS = 10
TRIGGER_STATES = {TriggerDelivery.QUEUED: "В очереди", TriggerDelivery.SENT: "Отправлен",
                  TriggerDelivery.FAILED: "Ошибка"}
CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "UAH": "₴"}
HISTORY_FIELDS = {"status": "Статус", "manager": "Менеджер", "delivery": "Доставка",
                  "payments": "Оплата", "items": "Товары", "customer_comment":
                  "Комментарий клиента", "manager_comment": "Комментарий оператора"}


def money(value, currency: str = "RUB") -> str:
    """`12 490 ₽`, `1 250,50 ₽`: Russian grouping, the currency's sign."""
    amount = Decimal(str(value or 0)).quantize(Decimal("0.01"))
    whole, _, cents = f"{amount:,.2f}".partition(".")
    text = whole.replace(",", "\u00a0") + ("" if cents == "00" else f",{cents}")
    return f"{text}\u00a0{CURRENCY_SIGNS.get(currency, currency)}"


def shown_date(value: str, with_time: bool = True) -> str:
    """`2026-11-30 15:04:05` (account time, as RetailCRM stores it) →
    `30.11.2026 15:04`."""
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(str(value), pattern)
        except ValueError:
            continue
        return moment.strftime("%d.%m.%Y %H:%M" if with_time and " " in str(value)
                               else "%d.%m.%Y")
    return str(value or "")


def full_name(doc: dict) -> str:
    parts = [doc.get("lastName", ""), doc.get("firstName", ""), doc.get("patronymic", "")]
    return " ".join(p for p in parts if p) or doc.get("email", "") or "Без имени"


@dataclass
class Books:
    """The account's reference books, code → human name."""

    account: Account

    def __post_init__(self):
        refs = self.account.references or {}
        self.statuses = refs.get("statuses", {})
        self.groups = refs.get("statusGroups", {})
        self.sites = refs.get("sites", {})
        self.deliveries = refs.get("deliveryTypes", {})
        self.payment_types = refs.get("paymentTypes", {})
        self.payment_statuses = refs.get("paymentStatuses", {})
        self.methods = refs.get("orderMethods", {})
        self.users = {user.crm_id: user.doc for user in User.objects.filter(account=self.account)}

    @staticmethod
    def _name(book: dict, code, fallback: str = "—") -> str:
        return (book.get(code) or {}).get("name") or (fallback if code else "—")

    def status(self, code: str) -> str:
        return self._name(self.statuses, code, "Неизвестный статус")

    def group_of(self, code: str) -> str:
        return (self.statuses.get(code) or {}).get("group", "")

    def site(self, code: str) -> str:
        return self._name(self.sites, code, "Неизвестный магазин")

    def currency(self, site_code: str) -> str:
        return (self.sites.get(site_code) or {}).get("currency") or "RUB"

    def delivery(self, code: str) -> str:
        return self._name(self.deliveries, code, "Другая доставка")

    def payment_type(self, code: str) -> str:
        return self._name(self.payment_types, code, "Другой способ оплаты")

    def payment_status(self, code: str) -> str:
        return self._name(self.payment_statuses, code, "Другой статус оплаты")

    def method(self, code: str) -> str:
        return self._name(self.methods, code, "Другой способ")

    def user(self, user_id) -> str:
        doc = self.users.get(user_id)
        if not doc:
            return "—"
        return " ".join(p for p in (doc.get("firstName"), doc.get("lastName")) if p) or "—"

    def status_choices(self) -> list:
        """Grouped as RetailCRM's status picker groups them."""
        ordered = sorted(self.groups.values(), key=lambda g: g.get("ordering", 0))
        return [(group.get("name", ""), [(code, self.status(code))
                                         for code in group.get("statuses", [])
                                         if code in self.statuses])
                for group in ordered]


def _account(code: str) -> Account:
    return get_object_or_404(Account, code=code)


def _customer_row(books: Books, customer: Customer) -> dict:
    doc = customer.doc
    return {
        "id": customer.crm_id, "name": full_name(doc), "vip": doc.get("vip", False),
        "phones": [p.get("number", "") for p in doc.get("phones", []) if p.get("number")],
        "email": doc.get("email", ""), "site": books.site(customer.site),
        "orders_count": doc.get("ordersCount", 0),
        "total": money(doc.get("totalSumm", 0), books.currency(customer.site)),
        "manager": books.user(doc.get("managerId")),
    }


def _order_row(books: Books, order: Order) -> dict:
    doc = order.doc
    payments = doc.get("payments") or {}
    payments = list(payments.values()) if isinstance(payments, dict) else list(payments)
    paid = any(p.get("status") == "paid" for p in payments)
    return {
        "id": order.crm_id, "number": order.number, "created": shown_date(doc.get("createdAt")),
        "status": books.status(order.status), "group": books.group_of(order.status),
        "code": order.status,
        "total": money(doc.get("totalSumm", 0), doc.get("currency") or books.currency(order.site)),
        "delivery": books.delivery((doc.get("delivery") or {}).get("code")),
        "paid": paid, "site": books.site(order.site),
    }


def customer_search(account: Account, query: str):
    """What the back office's search box finds: a name, an e-mail, a phone
    in any spelling (its last ten digits), or an order number."""
    customers = Customer.objects.filter(account=account)
    query = query.strip()
    if not query:
        return customers
    digits = store.phone_digits(query)
    found = Q(search_text__contains=query.lower()) | Q(email__contains=query.lower())
    if len(digits) >= 5:
        found |= Q(search_text__contains=digits[-10:])
    owners = Order.objects.filter(account=account, number__iexact=query).values(
        "customer_crm_id")
    return customers.filter(found | Q(crm_id__in=owners))


def home(request, account):
    _account(account)
    return redirect("sandbox-retailcrm-customers", account=account)


def customer_list(request, account):
    account = _account(account)
    books = Books(account)
    query = request.GET.get("q", "")
    customers = customer_search(account, query).order_by("-crm_id")
    page = Paginator(customers, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "sandbox/retailcrm/customer_list.html", {
        "account": account, "query": query, "page": page,
        "rows": [_customer_row(books, customer) for customer in page.object_list],
    })


def _orders_of(account: Account, customer: Customer):
    return Order.objects.filter(account=account, customer_crm_id=customer.crm_id).order_by(
        "-created_at", "-crm_id")


def customer_page(request, account, customer_id, *, status_form=None):
    account = _account(account)
    customer = get_object_or_404(Customer, account=account, crm_id=customer_id)
    books = Books(account)
    doc = customer.doc
    orders = _orders_of(account, customer)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    notes = Note.objects.filter(account=account, customer_crm_id=customer.crm_id).order_by(
        "-created_at", "-crm_id")
    tasks = Task.objects.filter(account=account, doc__customer__id=customer.crm_id).order_by(
        "-crm_id")
    custom_fields = doc.get("customFields") or {}
    changed = orders.filter(crm_id=_int_or_none(request.GET.get("changed"))).first()
    return render(request, "sandbox/retailcrm/customer_page.html", {
        "account": account, "customer": _customer_row(books, customer), "doc": doc,
        "created": shown_date(doc.get("createdAt")),
        "address": (doc.get("address") or {}).get("text", ""),
        "segments": [s.get("name", "") for s in doc.get("segments", []) if s.get("name")],
        "tags": [t.get("name", "") for t in doc.get("tags", []) if t.get("name")],
        "average": money(doc.get("averageSumm", 0), books.currency(customer.site)),
        "loyalty_card": custom_fields.get("loyalty_card", "") if isinstance(custom_fields, dict)
        else "",
        "page": page, "orders": [_order_row(books, order) for order in page.object_list],
        "notes": [{"text": n.doc.get("text", ""), "created": shown_date(n.doc.get("createdAt")),
                   "author": books.user(n.doc.get("managerId"))
                   if n.doc.get("managerId") else "через API"} for n in notes],
        "tasks": [{"text": t.doc.get("text", ""), "commentary": t.doc.get("commentary", ""),
                   "deadline": shown_date(t.doc.get("datetime", "")),
                   "performer": books.user(t.doc.get("performer")),
                   "done": t.doc.get("complete", False),
                   "order": (t.doc.get("order") or {}).get("number", "")} for t in tasks],
        "status_form": status_form or CustomerStatusForm(
            books=books, orders=orders[:ORDERS_PER_PAGE],
            initial=_newest_order_initial(orders)),
        "changed": _order_row(books, changed) if changed else None,
        **_trigger_log(account, orders),
    })


def _newest_order_initial(orders) -> dict:
    """The picker opens on the newest order and its current status."""
    newest = orders.values("crm_id", "status").first()
    return {"order": newest["crm_id"], "status": newest["status"]} if newest else {}


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def order_list(request, account):
    account = _account(account)
    books = Books(account)
    status = request.GET.get("status", "")
    query = request.GET.get("q", "").strip()
    orders = Order.objects.filter(account=account)
    if status in books.statuses:
        orders = orders.filter(status=status)
    if query:
        orders = orders.filter(number__icontains=query)
    page = Paginator(orders.order_by("-created_at", "-crm_id"), CUSTOMERS_PER_PAGE).get_page(
        request.GET.get("page"))
    names = {c.crm_id: full_name(c.doc) for c in Customer.objects.filter(
        account=account, crm_id__in=[o.customer_crm_id for o in page.object_list])}
    rows = [{**_order_row(books, order), "customer_id": order.customer_crm_id,
             "customer": names.get(order.customer_crm_id, "—")} for order in page.object_list]
    return render(request, "sandbox/retailcrm/order_list.html", {
        "account": account, "page": page, "rows": rows, "query": query, "status": status,
        "status_choices": books.status_choices(),
    })


class StatusForm(forms.Form):
    status = forms.ChoiceField(label="Статус заказа", error_messages={
        "required": "Выберите статус.", "invalid_choice": "Выберите статус из списка."})

    def __init__(self, *args, books: Books, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = books.status_choices()


class CustomerStatusForm(StatusForm):
    """The customer page's status picker: which of the customer's newest
    orders, and its new status."""

    order = forms.TypedChoiceField(label="Заказ", coerce=int, error_messages={
        "required": "Выберите заказ.", "invalid_choice": "Выберите заказ из списка."})
    field_order = ["order", "status"]

    def __init__(self, *args, books: Books, orders, **kwargs):
        super().__init__(*args, books=books, **kwargs)
        self.fields["order"].choices = [
            (order.crm_id, f"{order.number} — {books.status(order.status)}") for order in orders]
        self.order_fields(self.field_order)


def _trigger_log(account: Account, orders) -> dict:
    """The newest trigger requests made for these orders (RetailCRM keeps a
    log of each trigger's runs): what a user watches to see the portal
    called. While one is still queued the page reloads itself (the pump
    sends it within a second), so "sent, answer 200" appears unaided."""
    numbers = dict(orders.values_list("crm_id", "number"))
    deliveries = list(TriggerDelivery.objects.filter(
        trigger__account=account, order_crm_id__in=list(numbers)).select_related(
        "trigger").order_by("-pk")[:TRIGGER_LOG_ROWS])
    zone = ZoneInfo(account.timezone)
    return {
        "trigger_log": [{
            "created": delivery.created_at.astimezone(zone).strftime("%d.%m.%Y %H:%M:%S"),
            "trigger": delivery.trigger.name, "order": numbers.get(delivery.order_crm_id, ""),
            "state": TRIGGER_STATES.get(delivery.state, "Неизвестно"),
            "sent": delivery.state == TriggerDelivery.SENT,
            "failed": delivery.state == TriggerDelivery.FAILED,
            "answer": delivery.last_status,
        } for delivery in deliveries],
        "trigger_waiting": any(d.state == TriggerDelivery.QUEUED for d in deliveries),
    }


def _history(books: Books, order: Order) -> list[dict]:
    records = HistoryRecord.objects.filter(account=order.account, entity="order",
                                           doc__order__id=order.crm_id).order_by("-crm_id")
    rows = []
    for record in records:
        doc = record.doc
        field = doc.get("field", "")
        old, new = doc.get("oldValue"), doc.get("newValue")
        if field == "status":
            old = books.status(old.get("code")) if isinstance(old, dict) else ""
            new = books.status(new.get("code")) if isinstance(new, dict) else ""
        elif field == "manager":
            old = books.user(old.get("id")) if isinstance(old, dict) else ""
            new = books.user(new.get("id")) if isinstance(new, dict) else ""
        elif isinstance(old, (dict, list)) or isinstance(new, (dict, list)):
            old, new = "", "изменено"
        if doc.get("source") == "api":
            who = "через API"
        else:
            who = books.user((doc.get("user") or {}).get("id"))
        rows.append({
            "created": shown_date(doc.get("createdAt")), "created_order": doc.get("created"),
            "field": HISTORY_FIELDS.get(field, "Другое поле"), "old": old or "", "new": new or "",
            "who": who,
        })
    return rows


def _acting_manager(account: Account) -> int | None:
    """The back office's signed-in user: the account's administrator."""
    admins = User.objects.filter(account=account, doc__isAdmin=True).order_by("crm_id")
    first = admins.first() or User.objects.filter(account=account).order_by("crm_id").first()
    return first.crm_id if first else None


def order_page(request, account, order_id, *, form=None):
    account = _account(account)
    order = get_object_or_404(Order, account=account, crm_id=order_id)
    books = Books(account)
    doc = order.doc
    currency = doc.get("currency") or books.currency(order.site)
    customer = Customer.objects.filter(account=account, crm_id=order.customer_crm_id).first()
    delivery = doc.get("delivery") or {}
    payments = doc.get("payments") or {}
    payments = list(payments.values()) if isinstance(payments, dict) else list(payments)
    items = [{
        "name": (item.get("offer") or {}).get("displayName") or (item.get("offer") or {}).get(
            "name") or "Товар", "price": money(item.get("initialPrice", 0), currency),
        "quantity": item.get("quantity", 1),
        "sum": money(float(item.get("initialPrice", 0)) * float(item.get("quantity", 1)),
                     currency),
    } for item in doc.get("items", [])]
    time_window = delivery.get("time") or {}
    return render(request, "sandbox/retailcrm/order_page.html", {
        "account": account, "order": _order_row(books, order), "doc": doc,
        "customer": _customer_row(books, customer) if customer else None,
        "method": books.method(doc.get("orderMethod")),
        "manager": books.user(doc.get("managerId")),
        "status_updated": shown_date(doc.get("statusUpdatedAt", "")),
        "items": items, "summ": money(doc.get("summ", 0), currency),
        "delivery": {
            "type": books.delivery(delivery.get("code")),
            "cost": money(delivery.get("cost", 0), currency),
            "date": shown_date(delivery.get("date", ""), with_time=False),
            "time": (f"{time_window.get('from', '')}–{time_window.get('to', '')}"
                     if time_window else ""),
            "address": (delivery.get("address") or {}).get("text", ""),
            "track": (delivery.get("data") or {}).get("trackNumber", ""),
        },
        "payments": [{"type": books.payment_type(p.get("type")),
                      "status": books.payment_status(p.get("status")),
                      "amount": money(p.get("amount", 0), currency),
                      "paid_at": shown_date(p.get("paidAt", ""))} for p in payments],
        "form": form or StatusForm(initial={"status": order.status}, books=books),
        "saved": request.GET.get("saved") == "1",
        "history": _history(books, order),
        "expired": doc.get("expired", False),
        **_trigger_log(account, Order.objects.filter(pk=order.pk)),
    })


@require_POST
def order_status(request, account, order_id):
    """The status picker on the order page: one `edit_order` by the signed-in
    manager, as RetailCRM's back office does it (history `source: user`)."""
    account_row = _account(account)
    order = Order.objects.filter(account=account_row, crm_id=order_id).first()
    if order is None:
        raise Http404("Нет такого заказа.")
    form = StatusForm(request.POST, books=Books(account_row))
    if not form.is_valid():
        response = order_page(request, account, order_id, form=form)
        response.status_code = 400
        return response
    store.edit_order(account_row, None, order, {"status": form.cleaned_data["status"]},
                     user_id=_acting_manager(account_row))
    return redirect(reverse("sandbox-retailcrm-order", args=[account, order_id]) + "?saved=1")


@require_POST
def customer_order_status(request, account, customer_id):
    """The customer page's status picker: the same `edit_order` as the
    order page's, for one of the customer's orders; back to the customer
    page, which names the change and shows the trigger it fired."""
    account_row = _account(account)
    customer = get_object_or_404(Customer, account=account_row, crm_id=customer_id)
    orders = _orders_of(account_row, customer)
    form = CustomerStatusForm(request.POST, books=Books(account_row),
                              orders=orders[:ORDERS_PER_PAGE])
    if not form.is_valid():
        response = customer_page(request, account, customer_id, status_form=form)
        response.status_code = 400
        return response
    order = orders.get(crm_id=form.cleaned_data["order"])
    store.edit_order(account_row, None, order, {"status": form.cleaned_data["status"]},
                     user_id=_acting_manager(account_row))
    return redirect(reverse("sandbox-retailcrm-customer", args=[account, customer_id])
                    + f"?changed={order.crm_id}")
