""""Create customer" on the card makes one customer per person.

Why: two operators on two cards (or the same sender's two tickets) each saw
"unknown" and pressed "Create customer": RetailCRM got two customers with one
e-mail. The card's create now goes through the same per-person key as the
ticket job (integration.customers.senders) and looks in RetailCRM first.
Driven as operators do it: the card's own forms, posted over HTTP.
"""

import re
import threading

import requests

from integration.widget.links import widget_link_build
from sandbox.retailcrm.models import Account, Customer

TICKET_UNKNOWN = 12  # the demo's ticket from someone RetailCRM does not know


def _create_form(url):
    """A fresh page (another operator), its "Create customer" form."""
    page = requests.get(url, timeout=10).text
    block = page.split('name="action" value="customer"')[1].split("</form>")[0]
    return {**dict(re.findall(r'name="(\w+)" value="([^"]*)"', block)), "action": "customer"}


def _customers(email):
    return list(Customer.objects.filter(account__code="demo", email=email)
                .values_list("crm_id", flat=True))


def test_two_operators_creating_one_person_make_one_customer(card):
    url = widget_link_build(shop=card, ticket_id=TICKET_UNKNOWN)
    person = {"name": "Алексей Незнакомов", "email": "alexey.new@example.com", "phone": ""}
    # Two operators have the card open, both painted before anyone created.
    mine, theirs = _create_form(url), _create_form(url)
    first = requests.post(url, data={**mine, **person}, timeout=10)
    assert "Customer created" in first.text
    second = requests.post(url, data={**theirs, **person}, timeout=10)
    assert "already a customer in RetailCRM" in second.text
    assert len(_customers("alexey.new@example.com")) == 1


def test_racing_creates_for_one_person_make_one_customer(card):
    """Both searches finish before either create (RetailCRM answers slowly):
    the per-person key makes the second wait for the first's customer."""
    url = widget_link_build(shop=card, ticket_id=TICKET_UNKNOWN)
    person = {"name": "Мария Новикова", "email": "maria.race@example.com", "phone": ""}
    forms = [_create_form(url), _create_form(url)]
    Account.objects.filter(code="demo").update(latency_ms=400)
    start, answers = threading.Barrier(2), []

    def send(form):
        start.wait(10)
        answers.append(requests.post(url, data={**form, **person}, timeout=30).text)

    threads = [threading.Thread(target=send, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 2
    assert sum("Customer created" in a for a in answers) == 1
    assert sum("already a customer in RetailCRM" in a for a in answers) == 1
    assert len(_customers("maria.race@example.com")) == 1
