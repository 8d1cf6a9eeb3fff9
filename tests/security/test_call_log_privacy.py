"""The call log (`ApiCall`) keeps ids, never a person's e-mail, phone or name.

Why: the customer searches put the sender's contact details into the query
(`customers?filter[email]=…`, `filter[name]=<phone digits>`, HDE's
`search=…`), and the call log is kept for a month, exported as CSV and shown
to every viewer of the agency, while deploy/README.md promises it holds only
ids. Now such values are stored as a keyed hash with the parameter name
(`filter[email]=#3f2a9c1d`): enough to debug, and to find one customer's
calls for an export, without the value itself.
"""

from importlib import import_module
from urllib.parse import quote, quote_plus

import pytest
from django.apps import apps

from integration.customers.context import customer_context_get
from integration.models import ApiCall, EventState, InboundEvent
from integration.ops.personal_data import customer_data_export
from integration.vendors.call_log import token_for
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.retailcrm_parsing import normalise_phone
from sandbox.demo_people import PEOPLE
from tests.fixtures_portal import pump_dispatcher

IVAN = next(person for person in PEOPLE if person.key == "delivery")
PHONE_ONLY = next(person for person in PEOPLE if person.key == "phone_only")


def _forms_of(person) -> set[str]:
    """Every way a person's details could sit in a stored URL or text."""
    forms = set()
    if person.email:
        for email in (person.email, person.email.lower()):
            forms |= {email, quote(email), quote_plus(email), email.replace("@", "%40")}
    for phone in filter(None, (person.phone, person.phone_in_hde)):
        e164 = normalise_phone(phone)
        digits = "".join(c for c in phone if c.isdigit())
        forms |= {phone, quote_plus(phone), digits, e164, e164.lstrip("+"), e164[-10:]}
    forms.add(quote(person.last_name))
    forms.add(person.last_name)
    return {form for form in forms if len(form) >= 5}


@pytest.mark.django_db(transaction=True)
def test_no_customer_email_or_phone_reaches_the_call_log(wired_shop):
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title="Когда привезут заказ?", description="Здравствуйте!",
                               user_email=IVAN.email)
    pump_dispatcher()
    event = InboundEvent.objects.get(shop=wired_shop, event_type="new_ticket")
    assert event.state == EventState.DONE, event.last_error
    assert ticket.id
    # The other searches: a phone (the widget, a phone-only sender) and an
    # HDE user search by e-mail.
    by_phone = customer_context_get(shop=wired_shop, phone=PHONE_ONLY.phone_in_hde, refresh=True)
    assert by_phone.customer is not None
    assert hde.find_users_by_email(IVAN.email)

    calls = list(ApiCall.objects.filter(shop=wired_shop))
    stored = "\n".join(f"{call.path} {call.error}" for call in calls)
    assert len(calls) >= 8
    for person in PEOPLE:
        for form in _forms_of(person):
            assert form not in stored, (person.key, form)

    # Debuggable: the parameter stays, the value is a stable keyed hash.
    ivan_token = token_for(IVAN.email.lower())
    assert f"filter[email]={ivan_token}" in stored
    assert f"search={token_for(IVAN.email)}" in stored
    national = normalise_phone(PHONE_ONLY.phone_in_hde)[-10:]
    assert f"filter[name]={token_for(national)}" in stored

    # An export for Ivan finds his calls by the hash.
    export = customer_data_export(shop=wired_shop, email=IVAN.email)
    assert any(ivan_token in call["path"] for call in export["api_calls"])
    export = customer_data_export(shop=wired_shop, phone=PHONE_ONLY.phone)
    assert any(token_for(national) in call["path"] for call in export["api_calls"])


@pytest.mark.django_db
def test_rows_written_before_are_rewritten_by_the_migration(make_agency, make_shop):
    shop = make_shop(make_agency("Old logs"), name="Old logs")
    old = ApiCall.objects.create(
        shop=shop, provider="retailcrm", method="GET",
        path="/api/v5/customers?filter%5Bemail%5D=ivan.petrov%40example.ru&limit=100"
             "&filter%5Bsites%5D%5B%5D=main",
        error="Not found: ivan.petrov@example.ru")
    search = ApiCall.objects.create(shop=shop, provider="helpdeskeddy", method="GET",
                                    path="/api/v2/users/?search=ivan.petrov%40example.ru"
                                         "&exact_search=1")
    plain = ApiCall.objects.create(shop=shop, provider="retailcrm", method="GET",
                                   path="/api/v5/orders/1001?by=id")
    migration = import_module("integration.migrations.0018_call_log_without_personal_data")
    migration.scrub_existing(apps, None)
    migration.scrub_existing(apps, None)  # twice changes nothing

    token = token_for("ivan.petrov@example.ru")
    old.refresh_from_db()
    search.refresh_from_db()
    plain.refresh_from_db()
    assert old.path == f"/api/v5/customers?filter[email]={token}&limit=100&filter[sites][]=main"
    assert old.error == f"Not found: {token}"
    assert search.path == f"/api/v2/users/?search={token}&exact_search=1"
    assert plain.path == "/api/v5/orders/1001?by=id"
