"""Words on console pages that used to show codes, wrong plurals or English.

Why: a Russian reader met "11 шаблоны ответов" under a list, "1 events" in
the chart's tooltips, status-group codes ("delivery") in the templates'
conditions, and the RetailCRM rights as API scope codes. Each check opens
the page a person opens, in the language they read.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from integration.models import EventSource, EventState, InboundEvent, ReplyTemplate


@pytest.mark.django_db
def test_list_counts_read_right_in_russian(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    for number in range(11):
        ReplyTemplate.objects.create(shop=shop, name=f"Шаблон {number}", body="Здравствуйте!",
                                     position=number)
    client.force_login(two_tenants["a"]["owner"])
    html = client.get(reverse("admin:integration_replytemplate_changelist"),
                      HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    paginator = re.search(r'<p class="paginator">(.*?)</p>', html, re.S).group(1)
    assert "Шаблоны ответов: 11" in paginator, paginator
    assert "шаблоны ответов" not in paginator


@pytest.mark.django_db
def test_conditions_name_the_status_groups(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    ReplyTemplate.objects.create(shop=shop, name="Доставка", body="x", order_required=True,
                                 order_status_groups="delivery,complete", vip_only=True)
    client.force_login(two_tenants["a"]["owner"])
    html = client.get(reverse("admin:integration_replytemplate_changelist"),
                      HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    cell = re.search(r'<td class="field-conditions">(.*?)</td>', html, re.S).group(1)
    assert cell == "заказ · доставка, выполнен · только VIP", cell
    page = client.get(reverse("admin:integration_replytemplate_change",
                              args=[ReplyTemplate.objects.get().pk]),
                      HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert re.search(r'value="delivery"[^>]*checked', page) and "доставка" in page


@pytest.mark.django_db
def test_chart_tooltips_count_in_the_readers_plurals(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    InboundEvent.objects.create(shop=shop, source=EventSource.HDE_WEBHOOK, source_key="k1",
                                state=EventState.DONE, processed_at=timezone.now())
    client.force_login(two_tenants["a"]["owner"])
    english = client.get(reverse("admin:console-dashboard"),
                         HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ": 1 event, 0 API calls (0 failed)</title>" in english
    assert "1 events" not in english
    russian = client.get(reverse("admin:console-dashboard"),
                         HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert ": 1 событие, 0 вызовов API (0 неудачных)</title>" in russian


@pytest.mark.parametrize("language, kind, words", [
    ("en", "issue_hde_webhook_secret", "Issue a new HDE webhook secret for these shops?"),
    ("ru", "issue_hde_webhook_secret", "Выпустить новый секрет вебхука HDE для этих магазинов?"),
    ("ru", "issue_retailcrm_trigger_secret",
     "Выпустить новый секрет триггера RetailCRM для этих магазинов?"),
])
def test_the_secret_confirmation_names_the_kind_mid_sentence(client, two_tenants, language,
                                                            kind, words):
    """Not the capitalised label in quotes ("новый «Секрет вебхука HDE»")."""
    tenant = two_tenants["a"]
    client.force_login(tenant["owner"])
    page = client.post(reverse("admin:integration_shop_changelist"), {
        "action": kind, "_selected_action": [tenant["shop"].pk]},
        HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert words in page
    assert "«" not in page.split(words)[0].rsplit("<p>", 1)[-1]


@pytest.mark.parametrize("language, words", [
    ("en", "Not found: shop (perhaps it was deleted)."),
    ("ru", "Не найдено: магазин (возможно, объект удалён)."),
])
def test_another_agencys_shop_is_not_found_without_its_id(client, two_tenants, language, words):
    """Django's notice named the internal id ("Магазин с ID “2“ не существует.
    Возможно оно было удалено?")."""
    client.force_login(two_tenants["a"]["owner"])
    other = two_tenants["b"]["shop"]
    response = client.get(reverse("admin:integration_shop_change", args=[other.pk]),
                          HTTP_ACCEPT_LANGUAGE=language, follow=True)
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [words]
    assert str(other.pk) not in shown[0] and other.name not in response.content.decode()
