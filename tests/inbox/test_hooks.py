"""Webhook receivers: authenticate every request, store once, refuse the rest."""

import base64
import json
import uuid

import pytest
from django.urls import reverse

from integration.inbox import events as inbox
from integration.models import EventState, InboundEvent, SecretKind
from integration.tenancy.secrets import FAILURE_LIMIT, shop_secret_issue


@pytest.fixture(autouse=True)
def _hde_handler(monkeypatch):
    """Receivers are tested on their own: events need a known handler to be
    stored as pending, the handler itself is the automation issue's."""
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_ticket"), "tests.inbox_handlers.succeed")
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_reply"), "tests.inbox_handlers.succeed")


@pytest.fixture
def hooked(two_tenants):
    shop_a, shop_b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    return {
        "shop_a": shop_a, "shop_b": shop_b,
        "secret_a": shop_secret_issue(shop=shop_a, kind=SecretKind.HDE_WEBHOOK),
        "secret_b": shop_secret_issue(shop=shop_b, kind=SecretKind.HDE_WEBHOOK),
    }


def _post(client, shop, body, *, secret=None, how="basic", content_type="application/json"):
    headers = {}
    if secret is not None and how == "basic":
        token = base64.b64encode(f"hde:{secret}".encode()).decode()
        headers["HTTP_AUTHORIZATION"] = f"Basic {token}"
    elif secret is not None and how == "header":
        headers["HTTP_X_WEBHOOK_SECRET"] = secret
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(reverse("hook-hde", args=[shop.public_id]), data=data,
                       content_type=content_type, **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["basic", "header", "body"])
def test_each_way_of_presenting_the_secret_is_accepted(client, hooked, how):
    body = {"event": "new_ticket", "ticket_id": "42"}
    if how == "body":
        body["secret"] = hooked["secret_a"]
    response = _post(client, hooked["shop_a"], body,
                     secret=None if how == "body" else hooked["secret_a"], how=how)
    assert response.status_code == 202, response.content
    event = InboundEvent.objects.get(pk=response.json()["event_id"])
    assert (event.shop, event.event_type, event.source_key) == (
        hooked["shop_a"], "new_ticket", "new_ticket:42")
    assert "secret" not in event.payload  # never stored


@pytest.mark.django_db
def test_repeated_delivery_is_a_no_op(client, hooked):
    body = {"event": "new_ticket", "ticket_id": "7"}
    first = _post(client, hooked["shop_a"], body, secret=hooked["secret_a"])
    second = _post(client, hooked["shop_a"], body, secret=hooked["secret_a"])
    assert first.status_code == second.status_code == 202
    assert second.json() == {"ok": True, "event_id": first.json()["event_id"], "duplicate": True}
    assert InboundEvent.objects.count() == 1


@pytest.mark.django_db
def test_replies_are_told_apart_by_post_id(client, hooked):
    for post_id in ("100", "101", "101"):
        _post(client, hooked["shop_a"], {"event": "new_reply", "ticket_id": "7",
                                         "post_id": post_id}, secret=hooked["secret_a"])
    assert sorted(InboundEvent.objects.values_list("source_key", flat=True)) == [
        "new_reply:7:100", "new_reply:7:101"]


@pytest.mark.django_db
def test_secret_of_shop_a_does_not_open_shop_b(client, hooked):
    response = _post(client, hooked["shop_b"], {"event": "new_ticket", "ticket_id": "1"},
                     secret=hooked["secret_a"])
    assert response.status_code == 401
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("body,content_type,status,fragment", [
    ('{"event": "new_ticket", "ticket_id": ', "application/json", 400, "not valid JSON"),
    ('["new_ticket", 5]', "application/json", 400, "JSON object"),
    ({"event": "new_ticket"}, "application/json", 400, "ticket_id"),
    ({"event": "new_ticket", "ticket_id": "abc"}, "application/json", 400, "ticket_id"),
    ({"event": "new_ticket", "ticket_id": -3}, "application/json", 400, "ticket_id"),
    ({"event": "deleted", "ticket_id": 3}, "application/json", 400, "Unknown event"),
    ("x" * (65 * 1024), "application/json", 413, "larger"),
])
def test_malformed_requests_get_a_clear_4xx_and_store_nothing(client, hooked, body,
                                                              content_type, status, fragment):
    response = _post(client, hooked["shop_a"], body, secret=hooked["secret_a"],
                     content_type=content_type)
    assert response.status_code == status
    assert fragment in response.json()["error"]
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db
def test_form_encoded_body_is_accepted(client, hooked):
    response = _post(client, hooked["shop_a"], "event=new_ticket&ticket_id=9",
                     secret=hooked["secret_a"], content_type="application/x-www-form-urlencoded")
    assert response.status_code == 202


@pytest.mark.django_db
def test_unknown_shop_is_404_and_get_is_405(client, hooked):
    missing = client.post(reverse("hook-hde", args=[uuid.uuid4()]), data="{}",
                          content_type="application/json")
    assert missing.status_code == 404
    assert client.get(reverse("hook-hde", args=[hooked["shop_a"].public_id])).status_code == 405


@pytest.mark.django_db
def test_revoked_secret_is_refused(client, hooked):
    new_secret = shop_secret_issue(shop=hooked["shop_a"], kind=SecretKind.HDE_WEBHOOK,
                                   replace=True)
    body = {"event": "new_ticket", "ticket_id": "5"}
    assert _post(client, hooked["shop_a"], body, secret=hooked["secret_a"]).status_code == 401
    assert _post(client, hooked["shop_a"], body, secret=new_secret).status_code == 202


@pytest.mark.django_db
def test_repeated_wrong_secrets_are_throttled(client, hooked):
    body = {"event": "new_ticket", "ticket_id": "5"}
    codes = [_post(client, hooked["shop_a"], body, secret=f"guess-{i}").status_code
             for i in range(FAILURE_LIMIT + 2)]
    assert codes[:FAILURE_LIMIT] == [401] * FAILURE_LIMIT
    assert codes[FAILURE_LIMIT:] == [429, 429]
    # The sender that holds the secret (a 256-bit one cannot be guessed) is
    # never locked out by someone hammering the endpoint.
    assert _post(client, hooked["shop_a"], body, secret=hooked["secret_a"]).status_code == 202
    # Another shop is unaffected.
    assert _post(client, hooked["shop_b"], body, secret=hooked["secret_b"]).status_code == 202


@pytest.mark.django_db
def test_accepted_event_is_processed_after_commit(client, hooked,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, hooked["shop_a"], {"event": "new_ticket", "ticket_id": "77"},
                         secret=hooked["secret_a"])
    event = InboundEvent.objects.get(pk=response.json()["event_id"])
    assert event.state == EventState.DONE
    assert event.attempts == 1


@pytest.mark.django_db
def test_retailcrm_trigger_carries_only_the_order_id(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    secret = shop_secret_issue(shop=shop, kind=SecretKind.RETAILCRM_TRIGGER)
    url = reverse("hook-retailcrm", args=[shop.public_id])
    ok = client.post(url, data="order_id=1234&status=delivery-problem",
                     content_type="application/x-www-form-urlencoded",
                     HTTP_X_WEBHOOK_SECRET=secret)
    assert ok.status_code == 202
    event = InboundEvent.objects.get(pk=ok.json()["event_id"])
    assert event.payload == {"order_id": 1234, "status": "delivery-problem"}
    # The HDE secret kind does not open the RetailCRM receiver.
    hde_secret = shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK)
    wrong = client.post(url, data={"order_id": 1}, content_type="application/json",
                        HTTP_X_WEBHOOK_SECRET=hde_secret)
    assert wrong.status_code == 401
