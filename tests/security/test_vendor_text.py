"""Text written to the vendors cannot run as markup (issue 13, item 8).

Whoever typed the words (a customer's ticket subject, a name in RetailCRM,
a store's status or product names, an operator's note, an admin's reply
template), what reaches the vendors is inert: HTML destinations (HDE
comments, posts, ticket descriptions) carry only the portal's own tags,
escaped values in between; plain-text destinations (RetailCRM notes, tasks
and customer names, HDE titles and custom fields) carry no angle bracket at
all, so they read the same whether a screen shows them as text or as HTML.
Over real HTTP against both emulators: what the emulators stored is what a
vendor's screen would show.
"""

import html as html_lib
import re
from html.parser import HTMLParser

import requests

from integration.customers.types import CustomerProfile, Delivery, OrderItem, OrderSummary
from integration.models import FieldMapping, MappedValue, ReplyTemplate, SentReply, TicketRecord
from integration.orders import texts as order_texts
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.widget.links import widget_link_build
from sandbox.hde import seed as hde_fields
from sandbox.retailcrm.models import Account, Customer, Note, Task
from tests.fixtures_portal import pump_dispatcher
from tests.workers import ticket_marker

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'
TICKET_IVAN = 3


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert_html(html: str, allowed=("p", "br", "b", "a")):
    """Only the portal's own tags; no attribute but a web link's href."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in allowed, (tag, html)
        if tag == "a":
            assert set(attrs) == {"href"} and attrs["href"].startswith(("http://", "https://"))
        else:
            assert not attrs, (tag, html)
    assert "<script" not in html.lower()


def assert_plain(text: str):
    assert "<" not in text and ">" not in text, text


def _markup_in_retailcrm(person_email):
    """A RetailCRM user typed markup into a customer's name and a status."""
    customer = Customer.objects.get(account__code="demo", email=person_email, site="main")
    customer.doc["firstName"] = "<b onmouseover=alert(3)>Иван</b>"
    customer.save(update_fields=["doc"])
    account = Account.objects.get(code="demo")
    account.references["statuses"]["delivering"]["name"] = "<i onclick=x()>Доставляется</i>"
    account.save(update_fields=["references"])
    return customer


def test_the_ticket_job_writes_inert_text_everywhere(wired_shop):
    ivan = _markup_in_retailcrm("ivan.petrov@example.ru")
    FieldMapping.objects.filter(shop=wired_shop, hde_field_id=hde_fields.CUSTOMER_ID).update(
        value=MappedValue.CUSTOMER_NAME)
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title=f"{XSS} Где заказ?", description="Жду",
                               user_email="ivan.petrov@example.ru")
    pump_dispatcher()
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    assert record.customer_id == ivan.crm_id

    comments = hde.list_comments(ticket.id)
    assert len(comments) == 1 and "Доставляется" in comments[0].text
    assert_inert_html(comments[0].text)
    fields = hde.get_ticket(ticket.id).custom_fields
    assert "Иван" in fields[hde_fields.CUSTOMER_ID] and "Доставляется" in \
        fields[hde_fields.LAST_ORDER_STATUS]
    assert_plain(fields[hde_fields.CUSTOMER_ID])
    assert_plain(fields[hde_fields.LAST_ORDER_STATUS])

    note = next(n.doc["text"] for n in Note.objects.filter(customer_crm_id=ivan.crm_id)
                if n.doc["text"].startswith(f"{ticket_marker(ticket.id)}:"))
    assert "‹script›alert(1)‹/script›" in note and "Где заказ?" in note
    assert_plain(note)
    task = next(t.doc["text"] for t in Task.objects.all() if ticket_marker(ticket.id) in
                t.doc["text"])
    assert "Где заказ?" in task
    assert_plain(task)

    hde.update_ticket(ticket.id, status_id="closed")
    pump_dispatcher()
    closing = [n.doc["text"] for n in Note.objects.filter(customer_crm_id=ivan.crm_id)
               if "closed" in n.doc["text"] or "закрыт" in n.doc["text"]]
    assert len(closing) == 1
    assert_plain(closing[0])


def test_an_unknown_sender_is_created_with_a_plain_name(wired_shop):
    from integration.models import ShopSettings

    ShopSettings.objects.filter(shop=wired_shop).update(create_unknown_customers=True)
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title="Вопрос", description="…",
                               user_email='"<b>new</b>"@example.org')  # valid, when quoted
    pump_dispatcher()
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    created = Customer.objects.get(account__code="demo", crm_id=record.customer_id)
    assert created.doc["firstName"] == '"‹b›new‹/b›"'
    assert_plain(created.doc["firstName"])


def _form(html, action):
    block = html.split(f'name="action" value="{action}"')[1].split("</form>")[0]
    return {**dict(re.findall(r'name="(\w+)" value="([^"]*)"', block)), "action": action}


def test_what_an_operator_types_into_the_card_is_written_plain(card, rc_people):
    from integration.models import ShopSettings

    ShopSettings.objects.filter(shop=card).update(fallback_manager_id=1)
    url = widget_link_build(shop=card, ticket_id=TICKET_IVAN)
    page = requests.get(url, timeout=10).text
    requests.post(url, data={**_form(page, "note"), "text": f"Звонил {XSS}"}, timeout=10)
    requests.post(url, data={**_form(page, "task"), "text": f"Перезвонить {XSS}"}, timeout=10)
    note = Note.objects.filter(customer_crm_id=rc_people["delivery"]).latest("created_at")
    assert note.doc["text"].startswith(f"{ticket_marker(TICKET_IVAN, 'en')}: Звонил ‹script›")
    assert_plain(note.doc["text"])
    task = Task.objects.latest("id")
    assert task.doc["text"].startswith(f"{ticket_marker(TICKET_IVAN, 'en')}: Перезвонить ‹script›")
    assert_plain(task.doc["text"])

    unknown = widget_link_build(shop=card, ticket_id=12)
    form = _form(requests.get(unknown, timeout=10).text, "customer")
    refused = requests.post(unknown, timeout=10, data={
        **form, "name": "Алексей", "email": '"<svg/onload=alert(1)>"@example.com'})
    assert "not valid" in refused.text
    created = requests.post(unknown, timeout=10, data={
        **_form(refused.text, "customer"), "name": "<svg onload=alert(1)> Незнакомов",
        "email": "stranger@example.com"})
    assert "Customer created" in created.text
    customer = Customer.objects.get(account__code="demo", email="stranger@example.com")
    assert_plain(customer.doc["firstName"])
    assert_plain(customer.doc.get("lastName", ""))


def test_replies_are_escaped_whatever_the_template_or_the_customer_says(card):
    _markup_in_retailcrm("ivan.petrov@example.ru")
    template = ReplyTemplate.objects.create(
        shop=card, name="Hello", language="en",
        body=f"Hello {{{{ customer.name }}}}! {XSS}\nYour order: {{{{ order.status }}}}")
    url = widget_link_build(shop=card, ticket_id=TICKET_IVAN)
    # A public reply goes out only from its confirmed preview, as the operator
    # sends it: the preview's own form, its text as the page showed it.
    preview = requests.get(f"{url}?preview={template.pk}", timeout=10).text
    block = preview.split('data-action="reply-confirm"')[1].split("</form>")[0]
    text = html_lib.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", block, re.S)[1])
    assert "<script>" in text  # the operator reads the template as written...
    answer = requests.post(url, timeout=10, data={
        **dict(re.findall(r'name="(\w+)" value="([^"]*)"', block)), "text": text})
    assert "Reply sent" in answer.text
    sent = SentReply.objects.get(shop=card)
    posts = HelpDeskEddyClient.for_connection(card.helpdeskeddy).list_posts(TICKET_IVAN)
    html = next(p.text for p in posts if p.id == int(sent.hde_message_id))
    assert "&lt;script&gt;" in html and "Доставляется" in html
    assert_inert_html(html)


def test_proactive_ticket_texts_are_escaped(demo_shop):
    summary = OrderSummary(
        id=1, number="1001<b>A</b>", status_code="problem",
        status_name="<img src=x onerror=alert(1)>Проблема", status_group="delivery",
        bucket="active", created_at="2026-11-20T10:00:00+03:00", total=100,
        items=[OrderItem(name=f"Плед {XSS}", quantity=1, price=100)],
        delivery=Delivery(type_name="<b>Курьер</b>", address="<a href='javascript:x'>ул.</a>",
                          track_number="<i>42</i>"),
        url="https://demo.retailcrm.ru/orders/1/edit")
    customer = CustomerProfile(id=5, name="<script>x</script>Анна",
                               emails=['"<svg>"@example.com'], phones=["<b>+7</b>"])
    subject = order_texts.problem_subject(shop=demo_shop, summary=summary)
    assert "Проблема" in subject and "1001" in subject
    assert_plain(subject)
    for html in (order_texts.problem_body(shop=demo_shop, summary=summary, customer=customer),
                 order_texts.problem_comment(shop=demo_shop, summary=summary),
                 order_texts.customer_notice(shop=demo_shop, summary=summary)):
        assert "Проблема" in html
        assert_inert_html(html)
