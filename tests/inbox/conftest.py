"""Fixtures shared by the inbox tests."""

import pytest

from integration.onboarding.shop_defaults import shop_defaults_apply
from sandbox.hde import seed as hde_fields
from sandbox.hde.models import Account as HdeAccount


@pytest.fixture
def shop(demo_shop, settings, live_server):
    """The demo shop with the ticket job's defaults, calling the live
    emulators; HDE's own rate limit is off (these tests count faults, not
    the budget)."""
    settings.PORTAL_BASE_URL = live_server.url
    shop_defaults_apply(shop=demo_shop, normal_priority_id=2, high_priority_id=1,
                        crm_card_field_id=hde_fields.CRM_CARD)
    HdeAccount.objects.filter(code="demo").update(rate_limit_enabled=False)
    return demo_shop
