"""Every list a shop admin works in fits a 1366×768 screen, in English and in
Russian, even when the names people type are long and unbroken.

Why: the sync logs were made to fit, but the rules and order-watch lists
still scrolled sideways, and one long shop name (a URL-like name with no
spaces, a tag list without blanks) widened whole pages. Checked in headless
Chromium: no horizontal scroll for the page, nor for the results table in
its box.
"""

import os
from decimal import Decimal

import pytest
from django.utils import timezone

from integration.models import (
    LocalOrder,
    OrderWatch,
    PriorityRule,
    ReplyTemplate,
)
from integration.tenancy.roles import sync_role_groups
from tests.ops.test_browser_logs import fits_the_screen, login, set_language
from tests.screenshots import save_screenshot

LONG_SHOP = "Интернет-магазин-товаров-для-дома-сада-и-огорода-uyutny-dom.example.ru"
LONG_WORD = "Скидка-постоянным-покупателям-при-повторном-заказе-с-доставкой-курьером"

LISTS = ["shop", "priorityrule", "replytemplate", "orderwatch", "localorder", "sentreply",
         "extensiontoken", "membership"]


@pytest.fixture
def long_names(transactional_db, two_tenants):
    sync_role_groups()
    shop = two_tenants["a"]["shop"]
    shop.name = LONG_SHOP
    shop.save(update_fields=["name"])
    for position in range(3):
        PriorityRule.objects.create(
            shop=shop, position=position, name=f"{LONG_WORD}-{position}", set_priority_id=2,
            add_tags=",".join([LONG_WORD] * 3), set_field_id=5, set_field_value=LONG_WORD)
        ReplyTemplate.objects.create(shop=shop, name=f"{LONG_WORD}-{position}",
                                     body=f"{LONG_WORD} " * 20, position=position)
    OrderWatch.objects.create(shop=shop, enabled=True, proactive_tickets=True,
                              last_poll_at=timezone.now(), last_poll_records=12)
    LocalOrder.objects.create(shop=shop, order_id=1, number=f"{LONG_WORD[:36]}A",
                              created_at=timezone.now(), status="in-delivery-very-long-code",
                              total=Decimal("123456789.50"), currency="RUB",
                              synced_at=timezone.now())
    return two_tenants


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_list_fits_1366_px_with_long_names(long_names, live_server, page,
                                                  artifacts_dir, language):
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, long_names["a"]["owner"], "/admin/")
    set_language(page, live_server, language)
    too_wide = []
    for model in LISTS:
        page.goto(f"{live_server.url}/admin/integration/{model}/")
        assert page.locator("#changelist").count() == 1, model
        if not fits_the_screen(page):
            too_wide.append(model)
        if model in ("priorityrule", "orderwatch"):
            save_screenshot(page, os.path.join(artifacts_dir,
                                               f"list-{model}-long-names-{language}.png"))
    assert too_wide == []


# A name with no break opportunity at all (no hyphen, no blank), in the
# widest letters: the worst a person can type.
UNBROKEN_SHOP = "Ж" * 50 + "W" * 50


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ru"])
def test_one_shop_pages_fit_1366_px_with_an_unbroken_shop_name(
        transactional_db, two_tenants, live_server, page, artifacts_dir, language):
    """The dashboard (checklist and health rows), the shop's page and
    History, the wizard's webhooks step and analytics with its shop picker."""
    sync_role_groups()
    shop = two_tenants["a"]["shop"]
    shop.name = UNBROKEN_SHOP
    shop.save(update_fields=["name"])
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, two_tenants["a"]["owner"], "/admin/")
    set_language(page, live_server, language)
    pages = {
        "dashboard": "/admin/",
        "shop": f"/admin/integration/shop/{shop.pk}/change/",
        "history": f"/admin/integration/shop/{shop.pk}/history/",
        "erase": f"/admin/integration/shop/{shop.pk}/delete/",
        "widget-access": f"/admin/integration/shop/{shop.pk}/widget-access/",
        **{f"wizard-{step}": f"/admin/console/add-shop/{shop.public_id}/{step}/"
           for step in ("retailcrm", "hde", "priorities", "hooks", "check", "live")},
        "analytics": "/admin/integration/supportanalytics/",
    }
    too_wide = []
    for name, path in pages.items():
        page.goto(live_server.url + path)
        assert UNBROKEN_SHOP[:20] in page.content() or name == "wizard-live", name
        if not fits_the_screen(page):
            too_wide.append(name)
        if name in ("dashboard", "shop", "wizard-hooks", "analytics"):
            save_screenshot(page, os.path.join(artifacts_dir,
                                               f"page-{name}-unbroken-name-{language}.png"))
    assert too_wide == []
