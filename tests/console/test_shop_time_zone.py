"""Times in the console read in the shop's zone, and History in the reader's
language.

Why: a shop admin in Yekaterinburg who reads "09:05" for a poll that ran at
14:05 their time chases a delay that never happened; an agency owner who
reads the History in Russian must not meet the English of whoever acted.
Each check drives the page a person opens (the Django test client through
the real admin) with times whose rendering is known in advance.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from integration.models import AuthFailure, OrderWatch, SecretKind, ShopSecret
from integration.tenancy.secrets import shop_secret_issue
from tests.fixtures_portal import hidden_fields

# 09:05 UTC is 14:05 in Yekaterinburg (UTC+5, no summer time).
MOMENT = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
ZONE = "Asia/Yekaterinburg"


@pytest.fixture
def east(two_tenants):
    shop = two_tenants["a"]["shop"]
    shop.timezone = ZONE
    shop.save(update_fields=["timezone"])
    return two_tenants["a"]


def test_order_watch_list_and_page_show_the_shops_hours(client, east):
    watch = OrderWatch.objects.create(shop=east["shop"], enabled=True)
    OrderWatch.objects.filter(pk=watch.pk).update(last_poll_at=MOMENT, last_success_at=MOMENT)
    client.force_login(east["admin"])
    listing = client.get(reverse("admin:integration_orderwatch_changelist")).content.decode()
    assert "14:05\u00a0UTC+5" in listing and "09:05" not in listing
    page = client.get(reverse("admin:integration_orderwatch_change", args=[watch.pk]),
                      HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "14:05" in page and "09:05" not in page


def test_shop_page_and_history_in_the_shops_zone_and_the_readers_language(client, east):
    shop = east["shop"]
    client.force_login(east["admin"])
    with time_machine.travel(MOMENT, tick=False):
        # The admin action issues a secret in English...
        changelist = reverse("admin:integration_shop_changelist")
        asked = client.post(changelist, {
            "action": "issue_hde_webhook_secret", "_selected_action": [shop.pk],
        }, HTTP_ACCEPT_LANGUAGE="en")
        response = client.post(changelist, hidden_fields(asked.content.decode()),
                               HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    hint = ShopSecret.objects.get(shop=shop, kind=SecretKind.HDE_WEBHOOK).hint
    history = reverse("admin:integration_shop_history", args=[shop.pk])
    # ...and a Russian reader reads it in Russian, at Yekaterinburg's hour.
    russian = client.get(history, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert f"Выпущен новый секрет вебхука HDE (…{hint[-4:]})." in russian
    assert "Issued" not in russian
    assert "Asia/Yekaterinburg, UTC+5" in russian and "14:05" in russian
    english = client.get(history, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Issued a new HDE webhook secret (…{hint[-4:]})." in english


def test_a_secret_issued_before_the_mid_sentence_names_still_reads_in_russian(east):
    """Entries written with the kind's capitalised label keep reading well."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.utils import translation

    from integration.console.history import history_note, history_words

    entry = LogEntry.objects.log_actions(
        user_id=east["admin"].pk, queryset=[east["shop"]], action_flag=CHANGE,
        single_object=True, change_message=history_note(
            "Issued a new %(kind)s (…%(hint)s).", words=("kind",), kind="HDE webhook secret",
            hint="a1b2"))
    with translation.override("ru"):
        assert history_words(entry) == "Секрет вебхука HDE: выпущен новый (…a1b2)."


def test_a_change_by_form_reads_as_fields_in_the_readers_words(client, east):
    """Django stores changed fields by their English labels; a field with no
    verbose name was stored by its name ("Timezone": the field is "time zone" now)."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.utils import translation

    from integration.console.history import history_words

    shop = east["shop"]
    entry = LogEntry.objects.log_actions(
        user_id=east["admin"].pk, queryset=[shop], action_flag=CHANGE, single_object=True,
        change_message='[{"changed": {"fields": ["Timezone", "Currency"]}}, '
                       '{"changed": {"name": "RetailCRM connection", "object": "x", '
                       '"fields": ["Base URL"]}}, '
                       '{"added": {"name": "shop secret", "object": "a1b2"}}]')
    with translation.override("ru"):
        words = history_words(entry)
    assert words.startswith("Изменены поля: Часовой пояс и Валюта."), words
    assert "Подключение RetailCRM «x»: изменено поле Базовый адрес." in words, words
    assert "Добавлено: секрет магазина «a1b2»." in words, words
    with translation.override("en"):
        assert history_words(entry).startswith("Changed fields: Time zone and Currency.")


@pytest.mark.django_db
def test_dashboard_names_the_zone_of_its_hours(client, east, make_shop):
    client.force_login(east["owner"])
    page = client.get(reverse("admin:console-dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.context["chart_zone"] == "Asia/Yekaterinburg, UTC+5"
    # A second shop in another zone: the all-shops chart falls back to the
    # server's zone, the one-shop chart keeps its shop's.
    make_shop(east["agency"], name="Moscow", timezone="Europe/Moscow")
    page = client.get(reverse("admin:console-dashboard"))
    assert page.context["chart_zone"] == "UTC"
    one = client.get(reverse("admin:console-dashboard"), {"shop": str(east["shop"].public_id)})
    assert one.context["chart_zone"] == "Asia/Yekaterinburg, UTC+5"
    labels = one.context["chart"]
    expected = timezone.localtime(timezone.now(), timezone=ZoneInfo(ZONE))
    assert f'data-hour="{expected:%Y-%m-%dT%H}:' in labels


def test_refused_webhooks_raise_a_notice_until_the_vendor_has_the_new_secret(client, east):
    shop = east["shop"]
    old = shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK, replace=True)
    shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK, replace=True)  # reissued
    hook = reverse("hook-hde", args=[shop.public_id])
    for secret in (old, old, "a-guess-by-someone-else"):  # HDE still sends the old secret
        refused = client.post(hook, data=b'{"ticket_id": 1}', content_type="application/json",
                              HTTP_X_WEBHOOK_SECRET=secret)
        assert refused.status_code == 401
    # Only the replaced secret is filed under the shop: a guess by whoever
    # knows the shop's public id cannot raise the notice.
    assert AuthFailure.objects.filter(shop=shop).count() == 2
    assert AuthFailure.objects.count() == 3
    client.force_login(east["owner"])
    page = client.get(reverse("admin:console-dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    row = next(row for row in page.context["rows"] if row.shop == shop)
    assert row.refused_24h == 2
    text = page.content.decode()
    assert ("2 webhooks were refused in the last 24 hours: they came with a secret that has "
            "been replaced") in text
    assert "UTC+5" in text
    # A day later the notice is gone (the rows count the same 24 hours).
    AuthFailure.objects.update(created_at=timezone.now() - timedelta(hours=25))
    later = client.get(reverse("admin:console-dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert "refused in the last 24 hours" not in later.content.decode()


def test_the_wizard_writes_its_secret_issue_into_the_shops_history(client, east):
    """Issuing in the wizard revokes the old secrets like the shops-list
    action does, so it leaves the same trace: who, when, which secrets."""
    from django.contrib.admin.models import LogEntry
    from django.utils import translation

    from integration.console.history import history_words

    shop = east["shop"]
    shop.active = False
    shop.save(update_fields=["active"])
    client.force_login(east["admin"])
    hooks = reverse("admin:console-wizard-hooks", args=[shop.public_id])
    page = client.post(hooks, hidden_fields(client.get(hooks).content.decode(), issue="1"))
    assert page.status_code == 200
    hints = {secret.kind: secret.hint[-4:] for secret in ShopSecret.objects.filter(
        shop=shop, revoked_at__isnull=True)}
    [entry] = LogEntry.objects.filter(object_id=str(shop.pk))
    assert entry.user == east["admin"]
    with translation.override("ru"):
        words = history_words(entry)
    assert words == ("В мастере подключения выпущены новые секреты вебхуков "
                     f"(HDE …{hints[SecretKind.HDE_WEBHOOK]}, "
                     f"RetailCRM …{hints[SecretKind.RETAILCRM_TRIGGER]}).")


def test_every_page_about_one_shop_is_in_its_zone_and_says_so(client, east, make_shop):
    """Not only the change form: the widget-access page (a custom admin
    view), the wizard (by public id), History, each in the shop's zone even
    when the user's shops have no common zone; the header names the zone."""
    shop = east["shop"]
    make_shop(east["agency"], name="Moscow", timezone="Europe/Moscow")  # no common zone
    with time_machine.travel(MOMENT, tick=False):
        shop_secret_issue(shop=shop, kind=SecretKind.WIDGET_TOKEN, label="Kiosk")
    client.force_login(east["owner"])
    access = client.get(reverse("admin:integration_shop_widget_access", args=[shop.pk]),
                        HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Time: UTC+5" in access and "zone: Asia/Yekaterinburg, UTC+5" in access
    assert "20 Nov 2026, 14:05" in access and "09:05" not in access
    wizard = client.get(reverse("admin:console-wizard-hooks", args=[shop.public_id]),
                        HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Time: UTC+5" in wizard
    # A page about no one shop, for a user whose shops differ: the server's.
    listing = client.get(reverse("admin:integration_membership_changelist"),
                         HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Время: UTC" in listing
    with time_machine.travel(MOMENT, tick=False):
        client.post(reverse("admin:integration_shop_widget_links_revoke", args=[shop.pk]))
    history = client.get(reverse("admin:integration_shop_history", args=[shop.pk]),
                         HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    # The lists' own format, not Django's default ("20 ноября 2026 г. 14:05").
    assert "20.11.2026 14:05" in history


def test_the_dashboard_for_one_shop_and_a_refused_key_read_in_the_readers_words(
        client, east, make_shop):
    """The header agrees with the one-shop chart's zone; RetailCRM's English
    for a wrong key reads in the reader's language on the health row; the
    shop page's "lists unavailable" help is worded for each reader, though
    the failure behind it is remembered for a minute."""
    from integration.models import ConnectionStatus, RetailCrmConnection

    shop = east["shop"]
    make_shop(east["agency"], name="Moscow", timezone="Europe/Moscow")  # no common zone
    RetailCrmConnection.objects.create(
        shop=shop, base_url="https://a.retailcrm.example", api_key="rc-key-aaaa1111",
        status=ConnectionStatus.NEEDS_ATTENTION, last_error='Wrong "apiKey" value.')
    client.force_login(east["owner"])
    one = client.get(reverse("admin:console-dashboard"), {"shop": str(shop.public_id)},
                     HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Время: UTC+5" in one and "время: Asia/Yekaterinburg, UTC+5" in one
    assert "неверный API-ключ" in one and "Wrong" not in one
    page = reverse("admin:integration_shop_change", args=[shop.pk])
    english = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "RetailCRM lists are unavailable" in english
    # The connection's heading names the vendor once, then its host.
    assert '<span class="inline_label">a.retailcrm.example' in english
    assert "RetailCRM: a.retailcrm.example" not in english
    russian = client.get(page, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Списки RetailCRM недоступны" in russian
    assert "RetailCRM lists are unavailable" not in russian


def test_a_save_that_changes_nothing_leaves_no_history_entry(client, east):
    from django.contrib.admin.models import LogEntry
    from django.utils import translation

    from integration.console.history import history_words
    from tests.tenancy.test_connections_form import _form_data

    shop = east["shop"]
    client.force_login(east["owner"])
    url = reverse("admin:integration_shop_change", args=[shop.pk])
    assert client.post(url, _form_data(client.get(url))).status_code == 302
    assert not LogEntry.objects.filter(object_id=str(shop.pk)).exists()
    changed = _form_data(client.get(url), currency="EUR")
    assert client.post(url, changed).status_code == 302
    [entry] = LogEntry.objects.filter(object_id=str(shop.pk))
    with translation.override("ru"):
        assert history_words(entry) == "Изменено поле: Валюта."


def test_a_half_hour_zone_charts_its_own_clock_hours(client, east, make_shop):
    """The one-shop chart counts that shop's clock hours: in Kolkata
    (UTC+5:30) the bars start at 10:00, 11:00…, not at :30 (the server's
    hours shown in Kolkata time); only the window's first bar is partial."""
    shop = east["shop"]
    shop.timezone = "Asia/Kolkata"
    shop.save(update_fields=["timezone"])
    make_shop(east["agency"], name="Moscow", timezone="Europe/Moscow")  # no common zone
    client.force_login(east["owner"])
    page = client.get(reverse("admin:console-dashboard"), {"shop": str(shop.public_id)})
    hours = [bucket.start for bucket in page.context["activity"].buckets]
    labels = [moment.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%M") for moment in hours]
    assert set(labels[1:]) == {"00"}, labels
