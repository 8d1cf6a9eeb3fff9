"""The extension in a real browser: Debian Chromium with the built package
loaded, signed in on its options page, on the HDE emulator's ticket page
(the same address shape as real HDE). The panel frames the portal's card, a
note written in it reaches RetailCRM, a revoked token turns the panel into
"sign in again", and signing in from the panel brings the card back.
Screenshots in test-artifacts/ (English and Russian).

Why: this is the operator's whole path in real HDE, where nothing but the
extension puts the card beside the ticket; every piece (content-script
registration for the agency's HDE origin, the worker's API calls, framing
under the widget's CSP) only proves itself in the browser.
"""

import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from integration.extension.services import extension_token_issue, extension_token_revoke
from integration.models import HelpDeskEddyConnection
from sandbox.retailcrm.models import Note
from tests.screenshots import save_screenshot

pytestmark = pytest.mark.browser

TICKET_IVAN = 3  # the HDE emulator's seeded ticket of a known RetailCRM customer
TEXTS = {
    "en": {"signed_in": "Signed in: ", "sign_in_again": "Sign in again", "button": "Sign in",
           "name": "Petrov Ivan"},
    "ru": {"signed_in": "Вход выполнен: ", "sign_in_again": "Войдите снова", "button": "Войти",
           "name": "Петров Иван"},
}


def _ticket_page(shop, ticket_id):
    return f"{shop.helpdeskeddy.base_url}/ru/ticket/list/filter/id/1/ticket/{ticket_id}/"


def _options_page(context, extension_id):
    """The options tab the extension opens by itself when installed (its
    first-run sign-in); opening another one meanwhile would be interrupted."""
    url = f"chrome-extension://{extension_id}/options.html"
    for _attempt in range(15):
        found = next((p for p in context.pages if p.url == url), None)
        if found is not None:
            return found
        try:
            return context.wait_for_event("page", predicate=lambda p: p.url == url,
                                          timeout=1000)
        except PlaywrightTimeout:
            continue  # it may have been created before we listened: look again
    raise AssertionError("The extension did not open its options page when installed.")


def _sign_in_on_options(context, extension_id, portal, token, texts):
    options = _options_page(context, extension_id)
    expect(options.locator("body[data-ready=true]")).to_have_count(1)
    options.fill("#portal", portal)
    options.fill("#token", token)
    options.click("#signin button[type=submit]")
    expect(options.locator("[data-test=options-message]")).to_contain_text(texts["signed_in"])
    expect(options.locator("#sites")).to_contain_text("/sandbox/hde/demo")
    options.close()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_panel_shows_the_card_beside_the_hde_ticket(extension_browser, wired_shop,
                                                        live_server, artifacts_dir, language):
    texts = TEXTS[language]
    wired_shop.language = language
    wired_shop.save(update_fields=["language"])
    context, extension_id = extension_browser(language)
    token, plaintext = extension_token_issue(agency=wired_shop.agency, label="Anna")
    _sign_in_on_options(context, extension_id, live_server.url, plaintext, texts)

    page = context.new_page()
    page.goto(_ticket_page(wired_shop, TICKET_IVAN))
    panel = page.locator("#portal-hde-panel")
    expect(panel).to_have_attribute("data-state", "widget")
    card = page.frame_locator("#portal-hde-panel iframe.portal-hde-frame")
    expect(card.locator('[data-state="found"]')).to_be_visible()
    expect(card.locator("h1")).to_contain_text("Петров Иван")
    # The emulator's own page is still itself beside the panel.
    expect(page.locator("[data-test=priority]")).to_be_visible()
    save_screenshot(page, os.path.join(artifacts_dir, f"extension-panel-{language}.png"))

    note = f"Extension note ({language}): call back before noon"
    card.locator("form[data-action=note] textarea").fill(note)
    card.locator("form[data-action=note] button").click()
    expect(card.locator(".flash.ok")).to_be_visible()
    texts_in_crm = [n.doc["text"] for n in Note.objects.filter(account__code="demo")]
    assert sum(t.endswith(note) for t in texts_in_crm) == 1

    # Folded to a strip and unfolded; the page gets its width back meanwhile.
    toggle = page.locator("#portal-hde-panel button.toggle")
    toggle.click()
    expect(panel).to_have_attribute("data-collapsed", "true")
    assert page.evaluate("document.documentElement.style.marginRight") == "34px"
    toggle.click()
    expect(panel).to_have_attribute("data-collapsed", "false")

    # Revoked: the panel asks to sign in again, in the operator's language.
    extension_token_revoke(token=token)
    page.reload()
    expect(panel).to_have_attribute("data-state", "signed_out")
    own = page.frame_locator("#portal-hde-panel iframe.portal-hde-frame")
    expect(own.locator("[data-test=panel-message]")).to_contain_text(texts["sign_in_again"])
    expect(own.locator("#signin button[type=submit]")).to_have_text(texts["button"])
    expect(own.locator("#portal")).to_have_value(live_server.url)
    save_screenshot(page, os.path.join(artifacts_dir, f"extension-sign-in-again-{language}.png"))

    # Signing in from the panel itself brings the card back.
    _new, fresh = extension_token_issue(agency=wired_shop.agency, label="Anna, new laptop")
    expect(own.locator("body[data-ready=true]")).to_have_count(1)
    own.locator("#token").fill(fresh)
    own.locator("#signin button[type=submit]").click()
    expect(panel).to_have_attribute("data-state", "widget")
    expect(card.locator('[data-state="found"]')).to_be_visible()


def test_the_panel_follows_the_agent_ui_and_stays_off_other_pages(extension_browser,
                                                                 wired_shop, live_server):
    context, extension_id = extension_browser("en")
    _token, plaintext = extension_token_issue(agency=wired_shop.agency, label="Boris")
    _sign_in_on_options(context, extension_id, live_server.url, plaintext, TEXTS["en"])
    page = context.new_page()

    # The ticket list is HDE but not a ticket page: no panel.
    page.goto(f"{wired_shop.helpdeskeddy.base_url}/tickets/")
    expect(page.locator("table.tickets")).to_be_visible()
    expect(page.locator("#portal-hde-panel")).to_have_count(0)
    # The old emulator address redirects to the real shape; the panel follows.
    page.goto(f"{wired_shop.helpdeskeddy.base_url}/tickets/{TICKET_IVAN}/")
    expect(page).to_have_url(re.compile(r"/ru/ticket/list/filter/id/1/ticket/3/$"))
    expect(page.locator("#portal-hde-panel")).to_have_attribute("data-state", "widget")
    first = page.locator("#portal-hde-panel iframe").get_attribute("src")
    # A single-page app changes the address without loading a page.
    page.evaluate("history.pushState({}, '', location.href.replace('/ticket/3/', '/ticket/5/'))")
    expect(page.locator("#portal-hde-panel iframe")).not_to_have_attribute("src", first)
    page.evaluate("history.pushState({}, '', location.href.replace(/ticket\\/5\\/$/, ''))")
    expect(page.locator("#portal-hde-panel")).to_have_count(0)
    # A ticket the shop's HDE does not have.
    page.goto(_ticket_page(wired_shop, 999))
    panel = page.frame_locator("#portal-hde-panel iframe")
    expect(panel.locator("[data-test=panel-message]")).to_contain_text("no such ticket")
    # Other sites of the same browser never get the content script.
    page.goto(f"{live_server.url}/extension/")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#portal-hde-panel")).to_have_count(0)
    # A stranger's page framing the panel's page gets an empty page, not a
    # genuine-looking extension message with its own words in it.
    page.goto(live_server.url.replace("localhost", "127.0.0.1") + "/extension/")
    page.evaluate("""id => { const f = document.createElement('iframe');
        f.src = `chrome-extension://${id}/panel.html?code=x&detail=Send+your+token+to+evil`;
        document.body.append(f); }""", extension_id)
    stranger = page.frame_locator("iframe").last
    expect(stranger.locator("main")).to_have_count(1)  # the page did load…
    expect(stranger.locator("main > *")).to_have_count(0)  # …and emptied itself


def test_an_owner_issues_a_token_and_reads_the_install_page(page, two_tenants, live_server,
                                                            extension_served, settings,
                                                            artifacts_dir):
    """The owner's side in a browser: issue a token in the admin (shown once,
    on its own page) and the install instructions, in English and Russian."""
    settings.PORTAL_BASE_URL = live_server.url
    owner = two_tenants["a"]["owner"]
    page.goto(f"{live_server.url}/admin/login/?next=/admin/integration/extensiontoken/add/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", "pw-123456!")
    page.click("input[type=submit]")
    page.select_option("#id_agency", str(two_tenants["a"]["agency"].pk))
    page.fill("#id_label", "Anna, support")
    page.click("input[name=_save]")

    shown = page.locator("[data-test=extension-token]").input_value()
    assert len(shown) >= 40
    save_screenshot(page, os.path.join(artifacts_dir, "extension-token-issued-en.png"))
    page.goto(f"{live_server.url}/admin/integration/extensiontoken/")
    expect(page.locator("#result_list")).to_contain_text("Anna, support")
    assert shown not in page.content()

    page.context.clear_cookies()  # an operator opens it without signing in to the admin
    page.goto(f"{live_server.url}/extension/")
    for language, heading in (("en", "Browser extension"), ("ru", "Расширение браузера")):
        if language == "ru":
            page.click("nav.lang button")  # the page's own language switch
        expect(page.locator("h1")).to_contain_text(heading)
        expect(page.locator("[data-test=forcelist]")).to_contain_text(
            f"{extension_served.info['id']};{live_server.url}/extension/updates.xml")
        save_screenshot(page, os.path.join(artifacts_dir, f"extension-install-{language}.png"),
                        full_page=True)


class _StrictHde(BaseHTTPRequestHandler):
    """An HDE-like host whose pages forbid every frame (`frame-src 'none'`)
    and whose API is down: real HDE's own CSP is unknown to us."""

    def do_GET(self):
        if self.path.startswith("/api/"):
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy", "default-src 'self'; frame-src 'none'")
        self.end_headers()
        self.wfile.write(b"<!doctype html><h1>Ticket</h1>")

    def log_message(self, *args):
        pass


@pytest.fixture
def strict_hde():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StrictHde)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_page_that_forbids_frames_still_gets_the_panel(extension_browser, wired_shop,
                                                         make_shop, live_server, strict_hde):
    """The panel's frame is the extension's, not the page's: Chromium does not
    hold it to the page's frame-src. Its ancestor is the HDE page, which the
    widget's frame-ancestors allows; HDE being down still gives the card."""
    shop = make_shop(wired_shop.agency, name="Strict shop", language="en")
    HelpDeskEddyConnection.objects.create(shop=shop, base_url=strict_hde,
                                          agent_email="agent@example.com", api_key="k" * 20)
    context, extension_id = extension_browser("en")
    _token, plaintext = extension_token_issue(agency=wired_shop.agency, label="Carla")
    _sign_in_on_options(context, extension_id, live_server.url, plaintext, TEXTS["en"])

    page = context.new_page()
    response = page.goto(f"{strict_hde}/ru/ticket/list/filter/id/1/ticket/7/")
    assert "frame-src 'none'" in response.headers["content-security-policy"]
    expect(page.locator("#portal-hde-panel")).to_have_attribute("data-state", "widget")
    card = page.frame_locator("#portal-hde-panel iframe.portal-hde-frame")
    expect(card.locator("header.bar")).to_contain_text("Strict shop")
    expect(card.locator(".notice").first).to_contain_text("HelpDeskEddy is unavailable right now")
