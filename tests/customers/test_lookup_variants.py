"""Issue 15's lookup bugs, through the widget JSON API over real HTTP, under
the RetailCRM emulator's answers to the open questions
(docs/vendors/open-questions.md R-1, R-2, R-3, R-8).

Why: each switch value is an answer a real account may give; the card must
show the right customer (whole profile, newest orders) whatever the answer,
and a lookup must not cost more requests than it needs.
"""

import time

import pytest
import requests

from integration.models import ApiCall
from sandbox.retailcrm.behaviour import set_behaviour
from sandbox.retailcrm.models import Account as RcAccount
from sandbox.retailcrm.models import Order


def _context(live_server, shop, **params):
    response = requests.get(f"{live_server.url}/api/v1/context", params=params,
                            headers={"Authorization": f"Bearer {shop.widget_token}"},
                            timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def _newest_order_number(customer_crm_id):
    return (Order.objects.filter(account__code="demo", customer_crm_id=customer_crm_id)
            .order_by("-created_at", "-crm_id").first().number)


def _searches_by_number(shop):
    return ApiCall.objects.filter(shop=shop, provider="retailcrm",
                                  path__contains="numbers").count()


# -- an order embedding only part of the customer ---------------------------
@pytest.mark.parametrize("embedded", ["full", "partial"])
def test_order_number_lookup_shows_the_whole_profile(live_server, demo_shop, rc_people,
                                                     embedded):
    set_behaviour("demo", order_customer=embedded)
    number = _newest_order_number(rc_people["vip"])
    body = _context(live_server, demo_shop, order_number=number)
    assert body["status"] == "found" and body["matched_by"] == "order_number"
    customer = body["customer"]
    assert customer["id"] == rc_people["vip"]
    assert customer["name"] == "Смирнова Анна"  # never the e-mail in place of a name
    assert customer["vip"] is True and customer["orders_count"] == 10
    assert customer["total_sum"] > 0 and "vip" in customer["segments"]
    assert body["manager"] and body["manager"]["name"]
    assert body["orders"][0]["number"] == number  # pinned
    # One order-number search per lookup: round-trip 2 reuses round-trip 1's answer.
    assert _searches_by_number(demo_shop) == 1


def test_order_number_beside_an_email_is_searched_once(live_server, demo_shop, rc_people):
    number = _newest_order_number(rc_people["vip"])
    body = _context(live_server, demo_shop, email="anna.smirnova@example.ru",
                    order_number=number)
    assert body["matched_by"] == "email" and body["orders"][0]["number"] == number
    assert _searches_by_number(demo_shop) == 1


# -- phone matching through filter[name] ------------------------------------
def _searches(shop):
    return ApiCall.objects.filter(shop=shop, provider="retailcrm",
                                  path__contains="/api/v5/customers?").count()


@pytest.mark.parametrize("match, written, person", [
    ("digits_substring", "8 (903) 555-12-34", "delivery"),
    ("whole_number", "8 926 111-22-33", "problem"),  # stored as +79261112233
    ("prefix", "+7 903 555 12 34", "delivery"),  # stored as 8 903 555 12 34
])
def test_a_phone_is_found_whatever_filter_name_matches(live_server, demo_shop, rc_people,
                                                       match, written, person):
    set_behaviour("demo", phone_match=match)
    body = _context(live_server, demo_shop, phone=written)
    assert body["status"] == "found" and body["matched_by"] == "phone"
    assert body["customer"]["id"] == rc_people[person]
    # The first form, then (only when it found nobody) the others at once:
    # ten digits, +7, 8, 7 and the number as written.
    assert _searches(demo_shop) == (1 if match == "digits_substring" else 5)


def test_the_probes_phone_form_is_tried_first(live_server, demo_shop, rc_people):
    from integration.vendors import facts

    set_behaviour("demo", phone_match="whole_number")
    facts.fact_set(demo_shop.retailcrm, facts.RC_PHONE_FORMS, "plus7", source="probe",
                   forms=["plus7"])
    body = _context(live_server, demo_shop, phone="8 926 111-22-33")
    assert body["customer"]["id"] == rc_people["problem"]
    assert _searches(demo_shop) == 1


def test_an_unknown_phone_costs_two_round_trips_at_most(live_server, demo_shop):
    set_behaviour("demo", phone_match="whole_number")
    RcAccount.objects.filter(code="demo").update(latency_ms=500)
    started = time.monotonic()
    body = _context(live_server, demo_shop, phone="+7 900 000-00-01")
    elapsed = time.monotonic() - started
    assert body["status"] == "unknown"
    assert _searches(demo_shop) == 5
    assert elapsed < 2.0  # two rounds of 0.5 s, never five


# -- e-mail case -------------------------------------------------------------
@pytest.mark.parametrize("case", ["insensitive", "sensitive"])
def test_an_address_stored_with_capitals_is_found_as_written(live_server, demo_shop, case):
    from integration.vendors.retailcrm import RetailCrmClient

    set_behaviour("demo", email_case=case)
    created = RetailCrmClient.for_connection(demo_shop.retailcrm).create_customer(
        first_name="Вера", last_name="Заглавная", email="Vera.Capital@Example.RU", site="main")
    body = _context(live_server, demo_shop, email="Vera.Capital@Example.RU")
    assert body["status"] == "found" and body["customer"]["id"] == created


@pytest.mark.parametrize("case", ["insensitive", "sensitive"])
def test_an_address_written_with_capitals_finds_the_lower_case_one(live_server, demo_shop,
                                                                   rc_people, case):
    from integration.vendors import facts

    set_behaviour("demo", email_case=case)
    body = _context(live_server, demo_shop, email="Ivan.Petrov@Example.RU")
    assert body["status"] == "found" and body["customer"]["id"] == rc_people["delivery"]
    assert _searches(demo_shop) == 2  # as written and lower-cased, in one round-trip
    if case == "sensitive":
        return
    # Once the probe found the search case-insensitive, one form is enough.
    facts.fact_set(demo_shop.retailcrm, facts.RC_EMAIL_CASE, "insensitive", source="probe")
    ApiCall.objects.all().delete()
    body = _context(live_server, demo_shop, email="Anna.Smirnova@Example.RU")
    assert body["customer"]["id"] == rc_people["vip"] and _searches(demo_shop) == 1


# -- the order of the orders list ----------------------------------------------
def _orders_of(customer_crm_id):
    rows = Order.objects.filter(account__code="demo", customer_crm_id=customer_crm_id)
    return list(rows.order_by("-created_at", "-crm_id").values_list("crm_id", flat=True))


def _order_reads(shop):
    return ApiCall.objects.filter(shop=shop, provider="retailcrm",
                                  path__contains="/api/v5/orders?").count()


@pytest.mark.parametrize("listed", ["newest_first", "oldest_first", "id_asc"])
def test_the_card_shows_the_newest_orders_whatever_the_list_order(live_server, demo_shop,
                                                                   rc_people, listed):
    set_behaviour("demo", order_list_order=listed)
    many = _orders_of(rc_people["many"])  # 45 orders: three pages of 20
    seen = []
    for page in (1, 2, 3):
        body = _context(live_server, demo_shop, email="galina@example.ru", page=page)
        assert body["orders_total_count"] == 45
        seen.append([order["id"] for order in body["orders"]])
    assert seen == [many[:20], many[20:40], many[40:]]
    # A customer with one page of orders: sorted here, one request.
    ApiCall.objects.all().delete()
    body = _context(live_server, demo_shop, email="anna.smirnova@example.ru")
    assert [order["id"] for order in body["orders"]] == _orders_of(rc_people["vip"])
    assert body["orders"][0]["status_group"] == "delivery"  # her newest is on its way
    assert _order_reads(demo_shop) == 1


def test_newest_first_costs_one_request_per_page(live_server, demo_shop):
    set_behaviour("demo", order_list_order="newest_first")
    _context(live_server, demo_shop, email="galina@example.ru")
    assert _order_reads(demo_shop) == 1


@pytest.mark.parametrize("listed", ["newest_first", "oldest_first"])
def test_the_last_order_status_field_is_the_newest_order_even_when_an_old_one_is_pinned(
        wired_shop, rc_people, listed):
    from integration.models import EventState, InboundEvent
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient
    from sandbox.hde import seed as hde_fields
    from tests.fixtures_portal import pump_dispatcher

    set_behaviour("demo", order_list_order=listed)
    orders = Order.objects.filter(account__code="demo", customer_crm_id=rc_people["vip"])
    oldest = orders.order_by("created_at", "crm_id").first()
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title=f"Вопрос по заказу {oldest.number}", description="…",
                               user_email="anna.smirnova@example.ru")
    pump_dispatcher()
    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{ticket.id}")
    assert event.state == EventState.DONE, event.last_error
    newest = orders.order_by("-created_at", "-crm_id").first()
    assert newest.status == "delivering" and oldest.status != "delivering"
    status = hde.get_ticket(ticket.id).custom_fields[hde_fields.LAST_ORDER_STATUS]
    assert status == "Доставляется"  # the newest order's, not the pinned old one's


def test_an_old_order_still_active_shows_among_the_active_ones(live_server, demo_shop,
                                                               rc_people):
    """Galina has 45 orders; her oldest is still in delivery. The card's
    first page holds the newest 20, and the active ones, however old, come
    in the same round-trip (a parallel request by the active statuses)."""
    from integration.customers.context import customer_context_invalidate

    oldest = Order.objects.filter(account__code="demo", customer_crm_id=rc_people["many"]) \
        .order_by("created_at", "crm_id").first()
    oldest.status = "delivering"
    oldest.doc = {**oldest.doc, "status": "delivering"}
    oldest.save(update_fields=["status", "doc"])
    _context(live_server, demo_shop, email="galina@example.ru")  # the status book is read
    customer_context_invalidate(shop_id=demo_shop.pk, customer_id=rc_people["many"])

    body = _context(live_server, demo_shop, email="galina@example.ru")
    active = [order for order in body["orders"] if order["bucket"] == "active"]
    assert oldest.crm_id in [order["id"] for order in active]
    assert body["orders_total_count"] == 45
    newest = _orders_of(rc_people["many"])[:20]
    assert [order["id"] for order in body["orders"]][:20] == newest  # the page is unchanged
