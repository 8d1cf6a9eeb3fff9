"""The card's live parts over real HTTP (issue 16): the job strip follows the
inbox, the page is told to reload its body when the portal's work ends, the
manual search finds customers inside the shop's store only and lets the card
open them, the create form is prefilled from the requester, and a Russian
card reads in Russian money."""

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from integration.models import EventSource, EventState, InboundEvent, TicketRecord
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.widget.links import widget_link_build
from integration.widget.progress import (
    DONE,
    FAILED,
    PROCESSING,
    RETRYING,
    WAITING,
    ticket_job_state,
)

TICKET_IVAN, TICKET_UNKNOWN = 3, 12
HTMX = {"HX-Request": "true"}


@pytest.fixture
def card_shop(demo_shop, settings, live_server):
    settings.PORTAL_BASE_URL = live_server.url
    demo_shop.language = "en"
    demo_shop.save(update_fields=["language"])
    return demo_shop


def _event(shop, key, state, **fields):
    return InboundEvent.objects.create(shop=shop, source=EventSource.HDE_WEBHOOK,
                                       source_key=key, event_type=key.split(":")[0],
                                       payload={}, state=state, **fields)


def test_the_job_state_follows_the_inbox(make_agency, make_shop):
    shop = make_shop(make_agency("Progress agency"), language="en")
    now = timezone.now()
    # Nothing heard of a brand-new ticket yet: wait; an old one predates us.
    assert ticket_job_state(shop=shop, ticket_id=7, created_at=now.isoformat()).state == WAITING
    old = (now - timedelta(days=3)).isoformat()
    assert ticket_job_state(shop=shop, ticket_id=7, created_at=old).state == DONE
    assert ticket_job_state(shop=shop, ticket_id=7, created_at=now.isoformat(),
                            polls=60).state == DONE  # gives up waiting after two minutes
    new = _event(shop, "new_ticket:7", EventState.PROCESSING)
    # The echo of the portal's own update finishes first: still processing.
    _event(shop, "ticket_changed:7:2026-11-30 10:00:00:open", EventState.IGNORED)
    state = ticket_job_state(shop=shop, ticket_id=7)
    assert state.state == PROCESSING and state.busy and state.text == "Processing the ticket…"
    InboundEvent.objects.filter(pk=new.pk).update(
        state=EventState.PENDING, attempts=2, next_attempt_at=now + timedelta(minutes=1))
    retrying = ticket_job_state(shop=shop, ticket_id=7)
    assert retrying.state == RETRYING and "tries again at" in retrying.text
    assert retrying.marker != state.marker
    InboundEvent.objects.filter(pk=new.pk).update(state=EventState.DONE)
    TicketRecord.objects.create(shop=shop, ticket_id=7, priority_rule="VIP customer")
    done = ticket_job_state(shop=shop, ticket_id=7)
    assert done.state == DONE and not done.busy
    assert done.text == "Ticket processed: priority set by the rule «VIP customer»."
    _event(shop, "new_reply:7:99", EventState.DEAD, attempts=8)
    assert ticket_job_state(shop=shop, ticket_id=7).state == FAILED
    # Another ticket's events are not this one's.
    assert ticket_job_state(shop=shop, ticket_id=70).state == DONE


def test_the_strip_polls_until_done_then_tells_the_page_to_reload(card_shop):
    hde = HelpDeskEddyClient.for_connection(card_shop.helpdeskeddy)
    ticket = hde.create_ticket(title="Where is it?", description="…",
                               user_email="ivan.petrov@example.ru")
    url = widget_link_build(shop=card_shop, ticket_id=ticket.id)
    page = requests.get(url, timeout=10).text
    assert 'data-job="waiting"' in page and 'hx-trigger="every 2s"' in page
    marker = re.search(r"m=([^&\"]+)", page.split('id="job"')[1]).group(1)
    created = re.search(r"created=([^\"&]+)", page.split('id="job"')[1]).group(1)
    still = requests.get(f"{url}?part=job&polls=1&m={marker}&created={created}", headers=HTMX,
                         timeout=10)
    assert 'data-job="waiting"' in still.text and "HX-Trigger" not in still.headers
    event = _event(card_shop, f"new_ticket:{ticket.id}", EventState.DONE)
    TicketRecord.objects.create(shop=card_shop, ticket_id=ticket.id,
                                priority_rule="Order in delivery")
    done = requests.get(f"{url}?part=job&polls=2&m={marker}&created={created}", headers=HTMX,
                        timeout=10)
    assert done.headers["HX-Trigger"] == "card-changed"
    assert 'data-job="done"' in done.text and "every 2s" not in done.text  # polling ends
    assert "«Order in delivery»" in done.text
    assert event.state == EventState.DONE
    body = requests.get(f"{url}?part=body", headers=HTMX, timeout=10).text
    assert 'data-state="found"' in body and "<html" not in body  # just the card's body


def test_manual_search_finds_and_opens_customers_of_the_shop_only(card_shop, rc_people):
    url = widget_link_build(shop=card_shop, ticket_id=TICKET_UNKNOWN)
    for query in ("Петров", "ivan.petrov@example.ru", "8 903 555-12-34"):
        found = requests.get(url, params={"q": query, "part": "search"}, headers=HTMX,
                             timeout=10).text
        assert f'data-hit="{rc_people["delivery"]}"' in found, query
    # The search put the hit in this ticket's scope: the card may open it.
    opened = requests.get(url, params={"customer": rc_people["delivery"]}, timeout=10).text
    assert 'data-state="found"' in opened and "Петров Иван" in opened
    nobody = requests.get(url, params={"q": "Несуществующий Клиентович", "part": "search"},
                          headers=HTMX, timeout=10).text
    assert "Nobody in this shop" in nobody and "data-hit=" not in nobody
    short = requests.get(url, params={"q": "ab", "part": "search"}, headers=HTMX,
                         timeout=10).text
    assert "at least 3 characters" in short


def test_a_search_hit_can_be_linked_to_the_ticket(card_shop, rc_people):
    url = widget_link_build(shop=card_shop, ticket_id=TICKET_UNKNOWN)
    found = requests.get(url, params={"q": "Петров"}, timeout=10).text
    hit = found.split(f'data-hit="{rc_people["delivery"]}"')[1].split("</li>")[0]
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', hit))
    linked = requests.post(url, data=form, timeout=10)
    assert "Customer linked to this ticket." in linked.text
    assert TicketRecord.objects.get(shop=card_shop,
                                    ticket_id=TICKET_UNKNOWN).customer_id == rc_people["delivery"]
    assert 'data-state="found"' in requests.get(url, timeout=10).text


def test_the_create_form_comes_prefilled_with_the_requester(card_shop):
    page = requests.get(widget_link_build(shop=card_shop, ticket_id=TICKET_UNKNOWN),
                        timeout=10).text
    form = page.split('data-action="customer"')[1].split("</form>")[0]
    assert re.search(r'name="name" value="[^"]+\S"', form)  # the requester's name from HDE
    assert 'value="stranger@example.com"' in form and re.search(r'name="phone" value="\+?\d',
                                                                  form)


def test_a_russian_card_writes_money_and_names_in_russian(card_shop):
    card_shop.language = "ru"
    card_shop.save(update_fields=["language"])
    page = requests.get(widget_link_build(shop=card_shop, ticket_id=TICKET_IVAN),
                        timeout=10).text
    assert re.search(r"\d\u00a0₽", page) and "₽\u00a0" not in page.replace("₽\u00a0·", "")
    assert "self-delivery" not in page and "courier" not in page
    assert "Активные заказы" in page and "Обновить" in page


def test_phones_read_one_way_and_each_number_once(card_shop, rc_people):
    """RetailCRM keeps phones as managers typed them: Ivan's as
    "8 903 555 12 34", Anna's one number twice ("+7 (916) 123-45-67" and
    "89161234567"). The operator reads every number in one form, once."""
    url = widget_link_build(shop=card_shop, ticket_id=TICKET_UNKNOWN)
    found = requests.get(url, params={"q": "Петров", "part": "search"}, headers=HTMX,
                         timeout=10).text
    hit = found.split(f'data-hit="{rc_people["delivery"]}"')[1].split("</li>")[0]
    assert "+7 903 555-12-34" in hit and "8 903" not in hit

    requests.get(url, params={"q": "Смирнова", "part": "search"}, headers=HTMX, timeout=10)
    anna = requests.get(url, params={"customer": rc_people["vip"]}, timeout=10).text
    contacts = re.search(r'<p class="contacts">(.*?)</p>', anna, re.S).group(1)
    assert " ".join(contacts.split()) == "anna.smirnova@example.ru · +7 916 123-45-67", contacts
