"""Alerts: who gets which e-mail, how often, and the admin banner.

Why: an alert that never comes leaves a shop broken for days; one that comes
every five minutes gets filtered to spam. So each condition is driven for
real (a refused key, a ban row, dead events, a backlog) and the job runs at
chosen times: one message per condition and shop per hour, to the agency's
owners and admins only, and the banner only on that agency's pages.
"""

import os
import re
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import close_old_connections
from django.utils import timezone, translation

from integration import tasks
from integration.models import (
    AlertCondition,
    AlertState,
    ConnectionStatus,
    EventSource,
    EventState,
    HelpDeskEddyConnection,
    InboundEvent,
    RateLimitState,
    RetailCrmConnection,
    Shop,
)
from integration.ops.alerts import alerts_check
from integration.schedules import SCHEDULES
from integration.tenancy.roles import sync_role_groups
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from tests.screenshots import save_screenshot

HDE_URL = "https://a-desk.helpdeskeddy.example"


@pytest.fixture
def knobs(settings):
    settings.INTEGRATION = {**settings.INTEGRATION, "ALERT_BACKLOG_THRESHOLD": 3,
                            "ALERT_BACKLOG_MINUTES": 15, "ALERT_REPEAT_MINUTES": 60}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_BASE_URL = "https://portal.example"
    return settings


@pytest.fixture
def tenants(two_tenants, knobs):
    """Shops write in English here; one test checks the shop's language."""
    Shop.objects.filter(pk__in=[t["shop"].pk for t in two_tenants.values()]).update(
        language="en")
    return two_tenants


def _refuse_key(shop):
    return RetailCrmConnection.objects.create(
        shop=shop, base_url="https://a.retailcrm.example", api_key="rc-key-aaaa1111",
        status=ConnectionStatus.NEEDS_ATTENTION,
        last_error="RetailCRM: Wrong \"apiKey\" value. (HTTP 401)")


def _events(shop, state, n, prefix="e"):
    for i in range(n):
        InboundEvent.objects.create(shop=shop, source=EventSource.HDE_WEBHOOK,
                                    source_key=f"{prefix}{i}", state=state)


@pytest.mark.django_db
def test_refused_key_mails_owners_and_admins_once_per_hour(tenants):
    a = tenants["a"]
    _refuse_key(a["shop"])
    now = timezone.now()
    assert alerts_check(now=now) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == sorted([a["owner"].email, a["admin"].email])
    assert a["viewer"].email not in message.to
    assert tenants["b"]["owner"].email not in message.to
    assert "Shop A" in message.subject and "API key refused" in message.subject
    assert "RetailCRM: the API key is wrong" in message.body  # the vendor's English, in words
    assert f"https://portal.example/admin/integration/shop/{a['shop'].pk}/change/" in message.body
    # The next runs within the hour: nothing new.
    for minutes in (5, 30, 59):
        assert alerts_check(now=now + timedelta(minutes=minutes)) == 0
    assert len(mail.outbox) == 1
    # Still refused an hour later: one reminder.
    assert alerts_check(now=now + timedelta(minutes=61)) == 1
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_message_in_each_shops_language(tenants):
    Shop.objects.filter(pk=tenants["b"]["shop"].pk).update(language="ru")
    for key in ("a", "b"):
        _refuse_key(tenants[key]["shop"])
    assert alerts_check() == 2
    subjects = {tuple(m.to): m.subject for m in mail.outbox}
    for key, language in (("a", "en"), ("b", "ru")):
        with translation.override(language):
            label = str(AlertCondition.KEY_REFUSED.label)
        to = tuple(sorted([tenants[key]["owner"].email, tenants[key]["admin"].email]))
        assert label in subjects[to], (language, subjects[to])


@pytest.mark.django_db
def test_hde_ban_starts_an_alert(tenants):
    shop = tenants["a"]["shop"]
    connection = HelpDeskEddyConnection.objects.create(
        shop=shop, base_url=HDE_URL, api_key="hde-key-1111", agent_email="bot@a.example",
        status=ConnectionStatus.OK)
    now = timezone.now()
    assert alerts_check(now=now) == 0
    RateLimitState.objects.create(key=HelpDeskEddyClient.account_key_for(connection),
                                  banned_until=now + timedelta(minutes=20))
    assert alerts_check(now=now + timedelta(minutes=5)) == 1
    assert "HelpDeskEddy ban" in mail.outbox[0].subject
    # The end of the ban in the shop's time, its zone written (Moscow: UTC+3).
    until = (now + timedelta(minutes=20)).astimezone(ZoneInfo(shop.timezone))
    assert f"banned until {until:%H:%M}\u00a0UTC+3" in mail.outbox[0].body
    # Ban over: the condition closes.
    assert alerts_check(now=now + timedelta(minutes=30)) == 0
    assert not AlertState.objects.filter(active_since__isnull=False).exists()


@pytest.mark.django_db
def test_dead_events_alert_only_on_new_deaths(tenants):
    shop = tenants["a"]["shop"]
    _events(shop, EventState.DEAD, 2)
    now = timezone.now() + timedelta(seconds=1)
    assert alerts_check(now=now) == 1
    assert "2 events gave up" in mail.outbox[0].body
    assert "state=dead" in mail.outbox[0].body
    # Two hours later, no new deaths: no new message.
    later = now + timedelta(hours=2)
    assert alerts_check(now=later) == 0
    # A new death after the last message: a new one.
    _events(shop, EventState.DEAD, 1, prefix="new")
    InboundEvent.objects.filter(source_key="new0").update(updated_at=later + timedelta(minutes=1))
    assert alerts_check(now=later + timedelta(minutes=2)) == 1
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_backlog_must_stay_high(tenants):
    shop = tenants["a"]["shop"]
    _events(shop, EventState.PENDING, 3)
    now = timezone.now()
    assert alerts_check(now=now) == 0  # high now, not for 15 minutes yet
    assert alerts_check(now=now + timedelta(minutes=10)) == 0
    assert alerts_check(now=now + timedelta(minutes=16)) == 1
    assert "Backlog stays high" in mail.outbox[0].subject
    assert "3 events waiting (threshold 3)" in mail.outbox[0].body
    # It drains, then returns: the clock starts again.
    InboundEvent.objects.update(state=EventState.DONE)
    assert alerts_check(now=now + timedelta(minutes=20)) == 0
    state = AlertState.objects.get(shop=shop, condition=AlertCondition.BACKLOG_HIGH)
    assert state.active_since is None


@pytest.mark.django_db
def test_inactive_shops_and_other_conditions_stay_quiet(tenants):
    shop = tenants["a"]["shop"]
    _refuse_key(shop)
    shop.active = False
    shop.save()
    assert alerts_check() == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_message(tenants):
    """The claim is a conditional UPDATE: concurrent checks cannot both win."""
    _refuse_key(tenants["a"]["shop"])
    now = timezone.now()
    alerts_check(now=now - timedelta(hours=2))  # the row exists, last sent long ago
    mail.outbox.clear()
    results, barrier = [], threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            results.append(alerts_check(now=now))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and sum(results) == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_alerts_check_is_scheduled_every_five_minutes(tenants):
    item = next(s for s in SCHEDULES if s["name"] == "alerts-check")
    assert item["func"] == "integration.tasks.alerts_check_task" and item["minutes"] == 5
    _refuse_key(tenants["a"]["shop"])
    assert tasks.alerts_check_task() == 1


@pytest.mark.django_db
def test_banner_shows_on_the_agencys_admin_pages_only(client, tenants):
    _refuse_key(tenants["a"]["shop"])
    alerts_check()
    client.force_login(tenants["a"]["viewer"])
    html = client.get("/admin/").content.decode()
    assert 'id="console-alerts"' in html
    banner = re.search(r'<div class="console-banner".*?</div>', html, re.S).group(0)
    assert "Shop A" in banner and "API key refused" in banner
    # On other admin pages too.
    assert 'id="console-alerts"' in client.get("/admin/integration/shop/").content.decode()
    client.force_login(tenants["b"]["owner"])
    html = client.get("/admin/").content.decode()
    assert 'id="console-alerts"' not in html and "Shop A" not in html
    # Fixed: the next check closes it and the banner goes.
    RetailCrmConnection.objects.update(status=ConnectionStatus.OK)
    alerts_check()
    client.force_login(tenants["a"]["owner"])
    assert 'id="console-alerts"' not in client.get("/admin/").content.decode()


@pytest.fixture
def role_groups(transactional_db):
    sync_role_groups()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_banner_in_the_browser(role_groups, tenants, live_server, page, artifacts_dir):
    _refuse_key(tenants["a"]["shop"])
    alerts_check()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/console/")
    page.fill("#id_username", tenants["a"]["owner"].username)
    page.fill("#id_password", "pw-123456!")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/console/$"))
    banner = page.locator("#console-alerts")
    assert "API key refused" in banner.inner_text()
    save_screenshot(page, os.path.join(artifacts_dir, "console-alert-banner.png"),
                    full_page=True)


@pytest.mark.django_db
def test_each_reader_gets_the_alert_in_their_own_language(client, tenants):
    """The job stores facts, not words: a Russian shop's e-mail is Russian
    throughout (its detail too), and each admin reads the banner in the
    language their browser asks for, with the count in the right form."""
    shop = tenants["a"]["shop"]
    Shop.objects.filter(pk=shop.pk).update(language="ru")
    _events(shop, EventState.DEAD, 1)
    with translation.override("en"):  # the job's own language does not leak
        assert alerts_check(now=timezone.now() + timedelta(seconds=1)) == 1
    body = mail.outbox[0].body
    assert "1 событие не удалось обработать" in body and "gave up" not in body
    client.force_login(tenants["a"]["viewer"])
    for language, words in (("ru", "1 событие не удалось обработать"),
                            ("en", "1 event gave up in the last 24 hours")):
        html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        banner = re.search(r'<div class="console-banner".*?</div>', html, re.S).group(0)
        assert words in banner, banner


@pytest.mark.django_db
def test_a_new_key_clears_key_refused_and_the_banner_at_once(client, tenants):
    """The banner reads the alert job's last verdict; typing a new key on
    the shop page must not leave "key refused" up until the job runs again."""
    from django.urls import reverse

    from tests.tenancy.test_connections_form import _form_data

    a = tenants["a"]
    connection = _refuse_key(a["shop"])
    assert alerts_check() == 1
    client.force_login(a["owner"])
    url = reverse("admin:integration_shop_change", args=[a["shop"].pk])
    assert "API key refused" in client.get("/admin/").content.decode()
    # The same refused key typed again is still refused. (Opening the page
    # reads RetailCRM's lists, and the made-up address fails them: the
    # connection is set back to refused before the post.)
    same = _form_data(client.get(url), **{"retailcrm-0-api_key": connection.api_key,
                                          "_continue": "1"})
    RetailCrmConnection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_ATTENTION, last_error="refused")
    assert client.post(url, same).status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION
    other = _form_data(client.get(url), **{"retailcrm-0-api_key": "rc-key-new-2222",
                                           "_continue": "1"})
    RetailCrmConnection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_ATTENTION, last_error="refused")
    assert client.post(url, other).status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.UNKNOWN and connection.last_error == ""
    assert "API key refused" not in client.get("/admin/").content.decode()
    # Refused again (a vendor call said so): the banner is back at once.
    RetailCrmConnection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_ATTENTION, last_error="refused again")
    assert "API key refused" in client.get("/admin/").content.decode()
