"""Support analytics per shop and period: does support pay off?

Data: the ticket records (TicketRecord: who wrote, when, which priority, when
closed, which order) and the local order copies (LocalOrder, filled by the
order watch). Every figure is one aggregate query in the database (the
value table: one per priority); nothing here loads all tickets or orders.

Definitions (the period P is [start, end), dates in the shop's timezone):

* A *purchase* is a LocalOrder whose status group is not `cancel`.
* *Contacted* customers: distinct record `customer_id`s with a ticket opened
  in P. Each one's *reference moment* is the opening of their first ticket in
  P (ties: the lower record id); their *priority* and *handling time* are that
  ticket's (`priority_id`; `closed_at − opened_at`, or "still open").
* *Not contacted* customers: distinct customers with a purchase created in P
  and no ticket opened in P. Their reference moment is their first purchase
  in P (ties: the lower id) — the comparable "last touch" with the shop.
* A customer *repeats* when a purchase is created strictly after their
  reference moment and before the end of P. *Repeat rate* = repeaters /
  customers of the group. A late-period reference leaves less time to repeat
  for both groups alike.
* *Customer value by priority*: for each priority, the distinct customers who
  opened a ticket of that priority in P; value = the sum of their purchases
  created before the end of P (all known history, so the figure of a past
  period stays put); average = value / those customers (customers without
  orders count as 0). A customer with tickets of two priorities counts in
  both rows.
* *Products in tickets*: orders linked to a ticket opened in P — the order
  the ticket names (`order_number`) or any order the ticket's customer
  created in P — cancelled ones included (a cancelled order is often what the
  ticket is about). Per product id: how many linked orders contain it and
  how many distinct customers those orders belong to.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection as db_connection
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Sum, Value, When
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from integration.core.formatting import shop_date
from integration.models import LocalOrder, ProductName, ShopSettings, TicketRecord

CANCELLED_GROUP = "cancel"

# Handling-time buckets: (key, label, upper bound or None for "longer").
HANDLING_BUCKETS = [
    ("lt1h", gettext_lazy("under 1 hour"), timedelta(hours=1)),
    ("lt24h", gettext_lazy("1–24 hours"), timedelta(hours=24)),
    ("lt7d", gettext_lazy("1–7 days"), timedelta(days=7)),
    ("gte7d", gettext_lazy("over 7 days"), None),
    ("open", gettext_lazy("still open"), None),
]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    date_from: date
    date_to: date

    @classmethod
    def of_dates(cls, *, shop, date_from: date, date_to: date) -> "Period":
        """Whole days in the shop's timezone, `date_to` included."""
        tz = ZoneInfo(shop.timezone or "UTC")
        start = datetime.combine(date_from, time.min, tzinfo=tz)
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
        return cls(start=start, end=end, date_from=date_from, date_to=date_to)


@dataclass
class RateRow:
    key: str
    label: str
    customers: int = 0
    repeaters: int = 0

    @property
    def rate(self) -> float | None:
        return self.repeaters / self.customers if self.customers else None


@dataclass
class RepeatReport:
    contacted: RateRow
    not_contacted: RateRow
    by_priority: list[RateRow] = field(default_factory=list)
    by_handling: list[RateRow] = field(default_factory=list)


@dataclass
class ValueRow:
    priority_id: int | None
    label: str
    tickets: int
    customers: int
    orders: int
    total: Decimal

    @property
    def average(self) -> Decimal | None:
        return (self.total / self.customers).quantize(Decimal("0.01")) if self.customers else None


@dataclass
class ProductRow:
    product_id: str
    orders: int
    customers: int
    name: str = ""  # what the shop's orders call the offer; "" until an order named it

    @property
    def label(self) -> str:
        """The product as people name it. An offer seen only in orders copied
        before names were kept has none yet; it says so rather than show a
        bare id."""
        return self.name or _("unnamed product (offer %(id)s)") % {"id": self.product_id}


def _purchases(shop):
    return LocalOrder.objects.for_shop(shop).exclude(status_group=CANCELLED_GROUP)


def _tickets(shop, period: Period):
    return TicketRecord.objects.for_shop(shop).filter(opened_at__gte=period.start,
                                                      opened_at__lt=period.end)


def priority_labels(shop) -> dict[int | None, str]:
    """HDE priority ids are per account; the shop's settings name two."""
    labels: dict[int | None, str] = {None: _("not set")}
    shop_settings = ShopSettings.objects.for_shop(shop).first()
    if shop_settings:
        if shop_settings.normal_priority_id:
            labels[shop_settings.normal_priority_id] = _("normal")
        if shop_settings.high_priority_id:
            labels[shop_settings.high_priority_id] = _("high")
    return labels


def _priority_label(labels, priority_id) -> str:
    return labels.get(priority_id) or _("HDE priority %(id)s") % {"id": priority_id}


def _first_tickets(shop, period: Period):
    """Each contacted customer's first ticket in the period, annotated with
    whether they repeated and their handling bucket."""
    earlier = TicketRecord.objects.filter(
        shop=shop, customer_id=OuterRef("customer_id"), opened_at__gte=period.start,
    ).filter(Q(opened_at__lt=OuterRef("opened_at"))
             | Q(opened_at=OuterRef("opened_at"), pk__lt=OuterRef("pk")))
    repeated = _purchases(shop).filter(
        customer_id=OuterRef("customer_id"), created_at__gt=OuterRef("opened_at"),
        created_at__lt=period.end)
    whens = [When(closed_at__isnull=True, then=Value("open"))]
    whens += [When(closed_at__lt=F("opened_at") + bound, then=Value(key))
              for key, _label, bound in HANDLING_BUCKETS if bound is not None]
    return (
        _tickets(shop, period).filter(customer_id__isnull=False)
        .exclude(Exists(earlier))
        .annotate(repeated=Exists(repeated),
                  bucket=Case(*whens, default=Value("gte7d")))
    )


def _rate_counts(queryset, group_by: str | None = None):
    counts = {"customers": Count("pk"), "repeaters": Count("pk", filter=Q(repeated=True))}
    if group_by is None:
        return queryset.aggregate(**counts)
    return queryset.order_by().values(group_by).annotate(**counts)


def repeat_purchase_report(*, shop, period: Period) -> RepeatReport:
    first_tickets = _first_tickets(shop, period)
    contacted = _rate_counts(first_tickets)

    contacted_ids = _tickets(shop, period).filter(customer_id__isnull=False).values("customer_id")
    earlier_purchase = _purchases(shop).filter(
        customer_id=OuterRef("customer_id"), created_at__gte=period.start,
    ).filter(Q(created_at__lt=OuterRef("created_at"))
             | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk")))
    later_purchase = _purchases(shop).filter(
        customer_id=OuterRef("customer_id"), created_at__gt=OuterRef("created_at"),
        created_at__lt=period.end)
    first_purchases = (
        _purchases(shop)
        .filter(customer_id__isnull=False, created_at__gte=period.start,
                created_at__lt=period.end)
        .exclude(customer_id__in=contacted_ids)
        .exclude(Exists(earlier_purchase))
        .annotate(repeated=Exists(later_purchase))
    )
    not_contacted = _rate_counts(first_purchases)

    labels = priority_labels(shop)
    by_priority = [
        RateRow(str(row["priority_id"]), _priority_label(labels, row["priority_id"]),
                row["customers"], row["repeaters"])
        for row in _rate_counts(first_tickets, "priority_id").order_by("priority_id")
    ]
    buckets = {row["bucket"]: row for row in _rate_counts(first_tickets, "bucket")}
    by_handling = [
        RateRow(key, str(label), buckets.get(key, {}).get("customers", 0),
                buckets.get(key, {}).get("repeaters", 0))
        for key, label, _bound in HANDLING_BUCKETS
    ]
    return RepeatReport(
        contacted=RateRow("contacted", _("contacted support"), **contacted),
        not_contacted=RateRow("not_contacted", _("did not contact support"), **not_contacted),
        by_priority=by_priority,
        by_handling=by_handling,
    )


def ticket_value_by_priority(*, shop, period: Period) -> list[ValueRow]:
    tickets = _tickets(shop, period)
    labels = priority_labels(shop)
    rows = []
    grouped = (tickets.order_by().values("priority_id")
               .annotate(tickets=Count("pk"),
                         customers=Count("customer_id", distinct=True))
               .order_by("priority_id"))
    for group in grouped:
        customers = tickets.filter(priority_id=group["priority_id"],
                                   customer_id__isnull=False).values("customer_id")
        value = _purchases(shop).filter(customer_id__in=customers,
                                        created_at__lt=period.end).aggregate(
            orders=Count("pk"), total=Sum("total"))
        rows.append(ValueRow(
            priority_id=group["priority_id"],
            label=_priority_label(labels, group["priority_id"]),
            tickets=group["tickets"], customers=group["customers"],
            orders=value["orders"], total=value["total"] or Decimal("0"),
        ))
    return rows


def ticket_linked_orders(*, shop, period: Period):
    tickets = _tickets(shop, period)
    numbers = tickets.exclude(order_number="").values("order_number")
    customers = tickets.filter(customer_id__isnull=False).values("customer_id")
    return LocalOrder.objects.for_shop(shop).filter(
        Q(number__in=numbers)
        | Q(customer_id__in=customers, created_at__gte=period.start, created_at__lt=period.end)
    )


# Unnesting a JSON array is not in the ORM; each backend has its own table
# function. Both read only orders selected by the (scoped) ORM subquery.
_PRODUCTS_SQL = {
    "sqlite": """
        SELECT CAST(j.value AS TEXT) AS product, COUNT(DISTINCT o.id), COUNT(DISTINCT o.customer_id)
        FROM integration_localorder o, json_each(o.product_ids) j
        WHERE json_type(o.product_ids) = 'array' AND o.id IN ({ids})
        GROUP BY product ORDER BY 2 DESC, 3 DESC, product LIMIT %s""",
    "postgresql": """
        SELECT j.value AS product, COUNT(DISTINCT o.id), COUNT(DISTINCT o.customer_id)
        FROM integration_localorder o
        CROSS JOIN LATERAL jsonb_array_elements_text(
            CASE WHEN jsonb_typeof(o.product_ids) = 'array' THEN o.product_ids
                 ELSE '[]'::jsonb END) AS j(value)
        WHERE o.id IN ({ids})
        GROUP BY product ORDER BY 2 DESC, 3 DESC, product LIMIT %s""",
}


def ticket_products(*, shop, period: Period, limit: int = 20) -> list[ProductRow]:
    ids_sql, ids_params = ticket_linked_orders(shop=shop, period=period).values("pk").query \
        .sql_with_params()
    sql = _PRODUCTS_SQL[db_connection.vendor].format(ids=ids_sql)
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [*ids_params, int(limit)])
        rows = [ProductRow(str(product), orders, customers)
                for product, orders, customers in cursor.fetchall()]
    names = product_names_of(shop=shop, product_ids=[row.product_id for row in rows])
    for row in rows:
        row.name = names.get(row.product_id, "")
    return rows


def product_names_of(*, shop, product_ids) -> dict[str, str]:
    """Offer id → name, for the given ids (one query, in chunks for a CSV of
    thousands: databases cap the parameters of one statement)."""
    ids, found = [str(i) for i in product_ids], {}
    for start in range(0, len(ids), 500):
        found.update(ProductName.objects.for_shop(shop).filter(
            product_id__in=ids[start:start + 500]).values_list("product_id", "name"))
    return found


def ticket_products_note_text(*, shop, period: Period, rows: list[ProductRow]) -> str:
    """The merchandising note, in the shop's language (it is read in the CRM)."""
    with translation.override(shop.language):
        lines = [_("Products in support tickets, %(start)s – %(end)s (portal analytics):") % {
            "start": shop_date(period.date_from, shop.language),
            "end": shop_date(period.date_to, shop.language)}]
        for row in rows:
            orders = ngettext("%(n)d order", "%(n)d orders", row.orders) % {"n": row.orders}
            customers = ngettext("%(n)d customer", "%(n)d customers", row.customers) % {
                "n": row.customers}
            lines.append(_("%(product)s: %(orders)s, %(customers)s") % {
                "product": row.label, "orders": orders, "customers": customers})
        if not rows:
            lines.append(_("No products in orders linked to tickets."))
        return "\n".join(lines)


def ticket_products_note_write(*, shop, period: Period, customer_id: int, limit: int = 20) -> int:
    """Write the product list to RetailCRM as a note on `customer_id`.

    Why a customer note: RetailCRM notes hang on customers only
    (/api/v5/customers/notes/create) and need no performer, unlike tasks. The
    merchandising team keeps one customer card (e.g. "Merchandising") and the
    shop's admin gives its id; each export is a dated note there. The call
    goes through the shop's RetailCRM client: throttled, logged as ApiCall.

    The id is typed by a person, and a key may see several stores: a
    customer of another store answers like a missing one
    (`customer_site_check` raises CustomerOutOfScope, an ApiNotFound), so
    the note never lands in a store the shop does not own.
    """
    from integration.customers.context import customer_site_check
    from integration.vendors.retailcrm import RetailCrmClient

    customer_site_check(shop=shop, customer_id=customer_id)
    rows = ticket_products(shop=shop, period=period, limit=limit)
    text = ticket_products_note_text(shop=shop, period=period, rows=rows)
    client = RetailCrmClient.for_connection(shop.retailcrm, interactive=True)
    return client.create_note(customer_id, text)
