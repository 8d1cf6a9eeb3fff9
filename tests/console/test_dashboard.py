"""The agency dashboard against seeded data whose answer is known.

Why: the dashboard is where an agency decides whether a shop is healthy; a
wrong count (an old failure, another tenant's backlog) would send people
chasing ghosts or hide a real problem. Every figure below is computed by
hand from the rows the test writes, and the page must also stay a fixed
number of queries however many shops there are.
"""

import os
import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.models import (
    ApiCall,
    ConnectionStatus,
    EventSource,
    EventState,
    HelpDeskEddyConnection,
    InboundEvent,
    RateLimitState,
    RetailCrmConnection,
    WidgetRequest,
)
from integration.tenancy.roles import sync_role_groups
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.retailcrm import RetailCrmClient
from tests.screenshots import save_screenshot

HDE_URL = "https://a-desk.helpdeskeddy.example"
RC_URL = "https://a-shop.retailcrm.example"


@pytest.fixture
def knobs(settings):
    settings.INTEGRATION = {**settings.INTEGRATION, "RETAILCRM_RATE_LIMIT": 8,
                            "RETAILCRM_RATE_WINDOW": 60.0, "HDE_RATE_LIMIT": 240,
                            "HDE_RATE_WINDOW": 60.0}
    return settings


def _event(shop, key, state, *, created=None, updated=None):
    event = InboundEvent.objects.create(shop=shop, source=EventSource.HDE_WEBHOOK,
                                        source_key=key, state=state)
    fields = {}
    if created:
        fields["created_at"] = created
    if updated:
        fields["updated_at"] = updated
    if fields:
        InboundEvent.objects.filter(pk=event.pk).update(**fields)
    return event


def _call(shop, outcome="ok", *, at=None):
    call = ApiCall.objects.create(shop=shop, provider="retailcrm", method="GET",
                                  path="/api/v5/customers", status_code=200, outcome=outcome)
    if at:
        ApiCall.objects.filter(pk=call.pk).update(created_at=at)


@pytest.fixture
def seeded(two_tenants, knobs):
    """Shop A: known events, calls, widget timings and throttle rows; shop
    B: rows that must never show on A's dashboard."""
    now = timezone.now()
    shop_a, shop_b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    RetailCrmConnection.objects.create(shop=shop_a, base_url=RC_URL, api_key="rc-key-aaaa1111",
                                       status=ConnectionStatus.OK)
    HelpDeskEddyConnection.objects.create(
        shop=shop_a, base_url=HDE_URL, api_key="hde-key-aaaa1111", agent_email="bot@a.example",
        status=ConnectionStatus.NEEDS_ATTENTION, last_error="HelpDeskEddy: wrong key (HTTP 401)")
    # Events: 3 pending + 1 processing = backlog 4; 1 dead today, 1 dead
    # three days ago (not "last 24 h"); 2 done. Hours: 2 three hours ago,
    # 5 one hour ago, the rest in the current hour.
    three_h, one_h = now - timedelta(hours=3), now - timedelta(hours=1)
    for n in range(3):
        _event(shop_a, f"p{n}", EventState.PENDING, created=one_h if n < 2 else None)
    _event(shop_a, "pr", EventState.PROCESSING, created=one_h)
    _event(shop_a, "d1", EventState.DEAD, created=one_h)
    _event(shop_a, "d0", EventState.DEAD, created=now - timedelta(days=3),
           updated=now - timedelta(days=3))
    _event(shop_a, "ok1", EventState.DONE, created=three_h)
    _event(shop_a, "ok2", EventState.DONE, created=three_h)
    last = _event(shop_a, "newest", EventState.DONE)
    # API calls: 10 ok and 3 failed in 24 h; 2 failed 30 hours ago.
    for _ in range(10):
        _call(shop_a)
    for _ in range(3):
        _call(shop_a, "server_error", at=one_h)
    for _ in range(2):
        _call(shop_a, "timeout", at=now - timedelta(hours=30))
    # Widget: 1..100 ms today → p95 = 95; a 10 s request yesterday is out.
    WidgetRequest.objects.bulk_create([
        WidgetRequest(shop=shop_a, request_id=f"r{n}", duration_ms=n, outcome="found")
        for n in range(1, 101)])
    old = WidgetRequest.objects.create(shop=shop_a, request_id="old", duration_ms=10000,
                                       outcome="found")
    WidgetRequest.objects.filter(pk=old.pk).update(created_at=now - timedelta(hours=25))
    # Throttle rows: RetailCRM 3 hits in the window (8 → 5 free); HDE banned.
    epoch = time.time()
    # Keys as the clients compute them (provider, host, connection identity).
    RateLimitState.objects.create(key=RetailCrmClient.account_key_for(shop_a.retailcrm),
                                  hits=[epoch - 1, epoch - 2, epoch - 3, epoch - 3600])
    RateLimitState.objects.create(key=HelpDeskEddyClient.account_key_for(shop_a.helpdeskeddy),
                                  hits=[epoch - 5] * 10, banned_until=now + timedelta(minutes=15))
    # Agency B: a big backlog and failures that A must never see.
    for n in range(7):
        _event(shop_b, f"b{n}", EventState.PENDING)
        _call(shop_b, "server_error")
    return {"now": now, "last": last, "one_h": one_h, "three_h": three_h, **two_tenants}


def _row(html: str, shop) -> str:
    match = re.search(rf'<tr data-shop="{shop.public_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {shop.name}"
    return match.group(1)


def _cell(row: str, name: str) -> str:
    match = re.search(rf'<td class="cell-{name}">(.*?)</td>', row, re.S)
    assert match, name
    return re.sub(r"<[^>]+>", " ", match.group(1))


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.django_db
def test_dashboard_numbers_match_the_seeded_rows(client, seeded):
    client.force_login(seeded["a"]["viewer"])  # viewers may look too
    response = client.get("/admin/console/")
    assert response.status_code == 200
    html = response.content.decode()
    row = _row(html, seeded["a"]["shop"])
    assert "Working" in _cell(row, "conn-retailcrm")
    hde = _cell(row, "conn-hde")
    assert "Key refused: needs attention" in hde and "wrong key (HTTP 401)" in hde
    assert _words(_cell(row, "backlog")) == "4"
    failures = _words(_cell(row, "failures"))
    assert failures.startswith("3 / 13 calls"), failures
    assert "1 dead event" in failures
    assert _words(_cell(row, "p95")) == "95 ms of 100 cards opened"
    rate = _words(_cell(row, "rate"))
    assert "RetailCRM: 5/8" in rate
    assert "HDE: banned until" in rate
    # Under a minute reads "now" or "N seconds ago", never "0 minutes ago".
    assert re.fullmatch(r"now|(a|\d+) seconds? ago",
                        _words(_cell(row, "last-event"))), _words(_cell(row, "last-event"))
    # Agency B: neither its row nor its name.
    assert seeded["b"]["shop"].name not in html
    assert "Agency B" not in html
    assert html.count("<tr data-shop=") == 1


@pytest.fixture
def top_of_the_hour():
    """A clock a few seconds past an hour: the 24-hour window then starts
    in the same clock hour of yesterday as the newest bar's, the case where
    two bars once shared one label (and a test read the wrong one)."""
    start = timezone.now().replace(minute=0, second=5, microsecond=0) + timedelta(hours=1)
    with time_machine.travel(start, tick=True):
        yield start


@pytest.mark.django_db
def test_chart_counts_events_and_calls_per_hour(client, top_of_the_hour, seeded):
    client.force_login(seeded["a"]["owner"])
    html = client.get("/admin/console/").content.decode()

    def value(kind, at):
        # Hours in the shop's zone (the console shows the shops' common zone).
        zone = ZoneInfo(seeded["a"]["shop"].timezone)
        hour = timezone.localtime(at, zone).strftime("%Y-%m-%dT%H:00")
        match = re.search(rf'<rect class="bar-{kind}" data-hour="{hour}" data-value="(\d+)"',
                          html)
        assert match, (kind, hour)
        return int(match.group(1))

    # Events: 2 done three hours ago; one hour ago: 2 pending, 1 processing, 1 dead.
    assert value("events", seeded["three_h"]) == 2
    assert value("events", seeded["one_h"]) == 4
    assert value("calls", seeded["one_h"]) == 3
    assert value("failed", seeded["one_h"]) == 3
    assert value("events", seeded["now"]) == 2  # one pending + the newest
    assert value("calls", seeded["now"]) == 10
    assert html.count('<rect class="bar-events"') == 25  # partial bars at both ends
    # Yesterday's partial bar and today's newest share a clock hour; their
    # keys and tooltips still tell them apart (the older one names its day).
    keys = re.findall(r'<rect class="bar-events" data-hour="([^"]+)"', html)
    tips = re.findall(r'<rect class="bar-events"[^>]*><title>([^<]+)</title>', html)
    assert len(set(keys)) == len(set(tips)) == 25, (keys, tips)
    assert tips[0].split(": ")[0].endswith(keys[-1][-5:]) and tips[0] != tips[-1], tips
    # Totals in the legend: A's 8 events in 24 h (the old dead one is out),
    # 13 calls, 3 of them failed.
    assert "events (8)" in html and "API calls (13)" in html and "failed calls (3)" in html
    # The older day in the console's own date form, not Django's "11/30/2026".
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d", tips[0].split(": ")[0]), tips[0]


@pytest.mark.django_db
def test_chart_of_one_shop_and_another_agencys_shop_is_not_found(client, seeded):
    client.force_login(seeded["a"]["owner"])
    own = client.get(f"/admin/console/?shop={seeded['a']['shop'].public_id}")
    assert own.status_code == 200
    assert "Last 24 hours: Shop A" in own.content.decode()
    # Another agency's shop and a made-up id read alike: the dashboard with
    # a notice in words, never an error page or the other shop's name.
    for shop in (seeded["b"]["shop"].public_id, "not-a-uuid",
                 "00000000-0000-0000-0000-000000000000"):
        other = client.get(f"/admin/console/?shop={shop}", follow=True,
                           HTTP_ACCEPT_LANGUAGE="ru")
        assert other.redirect_chain == [("/admin/console/", 302)]
        html = other.content.decode()
        assert "Не найдено: магазин (возможно, объект удалён)." in html
        assert "Shop B" not in html and "Last 24 hours: Shop" not in html
    # B's owner sees B's backlog of 7, and nothing of A.
    client.force_login(seeded["b"]["owner"])
    html = client.get("/admin/console/").content.decode()
    assert _words(_cell(_row(html, seeded["b"]["shop"]), "backlog")) == "7"
    assert "Shop A" not in html


@pytest.mark.django_db
def test_row_links_open_the_filtered_logs(client, seeded):
    client.force_login(seeded["a"]["owner"])
    html = client.get("/admin/console/").content.decode()
    row = _row(html, seeded["a"]["shop"])
    links = set(re.findall(r'href="(/admin/[^"]+)"', row))
    assert any("inboundevent" in link and "state=dead" in link for link in links)
    assert any("apicall" in link for link in links)
    for link in links:
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
        assert "?e=1" not in response.get("Location", ""), link


@pytest.mark.django_db
def test_query_count_does_not_grow_with_shops(client, seeded, make_shop):
    client.force_login(seeded["a"]["owner"])
    client.get("/admin/console/")  # warm sessions, content types

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/admin/console/").status_code == 200
        return len(captured)

    before = queries()
    for n in range(5):
        shop = make_shop(seeded["a"]["agency"], name=f"More {n}")
        RetailCrmConnection.objects.create(shop=shop, base_url=f"https://m{n}.retailcrm.example",
                                           api_key="rc-key-bbbb2222")
        _event(shop, "x", EventState.PENDING)
        _call(shop)
    assert queries() == before


@pytest.fixture
def role_groups(transactional_db):
    sync_role_groups()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_in_the_browser(role_groups, seeded, live_server, page, artifacts_dir):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", seeded["a"]["owner"].username)
    page.fill("#id_password", "pw-123456!")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))  # logging in lands on the dashboard
    assert page.locator("h1").inner_text() == "Agency dashboard"
    row = page.locator(f"tr[data-shop='{seeded['a']['shop'].public_id}']")
    assert row.locator(".cell-backlog").inner_text().strip() == "4"
    assert page.locator("svg.console-chart rect.bar-events").count() == 25
    assert "Shop B" not in page.content()
    # Two panels, each on its own scale: the events are not flattened by
    # the calls (Shop A: at most 4 events an hour, 10 calls).
    titles = page.locator("svg.console-chart").evaluate_all(
        "charts => charts.map(c => c.getAttribute('aria-label'))")
    assert titles == ["Events per hour", "API calls per hour (failed in red)"]
    tallest = page.locator("svg.console-chart rect.bar-events").evaluate_all(
        "bars => Math.max(...bars.map(b => parseFloat(b.getAttribute('height'))))")
    assert tallest == 96.0  # the whole plot height: the busiest hour reaches the top
    save_screenshot(page, os.path.join(artifacts_dir, "console-dashboard.png"), full_page=True)
    page.context.add_cookies([{"name": "django_language", "value": "ru",
                               "url": live_server.url}])
    page.reload()
    assert page.locator("h1").inner_text() == "Панель агентства"
    save_screenshot(page, os.path.join(artifacts_dir, "console-dashboard-ru.png"), full_page=True)


@pytest.mark.django_db
def test_console_pages_render_in_russian(client, seeded):
    client.force_login(seeded["a"]["owner"])
    for url in ("/admin/console/", "/admin/console/add-shop/", "/admin/"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
        assert response.status_code == 200, url
        assert '<html lang="ru"' in response.content.decode(), url


@pytest.mark.django_db
def test_the_chart_and_the_rows_count_the_same_calls_at_the_window_edge(client, two_tenants):
    """The rows' "last 24 h" and the chart's bars are one rolling window read
    at one instant: a call 23 h 59 min old counts in both (in the oldest,
    partial bar), one 24 h 1 min old in neither."""
    import time_machine

    now = timezone.now().replace(minute=30, second=0, microsecond=0) - timedelta(hours=1)
    shop = two_tenants["a"]["shop"]
    _call(shop, at=now - timedelta(hours=23, minutes=59))
    _call(shop, at=now - timedelta(hours=24, minutes=1))
    _call(shop, "timeout", at=now - timedelta(minutes=5))
    client.force_login(two_tenants["a"]["owner"])
    with time_machine.travel(now, tick=False):
        response = client.get("/admin/console/")
    row = next(r for r in response.context["rows"] if r.shop == shop)
    buckets = response.context["activity"].buckets
    assert (row.calls_24h, row.failed_calls_24h) == (2, 1)
    assert response.context["totals"]["calls"] == 2
    assert sum(b.failed_calls for b in buckets) == 1
    assert len(buckets) == 25 and buckets[0].api_calls == 1 and buckets[-1].api_calls == 1


@pytest.mark.django_db
def test_a_new_agency_is_shown_where_to_begin(client, make_agency, make_member):
    """No shops yet: the dashboard says how to add the first one (for an
    owner) instead of an empty chart with an axis from 0 to 1."""
    from integration.models import Role

    agency = make_agency("Fresh Agency")
    client.force_login(make_member(agency, Role.OWNER))
    html = client.get("/admin/console/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    empty = re.search(r'<td colspan="8" id="console-no-shops">(.*?)</td>', html, re.S)
    assert empty and 'href="/admin/console/add-shop/"' in empty.group(1), html[:3000]
    assert "Add your first shop" in empty.group(1)
    assert "console-chart" not in html and "Last 24 hours" not in html
    client.force_login(make_member(agency, Role.VIEWER))
    html = client.get("/admin/console/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    empty = re.search(r'<td colspan="8" id="console-no-shops">(.*?)</td>', html, re.S)
    assert empty and "<a " not in empty.group(1) and "Магазинов пока нет" in empty.group(1)
