"""Products in tickets written to RetailCRM as a merchandising note, over
real HTTP to the RetailCRM emulator, through the admin's button."""

import html
import re

import pytest
from django.urls import reverse

from integration.models import ApiCall, Role
from integration.vendors.retailcrm import RetailCrmClient
from tests.analytics.test_analytics import seed_analytics

PERIOD = {"date_from": "2026-10-01", "date_to": "2026-10-31"}


@pytest.mark.django_db(transaction=True)
def test_owner_writes_products_note_to_the_merchandising_customer(
    client, rc_shop, rc_connect, rc_people, make_member
):
    connection = rc_connect()
    rc_shop.language = "en"
    rc_shop.save(update_fields=["language"])
    seed_analytics(rc_shop)
    owner = make_member(rc_shop.agency, Role.OWNER)
    client.force_login(owner)
    merch = rc_people["vip"]

    page = client.get(reverse("admin:integration_supportanalytics_changelist"),
                      {"shop": rc_shop.pk, **PERIOD})
    assert 'id="products-note"' in page.content.decode()
    response = client.post(reverse("admin:integration_supportanalytics_products_note"),
                           {"shop": rc_shop.pk, **PERIOD, "customer_id": merch}, follow=True)
    html = response.content.decode()
    assert f"written to RetailCRM customer {merch}" in html

    notes = RetailCrmClient.for_connection(connection).customer_notes(merch).items
    text = next(n.text for n in notes if "Products in support tickets" in n.text)
    assert "1 Oct 2026 – 31 Oct 2026" in text
    assert "Электрический чайник: 3 orders, 2 customers" in text
    assert "Термокружка 450 мл: 1 order, 1 customer" in text
    assert ApiCall.objects.filter(shop=rc_shop, path__contains="customers/notes/create",
                                  status_code__lt=300, interactive=True).exists()


@pytest.mark.django_db(transaction=True)
def test_refused_note_says_why(client, rc_shop, rc_connect, make_member):
    rc_connect()
    seed_analytics(rc_shop)
    client.force_login(make_member(rc_shop.agency, Role.ADMIN))
    response = client.post(reverse("admin:integration_supportanalytics_products_note"),
                           {"shop": rc_shop.pk, **PERIOD, "customer_id": 987654321},
                           follow=True)
    said = error_messages(response)
    assert said == ["RetailCRM refused the note: not found"], said
    # In Russian, whole: the vendor's "Not found" in the reader's words, and
    # never the API path or the HTTP code the client's error carries.
    response = client.post(reverse("admin:integration_supportanalytics_products_note"),
                           {"shop": rc_shop.pk, **PERIOD, "customer_id": 987654321},
                           follow=True, HTTP_ACCEPT_LANGUAGE="ru")
    said = error_messages(response)
    assert len(said) == 1 and said[0] == "RetailCRM отклонил заметку: не найдено", said


def error_messages(response) -> list[str]:
    """The admin's error messages as a person reads them."""
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", m)).split())
            for m in re.findall(r'<li class="error">(.*?)</li>', response.content.decode(),
                                re.S)]


@pytest.mark.django_db(transaction=True)
def test_a_customer_of_another_store_gets_no_note(client, rc_shop, rc_connect, rc_emulator,
                                                  make_member):
    """The finding: the note went to any customer id the key could see,
    another store's included. The shop's store is `main`; Elena's `outlet`
    card answers like a missing customer and is left untouched."""
    connection = rc_connect(site="main")
    seed_analytics(rc_shop)
    client.force_login(make_member(rc_shop.agency, Role.OWNER))
    outlet = rc_emulator.demo["people"]["twin_sites"]["customers"]["outlet"]
    main = rc_emulator.demo["people"]["twin_sites"]["customers"]["main"]
    crm = RetailCrmClient.for_connection(connection)
    before = len(crm.customer_notes(outlet).items)

    response = client.post(reverse("admin:integration_supportanalytics_products_note"),
                           {"shop": rc_shop.pk, **PERIOD, "customer_id": outlet}, follow=True)
    html = response.content.decode()
    assert "RetailCRM refused the note" in html and "No such customer" in html
    assert error_messages(response) == [
        "RetailCRM refused the note: No such customer in this shop's RetailCRM store."]
    assert len(crm.customer_notes(outlet).items) == before
    assert not ApiCall.objects.filter(shop=rc_shop, path__contains="customers/notes/create"
                                      ).exists()

    # The same person's card in the shop's own store gets it.
    response = client.post(reverse("admin:integration_supportanalytics_products_note"),
                           {"shop": rc_shop.pk, **PERIOD, "customer_id": main}, follow=True)
    assert f"written to RetailCRM customer {main}" in response.content.decode()
