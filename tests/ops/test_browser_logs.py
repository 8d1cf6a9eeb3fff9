"""Sync-log screens in headless Chromium on a 1366×768 screen: an agency
owner reads the inbound events (times in the shop's zone with the zone
shown, what happened in words, the ticket linked to HDE), is told why a
replay of finished events queued nothing, filters the API calls, follows a
call to the dead event it came from, reads what the event caused, replays
it, and downloads the filtered rows as CSV — in English and in Russian, no
table wider than the screen, seeing nothing of agency B and no key anywhere
on the way."""

import csv
import io
import os
import re

import pytest

from integration.core.formatting import shop_datetime
from integration.inbox import events as inbox
from integration.models import (
    ApiCall,
    EventSource,
    EventState,
    HelpDeskEddyConnection,
    InboundEvent,
    RetailCrmConnection,
    SideEffect,
    SideEffectState,
    TicketRecord,
)
from integration.tenancy.roles import sync_role_groups
from tests.screenshots import save_screenshot

PASSWORD = "pw-123456!"
KEY_A = "rcrm-BrowserKeyA-5d4c3b2a1f0e"


@pytest.fixture
def role_groups(transactional_db):
    sync_role_groups()


def fits_the_screen(page) -> bool:
    """No horizontal scroll: the page, and the results table in its box."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth && "
        "[...document.querySelectorAll('#changelist .results')]"
        ".every(box => box.scrollWidth <= box.clientWidth)")


def set_language(page, live_server, code):
    page.context.add_cookies([{"name": "django_language", "value": code,
                               "url": live_server.url}])
    page.reload()


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
    shop_a.timezone = "Asia/Yekaterinburg"  # UTC+5: neither the server's zone nor Moscow
    shop_a.save(update_fields=["timezone"])
    RetailCrmConnection.objects.create(shop=shop_a, base_url="https://a.retailcrm.example",
                                       api_key=KEY_A)
    HelpDeskEddyConnection.objects.create(shop=shop_a, base_url="https://a.helpdeskeddy.example",
                                          api_key="hde-BrowserKeyA-1234", agent_email="b@a.ex")
    TicketRecord.objects.create(shop=shop_a, ticket_id=42, unique_id="UYA-10042")
    event = InboundEvent.objects.create(
        shop=shop_a, source=EventSource.HDE_WEBHOOK, source_key="new_ticket:42",
        event_type="new_ticket", state=EventState.DEAD, attempts=8,
        payload={"ticket_id": 42, "subject": "Где мой заказ 1001A?"},
        last_error="Gave up after 8 attempts: RetailCRM answered 503")
    finished = InboundEvent.objects.create(
        shop=shop_a, source=EventSource.HDE_WEBHOOK, source_key="new_reply:42:7",
        event_type="new_reply", state=EventState.DONE, attempts=1,
        payload={"ticket_id": 42, "post_id": 7})
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
    page.set_viewport_size({"width": 1366, "height": 768})

    # The inbound events: when (the shop's zone, named), what happened, how it ended.
    login(page, live_server, two_tenants["a"]["owner"], "/admin/integration/inboundevent/")
    assert fits_the_screen(page)
    dead_row = page.locator("#result_list tbody tr", has_text="New ticket")
    received = shop_datetime(event.created_at, "Asia/Yekaterinburg", "en")
    when = dead_row.locator("td.field-when, th.field-when").inner_text()
    assert when == f"{received}\u00a0UTC+5"
    ticket_link = dead_row.locator("a.hde-ticket")
    assert ticket_link.inner_text() == "UYA-10042"
    assert ticket_link.get_attribute("href") == (
        "https://a.helpdeskeddy.example/ru/ticket/list/filter/id/1/ticket/42/")
    assert "New ticket UYA-10042" in dead_row.inner_text()
    result = dead_row.locator("td.field-result").inner_text()
    assert result.startswith("Gave up after 8 attempts") and "RetailCRM answered 503" in result
    assert "New reply in ticket UYA-10042" in page.locator("#result_list").inner_text()
    save_screenshot(page, os.path.join(artifacts_dir, "logs-events.png"), full_page=True)

    # Replaying events that already succeeded queues nothing, and says why.
    page.locator(f"#result_list input[name=_selected_action][value='{finished.pk}']").check()
    page.select_option("select[name=action]", "replay")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist li.warning")
    assert page.locator("ul.messagelist li.warning").inner_text() == (
        "Nothing to replay: the selected events already succeeded.")
    finished.refresh_from_db()
    assert finished.state == EventState.DONE and finished.attempts == 1

    # The same list for a Russian reader.
    set_language(page, live_server, "ru")
    table = page.locator("#result_list").inner_text()
    assert "Новая заявка UYA-10042" in table and "Остановлено после 8 попыток" in table
    assert "Новый ответ в заявке UYA-10042" in table and "UTC+5" in table
    assert fits_the_screen(page)
    save_screenshot(page, os.path.join(artifacts_dir, "logs-events-ru.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/integration/apicall/")
    assert fits_the_screen(page)
    save_screenshot(page, os.path.join(artifacts_dir, "logs-apicalls-ru.png"), full_page=True)
    set_language(page, live_server, "en")

    page.goto(f"{live_server.url}/admin/integration/apicall/")
    assert page.locator("#result_list tbody tr").count() == 5
    assert "shop-b-only" not in page.content()
    assert fits_the_screen(page)

    # Filter: RetailCRM calls that failed.
    page.click("#changelist-filter a:text-is('RetailCRM')")
    page.wait_for_url(re.compile(r"provider__exact=retailcrm"))
    page.click("#changelist-filter a:text-is('Vendor server error')")
    page.wait_for_url(re.compile(r"outcome__exact=server_error"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "[redacted]" not in rows.first.inner_text()  # the error is on the detail page
    save_screenshot(page, os.path.join(artifacts_dir, "logs-apicalls-filtered.png"),
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
    assert calls.first.locator("td").first.inner_text().endswith("\u00a0UTC+5")
    assert page.locator("#event-side-effects").locator("xpath=..").locator(
        "a.hde-ticket").inner_text() == "HDE ticket UYA-10042"
    assert "Ticket updated in HelpDeskEddy" in page.locator("#event-side-effects").inner_text()
    assert "Где мой заказ 1001A?" in page.locator("#event-payload").inner_text()
    save_screenshot(page, os.path.join(artifacts_dir, "logs-event-detail.png"), full_page=True)

    page.click("#replay-form input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    event.refresh_from_db()
    assert event.state == EventState.DONE and event.attempts == 1
    assert "Nothing to replay" in page.locator("#replay").inner_text()
    save_screenshot(page, os.path.join(artifacts_dir, "logs-event-replayed.png"),
                    full_page=True)

    # Agency B's event page answers like a missing one.
    other = InboundEvent.objects.create(shop=shop_b, source=EventSource.HDE_WEBHOOK,
                                        source_key="new_ticket:7", event_type="new_ticket",
                                        state=EventState.DEAD)
    page.goto(f"{live_server.url}/admin/integration/inboundevent/{other.pk}/change/")
    assert "new_ticket:7" not in page.content()
    for html in html_seen:
        assert KEY_A not in html
