"""Widget JSON API: bearer tokens bound to one shop, validation, actions."""

import pytest
import requests

from integration.models import SecretKind
from integration.tenancy.secrets import shop_secret_issue, shop_secret_revoke_all
from sandbox.retailcrm.models import Customer, Note, Task
from tests.workers import ticket_marker


def _get(live_server, token, **params):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(f"{live_server.url}/api/v1/context", params=params, headers=headers,
                        timeout=10)


def _post(live_server, token, path, data):
    return requests.post(f"{live_server.url}/api/v1/{path}", json=data,
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_context_by_email(live_server, demo_shop):
    response = _get(live_server, demo_shop.widget_token, email="ivan.petrov@example.ru")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "found" and body["customer"]["name"] == "Петров Иван"
    assert body["orders"][0]["status_group"] == "delivery"


def test_context_by_ticket_reads_the_sender_from_hde(live_server, demo_shop):
    body = _get(live_server, demo_shop.widget_token, ticket_id=3).json()  # Иван's ticket
    assert body["status"] == "found" and body["customer"]["name"] == "Петров Иван"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Token abc", "Bearer "])
def test_missing_or_wrong_token_is_401(live_server, demo_shop, header):
    headers = {"Authorization": header} if header else {}
    response = requests.get(f"{live_server.url}/api/v1/context",
                            params={"email": "ivan.petrov@example.ru"}, headers=headers,
                            timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "customer" not in response.text


def test_revoked_token_is_401(live_server, demo_shop):
    shop_secret_revoke_all(shop=demo_shop, kind=SecretKind.WIDGET_TOKEN)
    assert _get(live_server, demo_shop.widget_token, email="x@y.ru").status_code == 401


def test_other_shops_token_sees_only_its_own_account(live_server, demo_shop, make_agency,
                                                     make_shop, rc_emulator):
    from integration.models import RetailCrmConnection

    other = make_shop(make_agency("Other agency"), name="Other shop")
    RetailCrmConnection.objects.create(shop=other, base_url=rc_emulator.second["url"],
                                       api_key=rc_emulator.second["api_key"])
    token = shop_secret_issue(shop=other, kind=SecretKind.WIDGET_TOKEN)
    customer_a = _get(live_server, demo_shop.widget_token,
                      email="olga.k@example.ru").json()["customer"]
    body = _get(live_server, token, customer_id=customer_a["id"]).json()
    # Same numeric id in another account is another person (or nobody):
    assert body.get("customer") is None or body["customer"]["name"] != customer_a["name"]
    assert _get(live_server, token, email="olga.k@example.ru").json()["status"] == "unknown"
    # A webhook secret is not a widget token.
    hook_secret = shop_secret_issue(shop=demo_shop, kind=SecretKind.HDE_WEBHOOK)
    assert _get(live_server, hook_secret, email="olga.k@example.ru").status_code == 401


@pytest.mark.parametrize("params,fragment", [
    ({}, "at least one of"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b.ru", "page": "0"}, "page"),
    ({"ticket_id": "abc"}, "ticket_id"),
])
def test_validation_errors_are_clear_400s(live_server, demo_shop, params, fragment):
    response = _get(live_server, demo_shop.widget_token, **params)
    assert response.status_code == 400
    assert fragment in response.text


def test_note_is_created_once_per_nonce(live_server, demo_shop):
    customer = _get(live_server, demo_shop.widget_token,
                    email="olga.k@example.ru").json()["customer"]
    before = Note.objects.filter(customer_crm_id=customer["id"]).count()
    data = {"customer_id": customer["id"], "text": "Called about delivery", "nonce": "n-1",
            "ticket_id": 4}
    first = _post(live_server, demo_shop.widget_token, "notes", data)
    second = _post(live_server, demo_shop.widget_token, "notes", data)  # double click
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    notes = Note.objects.filter(customer_crm_id=customer["id"])
    assert notes.count() == before + 1
    assert f"{ticket_marker(4)}: Called about delivery" in notes.latest("created_at").doc["text"]


def test_task_goes_to_the_manager_retailcrm_names(live_server, demo_shop):
    """No performer given: the customer's responsible manager as RetailCRM
    records it gets the task; with none there and no fallback manager, the
    answer says what to set."""
    customer = Customer.objects.get(account__code="demo", crm_id=1)
    response = _post(live_server, demo_shop.widget_token, "tasks",
                     {"customer_id": 1, "nonce": "t-0"})
    assert response.status_code == 201
    assert Task.objects.latest("id").doc["performer"] == customer.doc["managerId"]

    customer.doc.pop("managerId")
    customer.save(update_fields=["doc"])
    response = _post(live_server, demo_shop.widget_token, "tasks",
                     {"customer_id": 1, "nonce": "t-1"})
    assert response.status_code == 400
    assert "fallback manager" in response.json()["detail"]


def test_customer_create(live_server, demo_shop):
    response = _post(live_server, demo_shop.widget_token, "customers",
                     {"name": "Алексей Незнакомов", "email": "stranger@example.com",
                      "phone": "+7 900 100-20-30", "nonce": "c-1"})
    assert response.status_code == 201
    created = Customer.objects.get(account__code="demo", crm_id=response.json()["id"])
    assert created.email == "stranger@example.com"


def test_openapi_docs_introduce_the_api_and_document_the_context_answer(
        live_server, demo_shop):
    """The docs say what the API is and how to get a token, and `/context`'s
    answer is documented field by field, exactly as the service returns it
    (the dataclasses of integration.customers.types, and a real answer)."""
    from dataclasses import fields

    from integration.customers import types

    schema = requests.get(f"{live_server.url}/api/v1/schema/", params={"format": "json"},
                          timeout=10).json()
    intro = schema["info"]["description"]
    assert "Authorization: Bearer <widget token>" in intro
    assert "Widget links and tokens" in intro and "shown **once**" in intro
    components = schema["components"]["schemas"]

    def documented(ref_or_schema):
        ref = ref_or_schema.get("$ref") or next(
            (s["$ref"] for s in ref_or_schema.get("allOf", []) + ref_or_schema.get("oneOf", [])
             if "$ref" in s), None)
        return components[ref.rsplit("/", 1)[1]] if ref else ref_or_schema

    ok = schema["paths"]["/api/v1/context"]["get"]["responses"]
    assert {"200", "400", "401", "502"} <= set(ok)
    context = documented(ok["200"]["content"]["application/json"]["schema"])
    # The view adds `next_url` to a first step (`parts=first`) only.
    assert set(context["properties"]) == {f.name for f in fields(types.CustomerContext)} | {
        "next_url"}
    profile = documented(context["properties"]["customer"])
    assert set(profile["properties"]) == {f.name for f in fields(types.CustomerProfile)}
    order = documented(context["properties"]["orders"]["items"])
    assert set(order["properties"]) == {f.name for f in fields(types.OrderSummary)}
    assert "additionalProperties" not in context

    body = _get(live_server, demo_shop.widget_token, email="ivan.petrov@example.ru").json()
    assert set(body) == set(context["properties"]) - {"next_url"}
    assert set(body["customer"]) == set(profile["properties"])
    assert set(body["orders"][0]) == set(order["properties"])

    docs = requests.get(f"{live_server.url}/api/v1/docs/", timeout=10)
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    assert "/static/console/favicon.svg" in docs.text
