"""The support analytics page in headless Chromium at 1366 px: reached from
the admin index, a period picked in the form, figures and the server-rendered
charts on screen (both axes named, with units, in the reader's language),
products by name, the product list downloaded as CSV; agency B's shop not
offered. Screenshots in English and Russian."""

import csv
import io
import os
import re

import pytest

from integration.tenancy.roles import sync_role_groups
from tests.analytics.test_analytics import seed_analytics
from tests.screenshots import save_screenshot

PASSWORD = "pw-123456!"


@pytest.fixture
def role_groups(transactional_db):
    sync_role_groups()


def set_language(page, live_server, code):
    """The reader's language, as the admin's language cookie says it."""
    page.context.add_cookies([{"name": "django_language", "value": code,
                               "url": live_server.url}])
    page.reload()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_owner_reads_support_analytics_for_a_period(
    role_groups, two_tenants, live_server, page, artifacts_dir
):
    shop_a = two_tenants["a"]["shop"]
    seed_analytics(shop_a, other_shop=two_tenants["b"]["shop"])
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", two_tenants["a"]["owner"].username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))

    page.get_by_role("link", name="Support analytics", exact=True).first.click()
    page.wait_for_url(re.compile(r"/admin/integration/supportanalytics/$"))
    options = page.locator("#id_shop option").all_inner_texts()
    assert "Shop A" in options and "Shop B" not in options

    page.fill("#id_date_from", "2026-10-01")
    page.fill("#id_date_to", "2026-10-31")
    page.click("#analytics-filter input[type=submit]")
    page.wait_for_url(re.compile(r"date_from=2026-10-01"))
    assert page.locator("#rate-contacted").inner_text().split("\t") == [
        "contacted support", "4", "2", "50%"]
    assert page.locator("#rate-not_contacted td").nth(3).inner_text() == "67%"
    assert page.locator("svg.bar-chart").count() == 5
    box = page.locator("#repeat-summary svg.bar-chart").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 40  # drawn, not an empty tag
    chart = page.locator("#repeat-by-priority svg.bar-chart")
    assert chart.locator("text.category-axis").text_content() == "Priority of the first ticket"
    assert chart.locator("text.value-axis").text_content() == "Share of customers who bought again"
    assert chart.locator("text.tick").all_text_contents() == ["0%", "25%", "50%", "75%", "100%"]
    value_axis = page.locator("#value-by-priority text.value-axis").text_content()
    assert value_axis == "Customers' purchases, ₽"
    # Products by the names the shop's orders give them, in the chart and the table.
    products = page.locator("#ticket-products tbody tr")
    assert products.first.inner_text().split("\t") == ["Электрический чайник", "3", "2"]
    labels = page.locator("#ticket-products text.label").all_text_contents()
    assert labels[0] == "Электрический чайник" and not any(x.isdigit() for x in labels)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    save_screenshot(page, os.path.join(artifacts_dir, "analytics-october.png"), full_page=True)

    # The same page for a Russian reader: axes and units in Russian.
    set_language(page, live_server, "ru")
    chart = page.locator("#repeat-by-priority svg.bar-chart")
    assert chart.locator("text.category-axis").text_content() == "Приоритет первой заявки"
    assert page.locator("#value-by-priority text.value-axis").text_content() == \
        "Покупки клиентов, ₽"
    save_screenshot(page, os.path.join(artifacts_dir, "analytics-october-ru.png"),
                    full_page=True)
    set_language(page, live_server, "en")

    with page.expect_download() as download_info:
        page.click("#products-csv")
    with open(download_info.value.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[:2] == [["product_id", "name", "orders", "customers"],
                        ["11", "Электрический чайник", "3", "2"]]
    # Without a RetailCRM connection there is no note button to press.
    assert page.locator("#products-note").count() == 0
