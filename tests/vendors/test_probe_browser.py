"""The shop page's "Check against the real service" in a real browser: an
owner runs the check and reads the report, in words."""

import os
import re

import pytest
from playwright.sync_api import expect

from integration.models import ProbeReport, Role
from integration.tenancy.roles import sync_role_groups
from sandbox.retailcrm.behaviour import set_behaviour
from tests.screenshots import save_screenshot

PASSWORD = "pw-123456!"


@pytest.mark.browser
def test_an_owner_runs_the_check_and_reads_the_report(demo_shop, live_server, page,
                                                      make_member, artifacts_dir):
    sync_role_groups()
    owner = make_member(demo_shop.agency, Role.OWNER, username="probe-owner")
    set_behaviour("demo", settings_endpoint="forbidden", email_case="sensitive")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/integration/shop/{demo_shop.pk}/"
              "change/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.click("a[data-probe]")
    page.wait_for_url(re.compile(r"/probe/$"))
    expect(page.locator("#probe-none")).to_be_visible()
    page.click("input[data-probe-run]")
    page.wait_for_url(re.compile(r"/probe/$"))
    expect(page.locator("#probe-report")).to_be_visible()
    assert ProbeReport.objects.filter(shop=demo_shop, finished_at__isnull=False).count() == 1
    settings_row = page.locator("tr[data-check='rc.settings']")
    expect(settings_row).to_have_attribute("data-outcome", "differs")
    expect(settings_row).to_contain_text("the portal works around it")
    expect(settings_row).to_contain_text("The settings are no longer asked for")
    email_row = page.locator("tr[data-check='rc.email']")
    expect(email_row).to_contain_text("needs attention")
    expect(page.locator("#probe-summary")).to_contain_text("1 difference needs attention")
    save_screenshot(page, os.path.join(artifacts_dir, "probe-report.png"), full_page=True)

    # The write test asks first.
    page.click("a[data-probe-write]")
    page.check("input[data-probe-confirm]")
    page.click("input[data-probe-write-run]")
    page.wait_for_url(re.compile(r"/probe/$"))
    expect(page.locator("tr[data-check='hde.tags_on_update']")).to_have_attribute(
        "data-outcome", "holds")
