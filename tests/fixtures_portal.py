"""A shop wired to both emulators, as the demo seed wires it."""

import pytest

from integration.models import HelpDeskEddyConnection, SecretKind
from integration.services.secrets import shop_secret_issue


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
