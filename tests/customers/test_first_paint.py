"""The card's first paint after one RetailCRM round-trip (issue 18), through
the widget JSON API over real HTTP: `parts=first`, then the answer's
`next_url`.

Why these cases: `filter[email]` on orders is an open question (R-9: the
order's own e-mail, the customer's, either, or ignored), and an order placed
with one customer's e-mail by another customer must never be shown as
theirs, under every answer; orders placed under another e-mail still reach
the card, in the second step, by customer id.
"""

import pytest
import requests

from integration.models import ApiCall
from integration.vendors import facts
from sandbox.retailcrm import store
from sandbox.retailcrm.behaviour import set_behaviour
from sandbox.retailcrm.models import Account as RcAccount

SHARED = "shared.mail@example.ru"


def _get(url, shop, **params):
    response = requests.get(url, params=params, timeout=15,
                            headers={"Authorization": f"Bearer {shop.widget_token}"})
    assert response.status_code == 200, response.text
    return response.json()


def _calls(shop, since):
    return list(ApiCall.objects.filter(shop=shop, provider="retailcrm", pk__gt=since)
                .order_by("pk").values_list("path", flat=True))


def _last_call(shop):
    return ApiCall.objects.filter(shop=shop).order_by("-pk").values_list("pk", flat=True) \
        .first() or 0


@pytest.fixture
def two_customers(demo_shop):
    """Owner of SHARED with an order under it and one under another
    address; a second customer who placed an order giving SHARED."""
    account = RcAccount.objects.get(code="demo")
    owner = store.create_customer(account, None, {"firstName": "Вера", "lastName": "Общая",
                                                  "email": SHARED}, "main")
    other = store.create_customer(account, None, {"firstName": "Пётр", "lastName": "Чужой",
                                                  "email": "petr.other@example.ru"}, "main")
    item = [{"productName": "Чайник", "initialPrice": 1500, "quantity": 1}]
    mine = store.create_order(account, None, {"email": SHARED, "items": item}, "main", owner)
    elsewhere = store.create_order(account, None, {"email": "vera.work@example.ru",
                                                   "items": item}, "main", owner)
    foreign = store.create_order(account, None, {"email": SHARED, "items": item}, "main",
                                 other)
    return {"owner": owner.crm_id, "mine": mine.number, "elsewhere": elsewhere.number,
            "foreign": foreign.number}


def test_first_paint_after_one_round_trip_then_the_rest(live_server, demo_shop, rc_people):
    since = _last_call(demo_shop)
    url = f"{live_server.url}/api/v1/context"
    first = _get(url, demo_shop, email="ivan.petrov@example.ru", parts="first")
    assert first["status"] == "found" and first["complete"] is False
    assert first["customer"]["id"] == rc_people["delivery"] and first["orders"]
    assert first["history"] == [] and first["next_url"].endswith("parts=all")
    step_one = _calls(demo_shop, since)
    # One round-trip: the customer search and the orders by e-mail (the
    # reference books, not cached yet in a fresh test, beside them).
    searches = [p for p in step_one if "/reference/" not in p and "/users" not in p]
    assert len(searches) == 2 and any("/api/v5/orders?" in p for p in searches)
    assert all("filter[email]=#" in p for p in searches)  # the call log hashes the address
    second = _get(first["next_url"], demo_shop)
    assert second["complete"] is True and "next_url" not in second
    assert [o["number"] for o in second["orders"]][:len(first["orders"])] == \
        [o["number"] for o in first["orders"]]
    assert any(h["kind"] == "note" for h in second["history"]) and second["manager"]
    step_two = _calls(demo_shop, since)[len(step_one):]
    # The second step neither searches again nor reads the customer: the
    # first handed them over. Orders by customer id, notes.
    assert not any("filter" in p and "email" in p for p in step_two)
    assert not any(f"/api/v5/customers/{rc_people['delivery']}" in p for p in step_two)
    assert any("customerId" in p for p in step_two) and any("notes" in p for p in step_two)
    # A known customer is complete after one step: nothing is left to ask.
    again = _get(url, demo_shop, email="ivan.petrov@example.ru", parts="first")
    assert again["complete"] is True and again["cache_age_seconds"] is not None


@pytest.mark.parametrize("answer", ["order_email", "customer_email", "either", "ignored"])
def test_an_order_given_with_someone_elses_email_is_never_theirs(live_server, demo_shop,
                                                                 two_customers, answer):
    set_behaviour("demo", order_email_filter=answer)
    url = f"{live_server.url}/api/v1/context"
    first = _get(url, demo_shop, email=SHARED, parts="first", refresh="true")
    assert first["customer"]["id"] == two_customers["owner"]
    shown = {o["number"] for o in first["orders"]}
    assert two_customers["foreign"] not in shown
    assert shown <= {two_customers["mine"], two_customers["elsewhere"]}
    if answer in ("order_email", "either", "customer_email"):
        assert two_customers["mine"] in shown  # painted after one round-trip
    if answer == "order_email":
        assert two_customers["elsewhere"] not in shown  # under another e-mail: later
    complete = _get(first["next_url"], demo_shop) if not first["complete"] else first
    numbers = {o["number"] for o in complete["orders"]}
    assert numbers == {two_customers["mine"], two_customers["elsewhere"]}
    assert complete["customer"]["orders_count"] == 2


def test_a_shared_customer_email_still_opens_the_chooser(live_server, demo_shop,
                                                         two_customers):
    account = RcAccount.objects.get(code="demo")
    store.create_customer(account, None, {"firstName": "Вера", "lastName": "Двойник",
                                          "email": SHARED}, "main")
    body = _get(f"{live_server.url}/api/v1/context", demo_shop, email=SHARED, parts="first")
    assert body["status"] == "several" and body["complete"] is True
    assert body["orders"] == [] and len(body["candidates"]) == 2


def test_an_account_that_ignores_the_filter_is_not_asked(live_server, demo_shop):
    facts.fact_set(demo_shop.retailcrm, facts.RC_ORDER_EMAIL_FILTER, facts.FILTER_IGNORED)
    since = _last_call(demo_shop)
    body = _get(f"{live_server.url}/api/v1/context", demo_shop,
                email="ivan.petrov@example.ru", parts="first")
    # Nothing to paint after round-trip 1, so the answer waits for round-trip 2.
    assert body["status"] == "found" and body["complete"] is True and body["orders"]
    assert not any("/api/v5/orders?" in p and "email" in p for p in _calls(demo_shop, since))
