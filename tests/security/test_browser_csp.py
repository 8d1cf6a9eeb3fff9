"""The Content-Security-Policy in a real browser: the widget, the console
(Django's admin and the portal's own screens), the API docs and the sandbox
pages run under a policy without 'unsafe-inline', and not one of them makes
the browser report a violation.

How violations are seen: an init script (Playwright injects it outside the
page's policy, into every frame) listens for `securitypolicyviolation`
events, keeps them per frame and repeats them on the console, where the test
collects them as they happen, also from pages it has already left.
"""

import os
import re

import pytest
from django.contrib import admin
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from integration.models import ApiCall, InboundEvent, ReplyTemplate, Role
from integration.tenancy.roles import sync_role_groups
from integration.widget.links import widget_link_build
from sandbox.hde.models import HdeUser
from tests.fixtures_portal import pump_dispatcher
from tests.screenshots import save_screenshot

PASSWORD = "pw-123456!"
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const line = `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` on ${location.pathname} (${(e.sample || '').slice(0, 60)})`;
  window.__csp.push(line);
  console.error(line);
});
"""


class CspWatch:
    def __init__(self, page):
        self.page = page
        self.reports = []
        self.policies = {}
        page.add_init_script(WATCH)
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message):
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            self.reports.append(message.text)

    def _response(self, response):
        if "text/html" in response.headers.get("content-type", ""):
            policy = response.headers.get("content-security-policy", "")
            self.policies[response.url] = policy

    def visit(self, url, *, wait_for=None):
        self.page.goto(url)
        if wait_for:
            self.page.wait_for_selector(wait_for)
        self.settle()
        self.collect()

    def settle(self):
        """Subresources loaded (or refused), then, if the network goes quiet
        soon, late ones too; then one more turn of each frame's event loop so
        queued violation events have been dispatched. (A page that keeps a
        request open is not a CSP matter; the console listener still hears
        anything that happens later.)"""
        self.page.wait_for_load_state("load")
        try:
            self.page.wait_for_load_state("networkidle", timeout=5000)
        except PlaywrightTimeout:
            pass
        for frame in self.page.frames:
            try:
                frame.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
            except PlaywrightError:  # a frame that navigated away meanwhile
                continue

    def collect(self):
        for frame in self.page.frames:
            try:
                for line in frame.evaluate("window.__csp || []"):
                    if line not in self.reports:
                        self.reports.append(line)
            except PlaywrightError:  # a frame that navigated away meanwhile
                continue


def _directive(policy, name):
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return None


def test_no_admin_hides_both_action_bars():
    """Django's change list adds an inline <style> when a ModelAdmin hides
    both action bars; the policy would refuse it."""
    hiding = [type(m).__name__ for m in admin.site._registry.values()
              if not m.actions_on_top and not m.actions_on_bottom]
    assert hiding == []


@pytest.mark.browser
def test_the_watch_sees_a_violation(live_server, page):
    """The detector itself: a page whose policy refuses its inline script
    and style attribute is reported twice."""
    watch = CspWatch(page)
    page.route(f"{live_server.url}/csp-probe", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/html",
                             "Content-Security-Policy": "script-src 'self'; style-src 'self'"},
        body="<p style='color:red'>x</p><script>document.title='ran'</script>"))
    watch.visit(f"{live_server.url}/csp-probe")
    assert page.title() != "ran"
    assert len([r for r in watch.reports if r.startswith("CSP violation")]) >= 2, watch.reports


@pytest.mark.browser
def test_main_pages_run_without_unsafe_inline_and_without_violations(
        wired_shop, live_server, page, artifacts_dir, make_member):
    watch = CspWatch(page)
    base = live_server.url

    # The sandbox and the HDE emulator: a customer writes, the portal's job
    # fills the ticket, the ticket page frames the widget.
    watch.visit(f"{base}/sandbox/")
    ivan = HdeUser.objects.get(account__code="demo", email="ivan.petrov@example.ru")
    watch.visit(f"{base}/sandbox/hde/demo/tickets/new/")
    page.select_option("select[name=customer]", str(ivan.hid))
    page.fill("input[name=title]", "Когда привезут заказ?")
    page.fill("textarea[name=description]", "Жду курьера.")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url("**/ticket/*/")  # real HDE's address shape
    ticket_url = page.url
    assert pump_dispatcher() >= 1
    watch.visit(f"{base}/sandbox/hde/demo/tickets/")
    watch.visit(ticket_url)
    card = page.frame_locator("iframe.crm-card")
    expect(card.locator('[data-state="found"]')).to_be_visible()
    watch.collect()

    # The widget on its own, with an action (form post, redirect, message).
    watch.visit(widget_link_build(shop=wired_shop, ticket_id=3), wait_for='[data-state="found"]')
    page.locator("form[data-action=note] textarea").fill("CSP check")
    page.locator("form[data-action=note] button").click()
    expect(page.locator(".flash.ok")).to_be_visible()
    watch.collect()
    # Its live parts (htmx, from django-htmx's static files): refresh, a reply preview.
    # The refreshed body replaces the card: wait for it before acting on it.
    with page.expect_response(lambda r: "refresh=1" in r.url):
        page.locator("[data-refresh]").click()
    expect(page.locator("#card.htmx-request, #card.htmx-swapping, #card.htmx-settling")
           ).to_have_count(0)
    expect(page.locator('[data-state="found"]')).to_be_visible()
    page.locator("article.reply [data-send=post]").first.click()
    expect(page.locator("[data-preview] textarea")).to_be_visible()
    watch.collect()

    # The API docs (Swagger UI from drf-spectacular-sidecar); the API itself
    # answers a browser in JSON (DRF's browsable pages are off).
    watch.visit(f"{base}/api/v1/docs/", wait_for=".swagger-ui .info")
    api = page.goto(f"{base}/api/v1/context?email=ivan.petrov@example.ru")
    assert api.status == 401 and api.headers["content-type"].startswith("application/json")

    # The console, as the shop's agency owner, through the login form.
    sync_role_groups()
    owner = make_member(wired_shop.agency, Role.OWNER, username="csp-owner")
    watch.visit(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    event = InboundEvent.objects.filter(shop=wired_shop).first()
    template = ReplyTemplate.objects.filter(shop=wired_shop).first()
    assert event is not None and template is not None and ApiCall.objects.exists()
    screens = [
        "/admin/", "/admin/console/", "/admin/console/add-shop/",
        f"/admin/console/add-shop/{wired_shop.public_id}/hooks/",
        "/admin/integration/shop/", f"/admin/integration/shop/{wired_shop.pk}/change/",
        "/admin/integration/membership/", "/admin/integration/membership/invite/",
        "/admin/integration/priorityrule/", "/admin/integration/priorityrule/add/",
        f"/admin/integration/priorityrule/dry-run/?shop={wired_shop.pk}",
        f"/admin/integration/priorityrule/try-email/?shop={wired_shop.pk}"
        "&email=ivan.petrov@example.ru",
        "/admin/integration/replytemplate/",
        f"/admin/integration/replytemplate/{template.pk}/preview/?who=ivan.petrov@example.ru",
        "/admin/integration/apicall/", "/admin/integration/inboundevent/",
        f"/admin/integration/inboundevent/{event.pk}/change/",
        "/admin/integration/supportanalytics/",
        f"/admin/integration/shop/{wired_shop.pk}/export-customer/",
    ]
    for screen in screens:
        watch.visit(base + screen)
    save_screenshot(page, os.path.join(artifacts_dir, "csp-last-console-screen.png"),
                    full_page=True)

    # The lock-out page (a stranger guessing a password).
    page.context.clear_cookies()
    for _ in range(5):
        watch.visit(f"{base}/admin/login/")
        page.fill("#id_username", "nobody")
        page.fill("#id_password", "guess")
        page.click("input[type=submit]")
        page.wait_for_load_state("networkidle")
        watch.collect()
    expect(page.locator("#login-locked")).to_be_visible()

    assert watch.reports == []
    strict = [url for url, policy in watch.policies.items() if url.startswith(base)]
    assert len(strict) >= len(screens) + 7
    for url in strict:
        policy = watch.policies[url]
        for directive in ("script-src", "style-src"):
            sources = _directive(policy, directive)
            assert sources is not None, (url, policy)
            assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (
                url, directive, sources)
