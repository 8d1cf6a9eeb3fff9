"""Order watch in the admin: the status picker reads the shop's RetailCRM,
"Poll now" queues a poll, and agency A never sees or polls agency B's watch."""

import re

import pytest
from django.urls import reverse

from integration.models import LocalOrder, OrderWatch
from tests.workers import crm_status_create, crm_status_delete


@pytest.fixture
def tenants(two_tenants, rc_emulator, rc_connect):
    rc_connect(shop=two_tenants["a"]["shop"])
    rc_connect(account="second", site="second", shop=two_tenants["b"]["shop"])
    for key in ("a", "b"):
        shop = two_tenants[key]["shop"]
        two_tenants[key]["watch"] = OrderWatch.objects.create(shop=shop)
        LocalOrder.objects.create(shop=shop, order_id=1000 + shop.pk, number=f"N-{key}",
                                  synced_at="2026-11-25T10:00:00+00:00")
    return two_tenants


def test_picker_offers_the_shops_retailcrm_statuses_and_saves(client, tenants):
    watch = tenants["a"]["watch"]
    client.force_login(tenants["a"]["owner"])
    url = reverse("admin:integration_orderwatch_change", args=[watch.pk])
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    # By name, as RetailCRM names them; the code is only the checkbox's value.
    assert "Проблема с доставкой" in text
    assert "(delivery-problem)" not in text and "(redirect)" not in text
    assert 'value="delivery-problem"' in text and "Доставка перенесена" in text
    response = client.post(url, {"enabled": "on", "proactive_tickets": "on",
                                 "problem_statuses": ["redirect", "delivery-problem"],
                                 "hde_department_id": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    watch.refresh_from_db()
    assert sorted(watch.problem_statuses) == ["delivery-problem", "redirect"]
    assert watch.notify_customer is False

    client.post(url, {"enabled": "on", "hde_department_id": ""})  # nothing ticked
    watch.refresh_from_db()
    assert watch.problem_statuses == [] and watch.proactive_tickets is False


def test_poll_now_queues_a_poll_and_the_page_says_when_watching_began(client, tenants):
    watch = tenants["a"]["watch"]
    client.force_login(tenants["a"]["admin"])
    changelist = reverse("admin:integration_orderwatch_changelist")
    response = client.post(changelist, {"action": "poll_now",
                                        "_selected_action": [watch.pk]}, follow=True)
    assert "Queued a poll for 1 shop." in response.content.decode()
    watch.refresh_from_db()  # django-q runs it inline in tests
    assert watch.since_id is not None and watch.last_poll_at is not None
    page = client.get(reverse("admin:integration_orderwatch_change", args=[watch.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    since = re.search(r'field-watching_since.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert since and re.fullmatch(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d\xa0UTC\+3", since.group(1))
    # RetailCRM's history cursor is a record id: not for people.
    assert str(watch.since_id) not in page and "lease" not in page.lower()


def test_viewer_sees_but_cannot_change_or_poll(client, tenants):
    watch = tenants["a"]["watch"]
    client.force_login(tenants["a"]["viewer"])
    url = reverse("admin:integration_orderwatch_change", args=[watch.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"enabled": "", "hde_department_id": ""}).status_code == 403
    client.post(reverse("admin:integration_orderwatch_changelist"),
                {"action": "poll_now", "_selected_action": [watch.pk]})
    watch.refresh_from_db()
    assert watch.enabled and watch.last_poll_at is None


@pytest.mark.parametrize("model", ["orderwatch", "localorder"])
def test_agency_a_never_sees_agency_b(client, tenants, model):
    rows = {key: (tenants[key]["watch"] if model == "orderwatch"
                  else LocalOrder.objects.get(shop=tenants[key]["shop"])) for key in "ab"}
    client.force_login(tenants["a"]["owner"])
    listing = client.get(reverse(f"admin:integration_{model}_changelist"))
    shown = set(listing.context["cl"].queryset.values_list("pk", flat=True))
    assert rows["a"].pk in shown and rows["b"].pk not in shown
    other = client.get(reverse(f"admin:integration_{model}_change", args=[rows["b"].pk]))
    missing = client.get(reverse(f"admin:integration_{model}_change", args=[987654]))
    assert other.status_code == missing.status_code == 302 and other.url == missing.url


def test_poll_now_ignores_another_agencys_watch(client, tenants):
    watch_b = tenants["b"]["watch"]
    client.force_login(tenants["a"]["owner"])
    client.post(reverse("admin:integration_orderwatch_changelist"),
                {"action": "poll_now", "_selected_action": [watch_b.pk]})
    watch_b.refresh_from_db()
    assert watch_b.last_poll_at is None and watch_b.since_id is None


def test_local_orders_are_read_only(client, tenants):
    order = LocalOrder.objects.get(shop=tenants["a"]["shop"])
    client.force_login(tenants["a"]["owner"])
    url = reverse("admin:integration_localorder_change", args=[order.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"number": "X"}).status_code == 403
    assert client.get(reverse("admin:integration_localorder_add")).status_code == 403


def test_local_orders_list_their_status_by_name(client, tenants):
    LocalOrder.objects.filter(shop=tenants["a"]["shop"]).update(status="delivery-problem")
    client.force_login(tenants["a"]["owner"])
    text = client.get(reverse("admin:integration_localorder_changelist")).content.decode()
    assert "N-a" in text and "Проблема с доставкой" in text
    assert "delivery-problem" not in text


def test_a_local_order_reads_in_words_on_its_page(client, tenants):
    from integration.models import ProductName

    shop = tenants["a"]["shop"]
    order = LocalOrder.objects.get(shop=shop)
    LocalOrder.objects.filter(pk=order.pk).update(status="delivery-problem", total="12270.50",
                                                  currency="RUB", product_ids=[5000, 5010])
    ProductName.objects.create(shop=shop, product_id="5000", name="Чайник")
    client.force_login(tenants["a"]["owner"])
    text = client.get(reverse("admin:integration_localorder_change", args=[order.pk]),
                      HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Проблема с доставкой" in text and "delivery-problem" not in text
    assert "12\xa0270,50\xa0₽" in text or "12 270,50 ₽" in text
    products = re.search(r'field-products.*?<div class="readonly">(.*?)</div>', text, re.S)
    assert products and products.group(1).startswith("Чайник, ")  # the unnamed one in words
    assert "5010" not in products.group(1) and "[" not in products.group(1)


def test_retailcrm_down_keeps_chosen_statuses_without_calling_them_gone(client, tenants):
    from django.core.cache import cache

    from sandbox.retailcrm.models import Account as RcAccount

    watch = tenants["a"]["watch"]
    OrderWatch.objects.filter(pk=watch.pk).update(problem_statuses=["delivery-problem"])
    cache.clear()
    RcAccount.objects.filter(code="demo").update(fault="502")
    client.force_login(tenants["a"]["owner"])
    text = client.get(reverse("admin:integration_orderwatch_change", args=[watch.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'value="delivery-problem"' in text and "checked" in text
    assert "no longer in RetailCRM" not in text
    assert "can't be read right now" in text
    # By the name it had (order watch's copy of an order in it), never the code.
    assert labels(text) == ["unnamed status"]
    LocalOrder.objects.filter(shop=tenants["a"]["shop"]).update(
        status="delivery-problem", status_name="Проблема с доставкой")
    text = client.get(reverse("admin:integration_orderwatch_change", args=[watch.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert labels(text) == ["Проблема с доставкой"]


def labels(page: str) -> list[str]:
    """The problem-status checkboxes' labels as a person reads them."""
    return [" ".join(re.sub(r"<[^>]+>", "", label).split()) for label in re.findall(
        r'<label for="id_problem_statuses_\d+">(.*?)</label>', page, re.S)]


def test_chosen_statuses_keep_their_names_when_retailcrm_forgets_them(client, tenants):
    """The admin ticks two statuses; RetailCRM then deletes one from its
    book, and later cannot be read at all. The form names both as they were
    named when chosen, never by code, and says which one is gone."""
    from django.core.cache import cache

    from sandbox.retailcrm.models import Account as RcAccount

    watch = tenants["a"]["watch"]
    url = reverse("admin:integration_orderwatch_change", args=[watch.pk])
    client.force_login(tenants["a"]["owner"])
    response = client.post(url, {"enabled": "on", "proactive_tickets": "on",
                                 "problem_statuses": ["redirect", "delivery-problem"],
                                 "hde_department_id": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    watch.refresh_from_db()
    assert watch.problem_status_names == {"redirect": "Доставка перенесена",
                                          "delivery-problem": "Проблема с доставкой"}

    crm_status_delete("redirect")
    cache.clear()
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Доставка перенесена (no longer in RetailCRM)" in labels(page)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Доставка перенесена (больше нет в RetailCRM)" in labels(page)
    # Saved again without a change: the gone status keeps its name.
    client.post(url, {"enabled": "on", "proactive_tickets": "on",
                      "problem_statuses": ["redirect", "delivery-problem"],
                      "hde_department_id": ""})
    watch.refresh_from_db()
    assert watch.problem_status_names["redirect"] == "Доставка перенесена"

    RcAccount.objects.filter(code="demo").update(fault="502")
    cache.clear()
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert sorted(labels(page)) == ["Доставка перенесена", "Проблема с доставкой"]
    assert all(code not in " ".join(labels(page)) for code in ("redirect", "delivery-problem"))


def test_a_status_created_after_the_lists_were_read_is_offered_and_named(client, tenants):
    """The admin opens the watch page (the lists are read and cached), then
    creates a status in RetailCRM and comes back: the picker offers it, and
    a local order in it lists by name. A failed re-read keeps the list in
    hand instead of emptying the picker."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from sandbox.retailcrm.models import Account as RcAccount

    watch = tenants["a"]["watch"]
    url = reverse("admin:integration_orderwatch_change", args=[watch.pk])
    client.force_login(tenants["a"]["owner"])
    assert "Курьер потерял посылку" not in client.get(url).content.decode()
    crm_status_create("courier-lost", "Курьер потерял посылку")
    LocalOrder.objects.filter(shop=tenants["a"]["shop"]).update(status="courier-lost")

    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):
        page = client.get(url).content.decode()
        assert 'value="courier-lost"' in page and "Курьер потерял посылку" in page
        listing = client.get(reverse("admin:integration_localorder_changelist")).content.decode()
        assert "Курьер потерял посылку" in listing and "courier-lost" not in listing

    crm_status_create("courier-late", "Курьер опаздывает")
    RcAccount.objects.filter(code="demo").update(fault="502")
    with time_machine.travel(timezone.now() + timedelta(minutes=4), tick=True):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'value="courier-lost"' in page and "can't be read right now" not in page
    assert "Курьер опаздывает" not in page


def test_the_default_problem_status_in_force_shows_ticked(client, tenants):
    """Before anyone chose, the watch applies "Проблема с доставкой": the
    form shows it ticked, so saving after ticking another keeps both."""
    watch = tenants["a"]["watch"]
    assert watch.problem_statuses is None
    url = reverse("admin:integration_orderwatch_change", args=[watch.pk])
    client.force_login(tenants["a"]["owner"])
    page = client.get(url).content.decode()
    ticked = re.findall(r'<input type="checkbox" name="problem_statuses" value="([^"]+)"'
                        r'[^>]*checked', page)
    assert ticked == ["delivery-problem"]
    response = client.post(url, {"enabled": "on", "proactive_tickets": "on",
                                 "problem_statuses": ["delivery-problem", "redirect"],
                                 "hde_department_id": ""})
    assert response.status_code == 302
    watch.refresh_from_db()
    assert watch.problem_statuses == ["delivery-problem", "redirect"]
