"""The RetailCRM emulator's back office pages: what a shop's manager sees.

Why: the demo shows the portal's effects in RetailCRM (notes, tasks) and
makes order watch react through these pages, so they must show the account's
names (never codes), answer at RetailCRM's own addresses (the widget links
there), and change an order exactly like an API edit (history + triggers).
"""

from dataclasses import replace

import pytest
from django.urls import reverse

from sandbox.retailcrm import store
from sandbox.retailcrm.models import Account, Customer, HistoryRecord, Note, Order, Task
from sandbox.retailcrm.seed import PLANS, seed_account
from sandbox.retailcrm.triggers import add_trigger
from tests.fixtures_retailcrm import SMALL_CAST


@pytest.fixture
def shop_data(db):
    info = seed_account(replace(PLANS[0], people=SMALL_CAST, fillers=6),
                        base_url="http://testserver")
    account = Account.objects.get(code="demo")
    people = {key: value["customers"]["main"] for key, value in info["people"].items()
              if "main" in value["customers"]}
    return account, people, info


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_customer_list_searches_names_phones_emails_and_order_numbers(client, shop_data):
    account, people, info = shop_data
    url = reverse("sandbox-retailcrm-customers", args=["demo"])

    everyone = html_of(client.get(url))
    by_name = html_of(client.get(url, {"q": "кузнецова"}))
    by_phone = html_of(client.get(url, {"q": "8 (916) 123-45-67"}))
    by_email = html_of(client.get(url, {"q": "IVAN.PETROV@"}))
    by_number = html_of(client.get(url, {"q": info["people"]["problem"]["newest_order_number"]}))
    nobody = html_of(client.get(url, {"q": "no-such-person"}))

    assert "Кузнецова Ольга" in everyone and "Сумма заказов" in everyone
    assert "Кузнецова Ольга" in by_name and "Петров Иван" not in by_name
    # One phone, two spellings, two customers (Анна and her husband Пётр).
    assert "Смирнова Анна" in by_phone and "Смирнов Пётр" in by_phone
    assert by_phone.split("<tbody>")[1].count("<tr>") == 2
    assert "Петров Иван" in by_email and "Кузнецова" not in by_email
    assert "Кузнецова Ольга" in by_number and "Петров Иван" not in by_number
    assert "Клиенты не найдены." in nobody


def test_the_customer_page_shows_names_money_notes_and_tasks(client, shop_data):
    account, people, _ = shop_data
    olga = Customer.objects.get(account=account, crm_id=people["problem"])

    html = html_of(client.get(f"/sandbox/retailcrm/demo/customers/{olga.crm_id}"))

    assert 'data-test="customer-name">Кузнецова Ольга' in html
    assert "Проблема с доставкой" in html and ">delivery-problem<" not in html
    assert "Курьер не дозвонился, покупательница ждёт повторную доставку." in html
    assert "Связаться с клиенткой по проблеме доставки" in html
    assert "Наталья Орлова" in html or "Екатерина Иванова" in html  # a manager by name
    total = olga.doc["totalSumm"]
    assert f"{int(total):,}".replace(",", "\u00a0") + "\u00a0₽" in html
    # The same page with a trailing slash, and a customer that does not exist.
    assert client.get(f"/sandbox/retailcrm/demo/customers/{olga.crm_id}/").status_code == 200
    assert client.get("/sandbox/retailcrm/demo/customers/99999").status_code == 404
    assert client.get("/sandbox/retailcrm/nobody/customers/").status_code == 404


def test_the_order_page_speaks_names_not_codes(client, shop_data):
    account, people, info = shop_data
    order = Order.objects.get(account=account,
                              number=info["people"]["problem"]["newest_order_number"])
    codes = {order.doc["delivery"]["code"], order.doc["orderMethod"]}

    html = html_of(client.get(f"/sandbox/retailcrm/demo/orders/{order.crm_id}/edit"))

    assert f"Заказ № {order.number}" in html
    assert "Проблема с доставкой" in html and "Трек-номер" in html
    books = account.references
    assert books["deliveryTypes"][order.doc["delivery"]["code"]]["name"] in html
    assert books["orderMethods"][order.doc["orderMethod"]]["name"] in html
    assert not any(f">{code}<" in html for code in codes)
    assert "Заказ создан" in html  # its history, newest first
    assert client.get(f"/sandbox/retailcrm/demo/orders/{order.crm_id}").status_code == 200
    assert client.get("/sandbox/retailcrm/demo/orders/1").status_code == 404


def test_the_widget_links_open_the_back_office(client, shop_data):
    """The portal's card links to `<account URL>/customers/<id>` and
    `<account URL>/orders/<id>/edit`, RetailCRM's own addresses."""
    account, people, _ = shop_data
    order = Order.objects.filter(account=account, customer_crm_id=people["vip"]).first()
    assert client.get(f"/sandbox/retailcrm/demo/customers/{people['vip']}").status_code == 200
    assert client.get(f"/sandbox/retailcrm/demo/orders/{order.crm_id}/edit").status_code == 200
    assert client.get("/sandbox/retailcrm/demo/").status_code == 302


def test_changing_the_status_records_history_and_fires_triggers(client, shop_data):
    account, people, _ = shop_data
    add_trigger(account, name="Portal", url="http://127.0.0.1:9/hook",
                params={"order_id": "{{ order.id }}", "status": "{{ order.status.code }}"})
    order = Order.objects.filter(account=account, customer_crm_id=people["delivery"]).get()
    before = HistoryRecord.objects.filter(account=account, entity="order").count()

    response = client.post(reverse("sandbox-retailcrm-order-status", args=["demo", order.crm_id]),
                           {"status": "delivery-problem"})

    assert response.status_code == 302
    assert response["Location"] == f"/sandbox/retailcrm/demo/orders/{order.crm_id}/edit?saved=1"
    order.refresh_from_db()
    assert order.status == "delivery-problem" and order.doc["status"] == "delivery-problem"
    record = HistoryRecord.objects.filter(account=account, entity="order").order_by(
        "-crm_id").first()
    assert HistoryRecord.objects.filter(account=account, entity="order").count() == before + 1
    assert record.doc["field"] == "status" and record.doc["source"] == "user"
    assert record.doc["user"] == {"id": 1} and record.api_key is None
    assert record.doc["newValue"] == {"code": "delivery-problem"}
    delivery = account.triggers.get().deliveries.get()
    assert delivery.state == "queued" and f"order_id={order.crm_id}" in delivery.body
    assert "status=delivery-problem" in delivery.body
    page = html_of(client.get(response["Location"]))
    assert "Статус заказа сохранён." in page
    row = page.split('data-test="history-row"')[1]
    assert "Статус" in row and "Доставляется" in row and "Проблема с доставкой" in row
    assert "Екатерина Иванова" in row


def test_an_unknown_status_changes_nothing(client, shop_data):
    account, people, _ = shop_data
    order = Order.objects.filter(account=account, customer_crm_id=people["delivery"]).get()
    url = reverse("sandbox-retailcrm-order-status", args=["demo", order.crm_id])

    refused = client.post(url, {"status": "on-the-moon"})

    assert refused.status_code == 400 and "Выберите статус из списка." in refused.content.decode()
    order.refresh_from_db()
    assert order.status == "delivering"
    assert client.get(url).status_code == 405
    assert client.post(reverse("sandbox-retailcrm-order-status", args=["demo", 1]),
                       {"status": "complete"}).status_code == 404


def test_the_customer_page_changes_an_order_status_and_shows_the_trigger_run(client, shop_data):
    """The demo's order-watch step starts on the customer page: one of her
    orders, a new status, and the trigger log says whether RetailCRM's
    request to the portal went out (the page reloads itself while queued)."""
    account, people, _ = shop_data
    add_trigger(account, name="Портал: смена статуса заказа", url="http://127.0.0.1:9/hook",
                params={"order_id": "{{ order.id }}"})
    order = Order.objects.filter(account=account, customer_crm_id=people["delivery"]).get()
    url = reverse("sandbox-retailcrm-customer", args=["demo", people["delivery"]])
    form = html_of(client.get(url))
    assert 'data-test="status-form"' in form and "Триггеры по заказам не запускались." in form
    assert f'<option value="{order.crm_id}" selected>{order.number} — Доставляется' in form

    refused = client.post(url + "/order-status", {"order": 999999, "status": "complete"})
    foreign = Order.objects.filter(account=account, customer_crm_id=people["problem"]).first()
    not_hers = client.post(url + "/order-status", {"order": foreign.crm_id,
                                                   "status": "complete"})
    response = client.post(url + "/order-status", {"order": order.crm_id,
                                                   "status": "delivery-problem"})

    assert refused.status_code == 400 and "Выберите заказ из списка." in refused.content.decode()
    assert not_hers.status_code == 400
    foreign.refresh_from_db()
    assert foreign.status != "complete"
    assert response.status_code == 302 and response["Location"] == f"{url}?changed={order.crm_id}"
    order.refresh_from_db()
    assert order.status == "delivery-problem"
    assert HistoryRecord.objects.filter(account=account, entity="order",
                                        doc__order__id=order.crm_id).order_by(
        "-crm_id").first().doc["source"] == "user"
    queued = html_of(client.get(response["Location"]))
    assert f"Статус заказа {order.number} сохранён: «Проблема с доставкой»." in queued
    run = queued.split('data-test="trigger-run"')[1]
    assert "Портал: смена статуса заказа" in run and "В очереди" in run
    assert f"заказ {order.number}" in run and '<meta http-equiv="refresh"' in queued
    account.triggers.get().deliveries.update(state="sent", last_status=200)
    sent = html_of(client.get(response["Location"]))
    assert "Отправлен</b>, ответ 200" in sent and '<meta http-equiv="refresh"' not in sent
    order_page = html_of(client.get(reverse("sandbox-retailcrm-order",
                                            args=["demo", order.crm_id])))
    assert "Отправлен</b>, ответ 200" in order_page.split('data-test="trigger-log"')[1]


def test_notes_and_tasks_written_through_the_api_show_up(client, shop_data):
    account, people, _ = shop_data
    ivan = Customer.objects.get(account=account, crm_id=people["delivery"])
    Note.create_numbered(account, lambda crm_id: {
        "id": crm_id, "text": "Ticket #77: Где заказ? — the customer wrote to support.",
        "createdAt": "2026-11-30 10:00:00", "customer": store.customer_stub(ivan)},
        customer_crm_id=ivan.crm_id, created_at=ivan.created_at)
    Task.create_numbered(account, lambda crm_id: {
        "id": crm_id, "text": "Ticket #77: позвонить клиенту", "performer": 2,
        "datetime": "2026-12-01 12:00", "complete": False,
        "customer": store.customer_stub(ivan)})

    html = html_of(client.get(f"/sandbox/retailcrm/demo/customers/{ivan.crm_id}"))

    notes = html.split('data-test="notes"')[1].split('data-test="tasks"')[0]
    tasks = html.split('data-test="tasks"')[1]
    assert "Ticket #77: Где заказ?" in notes and "через API" in notes
    assert "Ticket #77: позвонить клиенту" in tasks and "Алексей Смирнов" in tasks
    assert "01.12.2026 12:00" in tasks


def test_the_order_list_filters_by_status(client, shop_data):
    html = html_of(client.get("/sandbox/retailcrm/demo/orders/",
                              {"status": "delivery-problem"}))
    rows = html.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") >= 1
    assert rows.count("Проблема с доставкой") == rows.count("<tr>")
    assert "Кузнецова Ольга" in rows


def test_the_books_the_pages_read_are_the_apis_too(client, shop_data):
    """A client can name what the pages name: the same books over the API
    (objects keyed by code, §10), readable with `reference_read`."""
    from sandbox.retailcrm.seed import DEMO_READONLY_KEY

    answers = {book: client.get(f"/sandbox/retailcrm/demo/api/v5/reference/{path}",
                                HTTP_X_API_KEY=DEMO_READONLY_KEY).json()
               for path, book in (("delivery-types", "deliveryTypes"),
                                  ("payment-types", "paymentTypes"),
                                  ("payment-statuses", "paymentStatuses"),
                                  ("order-methods", "orderMethods"))}

    assert answers["deliveryTypes"]["success"] is True
    assert answers["deliveryTypes"]["deliveryTypes"]["cdek"]["name"] == "СДЭК"
    assert answers["paymentTypes"]["paymentTypes"]["bank-card"]["name"] == "Банковской картой"
    assert answers["paymentStatuses"]["paymentStatuses"]["paid"]["paymentComplete"] is True
    assert list(answers["paymentStatuses"]["paymentStatuses"])[0] == "not-paid"
    assert answers["orderMethods"]["orderMethods"]["one-click"]["name"] == "Купить в один клик"
