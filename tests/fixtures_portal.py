"""A shop wired to both emulators, as the demo seed wires it."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from integration.models import HelpDeskEddyConnection, SecretKind
from integration.onboarding.shop_defaults import shop_defaults_apply
from integration.tenancy.secrets import shop_secret_issue
from sandbox.hde import dispatcher
from sandbox.hde import seed as hde_fields
from sandbox.hde.models import Delivery
from sandbox.hde.wiring import hde_dispatcher_wire

URGENT, STANDARD = 1, 2  # the HDE emulator's seeded priority ids


def pump_dispatcher() -> int:
    """Send every queued HDE webhook (the pump is a process in `make run`)."""
    sent = 0
    while Delivery.objects.filter(state=Delivery.QUEUED).exists() and sent < 50:
        sent += dispatcher.pump() or 1
    return sent


class _HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields.setdefault(attrs["name"], []).append(attrs.get("value") or "")


def hidden_fields(html: str, **extra) -> dict[str, list[str]]:
    """The hidden inputs a page carries, as its form posts them back (a
    confirmation page's choices and signed record), plus `extra` fields."""
    parser = _HiddenInputs()
    parser.feed(html)
    return {**parser.fields, **{name: [value] for name, value in extra.items()}}


@pytest.fixture
def demo_shop(rc_emulator, hde_emulator, rc_connect, rc_shop):
    """`rc_shop` connected to RetailCRM account `demo` (site main) and HDE
    account `demo`; `.widget_token` holds a fresh widget API token."""
    rc_connect()
    HelpDeskEddyConnection.objects.create(
        shop=rc_shop, base_url=hde_emulator.demo["url"], agent_email=hde_emulator.demo["email"],
        api_key=hde_emulator.demo["api_key"])
    rc_shop.refresh_from_db()
    rc_shop.widget_token = shop_secret_issue(shop=rc_shop, kind=SecretKind.WIDGET_TOKEN)
    return rc_shop


@pytest.fixture
def card(demo_shop, settings, live_server):
    """The demo shop as its card's operators see it: links on the live
    server, the shop writing English (tests that need Russian say so)."""
    settings.PORTAL_BASE_URL = live_server.url
    demo_shop.language = "en"
    demo_shop.save(update_fields=["language"])
    return demo_shop


@pytest.fixture
def wired_shop(demo_shop, settings, live_server):
    """The demo shop wired exactly as `sandbox_seed` wires the demo."""
    settings.PORTAL_BASE_URL = live_server.url
    shop_defaults_apply(
        shop=demo_shop, normal_priority_id=STANDARD, high_priority_id=URGENT,
        crm_card_field_id=hde_fields.CRM_CARD,
        mappings={"customer_id": hde_fields.CUSTOMER_ID, "orders_count": hde_fields.ORDERS_COUNT,
                  "last_order_status": hde_fields.LAST_ORDER_STATUS})
    secret = shop_secret_issue(shop=demo_shop, kind=SecretKind.HDE_WEBHOOK)
    hde_dispatcher_wire(hde_account_code="demo", secret=secret,
                        webhook_url=live_server.url + reverse("hook-hde",
                                                              args=[demo_shop.public_id]))
    demo_shop.webhook_secret = secret
    return demo_shop
