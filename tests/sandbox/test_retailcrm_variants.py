"""The RetailCRM emulator answers each open vendor question every way.

Why: where the vendor's behaviour is unverified (docs/vendors/retailcrm.md
§19), the product must work under every plausible answer. These tests show,
over real HTTP, that an emulator account switched to an answer really
behaves that way, and that the switches can be set through the ORM, HTTP
and the seed. The default of every switch is what the emulator did before;
the existing emulator tests pin it.
"""

from dataclasses import replace

import pytest
import requests
import retailcrm
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from sandbox.behaviour import BehaviourError
from sandbox.retailcrm.behaviour import set_behaviour
from sandbox.retailcrm.models import Account, Order
from sandbox.retailcrm.seed import (
    DEMO_FULL_KEY,
    DEMO_READONLY_KEY,
    FULL_SCOPES,
    PLANS,
    seed_account,
)


@pytest.fixture
def api(rc_emulator):
    """`api("v5/orders", params)` → the parsed answer of a GET with the full key."""
    url = rc_emulator.demo["url"]

    def get(path, params=None, *, key=DEMO_FULL_KEY, raw=False):
        answer = requests.get(f"{url}/api/{path}", params=params, timeout=10,
                              headers={"X-API-KEY": key} if key else {})
        return answer if raw else answer.json()

    return get


@pytest.fixture
def official(rc_emulator):
    return retailcrm.v5(rc_emulator.demo["url"], DEMO_FULL_KEY)


def behave(**switches):
    set_behaviour("demo", reset=True, **switches)


# --- setting the switches ---------------------------------------------------
def test_switches_over_http_the_orm_and_their_validation(rc_emulator):
    url = f"{rc_emulator.demo['url']}/_behaviour"
    shown = requests.get(url, timeout=5).json()
    assert shown["behaviour"]["order_list_order"] == "newest_first"  # today's behaviour
    assert shown["choices"]["phone_match"] == ["digits_substring", "whole_number", "prefix"]

    changed = requests.post(url, data={"order_list_order": "id_asc"}, timeout=5).json()
    assert changed["behaviour"]["order_list_order"] == "id_asc"
    again = requests.post(url, json={"email_case": "sensitive"}, timeout=5).json()["behaviour"]
    assert (again["order_list_order"], again["email_case"]) == ("id_asc", "sensitive")
    # Only what differs from the defaults is stored.
    assert Account.objects.get(code="demo").behaviour == {"order_list_order": "id_asc",
                                                          "email_case": "sensitive"}

    for bad in ({"order_list_order": "random"}, {"no_such_switch": "x"}):
        refused = requests.post(url, json=bad, timeout=5)
        assert refused.status_code == 400 and "choices" in refused.json()
    assert requests.post(url, data={"reset": "1"}, timeout=5).json()["behaviour"] == {
        name: values[0] for name, values in shown["choices"].items()}
    assert Account.objects.get(code="demo").behaviour == {}
    assert requests.get(f"{rc_emulator.base_url}/sandbox/retailcrm/nobody/_behaviour",
                        timeout=5).status_code == 404

    account = Account.objects.get(code="demo")
    account.behaviour = {"phone_match": "soundex"}
    with pytest.raises(ValidationError):
        account.full_clean()
    with pytest.raises(BehaviourError):
        set_behaviour("demo", phone_match="soundex")


def test_switches_through_the_seed(rc_emulator):
    plan = replace(PLANS[1], code="variant-shop", fillers=0,
                   keys=[("variantShopKey5Gh7Jk9Lm2Np4Qr", FULL_SCOPES, [])],
                   behaviour={"order_list_order": "oldest_first", "settings_endpoint":
                              "available"})
    seed_account(plan, base_url=rc_emulator.base_url)
    shown = requests.get(f"{rc_emulator.base_url}/sandbox/retailcrm/variant-shop/_behaviour",
                         timeout=5).json()["behaviour"]
    assert shown["order_list_order"] == "oldest_first"
    assert Account.objects.get(code="variant-shop").behaviour == {
        "order_list_order": "oldest_first"}
    with pytest.raises(BehaviourError):
        seed_account(replace(plan, code="broken", keys=[], behaviour={"x": "y"}),
                     base_url=rc_emulator.base_url)


def test_the_seed_command_checks_behaviour_before_wiping(rc_emulator):
    from sandbox.management.commands.sandbox_seed import parse_behaviour

    assert parse_behaviour(["retailcrm:demo:order_list_order=id_asc",
                            "hde:demo:tags_on_update=refuse"]) == {
        "retailcrm": {"demo": {"order_list_order": "id_asc"}},
        "hde": {"demo": {"tags_on_update": "refuse"}}}
    for wrong in ("retailcrm:demo:order_list_order=random", "retailcrm:nobody:email_case=exact",
                  "jira:demo:x=y", "retailcrm:demo"):
        with pytest.raises(CommandError):
            call_command("sandbox_seed", "--behaviour", wrong)
    assert Account.objects.filter(code="demo").exists()  # nothing was wiped


# --- order list: sort and filters ---------------------------------------------
def test_order_list_order(official, rc_people, api):
    imported = official.order_create({"customer": {"id": rc_people["vip"]},
                                      "createdAt": "2020-01-15 10:00:00",
                                      "items": [{"initialPrice": 100, "quantity": 1}]}, "main")
    assert imported.get_status_code() == 201
    imported_id = imported.get_response()["id"]
    assert imported.get_response()["order"]["createdAt"] == "2020-01-15 10:00:00"
    listing = {"filter[customerId]": rc_people["vip"], "limit": 20}

    behave()
    newest = api("v5/orders", listing)["orders"]
    stamps = [o["createdAt"] for o in newest]
    assert stamps == sorted(stamps, reverse=True) and newest[-1]["id"] == imported_id

    behave(order_list_order="oldest_first")
    oldest = api("v5/orders", listing)["orders"]
    assert [o["id"] for o in oldest] == [o["id"] for o in reversed(newest)]
    assert oldest[0]["id"] == imported_id  # the oldest, though its id is the highest

    behave(order_list_order="id_asc")
    by_id = [o["id"] for o in api("v5/orders", listing)["orders"]]
    assert by_id == sorted(by_id) and by_id[-1] == imported_id

    bad_date = official.order_create({"customer": {"id": rc_people["vip"]},
                                      "createdAt": "15.01.2020"}, "main")
    assert bad_date.get_status_code() == 400 and "createdAt" in bad_date.get_errors()


def test_order_list_filters_of_the_reference(api, rc_people):
    vip, twin = rc_people["vip"], rc_people["vip_twin"]
    counts = {key: Order.objects.filter(account__code="demo", customer_crm_id=rc_people[key],
                                        site="main").count() for key in ("vip", "vip_twin")}
    by_email = api("v5/orders", {"filter[email]": "anna.smirnova@example.ru", "limit": 100})
    assert {o["customer"]["id"] for o in by_email["orders"]} == {vip}
    assert by_email["pagination"]["totalCount"] == counts["vip"]

    for text, wanted in (("Смирнова Анна", {vip}), ("+7 (916) 123-45-67", {vip, twin}),
                         ("anna.smirnova", {vip}), ("петров иван", {rc_people["delivery"]})):
        found = api("v5/orders", {"filter[customer]": text, "limit": 100})["orders"]
        assert {o["customer"]["id"] for o in found} == wanted, text
    assert api("v5/orders", {"filter[customer]": "8 916 123 45 67", "limit": 100})[
        "pagination"]["totalCount"] == counts["vip"] + counts["vip_twin"]

    assert api("v5/orders", {"filter[customerId]": vip})["pagination"]["totalCount"] == (
        counts["vip"])
    assert api("v5/orders", {"filter[customerId]": "anna"}, raw=True).status_code == 400

    delivering = {"filter[customerId]": rc_people["delivery"]}
    assert api("v5/orders", {**delivering, "filter[extendedStatus][]": "delivering"})[
        "pagination"]["totalCount"] == 1
    group = {**delivering, "filter[extendedStatus][]": "delivery"}  # a group code
    assert api("v5/orders", group)["pagination"]["totalCount"] == 1
    behave(extended_status_groups="ignored")
    assert api("v5/orders", group)["pagination"]["totalCount"] == 0
    assert api("v5/orders", {**delivering, "filter[extendedStatus][]": "delivering"})[
        "pagination"]["totalCount"] == 1


# --- customer search ----------------------------------------------------------
@pytest.fixture
def phone_people(official):
    """Three customers whose phones are stored in the three usual forms."""
    ids = {}
    for key, phone in (("plus7", "+7 912 000-00-01"), ("eight", "89120000002"),
                       ("ten", "9120000003")):
        created = official.customer_create({"firstName": "Телефон", "lastName": key,
                                            "phones": [{"number": phone}]}, "main")
        ids[key] = created.get_response()["id"]
    return ids


def _found(api, name) -> set[int]:
    answer = api("v5/customers", {"filter[name]": name, "limit": 100})
    return {c["id"] for c in answer["customers"]}


@pytest.mark.parametrize("mode, typed, expected", [
    ("digits_substring", "9120000001", {"plus7"}),
    ("digits_substring", "+79120000002", {"eight"}),
    ("digits_substring", "8 (912) 000-00-03", {"ten"}),
    ("digits_substring", "912000000", {"plus7", "eight", "ten"}),
    ("whole_number", "+7 912 000-00-01", {"plus7"}),
    ("whole_number", "+79120000001", set()),
    ("whole_number", "89120000002", {"eight"}),
    ("whole_number", "9120000003", {"ten"}),
    ("whole_number", "89120000003", set()),
    ("prefix", "+79120", {"plus7"}),
    ("prefix", "8912000", {"eight"}),
    ("prefix", "912000", {"ten"}),
    ("prefix", "0000003", set()),
])
def test_phone_matching(api, phone_people, mode, typed, expected):
    behave(phone_match=mode)
    found = _found(api, typed) & set(phone_people.values())
    assert found == {phone_people[key] for key in expected}
    assert _found(api, "Телефон") == set(phone_people.values())  # names in every mode


@pytest.fixture
def mixed_case(official, rc_people):
    created = official.customer_create({"firstName": "Регистр",
                                        "email": "Mixed.Case@Example.RU"}, "main")
    customer = created.get_response()["id"]
    order = official.order_create({"customer": {"id": customer},
                                   "email": "Mixed.Case@Example.RU"}, "main")
    return customer, order.get_response()["id"]


@pytest.mark.parametrize("case, match, typed, found", [
    ("insensitive", "substring", "mixed.case@example.ru", True),
    ("insensitive", "substring", "MIXED.case", True),
    ("insensitive", "exact", "mixed.case", False),
    ("insensitive", "exact", "MIXED.CASE@EXAMPLE.RU", True),
    ("sensitive", "substring", "mixed.case@example.ru", False),
    ("sensitive", "substring", "Mixed.Case", True),
    ("sensitive", "exact", "Mixed.Case@Example.RU", True),
    ("sensitive", "exact", "Mixed.Case", False),
])
def test_email_matching_on_customers_and_orders(api, mixed_case, case, match, typed, found):
    customer, order = mixed_case
    behave(email_case=case, email_match=match)
    customers = api("v5/customers", {"filter[email]": typed, "limit": 100})["customers"]
    assert (customer in {c["id"] for c in customers}) is found
    orders = api("v5/orders", {"filter[email]": typed, "limit": 100})["orders"]
    assert (order in {o["id"] for o in orders}) is found


# --- history, credentials, settings, orders' shape, auth ------------------------
def _walk(api, path, limit=20):
    """Every record, following `totalPageCount` (what a tolerant client does)."""
    records, page, pages = [], 1, 1
    while page <= pages:
        answer = api(path, {"filter[sinceId]": 0, "limit": limit, "page": page})
        records += answer["history"]
        pages = answer["pagination"]["totalPageCount"]
        page += 1
    return [record["id"] for record in records]


def test_history_pages_may_come_back_empty(api):
    behave()
    normal = api("v5/orders/history", {"filter[sinceId]": 0, "limit": 20})
    assert len(normal["history"]) == 20
    every = _walk(api, "v5/orders/history")
    assert every == list(range(1, normal["pagination"]["totalCount"] + 1))

    behave(history_pages="empty_pages")
    first = api("v5/orders/history", {"filter[sinceId]": 0, "limit": 20})
    assert first["history"] == []
    assert first["pagination"]["currentPage"] < first["pagination"]["totalPageCount"]
    assert first["pagination"]["totalCount"] == normal["pagination"]["totalCount"]
    second = api("v5/orders/history", {"filter[sinceId]": 0, "limit": 20, "page": 2})
    assert [h["id"] for h in second["history"]] == [h["id"] for h in normal["history"]]
    assert _walk(api, "v5/orders/history") == every  # nothing lost for a tolerant client
    assert _walk(api, "v5/customers/history") == _walk(api, "v5/customers/history", 100)


def test_credentials_rights_renamed_or_split(api, official, rc_people, rc_emulator):
    standard = api("credentials")
    assert {"customer_write", "order_read", "reference_read"} <= set(standard["scopes"])
    assert standard["credentials"] == []

    behave(credentials_rights="renamed_or_split")
    renamed = api("credentials")
    assert "customer_write" not in renamed["scopes"] and "reference_read" not in renamed[
        "scopes"]
    assert {"customer_create", "customer_edit", "references_read"} <= set(renamed["scopes"])
    assert "/api/v5/customers/notes/create" in renamed["credentials"]
    # What the key may do is unchanged.
    assert official.customer_note_create({"text": "x", "customer": {"id": rc_people["vip"]}}
                                         ).get_status_code() == 201
    read_only = retailcrm.v5(rc_emulator.demo["url"], DEMO_READONLY_KEY)
    assert read_only.customer_note_create({"text": "x", "customer": {"id": rc_people["vip"]}}
                                          ).get_status_code() == 403


@pytest.mark.parametrize("answer, status, message", [
    ("available", 200, None), ("forbidden", 403, "Access denied."),
    ("failing", 500, "Internal Server Error"),
])
def test_settings_endpoint(api, answer, status, message):
    behave(settings_endpoint=answer)
    reply = api("v5/settings", raw=True)
    assert reply.status_code == status
    if message:
        assert reply.json() == {"success": False, "errorMsg": message}
    else:
        assert reply.json()["settings"]["timezone"]["value"] == "Europe/Moscow"
    assert api("credentials", raw=True).status_code == 200  # that path only


def test_orders_embed_the_customer_fully_or_partly(official, api, rc_people):
    listing = {"filter[customerId]": rc_people["vip"]}
    full = api("v5/orders", listing)["orders"][0]
    assert full["customer"]["firstName"] == "Анна" and full["contact"]["id"] == rc_people["vip"]

    behave(order_customer="partial")
    partial = api("v5/orders", listing)["orders"][0]
    assert partial["customer"] == {"id": rc_people["vip"],
                                   "email": "anna.smirnova@example.ru"}
    assert "contact" not in partial
    one = api(f"v5/orders/{partial['id']}", {"by": "id"})["order"]
    assert one["customer"] == partial["customer"]
    phone_only = api("v5/orders", {"filter[customerId]": rc_people["phone_only"]})["orders"]
    assert phone_only[0]["customer"] == {"id": rc_people["phone_only"]}  # no e-mail to show
    created = official.order_create({"customer": {"id": rc_people["new"]}}, "main")
    assert created.get_response()["order"]["customer"] == {
        "id": rc_people["new"], "email": "maria.volkova@example.ru"}


def test_payments_as_an_object_or_a_list(api, rc_people):
    listing = {"filter[customerId]": rc_people["vip"], "limit": 20}
    paid = [o for o in api("v5/orders", listing)["orders"] if o["payments"]]
    assert paid and all(isinstance(o["payments"], dict) for o in paid)
    behave(payments_shape="list")
    as_list = {o["id"]: o["payments"] for o in api("v5/orders", listing)["orders"]}
    for order in paid:
        assert as_list[order["id"]] == list(order["payments"].values())


@pytest.mark.parametrize("status", [403, 401])
def test_auth_error_status(api, status):
    behave(auth_error_status=str(status))
    wrong = api("v5/reference/statuses", key="wrong-key", raw=True)
    assert (wrong.status_code, wrong.json()["errorMsg"]) == (status, 'Wrong "apiKey" value.')
    missing = api("v5/reference/statuses", key="", raw=True)
    assert (missing.status_code, missing.json()["errorMsg"]) == (status, '"apiKey" is missing.')
    denied = api("v5/tasks", key=DEMO_READONLY_KEY, raw=True)
    assert (denied.status_code, denied.json()["errorMsg"]) == (403, "Access denied.")


def test_a_stored_typo_fails_loudly_not_as_a_default(api):
    Account.objects.filter(code="demo").update(behaviour={"order_list_order": "sideways"})
    with pytest.raises(BehaviourError):
        Account.objects.get(code="demo").switch("order_list_order")
    assert api("v5/orders", raw=True).status_code == 500
    assert api("credentials")["success"] is True  # paths that do not ask still work
