"""The webhook receivers over real HTTP: credentials in a header are checked
before the body is read, and a body from anyone is parsed under limits, so
whatever arrives is a 4xx with a JSON answer, never a 500.

Each case names the body that used to get through: a 30,000-deep array
(RecursionError in the JSON parser), a 5,000-digit number (ValueError past
Python's integer-string limit), a NUL or a lone surrogate in a stored field
(refused by PostgreSQL), a wrong secret with a broken body (the body used to
be parsed first and answered 400, telling a stranger about the parser).
"""

import base64
import json

import pytest
import requests
from django.urls import reverse

from integration.inbox import events as inbox
from integration.models import InboundEvent, SecretKind
from integration.tenancy.secrets import shop_secret_issue

DEEP = "[" * 30000 + "]" * 30000


@pytest.fixture
def hook(live_server, two_tenants, monkeypatch):
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_ticket"), "tests.inbox_handlers.succeed")
    shop = two_tenants["a"]["shop"]
    secret = shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK)
    crm_secret = shop_secret_issue(shop=shop, kind=SecretKind.RETAILCRM_TRIGGER)
    return {
        "url": live_server.url + reverse("hook-hde", args=[shop.public_id]),
        "crm_url": live_server.url + reverse("hook-retailcrm", args=[shop.public_id]),
        "secret": secret, "crm_secret": crm_secret,
        "basic": "Basic " + base64.b64encode(f"hde:{secret}".encode()).decode(),
    }


def _post(url, body, *, content_type="application/json", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(url, data=data, headers={"Content-Type": content_type, **headers},
                         timeout=30)


def _refused_as_json(response, status):
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["ok"] is False
    return response.json()["error"]


@pytest.mark.django_db(transaction=True)
def test_deep_nesting_without_credentials_is_a_400_not_a_500(hook):
    error = _refused_as_json(_post(hook["url"], DEEP), 400)
    assert "JSON" in error
    # Inside an object, where the body-secret form would look for the secret.
    _refused_as_json(_post(hook["url"], '{"secret": "x", "a": ' + DEEP + "}"), 400)
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_deep_nesting_with_the_right_secret_is_a_400(hook):
    _refused_as_json(_post(hook["url"], DEEP, Authorization=hook["basic"]), 400)
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_header_credentials_are_checked_before_the_body_is_parsed(hook):
    """A wrong secret in a header is refused as such whatever the body: the
    body of a stranger is never parsed."""
    wrong = "Basic " + base64.b64encode(b"hde:guess").decode()
    for body in (DEEP, '{"event": "new_ticket", "ticket_id": ', "9" * 5000, b"\xff\xfe\x00"):
        _refused_as_json(_post(hook["url"], body, Authorization=wrong), 401)
        _refused_as_json(_post(hook["crm_url"], body, **{"X-Webhook-Secret": "guess"}), 401)
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_huge_numbers_and_constants_are_a_400(hook):
    for body in ('{"event": "new_ticket", "ticket_id": ' + "9" * 5000 + "}",
                 '{"event": "new_ticket", "ticket_id": 1, "x": 1e' + "9" * 5000 + "}",
                 '{"event": "new_ticket", "ticket_id": NaN}',
                 '{"event": "new_ticket", "ticket_id": "' + "9" * 40 + '"}',
                 '{"event": "new_ticket", "ticket_id": 1.5}'):
        _refused_as_json(_post(hook["url"], body, Authorization=hook["basic"]), 400)
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_unstorable_text_in_a_kept_field_is_a_400(hook):
    for status in ("delivery\x00problem", "\ud800", "x" * 500, {"nested": 1}):
        body = json.dumps({"event": "ticket_changed", "ticket_id": 3, "status": status})
        _refused_as_json(_post(hook["url"], body, Authorization=hook["basic"]), 400)
    body = json.dumps({"order_id": 3, "status": "late\x00"})
    _refused_as_json(_post(hook["crm_url"], body, **{"X-Webhook-Secret": hook["crm_secret"]}),
                     400)
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_odd_encodings_and_content_types(hook):
    auth = {"Authorization": hook["basic"]}
    event = {"event": "new_ticket", "ticket_id": 11}
    # A declared charset is honoured; a UTF-8 BOM is dropped.
    ok = _post(hook["url"], json.dumps(event).encode("utf-16"),
               content_type="application/json; charset=utf-16", **auth)
    assert ok.status_code == 202, ok.text
    ok = _post(hook["url"], b"\xef\xbb\xbf" + json.dumps({**event, "ticket_id": 12}).encode(),
               **auth)
    assert ok.status_code == 202, ok.text
    # JSON sent as text/plain is still JSON.
    assert _post(hook["url"], {**event, "ticket_id": 13}, content_type="text/plain",
                 **auth).status_code == 202
    # An unknown charset, bytes that are not the declared charset, a
    # multipart body, too many form fields: clear refusals.
    _refused_as_json(_post(hook["url"], b"{}", content_type="application/json; charset=x-nope",
                           **auth), 400)
    _refused_as_json(_post(hook["url"], b"\xff", content_type="application/json; charset=ascii",
                           **auth), 400)
    _refused_as_json(_post(hook["url"], b"--x\r\n", content_type="multipart/form-data; boundary=x",
                           **auth), 415)
    form = "&".join(f"f{i}=1" for i in range(200))
    _refused_as_json(_post(hook["url"], form, content_type="application/x-www-form-urlencoded",
                           **auth), 400)
    assert sorted(InboundEvent.objects.values_list("source_key", flat=True)) == [
        "new_ticket:11", "new_ticket:12", "new_ticket:13"]


@pytest.mark.django_db(transaction=True)
def test_body_secret_form_still_works_and_oversized_bodies_are_413(hook):
    body = {"event": "new_ticket", "ticket_id": 21, "secret": hook["secret"]}
    ok = _post(hook["url"], body)
    assert ok.status_code == 202, ok.text
    stored = InboundEvent.objects.get()
    assert "secret" not in stored.payload
    assert stored.payload == {"ticket_id": 21, "event": "new_ticket"}
    # Too large: refused before anything is parsed, with or without a secret.
    _refused_as_json(_post(hook["url"], "x" * (65 * 1024)), 413)
    _refused_as_json(_post(hook["url"], "x" * (65 * 1024), Authorization=hook["basic"]), 413)


@pytest.mark.django_db(transaction=True)
def test_refused_attempts_are_counted_per_client_behind_the_proxy(hook, settings):
    """Behind the proxy every request comes from its address; the guess
    counter keys on the client's (X-Forwarded-For, counted from the right),
    so one guesser is throttled and another client is not."""
    from integration.tenancy.secrets import FAILURE_LIMIT

    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = ["127.0.0.1"]
    body = {"event": "new_ticket", "ticket_id": 5}
    guesser = {"X-Forwarded-For": "203.0.113.66", "X-Webhook-Secret": "guess"}
    codes = [_post(hook["url"], body, **guesser).status_code for _ in range(FAILURE_LIMIT + 1)]
    assert codes == [401] * FAILURE_LIMIT + [429]
    # The guesser cannot escape by writing another address into the header.
    spoofed = {**guesser, "X-Forwarded-For": "192.0.2.1, 203.0.113.66"}
    assert _post(hook["url"], body, **spoofed).status_code == 429
    # Another client behind the same proxy is still told "wrong secret".
    other = {"X-Forwarded-For": "198.51.100.7", "X-Webhook-Secret": "typo"}
    assert _post(hook["url"], body, **other).status_code == 401
    # And the holder of the secret is served from anywhere.
    assert _post(hook["url"], body, Authorization=hook["basic"],
                 **{"X-Forwarded-For": "203.0.113.66"}).status_code == 202
