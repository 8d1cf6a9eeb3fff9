"""The widget page: signed links, framing policy, every state, actions."""

import html
import re

import pytest
import requests
from django.core import signing

from integration.models import ShopSettings, WidgetRequest
from integration.widget.links import widget_link_build, widget_links_revoke
from sandbox.retailcrm.models import Account as RcAccount
from sandbox.retailcrm.models import Note
from tests.workers import ticket_marker

TICKET_IVAN, TICKET_OLGA, TICKET_UNKNOWN = 3, 4, 12


def _open(url, **kwargs):
    return requests.get(url, timeout=10, **kwargs)


def _state(response):
    found = re.search(r'data-state="([a-z-]+)"', response.text)
    return found.group(1) if found else None


def _link(shop, ticket_id, live_server):
    return widget_link_build(shop=shop, ticket_id=ticket_id).replace(
        "http://127.0.0.1:8000", live_server.url)


@pytest.fixture
def portal_url(settings, live_server, demo_shop):
    """The widget speaks the shop's language; these tests read English."""
    settings.PORTAL_BASE_URL = live_server.url
    demo_shop.language = "en"
    demo_shop.save(update_fields=["language"])
    return live_server.url


def test_known_customer_with_framing_policy(portal_url, demo_shop, hde_emulator):
    response = _open(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN))
    assert response.status_code == 200 and _state(response) == "found"
    assert "Петров Иван" in response.text and 'data-order="' in response.text
    csp = response.headers["Content-Security-Policy"]
    hde_origin = hde_emulator.base_url
    assert f"frame-ancestors {hde_origin}" in csp
    assert "X-Frame-Options" not in response.headers
    logged = WidgetRequest.objects.get(shop=demo_shop)
    assert logged.outcome == "found" and not logged.cache_hit and logged.channel == "page"
    # The first paint (found by e-mail): profile and orders; the rest has
    # reserved places and is asked for by the page itself, as htmx does.
    assert 'data-complete="no"' in response.text and "data-second-step" in response.text
    assert 'id="slot-history"' in response.text and "history-list\"><p class=\"skeleton" \
        in response.text
    rest = _open(f"{widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)}?part=rest",
                 headers={"HX-Request": "true"})
    assert 'id="slot-history"' in rest.text and "data-manager" in rest.text
    assert 'id="slot-orders"' in rest.text and 'data-order="' in rest.text
    assert "data-order-pending" not in rest.text
    again = _open(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN))
    assert _state(again) == "found" and 'data-complete="yes"' in again.text
    assert WidgetRequest.objects.filter(shop=demo_shop, cache_hit=True).count() == 1


def test_unknown_sender_gets_a_prefilled_create_form(portal_url, demo_shop):
    response = _open(widget_link_build(shop=demo_shop, ticket_id=TICKET_UNKNOWN))
    assert _state(response) == "unknown"
    assert 'value="stranger@example.com"' in response.text


def test_same_email_on_two_sites_gives_a_chooser(portal_url, demo_shop, rc_connect):
    rc_connect(site="")  # the key sees both stores
    ticket_twin = 10
    response = _open(widget_link_build(shop=demo_shop, ticket_id=ticket_twin))
    assert _state(response) == "several"
    assert response.text.count('name="action" value="choose"') == 2


def test_retailcrm_down_is_a_clear_state(portal_url, demo_shop):
    RcAccount.objects.filter(code="demo").update(fault="500")
    response = _open(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN))
    assert response.status_code == 200 and _state(response) == "unavailable"
    assert "RetailCRM" in response.text


def test_tampered_expired_revoked_and_foreign_links_are_refused(portal_url, demo_shop,
                                                                make_agency, make_shop):
    good = widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)
    assert _open(good).status_code == 200
    tampered = good[:-4] + "abc/"  # last signature characters changed
    assert _open(tampered).status_code == 403
    other = make_shop(make_agency("Foreign agency"), name="Foreign")
    foreign = good.replace(str(demo_shop.public_id), str(other.public_id))
    assert _open(foreign).status_code in (403, 404)
    ShopSettings.objects.filter(shop=demo_shop).update(widget_link_days=0)
    expired = _open(good)
    assert expired.status_code == 403 and _state(expired) == "invalid-link"
    ShopSettings.objects.filter(shop=demo_shop).update(widget_link_days=30)
    widget_links_revoke(shop=demo_shop)
    assert _open(good).status_code == 403
    assert _open(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)).status_code == 200
    forged = signing.dumps({"t": TICKET_IVAN}, salt="guess")
    assert _open(f"{portal_url}/widget/{demo_shop.public_id}/{forged}/").status_code == 403


def _nonce(page: str) -> str:
    return re.search(r'name="nonce" value="([^"]+)"', page).group(1)


def _note_form(page: str, text: str) -> dict:
    """The card's "Add note" form as the page gives it."""
    customer_id = int(re.search(r'name="customer_id" value="(\d+)"', page).group(1))
    return {"action": "note", "nonce": _nonce(page), "customer_id": customer_id, "text": text}


def test_add_note_from_the_page_once(portal_url, demo_shop):
    url = widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)
    form = _note_form(_open(url).text, "Курьер будет завтра")
    customer_id = form["customer_id"]
    first = requests.post(url, data=form, timeout=10)
    requests.post(url, data=form, timeout=10)  # double submit
    assert first.status_code == 200 and "Note added" in first.text
    texts = [n.doc["text"] for n in Note.objects.filter(customer_crm_id=customer_id)]
    assert [t for t in texts if "Курьер" in t] == [
        f"{ticket_marker(TICKET_IVAN, 'en')}: Курьер будет завтра"]


def test_profile_fields_follow_the_shops_configuration(portal_url, demo_shop):
    from integration.models import ProfileValue, WidgetField

    default = _open(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)).text
    assert "<dt>Orders</dt>" in default and "<dt>Spent</dt>" in default
    WidgetField.objects.create(shop=demo_shop, value=ProfileValue.PHONES, label="Телефон",
                               position=1)
    WidgetField.objects.create(shop=demo_shop, value=ProfileValue.TOTAL_SUM, label="LTV",
                               position=2)
    from integration.customers.context import customer_context_invalidate

    customer_id = int(re.search(r'name="customer_id" value="(\d+)"', default).group(1))
    customer_context_invalidate(shop_id=demo_shop.pk, customer_id=customer_id)
    page = _open(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)).text
    profile = page.split("data-profile>")[1].split("</dl>")[0]
    labels = re.findall(r"<dt>([^<]+)</dt>", profile)
    assert labels == ["Телефон", "LTV"]
    assert "₽" in profile


def test_a_status_created_after_the_books_were_read_is_named_on_the_card(portal_url,
                                                                          demo_shop):
    """The card names an order's status from RetailCRM's book even when the
    status was created after the portal cached the book (an hour): both the
    first paint and the rest read the book again for a status it lacks, so
    the operator never reads a code ("courier-assigned")."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from tests.workers import crm_order_move, crm_status_create

    link = widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)
    assert "Доставляется" in _open(link).text  # RetailCRM's name; the books are cached now
    crm_status_create("courier-assigned", "Передан курьеру")
    crm_order_move("ivan.petrov@example.ru", "delivering", "courier-assigned")

    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):
        first = _open(link)
        rest = _open(f"{link}?part=rest", headers={"HX-Request": "true"})
    for page in (first, rest):
        assert page.status_code == 200 and "Передан курьеру" in page.text
        assert "courier-assigned" not in page.text


def test_a_status_the_books_never_name_is_worded_and_looked_for_once_a_minute(portal_url,
                                                                                demo_shop):
    """An order in a status RetailCRM's book does not have (deleted from the
    book, say): the card says "unnamed status", never the code, and a reply
    that needs the status is greyed rather than sent with it. The books are
    read again for it once, then at most once a minute, however many cards
    open."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from integration.models import ApiCall, ReplyTemplate
    from sandbox.retailcrm.models import Order

    def status_reads():
        return ApiCall.objects.filter(shop=demo_shop, provider="retailcrm",
                                      path__contains="/reference/statuses").count()

    link = widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)
    _open(link)  # the books are cached
    order = Order.objects.get(account__code="demo", status="delivering",
                              email="ivan.petrov@example.ru")
    Order.objects.filter(pk=order.pk).update(status="adv-ghost",
                                             doc={**order.doc, "status": "adv-ghost"})
    ReplyTemplate.objects.create(shop=demo_shop, name="Where is my order", language="en",
                                 order_required=True,
                                 body="Your order {{ order.number }} is now {{ order.status }}.")
    # Ольга's order too, in another status the book lacks: two cards asked
    # about in turn must not make each other read the books again.
    olga = Order.objects.get(account__code="demo", status="delivery-problem",
                             email="olga.k@example.ru")
    Order.objects.filter(pk=olga.pk).update(status="adv-ghost-b",
                                            doc={**olga.doc, "status": "adv-ghost-b"})
    olga_link = widget_link_build(shop=demo_shop, ticket_id=TICKET_OLGA)
    # Every card assembled afresh (no context cache): the books' own rule
    # is what keeps the reads down.
    ShopSettings.objects.filter(shop=demo_shop).update(context_ttl_seconds=0)
    before = status_reads()
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True) as clock:
        pages = []
        for _ in range(3):
            pages.append(_open(f"{link}?part=rest", headers={"HX-Request": "true"}))
            olga_page = _open(f"{olga_link}?part=rest", headers={"HX-Request": "true"})
            assert "unnamed status" in olga_page.text and "adv-ghost-b" not in olga_page.text
        assert status_reads() - before == 2  # once for each code
        clock.shift(timedelta(seconds=61))
        _open(f"{link}?part=rest", headers={"HX-Request": "true"})
        assert status_reads() - before == 3
    for page in pages:
        assert "unnamed status" in page.text and "adv-ghost" not in page.text
    # A cold card (nothing cached) reads the books once, not again for the
    # code those very books lack.
    from django.core.cache import cache

    cache.clear()
    before = status_reads()
    assert "unnamed status" in _open(f"{link}?part=rest", headers={"HX-Request": "true"}).text
    assert status_reads() - before == 1
    # The reply that would tell the customer the status is greyed, and says why.
    reply = re.search(r'<article class="reply greyed"[^>]*data-sendable="no">.*?</article>',
                      pages[-1].text, re.S)
    assert reply and "order status" in reply.group(0), pages[-1].text


@pytest.mark.parametrize(("fault", "said"), [
    ("500", "RetailCRM could not do this right now: server error. Try again in a minute."),
    ("429", "RetailCRM could not do this right now: too many requests. Try again in a minute."),
])
def test_a_note_that_fails_says_why_and_what_to_do(portal_url, demo_shop, fault, said):
    """RetailCRM fails the note: the operator reads one sentence that says
    what happened and to try again, not "refused: server error"; nothing is
    written, and the same form goes through once RetailCRM is back."""
    url = widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)
    form = _note_form(_open(url).text, "Перезвонить в пятницу")
    nonce, customer_id = form["nonce"], form["customer_id"]
    RcAccount.objects.filter(code="demo").update(fault=fault)
    failed = requests.post(url, data=form, timeout=30)
    assert said in html.unescape(failed.text), failed.text[-2000:]
    RcAccount.objects.filter(code="demo").update(fault="")
    # Trying again is the refreshed card's form (a new nonce: the failed one
    # is spent, so a double click can never write twice).
    form["nonce"] = _nonce(_open(url).text)
    assert form["nonce"] != nonce
    assert "Note added" in requests.post(url, data=form, timeout=10).text
    texts = [n.doc["text"] for n in Note.objects.filter(customer_crm_id=customer_id)]
    assert len([t for t in texts if "Перезвонить" in t]) == 1
