"""Sync-log screens in headless Chromium: an agency owner filters the API
calls, follows a call to the dead event it came from, reads what the event
caused, replays it, and downloads the filtered rows as CSV — seeing nothing
of agency B and no key anywhere on the way."""

import csv
import io
import os
import re

import pytest

from integration.inbox import events as inbox
from integration.models import (
    ApiCall,
    EventSource,
    EventState,
    InboundEvent,
    RetailCrmConnection,
    SideEffect,
    SideEffectState,
)
from integration.tenancy.roles import sync_role_groups

PASSWORD = "pw-123456!"
KEY_A = "rcrm-BrowserKeyA-5d4c3b2a1f0e"


@pytest.fixture
def role_groups(transactional_db):
    sync_role_groups()


def login(page, live_server, user, next_url):
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_url) + "$"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_owner_filters_opens_replays_and_exports(
    role_groups, two_tenants, live_server, page, artifacts_dir, monkeypatch
):
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_ticket"), "tests.inbox_handlers.succeed")
    shop_a, shop_b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    RetailCrmConnection.objects.create(shop=shop_a, base_url="https://a.retailcrm.example",
                                       api_key=KEY_A)
    event = InboundEvent.objects.create(
        shop=shop_a, source=EventSource.HDE_WEBHOOK, source_key="new_ticket:42",
        event_type="new_ticket", state=EventState.DEAD, attempts=8,
        payload={"ticket_id": 42, "subject": "Где мой заказ 1001A?"},
        last_error="Gave up after 8 attempts: RetailCRM answered 503")
    ApiCall.objects.create(shop=shop_a, provider="helpdeskeddy", method="GET",
                           path="/api/v2/tickets/42/", status_code=200, event=event)
    failed = ApiCall.objects.create(
        shop=shop_a, provider="retailcrm", method="GET", path="/api/v5/customers?filter[email]=",
        status_code=503, outcome="server_error", event=event,
        error=f"503 Service Unavailable (key {KEY_A})")
    for i in range(3):
        ApiCall.objects.create(shop=shop_a, provider="retailcrm", method="GET",
                               path=f"/api/v5/reference/statuses?page={i}", status_code=200)
    SideEffect.objects.create(shop=shop_a, key="ticket:42:hde_update",
                              state=SideEffectState.DONE, result="ok")
    ApiCall.objects.create(shop=shop_b, provider="retailcrm", method="GET",
                           path="/api/v5/shop-b-only", status_code=200)
    html_seen = []

    def keep_html(response):
        if response.status < 300 and "text/html" in response.headers.get("content-type", ""):
            html_seen.append(response.text())

    page.on("response", keep_html)

    login(page, live_server, two_tenants["a"]["owner"], "/admin/integration/apicall/")
    assert page.locator("#result_list tbody tr").count() == 5
    assert "shop-b-only" not in page.content()

    # Filter: RetailCRM calls that failed.
    page.click("#changelist-filter a:text-is('RetailCRM')")
    page.wait_for_url(re.compile(r"provider__exact=retailcrm"))
    page.click("#changelist-filter a:text-is('Vendor server error')")
    page.wait_for_url(re.compile(r"outcome__exact=server_error"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "[redacted]" not in rows.first.inner_text()  # the error is on the detail page
    page.screenshot(path=os.path.join(artifacts_dir, "logs-apicalls-filtered.png"),
                    full_page=True)

    # The CSV has exactly the filtered row, without the key.
    with page.expect_download() as download_info:
        page.click("a.csv-export")
    with open(download_info.value.path(), encoding="utf-8-sig") as handle:
        exported = list(csv.DictReader(io.StringIO(handle.read())))
    assert [row["id"] for row in exported] == [str(failed.pk)]
    assert KEY_A not in str(exported) and "[redacted]" in exported[0]["error"]

    # From the call to its event's replay.
    rows.first.locator("a:has-text('replay')").click()
    page.wait_for_url(re.compile(rf"/inboundevent/{event.pk}/change/#replay$"))
    calls = page.locator("#event-api-calls tbody tr")
    assert calls.count() == 2
    assert "Ticket updated in HelpDeskEddy" in page.locator("#event-side-effects").inner_text()
    assert "Где мой заказ 1001A?" in page.locator("#event-payload").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "logs-event-detail.png"), full_page=True)

    page.click("#replay-form input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    event.refresh_from_db()
    assert event.state == EventState.DONE and event.attempts == 1
    assert "Nothing to replay" in page.locator("#replay").inner_text()
    page.screenshot(path=os.path.join(artifacts_dir, "logs-event-replayed.png"),
                    full_page=True)

    # Agency B's event page answers like a missing one.
    other = InboundEvent.objects.create(shop=shop_b, source=EventSource.HDE_WEBHOOK,
                                        source_key="new_ticket:7", event_type="new_ticket",
                                        state=EventState.DEAD)
    page.goto(f"{live_server.url}/admin/integration/inboundevent/{other.pk}/change/")
    assert "new_ticket:7" not in page.content()
    for html in html_seen:
        assert KEY_A not in html
