"""Order watch end to end over real HTTP: a RetailCRM user changes an order in
the emulator, the portal polls `orders/history` (or receives the trigger),
and the HDE emulator ends with exactly one proactive ticket or comment."""

import json
import re

import pytest
import requests
from django.urls import reverse

from integration.models import (
    EventSource,
    EventState,
    InboundEvent,
    LocalOrder,
    OrderWatch,
    ProductName,
    SecretKind,
    SideEffect,
    TicketRecord,
)
from integration.orders.watch import order_watch_poll
from integration.tenancy.secrets import shop_secret_issue
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.retailcrm.models import Account, ApiKey, Order
from sandbox.retailcrm.seed import FULL_SCOPES
from tests.fixtures_portal import URGENT
from tests.workers import crm_status_create, crm_status_delete

# A second key of the same account: the shop's managers working in RetailCRM
# (changes made with the portal's own key are skipped by design).
MANAGER_KEY = "managerUiKey5Rb8Yt2Wq7Ue3Io9Pa"


def crm_edit(url, order_id, **fields):
    """A RetailCRM user changes an order (POST /orders/{id}/edit, §11.4)."""
    response = requests.post(f"{url}/api/v5/orders/{order_id}/edit",
                             data={"by": "id", "order": json.dumps(fields)},
                             headers={"X-API-KEY": MANAGER_KEY}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["order"]


def newest_order(emulator_info, person):
    number = emulator_info["people"][person]["newest_order_number"]
    return Order.objects.get(account__code=emulator_info["code"], number=number)


@pytest.fixture
def watched(wired_shop, rc_emulator):
    """The wired demo shop with its order watch started ("from now")."""
    for code in ("demo", "agency-second"):
        ApiKey.objects.create(account=Account.objects.get(code=code),
                              key=MANAGER_KEY if code == "demo" else MANAGER_KEY + "B",
                              scopes=FULL_SCOPES)
    OrderWatch.objects.create(shop=wired_shop)
    result = order_watch_poll(shop_id=wired_shop.pk)
    assert result.state == "started", result
    return wired_shop


def hde_tickets_of(shop, email):
    hde = HelpDeskEddyClient.for_connection(shop.helpdeskeddy)
    users = hde.find_users_by_email(email)
    return hde.user_tickets(users[0].id) if users else []


def test_first_poll_starts_from_now_with_the_default_problem_status(watched, rc_emulator):
    watch = OrderWatch.objects.get(shop=watched)
    newest = max(r.crm_id for r in Account.objects.get(code="demo").historyrecord_set.filter(
        entity="order"))
    assert watch.since_id == newest and watch.started_at is not None
    assert watch.problem_statuses == ["delivery-problem"]
    assert watch.problem_status_names == {"delivery-problem": "Проблема с доставкой"}
    assert not InboundEvent.objects.filter(shop=watched).exists()  # nothing replayed
    assert order_watch_poll(shop_id=watched.pk).events == 0


def test_problem_status_opens_one_proactive_ticket(watched, rc_emulator):
    order = newest_order(rc_emulator.demo, "many")  # Галина: no HDE tickets yet
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="delivery-problem")
    result = order_watch_poll(shop_id=watched.pk)
    assert result.state == "done" and result.events == 1

    event = InboundEvent.objects.get(shop=watched, source=EventSource.RETAILCRM_HISTORY)
    assert event.state == EventState.DONE, event.last_error
    assert event.source_key.startswith(f"order:{order.crm_id}:")
    tickets = hde_tickets_of(watched, "galina@example.ru")
    assert len(tickets) == 1
    ticket = tickets[0]
    assert order.number in ticket.title and "Проблема с доставкой" in ticket.title
    assert "proactive" in ticket.tags and ticket.priority_id == URGENT  # rule: order in delivery
    hde = HelpDeskEddyClient.for_connection(watched.helpdeskeddy)
    opening = hde.list_posts(ticket.id)[0]
    assert order.number in opening.text and "RetailCRM" in opening.text
    # Her phone as people write it, whatever spelling RetailCRM keeps.
    assert "galina@example.ru, +7 912 345-67-89)" in opening.text, opening.text
    assert opening.user_id != ticket.user_id  # staff-authored: create_from_user=0
    assert len(hde.list_posts(ticket.id)) == 1  # no public reply: the customer is not told
    record = TicketRecord.objects.get(shop=watched, ticket_id=ticket.id)
    assert record.order_number == order.number and record.customer_id == order.customer_crm_id

    local = LocalOrder.objects.get(shop=watched, order_id=order.crm_id)
    assert (local.status, local.status_group) == ("delivery-problem", "delivery")
    assert local.customer_id == order.customer_crm_id and local.number == order.number
    assert float(local.total) == order.doc["totalSumm"]
    assert local.product_ids == list(dict.fromkeys(i["offer"]["id"] for i in order.doc["items"]))
    # What the items call their offers, for the analytics' product names.
    names = dict(ProductName.objects.for_shop(watched).values_list("product_id", "name"))
    assert names == {str(i["offer"]["id"]): i["offer"]["displayName"] for i in order.doc["items"]}


def test_the_same_change_twice_makes_one_ticket(watched, rc_emulator):
    order = newest_order(rc_emulator.demo, "many")
    url = rc_emulator.demo["url"]
    for status in ("delivery-problem", "delivering", "delivery-problem"):
        crm_edit(url, order.crm_id, status=status)
        order_watch_poll(shop_id=watched.pk)
    assert len(hde_tickets_of(watched, "galina@example.ru")) == 1
    effects = SideEffect.objects.filter(shop=watched, key__endswith=":proactive")
    assert [e.key for e in effects] == [f"order:{order.crm_id}:status:delivery-problem:proactive"]
    assert InboundEvent.objects.filter(shop=watched).count() == 3
    assert not InboundEvent.objects.filter(shop=watched).exclude(state=EventState.DONE).exists()


def test_customer_with_an_open_ticket_gets_a_comment_instead(watched, rc_emulator):
    order = newest_order(rc_emulator.demo, "delivery")  # Иван has an open ticket
    before = hde_tickets_of(watched, "ivan.petrov@example.ru")
    open_ticket = next(t for t in before if not t.is_closed)
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="delivery-problem")
    order_watch_poll(shop_id=watched.pk)
    after = hde_tickets_of(watched, "ivan.petrov@example.ru")
    assert len(after) == len(before)
    hde = HelpDeskEddyClient.for_connection(watched.helpdeskeddy)
    notes = [c.text for c in hde.list_comments(open_ticket.id) if order.number in c.text]
    assert len(notes) == 1 and "Проблема с доставкой" in notes[0]
    effect = SideEffect.objects.get(shop=watched, key__endswith=":proactive")
    assert effect.result.startswith(f"comment:{open_ticket.id}:")


def test_status_not_in_the_problem_list_opens_nothing(watched, rc_emulator):
    OrderWatch.objects.filter(shop=watched).update(problem_statuses=["redirect"])
    order = newest_order(rc_emulator.demo, "many")
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="delivery-problem")
    order_watch_poll(shop_id=watched.pk)
    assert hde_tickets_of(watched, "galina@example.ru") == []
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="redirect")
    order_watch_poll(shop_id=watched.pk)
    assert len(hde_tickets_of(watched, "galina@example.ru")) == 1


def test_notify_customer_adds_one_public_reply(watched, rc_emulator):
    OrderWatch.objects.filter(shop=watched).update(notify_customer=True, hde_department_id=2)
    order = newest_order(rc_emulator.demo, "many")
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="delivery-problem")
    order_watch_poll(shop_id=watched.pk)
    ticket = hde_tickets_of(watched, "galina@example.ru")[0]
    assert ticket.department_id == 2
    posts = HelpDeskEddyClient.for_connection(watched.helpdeskeddy).list_posts(ticket.id)
    assert len(posts) == 2 and order.number in posts[1].text


def test_own_changes_are_skipped(watched, rc_emulator):
    """An edit made with the portal's own key (`apiKey.current`) is no event."""
    order = newest_order(rc_emulator.demo, "many")
    requests.post(f"{rc_emulator.demo['url']}/api/v5/orders/{order.crm_id}/edit",
                  data={"by": "id", "order": json.dumps({"status": "delivery-problem"})},
                  headers={"X-API-KEY": rc_emulator.demo["api_key"]}, timeout=10)
    result = order_watch_poll(shop_id=watched.pk)
    assert result.records == 1 and result.events == 0
    assert OrderWatch.objects.get(shop=watched).since_id == result.since_id


def test_widget_shows_the_new_status_at_once(watched, rc_emulator, live_server):
    order = newest_order(rc_emulator.demo, "many")

    def widget_status():
        body = requests.get(f"{live_server.url}/api/v1/context",
                            params={"email": "galina@example.ru"}, timeout=10,
                            headers={"Authorization": f"Bearer {watched.widget_token}"}).json()
        return next(o["status_code"] for o in body["orders"] if o["id"] == order.crm_id)

    assert widget_status() == "assembling"  # now cached for the shop's TTL (60 s)
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="send-to-delivery")
    assert widget_status() == "assembling"  # the cache still answers
    order_watch_poll(shop_id=watched.pk)
    assert widget_status() == "send-to-delivery"


def test_trigger_call_gives_the_same_result_as_polling(watched, rc_emulator, client):
    order = newest_order(rc_emulator.demo, "many")
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="delivery-problem")
    secret = shop_secret_issue(shop=watched, kind=SecretKind.RETAILCRM_TRIGGER)
    response = client.post(reverse("hook-retailcrm", args=[watched.public_id]),
                           data={"order_id": order.crm_id, "status": "delivery-problem"},
                           content_type="application/json", HTTP_X_WEBHOOK_SECRET=secret)
    assert response.status_code == 202
    event = InboundEvent.objects.get(shop=watched, source=EventSource.RETAILCRM_TRIGGER)
    assert event.state == EventState.DONE, event.last_error
    assert len(hde_tickets_of(watched, "galina@example.ru")) == 1
    assert LocalOrder.objects.get(shop=watched, order_id=order.crm_id).status == \
        "delivery-problem"
    # The poll then sees the same change in history: no second ticket.
    assert order_watch_poll(shop_id=watched.pk).events == 1
    assert len(hde_tickets_of(watched, "galina@example.ru")) == 1
    assert SideEffect.objects.filter(shop=watched, key__endswith=":proactive").count() == 1


def test_deleted_order_is_forgotten(watched, rc_emulator, client):
    order = newest_order(rc_emulator.demo, "many")
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="send-to-delivery")
    order_watch_poll(shop_id=watched.pk)
    assert LocalOrder.objects.filter(shop=watched, order_id=order.crm_id).exists()
    Order.objects.filter(pk=order.pk).delete()
    secret = shop_secret_issue(shop=watched, kind=SecretKind.RETAILCRM_TRIGGER)
    client.post(reverse("hook-retailcrm", args=[watched.public_id]),
                data={"order_id": order.crm_id}, content_type="application/json",
                HTTP_X_WEBHOOK_SECRET=secret)
    assert not LocalOrder.objects.filter(shop=watched, order_id=order.crm_id).exists()


def test_trigger_for_another_stores_order_is_ignored(watched, rc_emulator, client):
    outlet = Order.objects.filter(account__code="demo", site="outlet").first()
    secret = shop_secret_issue(shop=watched, kind=SecretKind.RETAILCRM_TRIGGER)
    response = client.post(reverse("hook-retailcrm", args=[watched.public_id]),
                           data={"order_id": outlet.crm_id, "status": outlet.status},
                           content_type="application/json", HTTP_X_WEBHOOK_SECRET=secret)
    assert response.status_code == 202
    assert InboundEvent.objects.get(shop=watched).state == EventState.DONE
    assert not LocalOrder.objects.filter(shop=watched).exists()


def test_the_ticket_job_enriches_the_proactive_ticket_for_the_right_customer(watched,
                                                                           rc_emulator):
    """HDE's dispatcher reports our new ticket like any other; the record row
    written first tells the ticket job which customer and order it is about."""
    from tests.fixtures_portal import pump_dispatcher

    order = newest_order(rc_emulator.demo, "many")
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="delivery-problem")
    order_watch_poll(shop_id=watched.pk)
    ticket = hde_tickets_of(watched, "galina@example.ru")[0]
    pump_dispatcher()
    event = InboundEvent.objects.get(shop=watched, event_type="new_ticket")
    assert event.state == EventState.DONE, event.last_error
    record = TicketRecord.objects.get(shop=watched, ticket_id=ticket.id)
    assert record.customer_id == order.customer_crm_id and record.order_number == order.number
    comments = HelpDeskEddyClient.for_connection(watched.helpdeskeddy).list_comments(ticket.id)
    assert len(comments) == 1 and "Пагинова Галина" in comments[0].text


def test_a_status_created_after_the_watch_started_is_named_in_the_ticket(watched, rc_emulator):
    """The shop creates a status in RetailCRM ("Курьер потерял посылку")
    after the watch cached the status book, and marks it a problem status.
    The order moved into it opens a ticket that names it, and the local
    copy knows its group: the book is read again for a status it lacks,
    instead of carrying the code into HDE and the analytics for an hour."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    crm_status_create("courier-lost", "Курьер потерял посылку", ordering=235)
    OrderWatch.objects.filter(shop=watched).update(
        problem_statuses=["delivery-problem", "courier-lost"])
    order = newest_order(rc_emulator.demo, "many")
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):
        crm_edit(rc_emulator.demo["url"], order.crm_id, status="courier-lost")
        assert order_watch_poll(shop_id=watched.pk).events == 1

    [ticket] = hde_tickets_of(watched, "galina@example.ru")
    assert "Курьер потерял посылку" in ticket.title and "courier-lost" not in ticket.title
    local = LocalOrder.objects.get(shop=watched, order_id=order.crm_id)
    assert (local.status, local.status_group) == ("courier-lost", "delivery")

    # A second new status used seconds after that read: the books just read
    # lack it, and are read again at once (what is written stays written).
    crm_status_create("parcel-damaged", "Повреждён при доставке", ordering=236)
    OrderWatch.objects.filter(shop=watched).update(
        problem_statuses=["delivery-problem", "courier-lost", "parcel-damaged"])
    other = newest_order(rc_emulator.demo, "delivery")  # Иван
    with time_machine.travel(timezone.now() + timedelta(minutes=2, seconds=10), tick=True):
        crm_edit(rc_emulator.demo["url"], other.crm_id, status="parcel-damaged")
        assert order_watch_poll(shop_id=watched.pk).events == 1
    # Иван has an open ticket: order watch comments there instead.
    hde = HelpDeskEddyClient.for_connection(watched.helpdeskeddy)
    comments = [c.text for t in hde_tickets_of(watched, "ivan.petrov@example.ru")
                for c in hde.list_comments(t.id)]
    assert any("Повреждён при доставке" in text for text in comments), comments
    assert not any("parcel-damaged" in text for text in comments)


def test_a_status_deleted_from_the_book_is_worded_never_coded(watched, rc_emulator):
    """The order stays in a status RetailCRM's book no longer has: the
    proactive ticket says "Статус без названия", its text says "статус без
    названия", and the customer's notice leaves the status out."""
    crm_status_create("gone-status", "Уйдёт из справочника", ordering=237)
    OrderWatch.objects.filter(shop=watched).update(
        problem_statuses=["delivery-problem", "gone-status"], notify_customer=True)
    order = newest_order(rc_emulator.demo, "many")
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="gone-status")
    crm_status_delete("gone-status")
    assert order_watch_poll(shop_id=watched.pk).events == 1

    [ticket] = hde_tickets_of(watched, "galina@example.ru")
    assert ticket.title == f"Статус без названия: заказ {order.number}"
    hde = HelpDeskEddyClient.for_connection(watched.helpdeskeddy)
    posts = [post.text for post in hde.list_posts(ticket.id)]
    assert "Заказ перешёл в статус без названия в RetailCRM" in posts[0]
    assert any(f"вашим заказом {order.number} и уже" in text for text in posts[1:]), posts
    assert not any("gone-status" in text for text in posts)


def test_local_orders_keep_the_status_name_they_were_read_with(watched, rc_emulator, client,
                                                               make_member):
    """A manager moves an order; order watch reads it and keeps RetailCRM's
    name of its status with the copy. The local orders list then shows that
    name while RetailCRM cannot be read, and after the status has left
    RetailCRM's book: never the code."""
    from django.core.cache import cache

    crm_status_create("courier-late", "Курьер опаздывает", ordering=238)
    order = newest_order(rc_emulator.demo, "many")
    crm_edit(rc_emulator.demo["url"], order.crm_id, status="courier-late")
    assert order_watch_poll(shop_id=watched.pk).state == "done"
    local = LocalOrder.objects.get(shop=watched, order_id=order.crm_id)
    assert (local.status, local.status_name) == ("courier-late", "Курьер опаздывает")

    client.force_login(make_member(watched.agency))
    listing = reverse("admin:integration_localorder_changelist")

    def row_status(**headers) -> str:
        page = client.get(listing, {"q": order.number}, **headers).content.decode()
        cell = re.search(r'<td class="field-status_in_words">(.*?)</td>', page, re.S)
        assert cell, page[:3000]
        return cell.group(1)

    cache.clear()
    Account.objects.filter(code="demo").update(fault="502")  # RetailCRM answers 502
    assert row_status(HTTP_ACCEPT_LANGUAGE="en") == "Курьер опаздывает"
    Account.objects.filter(code="demo").update(fault="")
    crm_status_delete("courier-late")
    cache.clear()
    assert row_status(HTTP_ACCEPT_LANGUAGE="en") == "Курьер опаздывает"
    # A copy read before names were kept: words, not the code.
    LocalOrder.objects.filter(pk=local.pk).update(status_name="")
    assert row_status(HTTP_ACCEPT_LANGUAGE="en") == "unnamed status"
    assert row_status(HTTP_ACCEPT_LANGUAGE="ru") == "статус без названия"
