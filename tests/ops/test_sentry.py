"""Sentry reports leave without personal data.

The scrubber is checked twice: on an event shaped like the ones the SDK
builds, and end to end through the real SDK (a view that fails on a form
post, a log line, a vendor search over HTTP), with a transport that keeps
what would have been sent instead of sending it.
"""

import json
import logging

import pytest
import sentry_sdk
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path
from sentry_sdk.transport import Transport

from integration.ops.sentry import (
    CODE_FIELDS,
    scrub_breadcrumb,
    scrub_event,
    scrub_text,
    sentry_init,
)
from integration.vendors.retailcrm import RetailCrmClient

EMAIL = "ivan.petrov@example.ru"
PHONES = ("+7 (912) 345-67-89", "89123456789", "+79123456789", "8 912 345 67 89")
API_KEY = "Zx9kQ2mLp7Rt4Vb8Nc1Hd6Jf3Gs5Wy0A"
WIDGET_LINK = "/widget/5f0c6a6e-3c1b-4f7e-9d2a-1b2c3d4e5f60/eyJ0IjozfQ:1vX9aB:s1gNaTuRe/"


def boom(request):
    raise ValueError(f"Could not find a customer for {request.POST['email']}")


def fine(request):
    return HttpResponse("ok")


urlpatterns = [path("boom/", boom), path("fine/", fine), path("", include("portal.urls"))]


def _data(part):
    """The event less its code (file names, source lines): what is data."""
    if isinstance(part, dict):
        return {k: _data(v) for k, v in part.items() if k not in CODE_FIELDS}
    if isinstance(part, list):
        return [_data(item) for item in part]
    return part


def _personal_data_left(text: str) -> list[str]:
    found = [EMAIL, API_KEY, "s1gNaTuRe", "Петров Иван"]
    found += [phone for phone in PHONES]
    found += ["ivan.petrov%40example.ru", "912 345", "9123456789"]
    return [item for item in found if item in text]


def test_scrubber_on_an_event_shaped_like_the_sdks():
    event = {
        "message": f"Customer {EMAIL} called from {PHONES[0]}",
        "logentry": {"message": "Lookup %s", "params": [PHONES[1]],
                     "formatted": f"Lookup {PHONES[1]}"},
        "exception": {"values": [{
            "type": "ApiError", "value": f"RetailCRM refused apiKey={API_KEY} for {EMAIL}",
            "stacktrace": {"frames": [{
                "function": "customers_by_email", "module": "integration.vendors.retailcrm",
                "context_line": "body = self._get(...)", "lineno": 151,
                "vars": {"email": EMAIL, "key": API_KEY}}]}}]},
        "request": {
            "url": f"https://portal.example.com{WIDGET_LINK}", "method": "POST",
            "query_string": f"email={EMAIL}&page=2",
            "data": {"email": EMAIL, "phone": PHONES[2], "api_key": API_KEY,
                     "note": f"Перезвонить {PHONES[3]}, Петров Иван", "ticket_id": "42"},
            "headers": {"Authorization": f"Bearer {API_KEY}", "X-Webhook-Secret": API_KEY,
                        "Cookie": "sessionid=abc", "User-Agent": "HDE"},
            "cookies": {"sessionid": "abc"},
        },
        "breadcrumbs": {"values": [
            {"category": "httplib", "data": {
                "url": f"https://shop.retailcrm.ru/api/v5/customers?filter[email]={EMAIL}",
                "http.query": f"filter[email]={EMAIL}&apiKey={API_KEY}", "method": "GET"}},
            {"category": "integration.hooks", "message": f"Basic {API_KEY}",
             "data": {"extra": f"phone {PHONES[0]}"}},
        ]},
        "user": {"id": "7", "email": EMAIL, "ip_address": "203.0.113.9", "username": "ivan"},
        "extra": {"sender": EMAIL, "count": 3},
        "tags": {"shop": "Shop A"},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11"}},
    }
    cleaned = scrub_event(event, {})
    text = json.dumps(cleaned, ensure_ascii=False)
    assert _personal_data_left(text) == []
    assert "203.0.113.9" not in text and "sessionid" not in text and '"ivan"' not in text
    # What helps to debug stays: the kind of error, the code, ids, the question asked.
    exception = cleaned["exception"]["values"][0]
    assert exception["type"] == "ApiError"
    assert exception["stacktrace"]["frames"][0]["function"] == "customers_by_email"
    assert exception["stacktrace"]["frames"][0]["vars"] is None
    assert "[email]" in cleaned["message"] and "[phone]" in cleaned["message"]
    assert cleaned["request"]["data"]["ticket_id"] == "42"
    assert cleaned["request"]["data"]["note"] == "[Filtered]"
    assert cleaned["request"]["query_string"] == "email=[Filtered]&page=[Filtered]"
    assert cleaned["request"]["url"].endswith("/widget/5f0c6a6e-3c1b-4f7e-9d2a-1b2c3d4e5f60/"
                                              "[redacted]/")
    assert cleaned["user"] == {"id": "7"}
    assert cleaned["contexts"] == event["contexts"]
    assert cleaned["extra"]["count"] == 3


@pytest.mark.parametrize("text,kept", [
    ("Ticket #123456 at 2026-11-30 13:39:00", "Ticket #123456 at 2026-11-30 13:39:00"),
    ("order 1001A for customer 42", "order 1001A for customer 42"),
    ("shop 5f0c6a6e-3c1b-4f7e-9d2a-1b2c3d4e5f60", "shop 5f0c6a6e-3c1b-4f7e-9d2a-1b2c3d4e5f60"),
    ("integration_shop_changelist failed", "integration_shop_changelist failed"),
])
def test_ids_dates_and_names_of_code_are_not_mistaken_for_personal_data(text, kept):
    assert scrub_text(text) == kept


def test_http_breadcrumbs_lose_their_query():
    crumb = scrub_breadcrumb({"category": "httplib", "data": {
        "url": "https://hde.example.com/api/v2/users/?search=Петров",
        "http.query": "search=Петров", "method": "GET", "status_code": 200}}, {})
    assert crumb["data"] == {"url": "https://hde.example.com/api/v2/users/", "method": "GET",
                             "status_code": 200}


class _Captured(Transport):
    """Keeps the envelopes the SDK would send."""

    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def sentry_events():
    transport = _Captured()
    sentry_init(dsn="https://public@sentry.invalid/1", environment="test", transport=transport)
    events = []
    yield events, transport
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


def test_reports_sent_through_the_sdk_carry_no_personal_data(settings, sentry_events,
                                                             rc_connect, caplog):
    events, transport = sentry_events
    settings.ROOT_URLCONF = __name__
    # An HTTP breadcrumb: a real customer search, the e-mail in the query.
    client = RetailCrmClient.for_connection(rc_connect(), interactive=True)
    assert client.customers_by_email(EMAIL)
    # A log breadcrumb with a phone number.
    logging.getLogger("integration.test").warning("Caller %s asked again", PHONES[0])
    # A view that fails on a form post carrying personal data and a key.
    response = Client(raise_request_exception=False).post(
        f"/boom/?email={EMAIL}", data={"email": EMAIL, "phone": PHONES[1], "api_key": API_KEY,
                                       "note": f"Петров Иван, {PHONES[2]}"})
    assert response.status_code == 500
    sentry_sdk.flush()

    for envelope in transport.envelopes:
        event = envelope.get_event()
        if event is not None:
            events.append(event)
    assert len(events) == 1
    event = events[0]
    text = json.dumps(_data(event), ensure_ascii=False)
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert "[email]" in event["exception"]["values"][-1]["value"]
    crumbs = event["breadcrumbs"]["values"]
    assert any(c.get("category") == "httplib" and "/api/v5/customers" in c["data"]["url"]
               for c in crumbs)
    assert any("[phone]" in (c.get("message") or "") for c in crumbs)
    assert _personal_data_left(text) == []
    assert event["request"]["data"] == {"email": "[Filtered]", "phone": "[Filtered]",
                                        "api_key": "[Filtered]", "note": "[Filtered]"}
    options = sentry_sdk.get_client().options
    assert not options["send_default_pii"] and not options["data_collection"]["user_info"]
