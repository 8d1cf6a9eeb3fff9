"""The operator's day, in a real browser: a customer writes through the HDE
emulator, the portal's job fills the ticket, the ticket page frames the
widget, the operator adds a note, and RetailCRM has it. Screenshots of each
widget state land in test-artifacts/."""

import os

import pytest
from playwright.sync_api import expect

from integration.widget.links import widget_link_build
from sandbox.hde.models import HdeUser
from sandbox.retailcrm.models import Account as RcAccount
from sandbox.retailcrm.models import Note
from tests.fixtures_portal import pump_dispatcher
from tests.screenshots import save_screenshot

pytestmark = pytest.mark.browser


def test_operator_sees_the_customer_and_adds_a_note(wired_shop, live_server, page,
                                                    artifacts_dir):
    ivan = HdeUser.objects.get(account__code="demo", email="ivan.petrov@example.ru")
    page.goto(f"{live_server.url}/sandbox/hde/demo/tickets/new/")
    page.select_option("select[name=customer]", str(ivan.hid))
    page.fill("input[name=title]", "Когда привезут заказ?")
    page.fill("textarea[name=description]", "Жду курьера, подскажите время.")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url("**/ticket/*/")
    ticket_url = page.url

    assert pump_dispatcher() >= 1  # the webhook went to the portal; the job ran
    page.goto(ticket_url)
    card = page.frame_locator("iframe.crm-card")
    expect(card.locator('[data-state="found"]')).to_be_visible()
    expect(card.locator("h1")).to_contain_text("Петров Иван")
    expect(card.locator("article.order").first).to_contain_text("№")
    save_screenshot(page, os.path.join(artifacts_dir, "widget-in-hde-ticket.png"), full_page=True)

    card.locator("form[data-action=note] textarea").fill("Перезвонить завтра до 12:00")
    card.locator("form[data-action=note] button").click()
    expect(card.locator(".flash.ok")).to_be_visible()
    texts = [n.doc["text"] for n in Note.objects.filter(account__code="demo")]
    assert sum(t.endswith("Перезвонить завтра до 12:00") for t in texts) == 1


@pytest.mark.parametrize("state,ticket_id,prepare", [
    ("found", 3, None),
    ("unknown", 12, None),
    ("several", 10, "both_sites"),
    ("unavailable", 3, "retailcrm_down"),
])
def test_widget_states_render(wired_shop, live_server, page, artifacts_dir, rc_connect,
                              state, ticket_id, prepare):
    if prepare == "both_sites":
        rc_connect(site="")
    if prepare == "retailcrm_down":
        RcAccount.objects.filter(code="demo").update(fault="503")
    page.set_viewport_size({"width": 380, "height": 900})
    page.goto(widget_link_build(shop=wired_shop, ticket_id=ticket_id))
    expect(page.locator(f'[data-state="{state}"]')).to_be_visible()
    save_screenshot(page, os.path.join(artifacts_dir, f"widget-{state}.png"), full_page=True)
