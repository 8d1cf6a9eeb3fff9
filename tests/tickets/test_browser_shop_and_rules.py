"""An agency owner on the shop page and the rules page, in a real browser,
in English and in Russian: "Test connection" answers in place, the
internals stay folded under "Advanced", priorities and managers are picked
by name; a condition offers only its field's operators and picks a status
group by name; the dry run lists the tickets that would change first, each
linked to its HDE page. Screenshots: test-artifacts/shop-page-*.png,
rules-*.png."""

import os
import re

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from integration.models import PriorityRule, Role, TicketRecord
from integration.onboarding.shop_defaults import shop_defaults_apply
from tests.fixtures_portal import STANDARD, URGENT
from tests.screenshots import save_screenshot

pytestmark = pytest.mark.browser

WORDS = {
    # Priority names are the HDE account's own (the demo account is Russian).
    "en": {"works": "works", "urgent": "Срочно", "advanced": "Advanced"},
    "ru": {"works": "работает", "urgent": "Срочно", "advanced": "Дополнительно"},
}


def _no_internals(text: str) -> None:
    assert not re.search(r"\b(None|True|False)\b", text)
    assert "{'" not in text and "[]" not in text


def test_shop_page_and_rules_read_like_a_product(demo_shop, live_server, browser,
                                                  artifacts_dir, make_member, rc_people):
    shop_defaults_apply(shop=demo_shop, normal_priority_id=STANDARD, high_priority_id=URGENT)
    TicketRecord.objects.create(shop=demo_shop, ticket_id=601, unique_id="UYA-601",
                                subject="Question", customer_id=None, priority_id=STANDARD)
    TicketRecord.objects.create(shop=demo_shop, ticket_id=602, unique_id="UYA-602",
                                subject="Where is my order?", customer_id=rc_people["vip"],
                                priority_id=URGENT)
    TicketRecord.objects.create(shop=demo_shop, ticket_id=603, unique_id="UYA-603",
                                subject="Hello", customer_id=rc_people["vip"],
                                priority_id=STANDARD)
    client = Client()
    client.force_login(make_member(demo_shop.agency, Role.OWNER, username="shop-page-owner"))
    rule = PriorityRule.objects.for_shop(demo_shop).get(position=30)  # order in delivery

    for language in ("en", "ru"):
        words = WORDS[language]
        context = browser.new_context(locale=language, viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(30000)

        # The shop page: internals folded, names in the pickers.
        page.goto(live_server.url + reverse("admin:integration_shop_change",
                                            args=[demo_shop.pk]))
        advanced = page.locator(f"details:has(summary:has-text('{words['advanced']}'))")
        expect(advanced.first).to_be_visible()
        assert page.locator("details[open]").count() == 0  # every Advanced is collapsed
        expect(page.locator("#id_settings-0-order_number_pattern")).to_be_hidden()
        high = page.locator("#id_settings-0-high_priority_id option:checked")
        expect(high).to_have_text(words["urgent"])
        managers = page.locator("#id_settings-0-fallback_manager_id option")
        assert managers.count() > 1
        assert all(not text.strip().isdigit() for text in managers.all_inner_texts())

        # "Test connection" answers in place, without leaving the page.
        url_before = page.url
        page.click("form[data-connection-test] button")
        results = page.locator("#connection-test-result [data-connection-results]")
        expect(results.locator("li")).to_have_count(2)
        expect(results.locator("li[data-provider=RetailCRM]")).to_contain_text(words["works"])
        expect(results.locator("li[data-provider=HelpDeskEddy]")).to_contain_text(
            words["works"])
        assert page.url == url_before
        _no_internals(results.inner_text())
        save_screenshot(page, os.path.join(artifacts_dir, f"shop-page-{language}.png"),
                        full_page=True)

        # A rule: operators follow the field, a status group is picked by name.
        page.goto(live_server.url + reverse("admin:integration_priorityrule_change",
                                            args=[rule.pk]))
        row = page.locator("tr.form-row.has_original").first
        operator = row.locator("select[name$='-operator']")
        expect(row.locator("select[data-value-pick=status_groups]")).to_be_visible()
        expect(row.locator("[data-value-input]")).to_be_hidden()
        row.locator("select[name$='-field']").select_option("vip")
        visible = operator.locator("option:not([hidden])")
        expect(visible).to_have_count(2)  # is true / is false, nothing else
        assert operator.input_value() == "true"
        expect(row.locator("[data-value-input]")).to_be_hidden()
        row.locator("select[name$='-field']").select_option("total_sum")
        expect(visible).to_have_count(4)
        expect(row.locator("[data-value-input]")).to_be_visible()
        row.locator("select[name$='-field']").select_option("order_in_group")
        picked = row.locator("select[data-value-pick=status_groups] option:checked")
        assert not picked.inner_text().strip() == "delivery"  # a name, not the code
        save_screenshot(page, os.path.join(artifacts_dir, f"rules-condition-{language}.png"),
                        full_page=True)

        # The dry run: those that would change first, each linked to HDE.
        page.goto(live_server.url + reverse("admin:integration_priorityrule_dry_run"))
        page.select_option("#id_shop", str(demo_shop.pk))
        page.click("form[data-progress-form] input[type=submit]")
        rows = page.locator("#dry-run tbody tr")
        expect(rows).to_have_count(3)
        first = rows.first
        expect(first).to_have_attribute("class", "dry-run-changes")
        assert first.get_attribute("data-ticket") == "603"
        link = first.locator("a[data-ticket-link]")
        expect(link).to_have_text("UYA-603")
        assert "/ticket/list/filter/id/1/ticket/603/" in link.get_attribute("href")
        expect(first.locator(".would-set")).to_have_text(words["urgent"])
        _no_internals(page.locator("#dry-run").inner_text())
        save_screenshot(page, os.path.join(artifacts_dir, f"rules-dry-run-{language}.png"),
                        full_page=True)

        # "Try with e-mail": its own form, facts in words.
        page.goto(live_server.url + reverse("admin:integration_priorityrule_try_email"))
        assert page.locator("#id_limit").count() == 0
        page.select_option("#id_shop", str(demo_shop.pk))
        page.fill("#id_email", "anna.smirnova@example.ru")
        page.click("form[data-progress-form] input[type=submit]")
        expect(page.locator("[data-priority]")).to_have_text(words["urgent"])
        _no_internals(page.locator("#decision").inner_text())
        save_screenshot(page, os.path.join(artifacts_dir, f"rules-try-email-{language}.png"),
                        full_page=True)
        context.close()


def test_a_new_rule_offers_the_chosen_shops_lists(demo_shop, live_server, browser,
                                                  artifacts_dir, make_member, make_shop):
    """An agency with two shops adds a rule: the form offers no lists until a
    shop is chosen, then reloads with that shop's priorities, fields and
    statuses by name (a new rule used to offer bare id boxes)."""
    shop_defaults_apply(shop=demo_shop, normal_priority_id=STANDARD, high_priority_id=URGENT)
    make_shop(demo_shop.agency, name="Second shop")
    client = Client()
    client.force_login(make_member(demo_shop.agency, Role.OWNER, username="rule-adder"))
    context = browser.new_context(locale="ru", viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(30000)
    page.goto(live_server.url + reverse("admin:integration_priorityrule_add"))
    expect(page.locator("input[name=set_priority_id]")).to_be_visible()  # no shop yet
    with page.expect_navigation():
        page.locator("select[name=shop]").select_option(str(demo_shop.pk))
    assert f"shop={demo_shop.pk}" in page.url
    assert page.locator("select[name=shop]").input_value() == str(demo_shop.pk)
    expect(page.locator("select[name=set_priority_id] option", has_text="Срочно")).to_have_count(1)
    row = page.locator("tr.form-row").first
    row.locator("select[name$='-field']").select_option("ticket_order_status")
    expect(row.locator("select[data-value-pick=statuses] option",
                       has_text="Доставляется")).to_have_count(1)
    _no_internals(page.locator("#content").inner_text())
    save_screenshot(page, os.path.join(artifacts_dir, "rules-add-ru.png"), full_page=True)
    context.close()
