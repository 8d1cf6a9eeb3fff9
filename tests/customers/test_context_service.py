"""The customer context service against the RetailCRM emulator, over HTTP."""

import time

import pytest
from django.utils import translation

from integration.customers.context import (
    customer_context_get,
    customer_context_invalidate,
    order_number_in,
)
from integration.customers.types import ContextStatus, TicketInfo
from integration.models import ApiCall, CustomerLink
from sandbox.retailcrm.models import Account


@pytest.fixture
def shop(rc_connect, rc_shop):
    rc_connect()
    return rc_shop


def _calls(**filters):
    return ApiCall.objects.filter(provider="retailcrm", **filters).count()


def test_found_by_email_with_profile_orders_manager_and_history(shop, rc_people):
    context = customer_context_get(shop=shop, email="ANNA.SMIRNOVA@example.ru")
    assert context.status == ContextStatus.FOUND and context.matched_by == "email"
    customer = context.customer
    assert (customer.id, customer.name, customer.vip) == (
        rc_people["vip"], "Смирнова Анна", True)
    assert customer.orders_count == 10 and customer.total_sum > 0
    assert customer.url.endswith(f"/customers/{customer.id}")
    assert "vip" in customer.segments
    assert len(context.orders) == 10 and context.orders_total_count == 10
    created = [order.created_at for order in context.orders]
    assert created == sorted(created, reverse=True)  # newest first
    newest = context.orders[0]
    assert (newest.status_code, newest.status_group, newest.bucket) == (
        "delivering", "delivery", "active")
    assert newest.status_name and newest.status_name != newest.status_code
    assert newest.items and newest.items[0].quantity > 0 and newest.total > 0
    assert {o.bucket for o in context.orders} <= {"active", "completed", "cancelled"}
    assert context.manager is not None and context.manager.name


@pytest.mark.parametrize("written", ["+7 903 555-12-34", "89035551234", "(903) 555 12 34"])
def test_found_by_phone_in_any_format(shop, rc_people, written):
    context = customer_context_get(shop=shop, phone=written)
    assert context.status == ContextStatus.FOUND and context.matched_by == "phone"
    assert context.customer.id == rc_people["delivery"]


def test_order_number_in_the_subject_finds_the_customer_and_is_pinned(shop, rc_emulator):
    person = rc_emulator.demo["people"]["overdue"]
    oldest_number = _oldest_order_number(person["customers"]["main"])
    ticket = TicketInfo(id=1, subject=f"Где мой заказ {oldest_number}?")
    context = customer_context_get(shop=shop, ticket=ticket)
    assert context.status == ContextStatus.FOUND and context.matched_by == "order_number"
    assert context.orders[0].number == oldest_number  # pinned first
    assert context.orders[0].overdue is False or context.orders[0].bucket == "active"


def test_overdue_order_is_flagged(shop, rc_people):
    context = customer_context_get(shop=shop, email="d.sokolov@example.ru")
    active = [o for o in context.orders if o.bucket == "active"]
    assert any(o.overdue for o in active)
    assert not any(o.overdue for o in context.orders if o.bucket != "active")


def test_one_phone_for_two_customers_gives_a_chooser(shop):
    context = customer_context_get(shop=shop, phone="+7 916 123-45-67")
    assert context.status == ContextStatus.SEVERAL
    assert len(context.candidates) == 2
    assert len({c.id for c in context.candidates}) == 2


def test_unknown_and_empty_lookups(shop):
    assert customer_context_get(shop=shop, email="nobody@example.org").status == "unknown"
    empty = customer_context_get(shop=shop)
    assert empty.status == ContextStatus.UNKNOWN and "no e-mail" in empty.notice


def test_customer_without_orders(shop):
    context = customer_context_get(shop=shop, email="maria.volkova@example.ru")
    assert context.status == ContextStatus.FOUND
    assert context.orders == [] and context.orders_total_count == 0 and context.notice == ""


def test_paging_loads_more(shop):
    first = customer_context_get(shop=shop, email="galina@example.ru")
    second = customer_context_get(shop=shop, email="galina@example.ru", page=2)
    assert first.orders_total_count == 45
    assert len(first.orders) == len(second.orders) == 20
    assert not {o.id for o in first.orders} & {o.id for o in second.orders}


def test_cold_is_two_round_trips_and_warm_is_zero(shop):
    customer_context_get(shop=shop, email="ivan.petrov@example.ru")  # warms reference books
    customer_context_invalidate(shop_id=shop.pk,
                                customer_id=_id_of(shop, "ivan.petrov@example.ru"))
    ApiCall.objects.all().delete()
    customer_context_get(shop=shop, email="olga.k@example.ru")
    calls = list(ApiCall.objects.order_by("created_at").values_list("path", flat=True))
    # 1 search + orders + notes in parallel; reference books came from the cache.
    assert len(calls) == 3
    assert "/api/v5/customers?" in calls[0] and "email" in calls[0]  # round-trip 1
    assert sum("/api/v5/orders?" in c or "/customers/notes?" in c for c in calls[1:]) == 2
    ApiCall.objects.all().delete()
    warm = customer_context_get(shop=shop, email="olga.k@example.ru")
    assert warm.status == ContextStatus.FOUND and _calls() == 0
    assert warm.cache_age_seconds is not None


def test_invalidation_and_refresh_bypass_the_cache(shop):
    email = "olga.k@example.ru"
    customer_context_get(shop=shop, email=email)
    ApiCall.objects.all().delete()
    customer_context_invalidate(shop_id=shop.pk, customer_id=_id_of(shop, email))
    # The order pages read (the card's parallel read of active orders, by
    # status, is counted apart: it comes with a remembered customer).
    pages = {"path__contains": "/orders"}
    customer_context_get(shop=shop, email=email)
    assert _calls(**pages) - _calls(path__contains="extendedStatus") == 1
    customer_context_get(shop=shop, email=email, refresh=True)
    assert _calls(**pages) - _calls(path__contains="extendedStatus") == 2


def test_retailcrm_down_cold_names_retailcrm(shop):
    Account.objects.filter(code="demo").update(fault="500")
    context = customer_context_get(shop=shop, email="olga.k@example.ru")
    assert context.status == ContextStatus.UNAVAILABLE
    assert "RetailCRM" in context.notice and context.orders == []


@pytest.mark.parametrize(("fault", "en", "ru"), [
    ("500", "server error", "ошибка сервера"),
    ("502", "server error", "ошибка сервера"),
    ("429", "too many requests", "слишком много запросов"),
    ("503", "too many requests", "слишком много запросов"),
    ("html", "the answer was not what the vendor's API sends (a web page, or data cut short)",
     "ответ не похож на ответ API сервиса (веб-страница или оборванные данные)"),
])
def test_a_cold_card_says_what_retailcrm_answered(shop, fault, en, ru):
    """Whatever RetailCRM answered, the operator reads it in one sentence of
    their language: a rate limit is not "timed out" (the card's deadline can
    pass while the client waits it out), a server error is not RetailCRM's
    English, and no bracket sits inside another."""
    Account.objects.filter(code="demo").update(fault=fault)
    with translation.override("en"):
        context = customer_context_get(shop=shop, email="olga.k@example.ru")
    assert context.status == ContextStatus.UNAVAILABLE
    assert context.notice == (f"RetailCRM is unavailable right now: {en}. Try refreshing in a "
                              "minute.")
    with translation.override("ru"):
        context = customer_context_get(shop=shop, email="olga.k@example.ru")
    assert context.notice == (f"RetailCRM сейчас недоступен: {ru}. Попробуйте обновить через "
                              "минуту.")


def test_retailcrm_down_after_a_visit_shows_stale_data_with_age(shop):
    email = "olga.k@example.ru"
    fresh = customer_context_get(shop=shop, email=email)
    customer_context_invalidate(shop_id=shop.pk, customer_id=fresh.customer.id)
    Account.objects.filter(code="demo").update(fault="503")
    context = customer_context_get(shop=shop, email=email)
    assert context.status == ContextStatus.FOUND
    assert len(context.orders) == len(fresh.orders) > 0  # never "no orders"
    assert context.notice == ("RetailCRM is unavailable right now: too many requests. The card "
                              "shows what it read last.")
    assert context.cache_age_seconds is not None  # the card says how old, beside the data


def test_slow_retailcrm_answers_within_the_deadline(shop):
    Account.objects.filter(code="demo").update(latency_ms=1500)
    started = time.monotonic()
    context = customer_context_get(shop=shop, email="olga.k@example.ru", deadline=0.5)
    assert time.monotonic() - started < 1.4  # well before the 1.5 s answer
    assert context.status == ContextStatus.UNAVAILABLE and "RetailCRM" in context.notice


def test_match_is_remembered_per_hde_user(shop, rc_people):
    customer_context_get(shop=shop, email="ivan.petrov@example.ru", hde_user_id=555)
    assert CustomerLink.objects.get(shop=shop, hde_user_id=555).customer_id == rc_people[
        "delivery"]
    ApiCall.objects.all().delete()
    context = customer_context_get(shop=shop, hde_user_id=555, refresh=True)
    assert context.customer.id == rc_people["delivery"]
    assert _calls(path__contains="/api/v5/customers?") == 0  # no search: the link was used
    assert _calls(path__contains=f"/api/v5/customers/{rc_people['delivery']}") == 1


def test_order_number_pattern():
    pattern = r"\b(\d{3,10}[A-Za-zА-Яа-я]{0,3})\b"
    assert order_number_in("Где мой заказ 1001A?", pattern) == "1001A"
    assert order_number_in("no digits here", pattern) == ""
    assert order_number_in("anything", "(") == ""  # a broken pattern is no match


def _id_of(shop, email):
    return customer_context_get(shop=shop, email=email).customer.id


def _oldest_order_number(customer_crm_id):
    from sandbox.retailcrm.models import Order

    order = (Order.objects.filter(account__code="demo", customer_crm_id=customer_crm_id)
             .order_by("created_at").first())
    return order.number


def test_an_email_that_finds_nobody_falls_through_to_the_phone(shop):
    """The bug the demo showed: a ticket whose e-mail RetailCRM does not know
    but whose phone two customers share read "unknown". The e-mail's empty
    answer passes to the phone's, which offers the chooser."""
    from integration.customers.types import TicketInfo

    ticket = TicketInfo(id=0, email="new.address@example.org", phone="8 (916) 123-45-67")
    context = customer_context_get(shop=shop, ticket=ticket)
    assert context.status == ContextStatus.SEVERAL and context.matched_by == "phone"
    assert len({c.id for c in context.candidates}) == 2
