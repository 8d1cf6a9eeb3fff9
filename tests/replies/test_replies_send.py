"""Reply templates in the widget page, over real HTTP against both emulators:
what is offered, sending as a public post or an internal comment exactly
once, greyed templates refused, and another shop's templates out of reach."""

import re

import pytest
import requests

from integration.models import ReplyTemplate, SentReply, SideEffect, TicketRecord
from integration.replies.defaults import reply_templates_default_create
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.widget.links import widget_link_build

TICKET_IVAN, TICKET_MARIA = 3, 6  # Ivan: one order in delivery; Maria: no orders


@pytest.fixture
def shop(demo_shop, settings, live_server):
    settings.PORTAL_BASE_URL = live_server.url
    demo_shop.language = "en"  # these tests read the widget's English labels
    demo_shop.save(update_fields=["language"])
    reply_templates_default_create(shop=demo_shop)
    return demo_shop


def _template(shop, name):
    return ReplyTemplate.objects.get(shop=shop, name=name)


def _page(url):
    """The card as a browser assembles it: the first paint, then its second
    step (`part=rest`, which brings the replies), as the page's htmx asks."""
    first = requests.get(url, timeout=10).text
    if "data-second-step" not in first:
        return first
    return first + requests.get(f"{url}?part=rest", headers={"HX-Request": "true"},
                                timeout=10).text


def _card(html, template):
    found = re.search(rf'<article class="reply[^"]*" data-reply="{template.pk}".*?</article>',
                      html, re.S)
    return found.group(0) if found else None


def _nonce(html):
    """The nonce of the page's reply forms."""
    return re.search(r'name="action" value="reply"><input type="hidden" name="nonce" '
                     r'value="([^"]+)"', html).group(1)


def _hde(shop):
    return HelpDeskEddyClient.for_connection(shop.helpdeskeddy)


def _preview(url, template, **extra):
    """Open "Send as reply" and fill the confirmation form as it comes."""
    html = requests.get(f"{url}?preview={template.pk}", timeout=10).text
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', html.split("data-preview")[1]))
    form["text"] = re.search(r"<textarea name=\"text\"[^>]*>(.*?)</textarea>", html,
                             re.S).group(1)
    return html, {**form, **extra}


def test_found_customer_gets_fitting_templates_filled_in(shop):
    shop.language = "ru"  # a Russian shop: Russian templates first, reasons in Russian
    shop.save(update_fields=["language"])
    html = _page(widget_link_build(shop=shop, ticket_id=TICKET_IVAN))
    suggested = html.split('class="other-replies"')[0]
    delivery = _card(suggested, _template(shop, "Дата доставки"))
    assert delivery and 'data-sendable="yes"' in delivery
    assert "Здравствуйте, Иван!" in delivery  # greeted by first name (issue 16)
    assert re.search(r"Ожидаемая дата доставки — \d\d\.\d\d\.\d{4}", delivery)
    track = _card(suggested, _template(shop, "Трек-номер"))
    assert 'data-sendable="no"' in track and "трек-номер" in track
    assert 'value="post"' not in track  # a greyed template has no send buttons
    english = _card(html, _template(shop, "Delivery date"))
    assert english and english not in suggested and "Hello Иван," in english
    # A public reply is a link to its preview, never a one-click send.
    assert 'name="kind" value="post"' not in suggested


def test_send_as_reply_posts_once_even_after_a_double_submit(shop):
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    template = _template(shop, "Дата доставки")
    hde = _hde(shop)
    before = len(hde.list_posts(TICKET_IVAN))
    preview, form = _preview(url, template)
    assert "Ожидаемая дата доставки" in form["text"] and form["kind"] == "post"
    assert "operator_email" in preview  # who it is sent from is said before sending
    assert len(hde.list_posts(TICKET_IVAN)) == before  # opening the preview sends nothing
    first = requests.post(url, data=form, timeout=10)
    second = requests.post(url, data=form, timeout=10)  # double submit, same nonce
    assert first.status_code == 200 and "Reply sent to the customer" in first.text
    # The form's nonce is spent by the first submit: the second does nothing.
    assert second.status_code == 200 and "sent already; nothing was done twice" in second.text
    posts = hde.list_posts(TICKET_IVAN)
    assert len(posts) == before + 1
    assert "Иван" in posts[-1].text and "<br>" in posts[-1].text  # plain text as HTML
    sent = SentReply.objects.get(shop=shop)
    assert sent.kind == "post" and sent.hde_message_id == str(posts[-1].id)
    assert sent.ticket == TicketRecord.objects.get(shop=shop, ticket_id=TICKET_IVAN)
    assert sent.order_number and "[" not in sent.text
    assert 'data-sent="post"' in first.text  # listed under "sent from here"


def test_add_as_internal_comment(shop):
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    html = _page(url)
    hde = _hde(shop)
    comments_before, posts_before = len(hde.list_comments(TICKET_IVAN)), len(
        hde.list_posts(TICKET_IVAN))
    response = requests.post(url, timeout=10, data={
        "action": "reply", "nonce": _nonce(html), "kind": "comment",
        "template_id": _template(shop, "Статус заказа").pk})
    assert "Internal comment added" in response.text
    assert len(hde.list_comments(TICKET_IVAN)) == comments_before + 1
    assert len(hde.list_posts(TICKET_IVAN)) == posts_before


def test_a_template_with_empty_variables_is_never_sent(shop):
    url = widget_link_build(shop=shop, ticket_id=TICKET_MARIA)
    html = _page(url)
    status = _template(shop, "Статус заказа")
    card = _card(html, status)
    assert 'data-sendable="no"' in card and "names no order" in card
    before = len(_hde(shop).list_posts(TICKET_MARIA))
    preview = requests.get(f"{url}?preview={status.pk}", timeout=10).text
    assert "names no order" in preview and 'name="confirm"' not in preview
    # A forged confirmation (the list's form with the preview's fields) is refused too.
    response = requests.post(url, timeout=10, data={
        "action": "reply", "nonce": _nonce(html), "kind": "post", "template_id": status.pk,
        "confirm": "1", "text": "Здравствуйте!"})
    assert "sent from its preview" in response.text and 'class="flash err"' in response.text
    assert len(_hde(shop).list_posts(TICKET_MARIA)) == before
    assert not SentReply.objects.exists() and not SideEffect.objects.exists()
    # A template without order variables is offered and sendable for her.
    assert 'data-sendable="yes"' in _card(html, _template(shop, "Разбираемся"))


def test_another_shops_template_is_neither_offered_nor_sent(shop, make_agency, make_shop):
    other = make_shop(make_agency("Other agency"), name="Other shop")
    foreign = ReplyTemplate.objects.create(shop=other, name="Чужой шаблон",
                                           body="Секрет {{ shop.name }}")
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    html = _page(url)
    assert "Чужой шаблон" not in html and f'data-reply="{foreign.pk}"' not in html
    before = len(_hde(shop).list_posts(TICKET_IVAN))
    # A real preview's form, its template swapped for the other shop's.
    _preview_html, form = _preview(url, _template(shop, "Разбираемся"))
    response = requests.post(url, timeout=10, data={
        **form, "template_id": foreign.pk, "text": "Секрет"})
    assert "does not exist in this shop" in response.text
    assert len(_hde(shop).list_posts(TICKET_IVAN)) == before


def test_unknown_customer_gets_no_replies_section(shop):
    html = _page(widget_link_build(shop=shop, ticket_id=12))
    assert 'data-state="unknown"' in html and 'data-section="replies"' not in html


def test_two_simultaneous_submits_post_once(shop):
    """A real double click can reach the server twice at the same moment:
    the second one is refused while the first is still posting."""
    from concurrent.futures import ThreadPoolExecutor

    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    before = len(_hde(shop).list_posts(TICKET_IVAN))
    _html, form = _preview(url, _template(shop, "Разбираемся"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: requests.post(url, data=form, timeout=20).text,
                                range(4)))
    assert len(_hde(shop).list_posts(TICKET_IVAN)) == before + 1
    assert SentReply.objects.filter(shop=shop).count() == 1
    assert sum("Reply sent" in a for a in answers) == 1
    assert all("Reply sent" in a or "sent already" in a for a in answers)


def test_a_public_reply_needs_the_confirmed_preview(shop):
    """The old one-click public reply is gone: a post without the preview's
    confirmation is refused and nothing reaches the customer."""
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    html = _page(url)
    before = len(_hde(shop).list_posts(TICKET_IVAN))
    response = requests.post(url, timeout=10, data={
        "action": "reply", "nonce": _nonce(html), "kind": "post",
        "template_id": _template(shop, "Разбираемся").pk})
    assert "sent from its preview" in response.text
    # Nor with the preview's fields added to the list's form: only a nonce
    # the preview issued sends to the customer.
    response = requests.post(url, timeout=10, data={
        "action": "reply", "nonce": _nonce(_page(url)), "kind": "post",
        "template_id": _template(shop, "Разбираемся").pk, "confirm": "1", "text": "Привет"})
    assert "sent from its preview" in response.text
    assert len(_hde(shop).list_posts(TICKET_IVAN)) == before
    assert not SentReply.objects.exists()


def test_the_operator_edits_the_text_and_signs_with_their_name(shop):
    """What the operator confirmed is what the customer gets, in their name
    when HDE takes `user_id` as the author (emulator: post_author=allowed)."""
    from sandbox.hde.behaviour import set_behaviour
    from sandbox.hde.models import HdeUser

    set_behaviour("demo", post_author="allowed")
    operator = HdeUser.objects.get(account__code="demo", email="operator@demo-shop.example")
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    _html, form = _preview(url, _template(shop, "Разбираемся"),
                           operator_email="operator@demo-shop.example")
    form["text"] = form["text"].replace("Спасибо, что написали.", "Спасибо за письмо!")
    answer = requests.post(url, data=form, timeout=10)
    assert "in your name" in answer.text
    post = _hde(shop).list_posts(TICKET_IVAN)[-1]
    assert post.user_id == operator.hid and "Спасибо за письмо!" in post.text
    assert "Спасибо за письмо!" in SentReply.objects.get(shop=shop).text
    # The next preview still offers to sign in the operator's name.
    preview, _form = _preview(url, _template(shop, "Статус заказа"))
    assert 'data-author="allowed"' in preview and "operator_email" in preview


def test_an_account_that_ignores_the_author_is_named_plainly(shop):
    """Under post_author=ignored HDE keeps its API user as the author: the
    operator is told so after sending, and every later preview says whom
    the customer sees, without offering a name that would not be used."""
    from sandbox.hde.behaviour import set_behaviour

    set_behaviour("demo", post_author="ignored")
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    _html, form = _preview(url, _template(shop, "Разбираемся"),
                           operator_email="operator@demo-shop.example")
    answer = requests.post(url, data=form, timeout=10)
    agent = shop.helpdeskeddy.agent_email
    assert f"Reply sent to the customer from {agent}" in answer.text
    preview, _form = _preview(url, _template(shop, "Статус заказа"))
    assert 'data-author="ignored"' in preview and "operator_email" not in preview
    assert f"It is sent from {agent}" in preview


def test_a_client_address_is_not_an_operator(shop):
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    before = len(_hde(shop).list_posts(TICKET_IVAN))
    _html, form = _preview(url, _template(shop, "Разбираемся"),
                           operator_email="ivan.petrov@example.ru")
    answer = requests.post(url, data=form, timeout=10)
    assert "No HelpDeskEddy operator has the e-mail" in answer.text
    assert len(_hde(shop).list_posts(TICKET_IVAN)) == before
