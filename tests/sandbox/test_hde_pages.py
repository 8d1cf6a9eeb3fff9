"""The emulator's agent pages: what an operator sees, and the demo's way in.

Why: the ticket card is where the portal's work becomes visible (priority,
custom fields, tags, the internal comment, the CRM card frame), and the
new-ticket form must behave exactly like an API create, because the demo
triggers the whole flow through it.
"""

import pytest
from django.urls import reverse

from sandbox.hde import services as svc
from sandbox.hde.dispatcher import add_webhook_rule
from sandbox.hde.html import clean_html
from sandbox.hde.models import Account, Delivery, HdeUser, Ticket
from sandbox.hde.seed import CRM_CARD, ORDERS_COUNT, seed
from tests.screenshots import save_screenshot

PAGE = "/sandbox/hde/demo/ru/ticket/list/filter/id/1/ticket/{}/"  # real HDE's address shape


@pytest.fixture
def demo(db):
    seed(base_url="http://testserver")
    return Account.objects.get(code="demo")


def agent(account):
    return svc.Actor(HdeUser.objects.get(account=account, hid=1))


def test_the_ticket_page_shows_what_the_portal_wrote(client, demo):
    ticket = svc.get_ticket(demo, 4)
    svc.update_ticket(demo, ticket, {
        "priority_id": 1, "tags": ["delivery-problem"],
        "custom_fields": {str(CRM_CARD): "https://portal.example/widget/?t=abc&x=1",
                          str(ORDERS_COUNT): 2},
    }, agent(demo))
    svc.add_message(demo, ticket, text="<p>RetailCRM: <b>2 заказа</b></p>",
                    author=HdeUser.objects.get(account=demo, hid=1), is_comment=True)

    page = client.get(PAGE.format(4))

    html = page.content.decode()
    assert page.status_code == 200 and '<meta charset="utf-8">' in html
    assert "Курьер не приехал" in html
    assert '<dd class="priority" data-test="priority">Срочно</dd>' in html
    assert '<span class="tag">delivery-problem</span>' in html
    assert "<th>Количество заказов</th><td>2</td>" in html
    assert "Внутренний комментарий" in html and "<b>2 заказа</b>" in html
    assert 'src="https://portal.example/widget/?t=abc&amp;x=1"' in html
    assert "когда интеграция обработает заявку" not in html


def test_without_a_crm_card_the_sidebar_says_so(client, demo):
    html = client.get(PAGE.format(2)).content.decode()
    assert "когда интеграция обработает заявку" in html and "<iframe" not in html
    ticket = svc.get_ticket(demo, 2)
    svc.update_ticket(demo, ticket, {"custom_fields": {str(CRM_CARD): "javascript:alert(1)"}},
                      agent(demo))
    html = client.get(PAGE.format(2)).content.decode()
    assert "<iframe" not in html and "не ссылка" in html


def test_message_html_is_cleaned():
    assert clean_html('<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:x">'
                      "l</a></p>") == '<p>Hi <a>l</a></p>'
    assert clean_html("a < b & <i>c") == "a &lt; b &amp; <i>c</i>"


def test_the_list_page_links_every_ticket(client, demo):
    html = client.get("/sandbox/hde/demo/tickets/").content.decode()
    # Two links per ticket, plus the header's list and "new ticket" links.
    assert html.count('href="/sandbox/hde/demo/') == 2 * 13 + 2
    assert "Где мой заказ 1001A?" in html
    assert client.get("/sandbox/hde/nobody/tickets/").status_code == 404
    assert client.get("/sandbox/hde/demo/tickets/999/").status_code == 404
    assert client.get(PAGE.format(999)).status_code == 404


def test_the_new_ticket_form_creates_like_the_api(client, demo):
    add_webhook_rule(demo, name="Portal", events=["new_ticket"], url="http://127.0.0.1:9/h",
                     template='{"ticket_id": "{ticket_id}", "email": "{user_email}"}')
    olga = HdeUser.objects.get(account=demo, email="olga.k@example.ru")

    response = client.post(reverse("sandbox_hde:ticket_new", args=["demo"]), {
        "customer": str(olga.hid), "title": "Где заказ 1003A?", "description": "Жду!"})

    ticket = Ticket.objects.get(account=demo, hid=14)
    assert response.status_code == 302 and response["Location"] == PAGE.format(14)
    assert (ticket.user, ticket.title, ticket.status_id) == (olga, "Где заказ 1003A?", "open")
    assert ticket.messages.get().text == "Жду!"
    assert Delivery.objects.get().body == '{"ticket_id": "14", "email": "olga.k@example.ru"}'


def test_the_new_ticket_form_accepts_any_email_or_phone(client, demo):
    url = reverse("sandbox_hde:ticket_new", args=["demo"])
    client.post(url, {"phone": "+7 (901) 000-11-22", "title": "Звонок", "description": "…"})
    client.post(url, {"email": "someone@example.org", "title": "Письмо", "description": "…"})
    client.post(url, {"phone": "89161234567", "title": "Анна звонит", "description": "…"})

    users = {t.title: t.user for t in Ticket.objects.filter(account=demo, hid__gt=13)}
    assert users["Звонок"].email == "79010001122@phone.invalid"
    assert users["Звонок"].phone == "+7 (901) 000-11-22"
    assert users["Письмо"].email == "someone@example.org"
    assert users["Анна звонит"].email == "anna.smirnova@example.ru"  # matched by phone
    empty = client.post(url, {"title": "Никто", "description": "…"})
    assert "Выберите клиента" in empty.content.decode()


def test_replies_from_the_page_fire_the_dispatcher(client, demo):
    add_webhook_rule(demo, name="R", events=["new_reply", "new_comment"],
                     url="http://127.0.0.1:9/h", template="{last_post_user_id}")
    url = PAGE.format(1)
    client.post(url, {"kind": "client", "text": "Снова вопрос"})
    client.post(url, {"kind": "comment", "text": "Заметка"})
    assert list(Delivery.objects.values_list("event", "body")) == [
        ("new_reply", "10"), ("new_comment", "1")]
    assert svc.get_ticket(demo, 1).status_id == "open"  # a client's reply reopens


@pytest.mark.browser
def test_an_operator_sees_the_crm_card_frame(page, hde_emulator, artifacts_dir):
    account = hde_emulator.account()
    card = f"{hde_emulator.base_url}/sandbox/hde/demo/tickets/"  # any page of ours will do
    svc.update_ticket(account, svc.get_ticket(account, 2),
                      {"custom_fields": {str(CRM_CARD): card}, "priority_id": 1}, agent(account))

    page.goto(hde_emulator.base_url + PAGE.format(2))

    assert page.locator("[data-test=priority]").inner_text() == "Срочно"
    assert page.locator("iframe.crm-card").get_attribute("src") == card
    frame = page.frame_locator("iframe.crm-card")
    assert "Где мой заказ 1001A?" in frame.locator("table.tickets").inner_text()
    save_screenshot(page, f"{artifacts_dir}/hde-ticket-page.png", full_page=True)
