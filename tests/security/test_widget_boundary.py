"""The widget boundary (issue 13, item 4), over real HTTP against both
emulators: a ticket's link shows only that ticket's customers, reads by id
stay inside the shop's store (page and JSON API), forms need a nonce the
card issued (single use, bound to the ticket, the action and the customer),
`choose` takes only a candidate and links the ticket's own requester, and a
POST from another origin is refused. Page and API link a created customer
to the ticket through the same service."""

import re
from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import timezone

from integration.models import CustomerLink, TicketRecord
from integration.ops.personal_data import customer_data_export
from integration.widget.links import widget_link_build
from sandbox.hde.models import Ticket
from sandbox.retailcrm.models import Customer, Note
from tests.workers import ticket_marker

TICKET_IVAN, TICKET_OLGA, TICKET_TWIN, TICKET_STRANGER = 3, 4, 10, 12


@pytest.fixture
def shop(demo_shop, settings, live_server):
    settings.PORTAL_BASE_URL = live_server.url
    demo_shop.language = "en"
    demo_shop.save(update_fields=["language"])
    return demo_shop


@pytest.fixture
def ids(rc_emulator):
    people = rc_emulator.demo["people"]
    return {"ivan": people["delivery"]["customers"]["main"],
            "olga": people["problem"]["customers"]["main"],
            "elena_main": people["twin_sites"]["customers"]["main"],
            "elena_outlet": people["twin_sites"]["customers"]["outlet"]}


def _state(html):
    found = re.search(r'data-state="([a-z-]+)"', html)
    return found.group(1) if found else None


def _shown_customer(html):
    found = re.search(r'name="customer_id" value="(\d+)"', html)
    return int(found.group(1)) if found else None


def _form(html, action):
    """The hidden fields of the page's form for `action`."""
    block = html.split(f'name="action" value="{action}"')[1].split("</form>")[0]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', block))
    fields["action"] = action
    return fields


def _notes(customer_id):
    """Oldest first: without an order PostgreSQL may return them in any
    order (seen in CI: the newest note was not last)."""
    return [n.doc["text"] for n in
            Note.objects.filter(customer_crm_id=customer_id).order_by("pk")]


def test_a_link_shows_only_its_tickets_customer(shop, ids):
    """`?customer=` of anyone else (same store or another one) shows the
    ticket's requester, with a notice, never the other customer."""
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    assert _shown_customer(requests.get(url, timeout=10).text) == ids["ivan"]
    for other in ("olga", "elena_main", "elena_outlet"):
        html = requests.get(url, params={"customer": ids[other]}, timeout=10).text
        assert _state(html) == "found" and _shown_customer(html) == ids["ivan"], other
        assert "Кузнецова" not in html and "Морозова" not in html
        assert "data-refused" in html and "not linked to this ticket" in html
    # The requester herself, asked for by id, is shown without a notice.
    own = requests.get(url, params={"customer": ids["ivan"]}, timeout=10).text
    assert _shown_customer(own) == ids["ivan"] and "data-refused" not in own


def test_search_results_are_in_scope_only_inside_the_shops_store(shop, ids, rc_client):
    """The card's planned manual search: what it found is remembered for the
    ticket's link, except customers of another store."""
    from integration.widget.scope import scope_search_remember

    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    found = [rc_client.customer(ids["olga"]), rc_client.customer(ids["elena_outlet"])]
    kept = scope_search_remember(shop=shop, ticket_id=TICKET_IVAN, customers=found)
    assert [c.id for c in kept] == [ids["olga"]]
    olga = requests.get(url, params={"customer": ids["olga"]}, timeout=10).text
    assert _shown_customer(olga) == ids["olga"] and "Кузнецова" in olga
    outlet = requests.get(url, params={"customer": ids["elena_outlet"]}, timeout=10).text
    assert _shown_customer(outlet) == ids["ivan"]
    # Another ticket's link does not inherit that search.
    other = widget_link_build(shop=shop, ticket_id=TICKET_OLGA)
    html = requests.get(other, params={"customer": ids["ivan"]}, timeout=10).text
    assert _shown_customer(html) == ids["olga"]
    # The scope is personal data: it is exported with the customer, and it
    # outlives no link (validity: 30 days), while the requester comes back.
    export = customer_data_export(shop=shop, customer_id=ids["olga"])
    assert [(s["ticket_id"], s["reason"]) for s in export["widget_scopes"]] == [
        (TICKET_IVAN, "search"), (TICKET_OLGA, "requester")]
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        later = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
        html = requests.get(later, params={"customer": ids["olga"]}, timeout=10).text
    assert _shown_customer(html) == ids["ivan"]


def test_reads_by_id_stay_inside_the_shops_store(shop, ids, live_server):
    """RetailCRM answers `customers/{id}?by=id` for every store the key sees:
    the API's `customer_id`, and a ticket linked to such a customer, answer
    like a missing customer; writes to it are refused."""
    headers = {"Authorization": f"Bearer {shop.widget_token}"}
    api = f"{live_server.url}/api/v1/"
    ok = requests.get(api + "context", params={"customer_id": ids["elena_main"]},
                      headers=headers, timeout=10).json()
    assert ok["status"] == "found" and ok["customer"]["site"] == "main"
    outside = requests.get(api + "context", params={"customer_id": ids["elena_outlet"]},
                           headers=headers, timeout=10).json()
    assert outside["status"] == "unknown" and outside["customer"] is None
    assert outside["orders"] == [] and "Морозова" not in str(outside)
    note = requests.post(api + "notes", headers=headers, timeout=10, json={
        "customer_id": ids["elena_outlet"], "text": "x", "nonce": "n-outlet"})
    assert note.status_code == 400 and "No such customer" in note.json()["detail"]
    assert not any(t.endswith(": x") or t == "x" for t in _notes(ids["elena_outlet"]))
    # A remembered link to such a customer (say, the shop's store code changed
    # since) is forgotten and the requester is searched for again.
    ivan_user = Ticket.objects.get(account__code="demo", hid=TICKET_IVAN).user.hid
    CustomerLink.objects.create(shop=shop, hde_user_id=ivan_user, customer_id=ids["elena_outlet"])
    html = requests.get(widget_link_build(shop=shop, ticket_id=TICKET_IVAN), timeout=10).text
    assert _shown_customer(html) == ids["ivan"] and "Морозова" not in html
    assert CustomerLink.objects.get(shop=shop, hde_user_id=ivan_user).customer_id == ids["ivan"]
    # A ticket record pointing there (say, written before this rule) shows nobody.
    TicketRecord.objects.create(shop=shop, ticket_id=TICKET_TWIN, customer_id=ids["elena_outlet"])
    html = requests.get(widget_link_build(shop=shop, ticket_id=TICKET_TWIN), timeout=10).text
    assert _shown_customer(html) is None and f"/customers/{ids['elena_outlet']}" not in html
    # The name may only prefill "create customer", from HDE's requester (what
    # the operator sees in HDE anyway), never from the other store's record.
    assert re.search(r'value="Елена Морозова" data-prefill="name"', html)
    assert "Морозова" not in re.sub(r"<input[^>]*data-prefill[^>]*>", "", html)


def test_forms_need_a_nonce_this_card_issued_once_for_that_action(shop, ids):
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    page = requests.get(url, timeout=10).text
    note = _form(page, "note")
    assert note["nonce"] and note["nonce"] != _form(page, "task")["nonce"]
    before = len(_notes(ids["ivan"]))

    def post(target, **fields):
        return requests.post(target, data={**note, "text": "Перезвонить", **fields}, timeout=10)

    made_up = post(url, nonce="my-own-nonce")
    assert "not from this card" in made_up.text
    as_task = post(url, action="task")  # a note's nonce is not a task's
    assert "not from this card" in as_task.text
    other_ticket = post(widget_link_build(shop=shop, ticket_id=TICKET_OLGA))
    assert "not from this card" in other_ticket.text
    assert len(_notes(ids["ivan"])) == before
    # The form's customer is the nonce's, whatever the form says.
    sent = post(url, customer_id=ids["olga"])
    assert "Note added" in sent.text
    assert _notes(ids["ivan"])[-1] == f"{ticket_marker(TICKET_IVAN, 'en')}: Перезвонить"
    assert not any("Перезвонить" in t for t in _notes(ids["olga"]))
    again = post(url)  # single use
    assert "sent already" in again.text
    assert len(_notes(ids["ivan"])) == before + 1


def test_choose_takes_a_candidate_and_links_the_tickets_own_requester(shop, ids, rc_connect):
    rc_connect(site="")  # the key's both stores are the shop's: Elena matches twice
    url = widget_link_build(shop=shop, ticket_id=TICKET_TWIN)
    page = requests.get(url, timeout=10).text
    assert _state(page) == "several"
    requester = Ticket.objects.get(account__code="demo", hid=TICKET_TWIN).user.hid
    forms = re.findall(r'<form method="post" class="candidate">(.*?)</form>', page, re.S)
    chosen = dict(re.findall(r'name="(\w+)" value="([^"]*)"', forms[0]))
    assert "hde_user_id" not in chosen  # the requester comes from HDE, not the form
    # A forged choice: another customer and another HDE user in the form.
    answer = requests.post(url, timeout=10, data={**chosen, "customer_id": ids["olga"],
                                                  "hde_user_id": 999})
    assert "Customer linked" in answer.text
    record = TicketRecord.objects.get(shop=shop, ticket_id=TICKET_TWIN)
    assert record.customer_id == int(chosen["customer_id"]) != ids["olga"]
    assert CustomerLink.objects.get(shop=shop, hde_user_id=requester).customer_id == \
        record.customer_id
    assert not CustomerLink.objects.filter(shop=shop, hde_user_id=999).exists()
    # A found customer's page offers no choice; another action's nonce is no choice.
    ivan = requests.get(widget_link_build(shop=shop, ticket_id=TICKET_IVAN), timeout=10).text
    assert 'value="choose"' not in ivan
    forged = requests.post(widget_link_build(shop=shop, ticket_id=TICKET_IVAN), timeout=10,
                           data={**_form(ivan, "note"), "action": "choose"})
    assert "not from this card" in forged.text
    assert TicketRecord.objects.filter(shop=shop, ticket_id=TICKET_IVAN,
                                       customer_id=ids["olga"]).count() == 0


def test_a_post_from_another_origin_is_refused_before_the_nonce_is_spent(shop, ids,
                                                                          live_server):
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    note = {**_form(requests.get(url, timeout=10).text, "note"), "text": "CSRF"}
    before = len(_notes(ids["ivan"]))
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Referer": "https://evil.example/page"},
                    {"Sec-Fetch-Site": "cross-site", "Origin": live_server.url}):
        refused = requests.post(url, data=note, headers=headers, timeout=10,
                                allow_redirects=False)
        assert refused.status_code == 403, headers
        assert 'data-state="refused"' in refused.text
        assert "frame-ancestors" in refused.headers["Content-Security-Policy"]
    assert len(_notes(ids["ivan"])) == before
    # The card's own page (the browser names the portal as the origin) is served.
    own = requests.post(url, data=note, timeout=10,
                        headers={"Origin": live_server.url, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200 and "Note added" in own.text
    assert len(_notes(ids["ivan"])) == before + 1


def test_page_and_api_link_a_created_customer_to_the_ticket_alike(shop, live_server):
    requester = Ticket.objects.get(account__code="demo", hid=TICKET_STRANGER).user.hid
    headers = {"Authorization": f"Bearer {shop.widget_token}"}
    created = requests.post(f"{live_server.url}/api/v1/customers", headers=headers, timeout=10,
                            json={"name": "Алексей Незнакомов", "email": "stranger@example.com",
                                  "nonce": "c-api", "ticket_id": TICKET_STRANGER})
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert TicketRecord.objects.get(shop=shop, ticket_id=TICKET_STRANGER).customer_id == new_id
    assert CustomerLink.objects.get(shop=shop, hde_user_id=requester).customer_id == new_id
    html = requests.get(widget_link_build(shop=shop, ticket_id=TICKET_STRANGER), timeout=10).text
    assert _state(html) == "found" and _shown_customer(html) == new_id

    # The page's create form: the same links, for another unknown sender.
    newcomer = 13
    url = widget_link_build(shop=shop, ticket_id=newcomer)
    form = _form(requests.get(url, timeout=10).text, "customer")
    answer = requests.post(url, timeout=10, data={
        **form, "name": "Новый Покупатель", "email": "newcomer@example.net", "phone": ""})
    assert "Customer created" in answer.text
    record = TicketRecord.objects.get(shop=shop, ticket_id=newcomer)
    assert Customer.objects.get(account__code="demo", crm_id=record.customer_id).email == \
        "newcomer@example.net"
    newcomer_user = Ticket.objects.get(account__code="demo", hid=newcomer).user.hid
    assert CustomerLink.objects.get(shop=shop, hde_user_id=newcomer_user).customer_id == \
        record.customer_id
    assert _shown_customer(answer.text) == record.customer_id


def test_only_the_cards_own_answers_show_as_messages(shop, ids):
    """An action's answer travels signed in the redirect: a link carrying a
    made-up text shows nothing, the card's own answer shows."""
    url = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    forged = requests.get(url, params={"done": "Ваш аккаунт заблокирован",
                                       "failed": "Позвоните по номеру"}, timeout=10).text
    assert "заблокирован" not in forged and "Позвоните" not in forged
    page = requests.get(url, timeout=10).text
    form = _form(page, "note")
    answer = requests.post(url, data={**form, "text": "Проверка"}, timeout=10)
    assert "Note added" in answer.text or "Заметка добавлена" in answer.text
