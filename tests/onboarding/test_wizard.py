"""The "Add a shop" wizard in a real browser, against both emulators.

Why a browser: the wizard is what an agency uses on day one, alone; the
test types what they type, reads what they read (every failure must say
what to fix), copies secrets shown once and proves the chain works through
a sample lookup, then that the new shop really receives webhooks.
"""

import os
import re

import pytest
import requests
from django.test import override_settings
from playwright.sync_api import expect

from integration.models import (
    ConnectionStatus,
    HelpDeskEddyConnection,
    PriorityRule,
    RetailCrmConnection,
    Role,
    SecretKind,
    Shop,
    ShopSettings,
    TicketRecord,
)
from integration.tenancy.roles import sync_role_groups
from integration.tenancy.secrets import shop_secret_match
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.demo_people import PEOPLE
from sandbox.hde.wiring import hde_dispatcher_wire
from tests.fixtures_portal import pump_dispatcher
from tests.screenshots import save_screenshot

PASSWORD = "pw-123456!"
VIP = next(person for person in PEOPLE if person.key == "vip")


@pytest.fixture
def role_groups(transactional_db):
    sync_role_groups()


@pytest.fixture
def owner(role_groups, make_agency, make_member):
    agency = make_agency("Wizard Agency")
    make_agency("Other Agency")  # must never be offered
    return make_member(agency, Role.OWNER, username="wizard-owner")


def _login(page, live_server, user, next_url="/admin/"):
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def _shot(page, artifacts_dir, name):
    save_screenshot(page, os.path.join(artifacts_dir, f"console-{name}.png"), full_page=True)


def _fill_retailcrm(page, *, url, key, name="New Shop", site="main"):
    # The agency is not chosen: the user's only agency is preselected.
    page.fill("#id_name", name)
    page.select_option("#id_language", "en")
    page.fill("#id_base_url", url)
    page.fill("#id_api_key", key)
    page.fill("#id_site_code", site)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def _fill_hde(page, *, url, email, key):
    page.fill("#id_base_url", url)
    page.fill("#id_agent_email", email)
    page.fill("#id_api_key", key)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def _errors(page) -> str:
    return page.locator(".console-errors").inner_text()


def _ticked(page) -> list[str]:
    """The wizard's steps that carry a tick."""
    return [text.split(". ", 1)[1].rstrip("✓ \n") for text in
            page.locator(".console-steps li.done").all_inner_texts()]


def _checklist(page, shop) -> dict[str, bool]:
    box = page.locator(f"[data-checklist='{shop.public_id}']").first
    return {item.get_attribute("data-step"): "done" in item.get_attribute("class")
            for item in box.locator("li[data-step]").all()}


def _mark_reviewed(page, shop, step, model):
    """Follow the checklist's link to where the review happens, and mark it."""
    page.locator(f"[data-checklist='{shop.public_id}'] li[data-step={step}] a").click()
    page.wait_for_url(re.compile(rf"/admin/integration/{model}/\?shop__id__exact={shop.pk}$"))
    assert page.locator("#review-box").get_attribute("data-reviewed") == "no"
    assert shop.name in page.locator("#review-box").inner_text()
    page.click("#review-box input[name=reviewed]")
    page.wait_for_url(re.compile(r"/admin/$"))
    assert "marked as reviewed" in page.locator("ul.messagelist").inner_text()


@pytest.mark.browser
def test_wizard_happy_path_connects_a_working_shop(
    owner, rc_emulator, hde_emulator, live_server, page, browser, artifacts_dir
):
    rc, hde = rc_emulator.demo, hde_emulator.demo
    with override_settings(PORTAL_BASE_URL=live_server.url):
        # Logging in lands on the agency dashboard; "Add a shop" is the wizard.
        _login(page, live_server, owner)
        assert page.url == f"{live_server.url}/admin/"
        assert page.locator("h1").inner_text() == "Agency dashboard"
        page.click("#console-add-shop")
        page.wait_for_url(re.compile(r"/admin/console/add-shop/$"))
        options = page.locator("#id_agency option").all_inner_texts()
        assert options == ["Wizard Agency"]  # the only one, preselected; no other agency
        assert page.locator("#id_agency option:checked").inner_text() == "Wizard Agency"
        _shot(page, artifacts_dir, "wizard-1-retailcrm")

        # 1. RetailCRM: the full key works; least-privilege advice names the extras.
        _fill_retailcrm(page, url=rc["url"], key=rc["api_key"])
        page.wait_for_url(re.compile(r"/hde/$"))
        messages = page.locator("ul.messagelist").inner_text()
        assert "RetailCRM key works" in messages
        assert "stores: Уютный дом, Уютный дом — Аутлет;" in messages  # names, not codes
        # The extras by name, never by RetailCRM's scope codes.
        assert ("least privilege" in messages and "editing orders" in messages
                and "reading integration modules" in messages)
        assert not re.search(r"\b[a-z]+_(read|write)\b", messages), messages
        shop = Shop.objects.get(name="New Shop")
        assert not shop.active and shop.agency.name == "Wizard Agency"
        connection = RetailCrmConnection.objects.get(shop=shop)
        assert connection.api_key == rc["api_key"] and connection.status == ConnectionStatus.OK
        assert rc["api_key"] not in page.content()
        assert _ticked(page) == ["RetailCRM"]
        _shot(page, artifacts_dir, "wizard-2-hde")

        # The draft on the dashboard: nothing ticked yet, "Connected" continues the wizard.
        page.goto(f"{live_server.url}/admin/")
        assert _checklist(page, shop) == {"connected": False, "rules": False,
                                          "templates": False, "webhook": False,
                                          "enriched": False}
        page.click(f"[data-checklist='{shop.public_id}'] li[data-step=connected] a")
        page.wait_for_url(re.compile(rf"/add-shop/{shop.public_id}/hde/$"))

        # 2. HDE: live test stores the key's HDE user id; then the lists from HDE.
        _fill_hde(page, url=hde["url"], email=hde["email"], key=hde["api_key"])
        page.wait_for_url(re.compile(r"/priorities/$"))
        assert HelpDeskEddyConnection.objects.get(shop=shop).hde_user_id
        assert _ticked(page) == ["RetailCRM", "HelpDeskEddy"]
        options = page.locator("#id_normal_priority_id option").all_inner_texts()
        assert {"Standard", "Very urgent"} <= set(options)
        # Guessed by name (ids are not ordered by severity), the person confirms.
        assert page.locator("#id_normal_priority_id option:checked").inner_text() == "Standard"
        assert page.locator("#id_high_priority_id option:checked").inner_text() == "Very urgent"
        assert "CRM card" in page.locator("#id_crm_card_field_id option:checked").inner_text()
        _shot(page, artifacts_dir, "wizard-3-priorities")
        # Nothing is tested on this step: the button says what it does.
        assert page.locator("input[type=submit]").input_value() == "Save and continue"
        page.click("input[type=submit]")
        page.wait_for_url(re.compile(r"/hooks/$"))
        # The priorities step has its own name and its own tick.
        assert _ticked(page) == ["RetailCRM", "HelpDeskEddy", "Priorities"]
        settings = ShopSettings.objects.get(shop=shop)
        assert (settings.normal_priority_id, settings.high_priority_id,
                settings.crm_card_field_id) == (2, 1, 1)
        assert PriorityRule.objects.for_shop(shop).exists()

        # 4. Secrets, shown once, with the exact setup and copy buttons.
        hde_url = f"{live_server.url}/hooks/hde/{shop.public_id}/"
        rc_url = f"{live_server.url}/hooks/retailcrm/{shop.public_id}/"
        page.click("input[name=issue]")
        page.wait_for_selector("#hde-secret")
        hde_secret = page.locator("#hde-secret").inner_text()
        header = page.locator("#rc-header").inner_text()
        assert header.startswith("X-Webhook-Secret: ")
        rc_secret = header.removeprefix("X-Webhook-Secret: ")
        assert shop_secret_match(shop=shop, kind=SecretKind.HDE_WEBHOOK, presented=hde_secret)
        assert shop_secret_match(shop=shop, kind=SecretKind.RETAILCRM_TRIGGER,
                                 presented=rc_secret)
        page.click("button[data-copy='hde-secret']")
        page.wait_for_selector("button[data-copy='hde-secret'][data-copied]")
        _shot(page, artifacts_dir, "wizard-4-hooks")

        def setup_shown():
            assert page.locator("#hde-url").inner_text() == hde_url
            assert page.locator("#hde-user").inner_text() == "hde"
            assert page.locator("#rc-url").inner_text() == rc_url
            assert page.locator("#rc-fields").inner_text() == (
                "order_id={{ order.id }}\nstatus={{ order.status.code }}")
            assert page.locator("#rule-new_ticket").inner_text() == (
                '{"event": "new_ticket", "ticket_id": "{ticket_id}"}')
            assert '"post_id": "{last_post_id}"' in page.locator("#rule-new_reply").inner_text()
            # HDE's own words, as its interface writes them.
            text = page.locator("#content").inner_text()
            assert "«Управление → Диспетчер»" in text and "«Отправить вебхук»" in text
            conditions = page.locator(".console-rules tbody td:first-child").all_inner_texts()
            assert [c.split("»")[0] + "»" for c in conditions] == [
                "«Новая заявка»", "«Новый ответ в заявке»", "«Изменения в заявке»"]

        setup_shown()
        # Going back: the same set-up again, the secrets never.
        page.goto(page.url)
        setup_shown()
        assert hde_secret not in page.content() and rc_secret not in page.content()
        assert "not shown again" in page.content()
        assert page.locator("#hde-secret-hidden").is_visible()
        _shot(page, artifacts_dir, "wizard-4-hooks-again")

        # Not active yet: the webhook answers like an unknown shop.
        posted = requests.post(rc_url, data={"order_id": 1001, "status": "new"},
                               headers={"X-Webhook-Secret": rc_secret}, timeout=10)
        assert posted.status_code == 404

        # 5. Sample lookup through the whole chain, then activate.
        page.click("a:text('Continue')")
        page.wait_for_url(re.compile(r"/check/$"))
        page.fill("#id_email", VIP.email)
        page.click("input[name=lookup]")
        result = page.locator("#sample-result")
        assert result.get_attribute("data-status") == "found"
        text = result.inner_text()
        assert VIP.first_name in text and VIP.last_name in text
        assert f"with {rc['people']['vip']['orders_count']} orders" in text
        assert "The chain works." in result.inner_text()
        # Orders read as the card reads them: the sum in the shop's currency
        # ("₽4,390"), never "4390.00 RUB".
        orders = [li for li in result.locator("li").all_inner_texts() if li.startswith("№")]
        sum_shown = re.compile(r"№ \S+ — .+ — ₽[\d,]+(\.\d\d)?")
        assert orders and all(sum_shown.fullmatch(o) for o in orders), orders
        _shot(page, artifacts_dir, "wizard-5-check")
        page.click("input[name=activate]")

        # 6. The live check waits for HDE's first webhook…
        page.wait_for_url(re.compile(rf"/add-shop/{shop.public_id}/live/$"))
        assert "is active" in page.locator("ul.messagelist").inner_text()
        shop.refresh_from_db()
        assert shop.active
        expect(page.locator("#first-webhook [data-waiting]")).to_have_text(
            re.compile("Waiting for the first webhook"))
        _shot(page, artifacts_dir, "wizard-6-live-waiting")
        # …while HDE's dispatcher, set up exactly as the page says, sends one
        # for a new ticket of a known customer (the emulator, over HTTP).
        hde_dispatcher_wire(hde_account_code="demo", webhook_url=hde_url, secret=hde_secret)
        ticket = HelpDeskEddyClient.for_connection(shop.helpdeskeddy).create_ticket(
            title="Where is my order?", description="Hello!", user_email=VIP.email)
        assert pump_dispatcher() >= 1
        expect(page.locator("#first-webhook [data-arrived]")).to_contain_text(
            "The first webhook arrived")
        expect(page.locator("#first-webhook [data-settled]")).to_have_count(1)
        assert "(New ticket)" in page.locator("#first-webhook [data-arrived]").inner_text()
        assert _checklist(page, shop) == {"connected": True, "rules": False,
                                          "templates": False, "webhook": True,
                                          "enriched": True}
        assert "First webhook" in _ticked(page)
        _shot(page, artifacts_dir, "wizard-6-live-arrived")
        assert TicketRecord.objects.get(shop=shop, ticket_id=ticket.id).last_portal_update_at

        # Next steps on the dashboard: review the rules and the templates
        # where they live; each ticks its step.
        page.click("a:text('Go to the agency dashboard')")
        page.wait_for_url(re.compile(r"/admin/$"))
        assert page.locator(f"tr[data-shop='{shop.public_id}']").count() == 1
        _shot(page, artifacts_dir, "dashboard-checklist")
        connected = page.locator(f"[data-checklist='{shop.public_id}'] li[data-step=connected] a")
        assert connected.get_attribute("href") == f"/admin/integration/shop/{shop.pk}/change/"
        _mark_reviewed(page, shop, "rules", "priorityrule")
        assert _checklist(page, shop)["rules"] is True
        _mark_reviewed(page, shop, "templates", "replytemplate")
        assert all(_checklist(page, shop).values())
        assert "all set" in page.locator(f"[data-checklist='{shop.public_id}']").inner_text()
        _shot(page, artifacts_dir, "dashboard-all-set")
        # "View site" leads to the portal's front page, not a 404.
        page.click("#user-tools a:text('View site')")
        page.wait_for_url(f"{live_server.url}/")
        expect(page.locator("#portal-home a[href='/admin/']")).to_have_text("Agency console")
        _shot(page, artifacts_dir, "home")

    # Now the trigger set up as shown is accepted.
    posted = requests.post(rc_url, data={"order_id": 1001, "status": "new"},
                           headers={"X-Webhook-Secret": rc_secret}, timeout=10)
    assert posted.status_code == 202, posted.text
    assert Shop.objects.filter(name="New Shop").count() == 1

    # The same screens in Russian (a Russian browser), for the screenshots.
    russian = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    try:
        ru = russian.new_page()
        _login(ru, live_server, owner)
        assert ru.locator("html").get_attribute("lang") == "ru"
        _shot(ru, artifacts_dir, "ru-dashboard")
        ru.goto(f"{live_server.url}/")
        _shot(ru, artifacts_dir, "ru-home")
        base = f"{live_server.url}/admin/console/add-shop/"
        for name, url in (("1-retailcrm", base), ("2-hde", f"{base}{shop.public_id}/hde/"),
                          ("3-priorities", f"{base}{shop.public_id}/priorities/"),
                          ("4-hooks", f"{base}{shop.public_id}/hooks/"),
                          ("5-check", f"{base}{shop.public_id}/check/"),
                          ("6-live", f"{base}{shop.public_id}/live/")):
            ru.goto(url)
            assert ru.locator("html").get_attribute("lang") == "ru", name
            _shot(ru, artifacts_dir, f"ru-wizard-{name}")
            if name == "4-hooks":  # HDE's words alone: no English gloss in Russian
                text = ru.locator("#content").inner_text()
                assert "«Управление → Диспетчер»" in text and "Management" not in text
    finally:
        russian.close()


@pytest.mark.browser
def test_wizard_failures_say_what_to_fix(
    owner, rc_emulator, hde_emulator, live_server, page, artifacts_dir
):
    rc, hde = rc_emulator.demo, hde_emulator.demo
    _login(page, live_server, owner, next_url="/admin/console/add-shop/")

    # Wrong URL: an HTML page, not a RetailCRM account.
    _fill_retailcrm(page, url=f"{live_server.url}/not-a-crm", key=rc["api_key"])
    assert "does not answer like a RetailCRM account" in _errors(page)
    _shot(page, artifacts_dir, "wizard-fail-url")
    # A failed first step leaves no draft behind; the form keeps what was typed.
    assert not Shop.objects.filter(name="New Shop").exists()
    assert page.url.endswith("/admin/console/add-shop/")
    assert page.input_value("#id_name") == "New Shop"
    assert page.input_value("#id_api_key") == ""  # a key is never sent back

    # Wrong key.
    _fill_retailcrm(page, url=rc["url"], key="wrongKeyXXXXXXXXXXXXXXXX")
    assert "RetailCRM refused this API key" in _errors(page)
    _shot(page, artifacts_dir, "wizard-fail-key")

    # A store the key cannot see.
    _fill_retailcrm(page, url=rc["url"], key=rc["api_key"], site="nowhere")
    assert "cannot see the store 'nowhere'" in _errors(page)
    assert not Shop.objects.filter(name="New Shop").exists()
    page.goto(f"{live_server.url}/admin/")
    assert "New Shop" not in page.locator("#content").inner_text()  # nothing on the dashboard
    page.goto(f"{live_server.url}/admin/console/add-shop/")

    # Missing rights (the seeded read-only key): saved, with the features
    # each missing right turns off, in words; the rest works.
    _fill_retailcrm(page, url=rc["url"], key=rc["restricted_keys"]["read_only"])
    page.wait_for_url(re.compile(r"/hde/$"))
    warning = page.locator("ul.messagelist").inner_text()
    assert "lacks rights" in warning and "create tasks for managers" in warning
    off = page.locator("#features-off").inner_text()
    assert "create tasks for managers — needs the right: editing tasks" in off
    assert not re.search(r"\b[a-z]+_(read|write)\b", warning + off), warning + off
    shop = Shop.objects.get(name="New Shop")
    assert not shop.active and RetailCrmConnection.objects.filter(shop=shop).exists()
    _shot(page, artifacts_dir, "wizard-scope-warning")

    # Fixed: back to step 1 with the full key; the same draft goes on (no second shop).
    page.goto(f"{live_server.url}/admin/console/add-shop/{shop.public_id}/retailcrm/")
    _fill_retailcrm(page, url=rc["url"], key=rc["api_key"])
    page.wait_for_url(re.compile(r"/hde/$"))
    assert page.locator("#features-off").count() == 0
    assert Shop.objects.filter(name="New Shop").count() == 1

    # HDE: wrong URL, wrong key, an e-mail that is not the key's agent.
    _fill_hde(page, url=f"{live_server.url}/not-a-desk", email=hde["email"], key=hde["api_key"])
    assert "does not answer like a HelpDeskEddy account" in _errors(page)
    _fill_hde(page, url=hde["url"], email=hde["email"], key="hde-wrong-key-000")
    assert "HelpDeskEddy refused this e-mail and key" in _errors(page)
    _shot(page, artifacts_dir, "wizard-fail-hde-key")
    _fill_hde(page, url=hde["url"], email="nobody@nowhere.example", key=hde["api_key"])
    assert "refused" in _errors(page) or "no HDE user has the e-mail" in _errors(page)
    assert not HelpDeskEddyConnection.objects.filter(shop=shop).exists()
    # Activation is refused while steps are missing.
    page.goto(f"{live_server.url}/admin/console/add-shop/{shop.public_id}/check/")
    assert page.locator("input[name=activate]").is_disabled()


def test_failed_retry_leaves_a_working_hde_connection_untouched(
        client, hde_connect, hde_shop, make_member):
    """Re-running step 2 on a working shop with a mistyped key must not
    break it, nor flag it as refused (which would page the agency)."""
    connection = hde_connect()
    HelpDeskEddyConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.OK)
    client.force_login(make_member(hde_shop.agency, Role.ADMIN))
    response = client.post(f"/admin/console/add-shop/{hde_shop.public_id}/hde/", {
        "base_url": connection.base_url, "agent_email": connection.agent_email,
        "api_key": "hde-mistyped-key"})
    assert "HelpDeskEddy refused this e-mail and key" in response.content.decode()
    connection.refresh_from_db()
    assert connection.api_key != "hde-mistyped-key"
    assert connection.status == ConnectionStatus.OK and connection.last_error == ""


def test_store_code_filled_when_the_key_sees_one_store(client, rc_emulator, owner):
    """agency-second's key sees one store: the shop works with it."""
    second = rc_emulator.second
    client.force_login(owner)
    response = client.post("/admin/console/add-shop/", {
        "agency": owner.memberships.get().agency_id, "name": "One store", "language": "ru",
        "base_url": second["url"], "api_key": second["api_key"], "site_code": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    connection = RetailCrmConnection.objects.get(shop__name="One store")
    assert connection.site_code == second["site"] == "second"
    assert connection.shop.timezone == second["timezone"]
