"""The RetailCRM client against the emulator over real HTTP: every method,
what it sends, what it parses, and the ApiCall row each call leaves."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import retailcrm
from django.core.cache import cache

from integration.models import ApiCall, EventSource, InboundEvent
from integration.vendors.errors import ApiNotFound, ApiValidationError
from integration.vendors.retailcrm import RetailCrmClient
from sandbox.retailcrm import store
from sandbox.retailcrm.models import Account, Order, Task
from sandbox.retailcrm.seed import DEMO_FULL_KEY, DEMO_READONLY_KEY


def test_credentials_report_missing_and_extra_rights(rc_connect):
    full = RetailCrmClient.for_connection(rc_connect()).check_credentials()
    assert full.ok and full.missing == {}
    assert full.site_access == "access_full"
    assert full.sites_available == ["main", "outlet"]
    assert {"order_write", "task_read", "integration_read"} <= set(full.extra)

    read_only = RetailCrmClient.for_connection(rc_connect(key=DEMO_READONLY_KEY))
    credentials = read_only.check_credentials()
    assert not credentials.ok
    assert set(credentials.missing) == {"customer_write", "task_write", "user_read"}
    assert credentials.extra == []


def test_test_connection_summarises_rights_stores_and_timezone(rc_connect):
    summary = RetailCrmClient.for_connection(rc_connect()).test_connection()
    # The stores by the names the shop gave them, not by their codes.
    assert "all stores: Уютный дом, Уютный дом — Аутлет;" in summary
    assert "timezone Europe/Moscow" in summary
    assert "all needed rights present" in summary

    summary = RetailCrmClient.for_connection(rc_connect(key=DEMO_READONLY_KEY)).test_connection()
    assert "missing rights, these features are off:" in summary
    assert "editing tasks (to create tasks for managers)" in summary and "task_write" not in summary


def test_account_settings_switch_parsing_to_the_account_timezone(rc_connect, rc_emulator):
    cache.clear()
    connection = rc_connect(account="second", site="second")
    client = RetailCrmClient.for_connection(connection)
    assert client.tz == ZoneInfo("Europe/Moscow")  # the shop's, until the account says
    settings = client.account_settings()
    assert (settings.timezone, settings.currency) == ("Asia/Yekaterinburg", "RUB")
    assert client.tz == ZoneInfo("Asia/Yekaterinburg")
    customer = client.customer(1)
    stored = Account.objects.get(code="agency-second").customer_set.get(crm_id=1)
    # Parsed in the account's zone, the naive vendor timestamp is the true instant.
    assert customer.created_at == stored.created_at
    # The next client of this account knows the zone without asking again.
    assert RetailCrmClient.for_connection(connection).tz == ZoneInfo("Asia/Yekaterinburg")
    demo = RetailCrmClient.for_connection(rc_connect())  # same host, other account
    assert demo.tz == ZoneInfo("Europe/Moscow")


def test_customers_by_email_is_exact_and_respects_the_store(rc_connect, rc_people):
    client = RetailCrmClient.for_connection(rc_connect())
    found = client.customers_by_email("Anna.Smirnova@Example.RU")
    assert [c.id for c in found] == [rc_people["vip"]]
    anna = found[0]
    assert anna.vip and anna.full_name == "Смирнова Анна"
    assert anna.segments == ["VIP-клиенты", "Постоянные покупатели"]
    assert anna.custom_fields == {"loyalty_card": f"77{anna.id:06d}"}
    # One e-mail on two stores: the shop's store only, or both without one.
    assert [c.site for c in client.customers_by_email("elena.m@example.ru")] == ["main"]
    everywhere = RetailCrmClient.for_connection(rc_connect(site=""))
    assert sorted(c.site for c in everywhere.customers_by_email("elena.m@example.ru")) == [
        "main", "outlet"]
    assert client.customers_by_email("smirnova@example.ru") == []  # substring is not a match


@pytest.mark.parametrize("typed, person", [
    ("+79035551234", "delivery"),       # stored as "8 903 555 12 34"
    ("8-999-222-33-44", "phone_only"),  # stored as "+7 (999) 222-33-44", no e-mail
    ("7 926 111 22 33", "problem"),     # stored as "+79261112233"
])
def test_customers_by_phone_normalises_every_format(rc_client, rc_people, typed, person):
    assert [c.id for c in rc_client.customers_by_phone(typed)] == [rc_people[person]]


def test_one_phone_shared_by_two_customers_finds_both(rc_client, rc_people):
    found = rc_client.customers_by_phone("89161234567")
    assert sorted(c.id for c in found) == sorted([rc_people["vip"], rc_people["vip_twin"]])
    assert rc_client.customers_by_phone("+7 900 100-20-30") == []
    assert rc_client.customers_by_phone("not a phone") == []


def test_customer_by_id_and_not_found(rc_client, rc_people, rc_shop):
    customer = rc_client.customer(rc_people["phone_only"])
    assert customer.email == "" and customer.phones == ["+7 (999) 222-33-44"]
    assert customer.orders_count == 2 and customer.total_summ > 0
    with pytest.raises(ApiNotFound):
        rc_client.customer(99999)
    row = ApiCall.objects.filter(shop=rc_shop).order_by("-id").first()
    assert (row.status_code, row.outcome) == (404, "not_found")
    assert row.path == "/sandbox/retailcrm/demo/api/v5/customers/99999?by=id"


def test_customer_orders_are_newest_first_and_paginated(rc_client, rc_people):
    first = rc_client.customer_orders(rc_people["many"])
    assert (first.total_count, first.total_pages, first.limit) == (45, 3, 20)
    assert first.items[0].status == "assembling"
    dates = [o.created_at for o in first.items]
    assert dates == sorted(dates, reverse=True)
    last = rc_client.customer_orders(rc_people["many"], page=3)
    assert len(last.items) == 5 and not last.has_next
    assert rc_client.customer_orders(rc_people["many"], limit=50).total_pages == 1
    with pytest.raises(ValueError):
        rc_client.customer_orders(rc_people["many"], limit=25)
    assert rc_client.customer_orders(rc_people["new"]).items == []


def test_orders_by_number_parse_delivery_payments_and_items(rc_client, rc_emulator):
    number = rc_emulator.demo["people"]["problem"]["newest_order_number"]
    (order,) = rc_client.orders_by_number(number)
    assert order.status == "delivery-problem" and order.number == number
    assert order.customer_id == rc_emulator.demo["people"]["problem"]["customers"]["main"]
    assert order.items and order.items[0].name and order.items[0].price > 0
    assert order.total_summ == pytest.approx(order.summ + order.delivery_cost)
    overdue = rc_client.orders_by_number(
        rc_emulator.demo["people"]["overdue"]["newest_order_number"])[0]
    assert overdue.delivery_date < datetime.now(ZoneInfo("Europe/Moscow")).date()
    complete = rc_client.orders_by_number(
        rc_emulator.demo["people"]["phone_only"]["newest_order_number"])[0]
    assert complete.status == "complete" and complete.paid_amount == complete.total_summ
    assert rc_client.orders_by_number("0000Z") == []


def test_order_history_pages_by_cursor_and_flags_our_own_changes(rc_client, rc_emulator):
    cursor, seen = None, []
    while True:
        batch = rc_client.order_history(cursor)
        seen.extend(r.id for r in batch.records)
        cursor = batch.last_id
        if not batch.more:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) > 100
    assert rc_client.order_history(cursor).records == []

    account = Account.objects.get(code="demo")
    number = rc_emulator.demo["people"]["delivery"]["newest_order_number"]
    store.edit_order(account, None, Order.objects.get(account=account, number=number),
                     {"status": "delivery-problem"})
    official = retailcrm.v5(rc_emulator.demo["url"], DEMO_FULL_KEY)
    assert official.order_edit({"id": Order.objects.get(number=number).crm_id,
                                "status": "delivered"}, "id", "main").is_successful()

    by_someone, by_us = rc_client.order_history(cursor).records
    assert (by_someone.field, by_someone.old_value, by_someone.new_value) == (
        "status", {"code": "delivering"}, {"code": "delivery-problem"})
    assert by_someone.source == "user" and not by_someone.by_this_key
    assert by_someone.order_number == number
    assert by_us.source == "api" and by_us.by_this_key and by_us.status == "delivered"


def test_notes_list_and_create(rc_client, rc_people):
    before = rc_client.customer_notes(rc_people["vip"])
    assert before.total_count == 2
    note_id = rc_client.create_note(rc_people["vip"], "Тикет #42: клиентка спрашивала о доставке",
                                    manager_id=2)
    after = rc_client.customer_notes(rc_people["vip"])
    assert after.total_count == 3
    assert (after.items[0].id, after.items[0].manager_id) == (note_id, 2)
    assert after.items[0].customer_id == rc_people["vip"]
    with pytest.raises(ApiValidationError) as caught:
        rc_client.create_note(99999, "nobody")
    assert "customer" in caught.value.errors


def test_create_task_sends_performer_and_minute_precision_due(rc_client, rc_people,
                                                              rc_emulator):
    order = rc_client.orders_by_number(
        rc_emulator.demo["people"]["delivery"]["newest_order_number"])[0]
    due = datetime(2026, 12, 1, 12, 30, 45, tzinfo=ZoneInfo("UTC"))
    task_id = rc_client.create_task(text="Перезвонить по тикету #42", performer_id=3,
                                    customer_id=rc_people["delivery"], order_id=order.id,
                                    commentary="Клиент ждёт курьера", due=due)
    stored = Task.objects.get(account__code="demo", crm_id=task_id).doc
    assert stored["datetime"] == "2026-12-01 15:30"  # Moscow time, no seconds
    assert stored["performer"] == 3 and stored["order"]["number"] == order.number
    with pytest.raises(ApiValidationError) as caught:
        rc_client.create_task(text="x", performer_id=999)
    assert caught.value.errors == {"performerId": "User not found."}


def test_create_customer_then_find_it_and_see_it_in_history(rc_client, rc_connect):
    customer_id = rc_client.create_customer(first_name="Новый", last_name="Клиент",
                                            email="new.client@example.ru",
                                            phone="+7 (901) 000-00-01")
    (found,) = rc_client.customers_by_phone("89010000001")
    assert found.id == customer_id and found.site == "main" and found.custom_fields == {}
    # A key that sees several stores must say which one (§3).
    no_store = RetailCrmClient.for_connection(rc_connect(site=""))
    with pytest.raises(ApiValidationError, match="Parameter 'site' is missing"):
        no_store.create_customer(first_name="Без", email="nostore@example.ru")


def test_users_statuses_groups_and_sites(rc_client):
    users = rc_client.users()
    assert [u.id for u in users] == [1, 2, 3, 4, 5]
    assert not users[4].active
    manager = rc_client.user(3)
    assert manager.full_name == "Наталья Орлова" and manager.position.startswith("Менеджер")
    statuses = rc_client.statuses()
    assert statuses["delivery-problem"].name == "Проблема с доставкой"
    assert statuses["delivery-problem"].group == "delivery"
    groups = rc_client.status_groups()
    assert list(groups) == ["new", "approval", "assembling", "delivery", "complete", "cancel"]
    assert groups["delivery"].process and not groups["complete"].process
    assert set(rc_client.sites()) == {"main", "outlet"}


def test_every_call_writes_an_api_call_row_without_the_key(rc_connect, rc_shop):
    event = InboundEvent.objects.create(shop=rc_shop, source=EventSource.HDE_WEBHOOK,
                                        source_key="t-1")
    client = RetailCrmClient.for_connection(rc_connect(), interactive=True, event=event,
                                            request_id="req-123")
    client.statuses()
    client.customers_by_email("anna.smirnova@example.ru")
    rows = list(ApiCall.objects.filter(shop=rc_shop).order_by("id"))
    assert [(r.method, r.status_code, r.outcome) for r in rows] == [
        ("GET", 200, "ok"), ("GET", 200, "ok")]
    assert rows[0].path.endswith("/api/v5/reference/statuses")
    assert "/api/v5/customers?filter" in rows[1].path
    assert all(r.event_id == event.pk and r.request_id == "req-123" and r.interactive
               for r in rows)
    assert all(DEMO_FULL_KEY not in r.path + r.error for r in rows)
    assert all(r.provider == "retailcrm" and r.duration_ms >= 0 for r in rows)


def test_tasks_due_in_the_past_are_still_accepted(rc_client):
    """The vendor does not validate due dates; neither does the client."""
    past = datetime.now(ZoneInfo("UTC")) - timedelta(days=1)
    assert rc_client.create_task(text="Old", performer_id=2, due=past) > 0
