"""An agency owner's first visit to the admin, in a real browser.

Why a browser and not the test client: the login form, the inline formset
that the admin's JavaScript renders, and what actually reaches the screen
are what an owner uses. The test proves tenant scoping and the write-only
API key end to end: typed into the page, stored encrypted, never sent back.
"""

import os
import re

import pytest
from django.db import connection

from integration.core import crypto
from integration.models import ConnectionStatus, HelpDeskEddyConnection, RetailCrmConnection
from integration.tenancy.roles import sync_role_groups
from tests.screenshots import save_screenshot

API_KEY = "rcrm-Pl41nText-Key-7Q2w9X4z"
PASSWORD = "pw-123456!"  # make_member's default


@pytest.fixture
def role_groups(transactional_db):
    """Recreate the role groups a previous transactional test flushed away
    (flush re-sends post_migrate without `apps`, which the project's handler
    ignores; see integration.tenancy.signals)."""
    sync_role_groups()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_owner_sees_only_own_shop_and_api_key_never_comes_back(
    role_groups, two_tenants, live_server, page, artifacts_dir
):
    shop_a, shop_b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    HelpDeskEddyConnection.objects.create(
        shop=shop_a, base_url="https://a.helpdeskeddy.example", api_key="hde-key-aaaa1111",
        agent_email="bot@a.example", status=ConnectionStatus.OK,
    )
    html_seen = []

    def keep_html(response):
        if "text/html" in response.headers.get("content-type", ""):
            html_seen.append(response.text())

    page.on("response", keep_html)

    # Log in through the real form.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/integration/shop/")
    page.fill("#id_username", two_tenants["a"]["owner"].username)
    page.fill("#id_password", PASSWORD)
    save_screenshot(page, os.path.join(artifacts_dir, "admin-login.png"))
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/integration/shop/$"))

    # The changelist: own shop with its health badges, nothing of agency B.
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    row = rows.first
    assert row.locator("th a").inner_text() == shop_a.name
    assert "● Working" in row.inner_text()  # HDE connection, tested OK
    assert "not connected" in row.inner_text()  # no RetailCRM connection yet
    assert shop_b.name not in page.content()
    save_screenshot(page, os.path.join(artifacts_dir, "admin-shop-changelist.png"),
                    full_page=True)

    # Agency B's shop answers like a missing one.
    page.goto(f"{live_server.url}/admin/integration/shop/{shop_b.pk}/change/")
    assert page.url.endswith("/admin/")
    assert shop_b.name not in page.content()

    # Connect RetailCRM: URL and key typed into the inline, then save.
    page.goto(f"{live_server.url}/admin/integration/shop/")
    page.click(f"#result_list a:text-is('{shop_a.name}')")
    page.fill("#id_retailcrm-0-base_url", "demo.retailcrm.example")
    page.fill("#id_retailcrm-0-api_key", API_KEY)
    page.click("input[name=_continue]")
    page.wait_for_selector("ul.messagelist li.success")

    # Back on the change page: only the masked hint, an empty key input.
    hint = f"••••{API_KEY[-4:]}"
    help_text = page.locator("#id_retailcrm-0-api_key_helptext").inner_text()
    assert hint in help_text
    assert page.input_value("#id_retailcrm-0-api_key") == ""
    assert page.input_value("#id_retailcrm-0-base_url") == "https://demo.retailcrm.example"
    save_screenshot(page, os.path.join(artifacts_dir, "admin-shop-saved.png"), full_page=True)

    # The shop page read its pick lists (HDE priorities and fields, RetailCRM
    # managers) with the saved connections; neither host exists here, and the
    # health badges say so rather than "not tested".
    page.goto(f"{live_server.url}/admin/integration/shop/")
    assert page.locator("#result_list tbody tr").first.inner_text().count("● Failing") == 2

    # No HTML the server sent, and no page the browser built, holds the key.
    assert html_seen
    assert not [html for html in html_seen if API_KEY in html]
    assert API_KEY not in page.content()

    # Stored encrypted: the raw column is ciphertext that decrypts to the key.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT api_key FROM {RetailCrmConnection._meta.db_table} WHERE shop_id = %s",
            [shop_a.pk],
        )
        (raw,) = cursor.fetchone()
    assert API_KEY not in raw
    assert raw.startswith(crypto.PREFIX)
    assert crypto.decrypt(raw) == API_KEY
    assert RetailCrmConnection.objects.get(shop=shop_a).api_key == API_KEY




@pytest.mark.django_db
@pytest.mark.parametrize("model", [
    "membership",
    "shop",
    "apicall",
    "inboundevent",
])
def test_changelist_filters_never_name_another_tenant(client, two_tenants, model):
    """Seen in the screenshots of the browser test: the filter sidebar is
    part of what a tenant sees, and it must not name agency B or its shop."""
    client.force_login(two_tenants["a"]["owner"])
    html = client.get(f"/admin/integration/{model}/").content.decode()
    assert "Agency B" not in html
    assert two_tenants["b"]["shop"].name not in html
