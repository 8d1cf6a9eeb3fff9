"""The extension's API over real HTTP: a token opens its own agency's shops
and nothing else, is refused once revoked, is checked before the body is
read, and buys a short-lived signed widget link that really opens the card.

Why: the token lives in an operator's browser; whatever it can reach, a lost
laptop can reach. Another agency's HDE address must look exactly like an
address nobody uses, or the answer itself leaks which agencies exist.
"""

import re
import time
from datetime import UTC, datetime

import pytest
import requests
from django.contrib.auth import get_user_model

from integration.extension.services import (
    extension_token_authenticate,
    extension_token_issue,
    extension_token_revoke,
)
from integration.models import ExtensionToken, HelpDeskEddyConnection
from integration.widget.links import WidgetLinkInvalid, widget_link_build, widget_link_verify

TICKET_IVAN = 3  # the HDE emulator's seeded ticket of a known RetailCRM customer
PAGE = "/ru/ticket/list/filter/id/1/ticket/{}/"


@pytest.fixture
def api(live_server):
    def call(token, path, body=None, *, raw=None, language="en", content_type="application/json"):
        headers = {"Accept-Language": language}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{live_server.url}/api/v1/extension/{path}"
        if body is None and raw is None:
            return requests.get(url, headers=headers, timeout=15)
        headers["Content-Type"] = content_type
        data = raw if raw is not None else None
        return requests.post(url, json=body if raw is None else None, data=data,
                             headers=headers, timeout=15)

    return call


@pytest.fixture
def token(wired_shop):
    issued, plaintext = extension_token_issue(agency=wired_shop.agency, label="Anna, support")
    issued.plaintext = plaintext
    return issued


@pytest.fixture
def other_agency_shop(hde_emulator, make_agency, make_shop):
    """Agency B's shop on the same HDE host, another HDE account (path)."""
    shop = make_shop(make_agency("Agency B"), name="B shop")
    HelpDeskEddyConnection.objects.create(
        shop=shop, base_url=hde_emulator.second["url"], agent_email=hde_emulator.second["email"],
        api_key=hde_emulator.second["api_key"])
    return shop


def page_url(shop, ticket_id):
    return shop.helpdeskeddy.base_url + PAGE.format(ticket_id)


def test_config_lists_only_the_agencys_hde_systems(api, token, wired_shop, other_agency_shop):
    answer = api(token.plaintext, "config")
    assert answer.status_code == 200
    data = answer.json()
    base = wired_shop.helpdeskeddy.base_url
    assert data["agency"] == wired_shop.agency.name
    assert data["sites"] == [{"origin": base.split("/sandbox/")[0], "url": base}]
    assert "(\\d+)" in data["ticket_pattern"]


def test_widget_url_opens_the_card_and_expires_within_a_shift(api, token, wired_shop,
                                                              live_server):
    before = datetime.now(tz=UTC)
    answer = api(token.plaintext, "widget-url",
                 {"page_url": page_url(wired_shop, TICKET_IVAN), "ticket_id": TICKET_IVAN})

    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["shop"] == wired_shop.name and data["ticket_id"] == TICKET_IVAN
    assert data["url"].startswith(f"{live_server.url}/widget/{wired_shop.public_id}/")
    hours = (datetime.fromisoformat(data["expires_at"]) - before).total_seconds() / 3600
    assert 7.9 < hours <= 8.01
    card = requests.get(data["url"], timeout=15)
    assert card.status_code == 200 and 'data-state="found"' in card.text
    # The shop's HDE origin may frame it (the panel lives in the HDE page).
    hde_origin = wired_shop.helpdeskeddy.base_url.split("/sandbox/")[0]
    assert f"frame-ancestors {hde_origin}" in card.headers["Content-Security-Policy"]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_link_past_its_expiry_is_refused(wired_shop):
    live = widget_link_build(shop=wired_shop, ticket_id=5, expires_at=int(time.time()) + 60)
    dead = widget_link_build(shop=wired_shop, ticket_id=5, expires_at=int(time.time()) - 1)
    assert widget_link_verify(shop=wired_shop, token=live.rstrip("/").rsplit("/", 1)[1]) == 5
    with pytest.raises(WidgetLinkInvalid):
        widget_link_verify(shop=wired_shop, token=dead.rstrip("/").rsplit("/", 1)[1])


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong-token", "Basic abc:def",
                                    "Token x"])
def test_missing_or_wrong_tokens_are_told_to_sign_in_again(api, wired_shop, live_server, header):
    headers = {"Authorization": header} if header else {}
    answer = requests.post(f"{live_server.url}/api/v1/extension/widget-url", headers=headers,
                           json={"page_url": page_url(wired_shop, 3), "ticket_id": 3}, timeout=15)
    assert answer.status_code == 401
    assert answer.json()["code"] == "signed_out"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused_in_the_operators_language(api, token, wired_shop):
    owner = get_user_model().objects.create_user("owner-x", password="pw-123456!")
    assert extension_token_revoke(token=token, user=owner)
    assert not extension_token_revoke(token=token, user=owner)  # once only
    body = {"page_url": page_url(wired_shop, 3), "ticket_id": 3}

    english = api(token.plaintext, "widget-url", body)
    russian = api(token.plaintext, "widget-url", body, language="ru")
    config = api(token.plaintext, "config")

    assert (english.status_code, russian.status_code, config.status_code) == (401, 401, 401)
    assert english.json()["detail"].startswith("Sign in again")
    assert russian.json()["detail"].startswith("Войдите снова")
    assert token.revoked_by == owner and extension_token_authenticate(token.plaintext) is None


def test_the_token_is_checked_before_the_body_is_read(api, wired_shop):
    answer = api("wrong", "widget-url", raw=b"{not json", language="en")
    assert answer.status_code == 401 and answer.json()["code"] == "signed_out"


@pytest.mark.parametrize("raw,content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"page_url": "http://x.example/"}', "application/json"),
    (b'{"page_url": "not a url", "ticket_id": 3}', "application/json"),
    (b'{"page_url": "http://x.example/", "ticket_id": "three"}', "application/json"),
    (b'{"page_url": "http://x.example/", "ticket_id": -4}', "application/json"),
    (b"page_url=http://x.example/&ticket_id=3", "application/x-www-form-urlencoded"),
])
def test_malformed_bodies_are_refused(api, token, raw, content_type):
    answer = api(token.plaintext, "widget-url", raw=raw, content_type=content_type)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "malformed"


def test_another_agencys_hde_answers_exactly_like_an_unknown_one(api, token, other_agency_shop):
    other = api(token.plaintext, "widget-url",
                {"page_url": page_url(other_agency_shop, 2), "ticket_id": 2})
    unknown = api(token.plaintext, "widget-url",
                  {"page_url": "https://nobody.example/ru/ticket/list/filter/id/1/ticket/2/",
                   "ticket_id": 2})
    # Same host and port as the agency's own HDE, a path no shop of it uses.
    sibling = api(token.plaintext, "widget-url",
                  {"page_url": page_url(other_agency_shop, 2).replace("agency-second", "demo2"),
                   "ticket_id": 2})

    assert other.status_code == unknown.status_code == sibling.status_code == 404
    assert other.json() == unknown.json() == sibling.json()
    assert other.json()["code"] == "no_shop"
    assert other_agency_shop.name not in other.text


def test_an_unknown_ticket_is_refused(api, token, wired_shop):
    answer = api(token.plaintext, "widget-url",
                 {"page_url": page_url(wired_shop, 999), "ticket_id": 999})
    assert answer.status_code == 404 and answer.json()["code"] == "unknown_ticket"


def test_tokens_are_stored_hashed_and_a_shops_widget_token_is_no_extension_token(
        api, token, wired_shop):
    stored = ExtensionToken.objects.get(pk=token.pk)
    assert token.plaintext not in (stored.token_hash, stored.hint, str(stored))
    assert stored.hint == token.plaintext[-4:]
    assert api(wired_shop.widget_token, "config").status_code == 401


def test_the_schema_documents_the_extension_api(live_server):
    schema = requests.get(f"{live_server.url}/api/v1/schema/", timeout=15)
    assert "/api/v1/extension/widget-url" in schema.text and "extensionToken" in schema.text


def test_the_ticket_pattern_is_configurable_and_checked(api, token, settings):
    settings.EXTENSION_TICKET_PATTERN = r"^/staff/tickets/(\d+)"
    assert api(token.plaintext, "config").json()["ticket_pattern"] == r"^/staff/tickets/(\d+)"
    from integration.extension.conf import DEFAULT_TICKET_PATTERN, ticket_pattern_check

    ticket_pattern_check(DEFAULT_TICKET_PATTERN)
    for unusable in (r"^/ticket/\d+", r"^/(\w+)/ticket/(\d+)", r"^/ticket/(?P<id>\d+)", "(["):
        with pytest.raises((ValueError, re.error)):
            ticket_pattern_check(unusable)
    assert re.search(DEFAULT_TICKET_PATTERN, "/ru/ticket/list/filter/id/34/ticket/190098/#/")\
        .group(1) == "190098"
    assert re.search(DEFAULT_TICKET_PATTERN, "/en/ticket/list/filter/id/0/ticket/13").group(1) \
        == "13"
    assert not re.search(DEFAULT_TICKET_PATTERN, "/ru/ticket/list/filter/id/1/")
    assert not re.search(DEFAULT_TICKET_PATTERN, "/ru/ticket/list/filter/id/1/ticket/13abc")
