"""Support analytics against a seeded record and order copies whose answers
are worked out by hand below (period: October 2026, shop time Moscow)."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integration.analytics import reports as analytics
from integration.models import LocalOrder, ProductName, ShopSettings, TicketRecord
from tests.refusals import not_found

MSK = ZoneInfo("Europe/Moscow")
HIGH, NORMAL = 1, 2


# What the orders' items call the offers (kept by the order watch).
PRODUCT_NAMES = {"11": "Электрический чайник", "12": "Кофеварка капельная",
                 "13": "Набор кастрюль, 6 предметов", "14": "Сковорода 28 см",
                 "15": "Термокружка 450 мл"}


def at(month, day, hour=12, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


def seed_analytics(shop, *, other_shop=None):
    """The cast (customer ids 101–108):

    C1 101: tickets Oct 5 10:00 (high, closed 10:30) and Oct 20 (normal);
            purchases Sep 20 (1000, A-100, named by the first ticket) and
            Oct 10 (2000) → contacted, repeats.
    C2 102: ticket Oct 8 (normal, closed after 5 h); purchase Oct 3 (500),
            cancelled order Oct 15 (900) → contacted, no repeat.
    C3 103: ticket Oct 12 (normal, closed Oct 15); purchases Oct 31 23:30
            (800, still October in Moscow) and Nov 2 (700, after the period)
            → contacted, repeats.
    C4 104: ticket Oct 25 without priority, open; no orders.
    C5 105: ticket Sep 28 only (outside); purchases Oct 2, Oct 9 → not
            contacted, repeats.
    C6 106: purchase Oct 4 (A-600, named by a ticket without customer).
    C7 107: purchases Oct 6 and Oct 28 → not contacted, repeats.
    C8 108: only a cancelled order Oct 14 → not a buyer at all.
    A ticket without customer (Oct 7, high, closed after 10 days) and an
    order without customer (Oct 5) complete it.
    """
    ShopSettings.objects.update_or_create(shop=shop, defaults={
        "normal_priority_id": NORMAL, "high_priority_id": HIGH})
    tickets = [
        (1, 101, HIGH, at(10, 5, 10), at(10, 5, 10, 30), "A-100"),
        (2, 101, NORMAL, at(10, 20), None, ""),
        (3, 102, NORMAL, at(10, 8, 9), at(10, 8, 14), ""),
        (4, 103, NORMAL, at(10, 12), at(10, 15), ""),
        (5, 104, None, at(10, 25), None, ""),
        (6, 105, NORMAL, at(9, 28), at(9, 29), ""),
        (7, None, HIGH, at(10, 7), at(10, 17), "A-600"),
    ]
    for ticket_id, customer, priority, opened, closed, number in tickets:
        TicketRecord.objects.create(shop=shop, ticket_id=ticket_id, customer_id=customer,
                                    priority_id=priority, opened_at=opened, closed_at=closed,
                                    order_number=number)
    orders = [
        (1, 101, "A-100", at(9, 20), "complete", "1000", [11, 12]),
        (2, 101, "A-101", at(10, 10), "complete", "2000", [11]),
        (3, 102, "A-200", at(10, 3), "complete", "500", ["12", 13]),
        (4, 102, "A-201", at(10, 15), "cancel", "900", [11, 14]),
        (5, 103, "A-300", at(10, 31, 23, 30), "new", "800", [13]),
        (6, 103, "A-301", at(11, 2), "new", "700", [11]),
        (7, 105, "A-500", at(10, 2), "complete", "300", [11]),
        (8, 105, "A-501", at(10, 9), "complete", "400", [11]),
        (9, 106, "A-600", at(10, 4), "complete", "100", [15, 15]),
        (10, 107, "A-700", at(10, 6), "complete", "250", [11]),
        (11, 107, "A-701", at(10, 28), "delivery", "350", [11]),
        (12, 108, "A-800", at(10, 14), "cancel", "999", [16]),
        (13, None, "A-900", at(10, 5), "complete", "50", [11]),
    ]
    for order_id, customer, number, created, group, total, products in orders:
        LocalOrder.objects.create(
            shop=shop, order_id=order_id, customer_id=customer, number=number,
            created_at=created, status=group, status_group=group, total=Decimal(total),
            currency="RUB", product_ids=products, synced_at=timezone.now())
    for product_id, name in PRODUCT_NAMES.items():
        ProductName.objects.create(shop=shop, product_id=product_id, name=name)
    if other_shop is not None:
        ProductName.objects.create(shop=other_shop, product_id="11", name="Other shop's kettle")
        # Another agency's shop with the same customer ids: must not count.
        TicketRecord.objects.create(shop=other_shop, ticket_id=1, customer_id=106,
                                    priority_id=HIGH, opened_at=at(10, 1), order_number="A-100")
        for i in range(5):
            LocalOrder.objects.create(
                shop=other_shop, order_id=100 + i, customer_id=106 if i else 102,
                number="A-100", created_at=at(10, 2 + i), status_group="complete",
                total=Decimal("10000"), product_ids=[99, 11], synced_at=timezone.now())


def october(shop):
    return analytics.Period.of_dates(shop=shop, date_from=datetime(2026, 10, 1).date(),
                                     date_to=datetime(2026, 10, 31).date())


@pytest.fixture
def seeded(two_tenants):
    shop = two_tenants["a"]["shop"]
    seed_analytics(shop, other_shop=two_tenants["b"]["shop"])
    return shop


@pytest.mark.django_db
def test_repeat_purchase_rates_match_the_hand_count(seeded):
    report = analytics.repeat_purchase_report(shop=seeded, period=october(seeded))
    # Contacted: C1..C4; C1 and C3 buy again after their first ticket.
    assert (report.contacted.customers, report.contacted.repeaters) == (4, 2)
    assert report.contacted.rate == 0.5
    # Not contacted: C5, C6, C7 (C8 only cancelled; C1–C4 wrote); C5 and C7 repeat.
    assert (report.not_contacted.customers, report.not_contacted.repeaters) == (3, 2)
    by_priority = {row.key: (row.label, row.customers, row.repeaters)
                   for row in report.by_priority}
    assert by_priority == {"1": ("high", 1, 1), "2": ("normal", 2, 1),
                           "None": ("not set", 1, 0)}
    by_handling = [(row.key, row.customers, row.repeaters) for row in report.by_handling]
    assert by_handling == [("lt1h", 1, 1), ("lt24h", 1, 0), ("lt7d", 1, 1), ("gte7d", 0, 0),
                           ("open", 1, 0)]


@pytest.mark.django_db
def test_customer_value_by_priority(seeded):
    rows = {row.priority_id: row for row in
            analytics.ticket_value_by_priority(shop=seeded, period=october(seeded))}
    high, normal, unset = rows[HIGH], rows[NORMAL], rows[None]
    # High: tickets 1 and 7 (no customer); C1's purchases 1000 + 2000.
    assert (high.tickets, high.customers, high.orders, high.total, high.average) == (
        2, 1, 2, Decimal("3000"), Decimal("3000.00"))
    # Normal: C1 (3000, 2 orders), C2 (500; the cancelled 900 is no purchase),
    # C3 (800; Nov 2 is after the period).
    assert (normal.tickets, normal.customers, normal.orders, normal.total) == (
        3, 3, 4, Decimal("4300"))
    assert normal.average == Decimal("1433.33")
    assert (unset.tickets, unset.customers, unset.orders, unset.total, unset.average) == (
        1, 1, 0, Decimal("0"), Decimal("0.00"))


@pytest.mark.django_db
def test_products_in_orders_linked_to_tickets(seeded):
    """Linked: A-100 and A-600 (named by tickets), and the October orders of
    ticket customers C1–C4 (A-101, A-200, A-201 cancelled, A-300)."""
    rows = analytics.ticket_products(shop=seeded, period=october(seeded))
    assert [(r.product_id, r.orders, r.customers) for r in rows] == [
        ("11", 3, 2), ("12", 2, 2), ("13", 2, 2), ("14", 1, 1), ("15", 1, 1)]
    # Named as the shop's own orders name them (not agency B's name for 11).
    assert rows[0].label == "Электрический чайник"
    assert len(analytics.ticket_products(shop=seeded, period=october(seeded), limit=2)) == 2
    # An offer no stored order has named yet says so instead of a bare id.
    ProductName.objects.filter(shop=seeded, product_id="15").delete()
    unnamed = analytics.ticket_products(shop=seeded, period=october(seeded))[-1]
    assert unnamed.label == "unnamed product (offer 15)"


@pytest.mark.django_db
def test_each_figure_is_a_bounded_number_of_queries(seeded):
    """Aggregation happens in the database: the query count does not grow
    with the number of tickets or orders."""
    period = october(seeded)
    with CaptureQueriesContext(connection) as before:
        analytics.repeat_purchase_report(shop=seeded, period=period)
        analytics.ticket_value_by_priority(shop=seeded, period=period)
        analytics.ticket_products(shop=seeded, period=period)
    for i in range(40):
        TicketRecord.objects.create(shop=seeded, ticket_id=1000 + i, customer_id=2000 + i,
                                    priority_id=NORMAL, opened_at=at(10, 3 + i % 20))
        LocalOrder.objects.create(shop=seeded, order_id=1000 + i, customer_id=2000 + i,
                                  created_at=at(10, 4 + i % 20), total=1,
                                  product_ids=[i], synced_at=timezone.now())
    with CaptureQueriesContext(connection) as after:
        analytics.repeat_purchase_report(shop=seeded, period=period)
        analytics.ticket_value_by_priority(shop=seeded, period=period)
        analytics.ticket_products(shop=seeded, period=period)
    assert len(after.captured_queries) == len(before.captured_queries) <= 12


@pytest.mark.django_db
def test_admin_page_shows_the_figures_and_charts(client, two_tenants, seeded):
    client.force_login(two_tenants["a"]["viewer"])
    url = reverse("admin:integration_supportanalytics_changelist")
    response = client.get(url, {"shop": seeded.pk, "date_from": "2026-10-01",
                                "date_to": "2026-10-31"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg class=\"bar-chart\"") == 5
    assert "50% (2/4)" in html and "67% (2/3)" in html
    assert "₽4,300<" in html and "₽1,433.33<" in html
    # Both axes of every chart are named, with units.
    assert html.count('class="axis-title category-axis"') == 5
    assert "Share of customers who bought again" in html and "purchases, ₽" in html
    assert 'id="products-note"' not in html  # viewers do not write to RetailCRM
    # The admin index lists the page for every role.
    assert url in client.get(reverse("admin:index")).content.decode()
    # First visit: the user's shop and the last 30 days in the shop's timezone.
    first = client.get(url).context["form"].cleaned_data
    today = timezone.localdate(timezone=MSK)
    assert (first["shop"], first["date_to"], (first["date_to"] - first["date_from"]).days) == (
        seeded, today, 29)


@pytest.mark.django_db
def test_products_csv(client, two_tenants, seeded):
    client.force_login(two_tenants["a"]["owner"])
    response = client.get(reverse("admin:integration_supportanalytics_products_csv"),
                          {"shop": seeded.pk, "date_from": "2026-10-01",
                           "date_to": "2026-10-31"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["product_id", "name", "orders", "customers"]
    assert [row[:1] + row[2:] for row in rows[1:]] == [
        ["11", "3", "2"], ["12", "2", "2"], ["13", "2", "2"], ["14", "1", "1"], ["15", "1", "1"]]
    assert rows[1][1] == "Электрический чайник"


@pytest.mark.django_db
def test_agency_a_never_sees_or_writes_for_agency_b(client, two_tenants, seeded):
    shop_b = two_tenants["b"]["shop"]
    client.force_login(two_tenants["a"]["owner"])
    params = {"shop": shop_b.pk, "date_from": "2026-10-01", "date_to": "2026-10-31"}
    page = client.get(reverse("admin:integration_supportanalytics_changelist"), params)
    html = page.content.decode()
    assert page.status_code == 200 and "<svg class=\"bar-chart\"" not in html
    assert "Shop B" not in html and "Select a valid choice" in html
    csv_response = client.get(reverse("admin:integration_supportanalytics_products_csv"),
                              params)
    assert not_found(csv_response)
    note = client.post(reverse("admin:integration_supportanalytics_products_note"),
                       {**params, "customer_id": 5})
    assert not_found(note)
    # B's owner sees B's numbers only (one ticket, customer 106, in B).
    client.force_login(two_tenants["b"]["owner"])
    report = analytics.repeat_purchase_report(shop=shop_b, period=october(shop_b))
    assert report.contacted.customers == 1
    page = client.get(reverse("admin:integration_supportanalytics_changelist"), params)
    assert "100% (1/1)" in page.content.decode()


@pytest.mark.django_db
def test_viewer_may_not_write_the_note_and_bad_periods_are_refused(client, two_tenants, seeded):
    client.force_login(two_tenants["a"]["viewer"])
    url = reverse("admin:integration_supportanalytics_products_note")
    params = {"shop": seeded.pk, "date_from": "2026-10-01", "date_to": "2026-10-31",
              "customer_id": 5}
    assert client.post(url, params).status_code == 403
    client.force_login(two_tenants["a"]["owner"])
    backwards = client.get(reverse("admin:integration_supportanalytics_changelist"),
                           {**params, "date_from": "2026-11-01"})
    assert "The period must start before it ends." in backwards.content.decode()
    # No RetailCRM connection: a message that says what to do.
    response = client.post(url, params, follow=True)
    assert "Connect RetailCRM for this shop first." in response.content.decode()
