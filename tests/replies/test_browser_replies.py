"""An operator answers "when will my order arrive?" in a real browser: the
HDE emulator's ticket page frames the widget (the link sits in the ticket's
"CRM card" field), the operator copies one template and sends another
through its preview (confirmed with a double click), and HDE has exactly one
new post. Screenshots land in test-artifacts/replies-*.png."""

import os
import re

import pytest
from playwright.sync_api import expect

from integration.models import ReplyTemplate, SentReply
from integration.replies.defaults import reply_templates_default_create
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.widget.links import widget_link_build
from sandbox.hde.seed import CRM_CARD
from tests.screenshots import save_screenshot

pytestmark = pytest.mark.browser
TICKET_IVAN = 3


def test_operator_picks_a_template_and_sends_it_once(demo_shop, settings, live_server, page,
                                                     artifacts_dir, make_agency, make_shop):
    settings.PORTAL_BASE_URL = live_server.url
    reply_templates_default_create(shop=demo_shop)
    other = make_shop(make_agency("Other agency"), name="Other shop")
    ReplyTemplate.objects.create(shop=other, name="Чужой шаблон", body="{{ shop.name }}")
    hde = HelpDeskEddyClient.for_connection(demo_shop.helpdeskeddy)
    hde.update_ticket(TICKET_IVAN, custom_fields={
        CRM_CARD: widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)})
    posts_before = len(hde.list_posts(TICKET_IVAN))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                   origin=live_server.url)

    page.goto(f"{live_server.url}/sandbox/hde/demo/tickets/{TICKET_IVAN}/")
    card = page.frame_locator("iframe.crm-card")
    replies = card.locator('[data-section="replies"]')
    expect(replies).to_be_visible()
    expect(replies).not_to_contain_text("Чужой шаблон")
    delivery = ReplyTemplate.objects.get(shop=demo_shop, name="Дата доставки")
    reply = card.locator(f'article[data-reply="{delivery.pk}"]')
    expect(reply.locator("[data-reply-text]")).to_have_value(
        re.compile(r"^Здравствуйте, Иван!"))
    greyed = card.locator('article.reply.greyed').first
    expect(greyed.locator("[data-reason]")).to_contain_text("трек-номер")  # a Russian shop
    reply.scroll_into_view_if_needed()
    save_screenshot(page, os.path.join(artifacts_dir, "replies-in-hde-ticket.png"),
                    full_page=True)

    # Copy puts the filled-in text on the clipboard.
    reply.locator("[data-copy]").click()
    expect(reply.locator("[data-copy]")).to_have_text("Скопировано")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Здравствуйте, Иван!") and "{{" not in copied

    # Send as reply: the preview first (nothing sent yet), then confirm with
    # an impatient double click.
    reply.locator("[data-send=post]").click()
    preview = card.locator("[data-preview]")
    expect(preview.locator("textarea[name=text]")).to_have_value(re.compile("Ожидаемая дата"))
    assert len(hde.list_posts(TICKET_IVAN)) == posts_before
    preview.locator("[data-confirm]").dblclick()
    expect(card.locator(".flash.ok")).to_contain_text("Дата доставки")
    expect(card.locator("[data-sent-replies]")).to_contain_text("Дата доставки")
    posts = hde.list_posts(TICKET_IVAN)
    assert len(posts) == posts_before + 1
    assert "Ожидаемая дата доставки" in posts[-1].text
    assert SentReply.objects.filter(shop=demo_shop).count() == 1

    page.reload()  # the ticket page now shows the post in the conversation
    expect(page.locator("body")).to_contain_text("Ожидаемая дата доставки")
    save_screenshot(page, os.path.join(artifacts_dir, "replies-sent.png"), full_page=True)


def test_widget_replies_in_a_narrow_sidebar(demo_shop, settings, live_server, page,
                                            artifacts_dir):
    settings.PORTAL_BASE_URL = live_server.url
    reply_templates_default_create(shop=demo_shop)
    page.set_viewport_size({"width": 380, "height": 900})
    page.goto(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN))
    section = page.locator('[data-section="replies"]')
    expect(section).to_be_visible()
    section.locator("details.other-replies summary").click()
    section.scroll_into_view_if_needed()
    save_screenshot(page, os.path.join(artifacts_dir, "replies-widget.png"), full_page=True)


def test_admin_preview_for_a_demo_customer(demo_shop, live_server, page, artifacts_dir,
                                           make_member):
    from django.test import Client
    from django.urls import reverse

    from integration.models import Role

    reply_templates_default_create(shop=demo_shop)
    client = Client()
    client.force_login(make_member(demo_shop.agency, Role.OWNER, username="preview-owner"))
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    delivery = ReplyTemplate.objects.get(shop=demo_shop, name="Дата доставки")
    page.goto(live_server.url + reverse("admin:integration_replytemplate_change",
                                        args=[delivery.pk]))
    expect(page.locator(".field-variables")).to_contain_text("{{ order.track_number }}")
    save_screenshot(page, os.path.join(artifacts_dir, "replies-admin-template.png"),
                    full_page=True)
    page.click("[data-preview-link]")
    page.fill("#id_who", "ivan.petrov@example.ru")
    page.click("input[type=submit]")
    expect(page.locator("[data-preview-text]")).to_contain_text("Здравствуйте, Иван!")
    save_screenshot(page, os.path.join(artifacts_dir, "replies-admin-preview.png"),
                    full_page=True)
