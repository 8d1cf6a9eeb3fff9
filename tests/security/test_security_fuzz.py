"""Fuzzing the doors strangers can knock on: the webhook receivers and the
widget JSON API, with hypothesis generating bodies, encodings, headers and
parameters. Whatever arrives: never a 500, and nothing stored unless it is a
well-formed event (known type, positive id) for the shop whose secret came
with it.

The API's shop points at a closed loopback port, so a valid request gets the
clear "vendor unreachable" answer at once instead of a network wait.
"""

import base64
import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.inbox import events as inbox
from integration.models import (
    AuthFailure,
    EventSource,
    InboundEvent,
    RetailCrmConnection,
    SecretKind,
    SideEffect,
)
from integration.tenancy.secrets import shop_secret_issue
from tests.workers import free_port

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
# The receivers get more examples: their input space grew with the hostile
# encodings (a hook example costs a few milliseconds).
HOOK_FUZZ = settings(FUZZ, max_examples=200)
ALLOWED_HOOK = {202, 400, 401, 405, 413, 415, 429}
ALLOWED_API = {200, 400, 401, 404, 405, 415, 502, 503}

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True), st.text(max_size=40))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
ids = st.one_of(st.integers(min_value=-5, max_value=2**64), st.text(max_size=12),
                st.sampled_from(["1", " 7 ", "0", "-3", "1e3", "٣", "NaN", "", "9" * 40]),
                st.none(), st.lists(st.integers(), max_size=2))
events = st.sampled_from(["new_ticket", "ticket_created", "new_reply", "new_post",
                          "ticket_changed", "NEW_TICKET", "", "drop table", "new_ticket\x00"])


@st.composite
def hook_bodies(draw):
    body = draw(st.dictionaries(st.text(max_size=12), json_values, max_size=5))
    if draw(st.booleans()):
        body["event"] = draw(events)
    if draw(st.booleans()):
        body[draw(st.sampled_from(["ticket_id", "order_id", "orderId", "id"]))] = draw(ids)
    if draw(st.booleans()):
        body["post_id"] = draw(ids)
    return body


def _deep(draw):
    # Hypothesis favours small integers; the depths that matter are named.
    depth = draw(st.one_of(st.sampled_from([9, 100, 999, 1001, 5000, 30000]),
                           st.integers(min_value=9, max_value=40000)))
    opener = draw(st.sampled_from(["[", '{"a":', '{"ticket_id": [']))
    closer = {"[": "]", '{"a":': "}", '{"ticket_id": [': "]"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


@st.composite
def encodings(draw, body):
    """The same body as JSON, as a form, as broken bytes, as non-objects, or
    as what a hostile or confused sender makes of it: nesting deep enough to
    make a recursive parser fall over, numbers thousands of digits long,
    NaN, other charsets (declared or not, with a BOM), wrong content types."""
    how = draw(st.sampled_from(["json", "form", "raw", "array", "truncated", "deep", "number",
                                "constant", "charset", "bom", "wrong_type"]))
    as_json = json.dumps(body, default=str)
    if how == "json":
        return as_json.encode(), "application/json"
    if how == "form":
        from urllib.parse import urlencode

        return urlencode({k: str(v) for k, v in body.items()}).encode(), \
            "application/x-www-form-urlencoded"
    if how == "array":
        return json.dumps([body], default=str).encode(), "application/json"
    if how == "truncated":
        return as_json.encode()[:-1], "application/json"
    if how == "deep":
        return _deep(draw), draw(st.sampled_from(["application/json", "text/plain", ""]))
    if how == "number":
        digits = "9" * draw(st.one_of(st.sampled_from([19, 41, 4300, 4301, 6000]),
                                      st.integers(min_value=20, max_value=6000)))
        literal = draw(st.sampled_from([digits, "-" + digits, "1e" + digits, "0." + digits]))
        field = draw(st.sampled_from(["ticket_id", "order_id", "post_id", "x"]))
        return (f'{{"event": "new_ticket", "{field}": {literal}}}').encode(), "application/json"
    if how == "constant":
        literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        return f'{{"event": "new_ticket", "ticket_id": {literal}}}'.encode(), "application/json"
    if how == "charset":
        charset = draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "koi8-r", "cp1251",
                                        "x-unknown", "utf-8", "", '"utf-8"']))
        encode_as = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
        raw = as_json.encode(encode_as, errors="replace")
        return raw, f"application/json; charset={charset}"
    if how == "bom":
        return b"\xef\xbb\xbf" + as_json.encode(), "application/json"
    if how == "wrong_type":
        return as_json.encode(), draw(st.sampled_from(
            ["text/xml", "application/octet-stream", "multipart/form-data; boundary=x",
             "application/x-www-form-urlencoded", "image/png", "application/json; charset"]))
    return draw(st.binary(max_size=200)), draw(st.sampled_from(
        ["application/json", "text/plain", "", "multipart/form-data; boundary=x"]))


@pytest.fixture
def fuzz_shop(two_tenants, monkeypatch):
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_ticket"), "tests.inbox_handlers.succeed")
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_reply"), "tests.inbox_handlers.succeed")
    shop = two_tenants["a"]["shop"]
    return {
        "shop": shop, "other": two_tenants["b"]["shop"],
        SecretKind.HDE_WEBHOOK: shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK),
        SecretKind.RETAILCRM_TRIGGER: shop_secret_issue(shop=shop,
                                                        kind=SecretKind.RETAILCRM_TRIGGER),
    }


def _stored_events_are_well_formed(shop):
    for event in InboundEvent.objects.all():
        assert event.shop_id == shop.pk
        payload = event.payload
        if event.source == EventSource.HDE_WEBHOOK:
            assert event.event_type in {"new_ticket", "new_reply", "ticket_changed"}
            assert isinstance(payload["ticket_id"], int) and payload["ticket_id"] > 0
            assert "secret" not in payload
        else:
            assert event.event_type == "order_changed"
            assert set(payload) == {"order_id", "status"}
            assert isinstance(payload["order_id"], int) and payload["order_id"] > 0
        assert len(event.source_key) <= 200


@pytest.mark.django_db
@pytest.mark.parametrize("route,kind", [("hook-hde", SecretKind.HDE_WEBHOOK),
                                        ("hook-retailcrm", SecretKind.RETAILCRM_TRIGGER)])
def test_fuzzed_webhooks_never_500_and_store_only_well_formed_events(client, fuzz_shop, route,
                                                                     kind):
    shop = fuzz_shop["shop"]

    @HOOK_FUZZ
    @given(data=st.data(), body=hook_bodies(),
           auth=st.sampled_from(["right", "wrong", "none", "garbage", "other_shop", "body"]))
    def run(data, body, auth):
        AuthFailure.objects.all().delete()  # each example starts unthrottled
        if auth == "body":  # the documented body-secret form
            body = {**body, "secret": fuzz_shop[kind]}
        raw, content_type = data.draw(encodings(body))
        headers = {}
        if auth == "right":
            token = base64.b64encode(f"hde:{fuzz_shop[kind]}".encode()).decode()
            headers["HTTP_AUTHORIZATION"] = f"Basic {token}"
        elif auth == "wrong":
            headers["HTTP_X_WEBHOOK_SECRET"] = data.draw(st.text(max_size=60))
        elif auth == "garbage":
            headers["HTTP_AUTHORIZATION"] = data.draw(st.sampled_from(
                ["Basic ", "Basic !!!", "Basic " + base64.b64encode(b"\xff\xfe").decode(),
                 "Bearer", "Digest x"]))
        target = fuzz_shop["other"] if auth == "other_shop" else shop
        response = client.generic("POST", reverse(route, args=[target.public_id]), raw,
                                  content_type=content_type, **headers)
        assert response.status_code in ALLOWED_HOOK, (response.status_code, body)
        assert response["Content-Type"].startswith("application/json")
        if auth not in ("right", "body") or target != shop:
            assert response.status_code != 202, (auth, body)  # never stored without the secret
        _stored_events_are_well_formed(shop)

    run()


@pytest.fixture
def api_token(two_tenants):
    shop = two_tenants["a"]["shop"]
    RetailCrmConnection.objects.create(shop=shop, base_url=f"http://127.0.0.1:{free_port()}",
                                       api_key="k" * 32, site_code="main")
    return shop_secret_issue(shop=shop, kind=SecretKind.WIDGET_TOKEN)


api_params = st.dictionaries(
    st.sampled_from(["email", "phone", "ticket_id", "order_number", "customer_id", "page",
                     "refresh", "hde_user_id", "x"]),
    st.one_of(st.text(max_size=60), st.integers().map(str),
              st.sampled_from(["a@b.c", "+7 (916) 123-45-67", "1", "0", "-1", "%00", "' OR 1=1",
                               "x" * 300])),
    max_size=4)


@pytest.mark.django_db(transaction=True)  # the context service calls from worker threads
def test_fuzzed_widget_api_never_500_and_stores_nothing_but_timings(client, api_token,
                                                                    two_tenants):
    shop = two_tenants["a"]["shop"]
    header = {"HTTP_AUTHORIZATION": f"Bearer {api_token}"}

    @FUZZ
    @given(params=api_params)
    def context(params):
        response = client.get(reverse("api-context"), params, **header)
        assert response.status_code in ALLOWED_API, (response.status_code, params)

    @FUZZ
    @given(path=st.sampled_from(["api-notes", "api-tasks", "api-customers"]),
           body=st.dictionaries(st.sampled_from(["customer_id", "text", "nonce", "ticket_id",
                                                 "first_name", "email", "phone", "order_id",
                                                 "performer_id", "due"]),
                                json_values, max_size=5),
           raw=st.booleans())
    def actions(path, body, raw):
        data = json.dumps(body, default=str)[:-1] if raw else json.dumps(body, default=str)
        response = client.post(reverse(path), data, content_type="application/json", **header)
        assert response.status_code in ALLOWED_API | {201}, (response.status_code, body)
        assert response.status_code != 201  # RetailCRM is unreachable: nothing was created

    context()
    actions()
    assert not InboundEvent.objects.exists()
    assert not SideEffect.objects.filter(shop=shop, state="done").exists()
