"""Per-account caches, throttles and bans belong to one connection identity
(account URL + a keyed digest of the key), never to a host.

Why: reference books and managers were cached under the RetailCRM host name
alone. Every sandbox account (and real accounts behind one host) shares a
host, so Second Agency's widget showed Demo Agency's manager with her e-mail
and phone; and a shop that typed another tenant's account URL with any key
read that tenant's cached lists without the vendor ever accepting the key.
Throttle budgets and bans were shared the same way. Both emulators serve
every account from one host (the live server), which is exactly the case.
"""

import pytest
from django.core.cache import cache

from integration.customers.context import customer_context_get, references_get
from integration.models import HelpDeskEddyConnection, RateLimitState, RetailCrmConnection
from integration.orders.watch import order_statuses_get
from integration.vendors import throttle
from integration.vendors.errors import ApiBanned, ApiUnauthorized, ThrottleExhausted
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.helpdeskeddy_choices import hde_choices_get
from integration.vendors.retailcrm import RetailCrmClient
from sandbox.demo_people import PEOPLE
from sandbox.retailcrm.models import Customer as EmulatedCustomer
from sandbox.retailcrm.seed import DEMO_READONLY_KEY

VIP = next(person for person in PEOPLE if person.key == "vip")


@pytest.fixture
def second_shop(rc_emulator, hde_emulator, make_agency, make_shop):
    """Second Agency's shop on the *other* accounts of the same emulator host."""
    shop = make_shop(make_agency("Second Agency"), name="Second shop")
    RetailCrmConnection.objects.create(shop=shop, base_url=rc_emulator.second["url"],
                                       api_key=rc_emulator.second["api_key"])
    HelpDeskEddyConnection.objects.create(
        shop=shop, base_url=hde_emulator.second["url"], agent_email=hde_emulator.second["email"],
        api_key=hde_emulator.second["api_key"])
    shop.refresh_from_db()
    return shop


def test_two_accounts_on_one_host_never_see_each_others_managers(demo_shop, second_shop):
    cache.clear()
    demo = customer_context_get(shop=demo_shop, email=VIP.email, refresh=True)
    assert demo.manager is not None
    assert demo.manager.email.endswith("@uyutny-dom.example.ru")

    theirs = EmulatedCustomer.objects.filter(account__code="agency-second",
                                             doc__managerId__isnull=False).first()
    second = customer_context_get(shop=second_shop, customer_id=theirs.crm_id, refresh=True)
    assert second.manager is not None
    assert second.manager.email.endswith("@second.example.ru"), second.manager
    users = references_get(RetailCrmClient.for_connection(second_shop.retailcrm), second_shop)
    assert all(not u.email.endswith("@uyutny-dom.example.ru") for u in users["users"])


def test_a_key_the_vendor_refuses_never_reads_another_tenants_cached_lists(
        demo_shop, hde_emulator, make_agency, make_shop):
    """Demo's lists are in the cache; a shop that typed Demo's account URLs
    with keys of its own gets the vendors' refusal, not Demo's data."""
    cache.clear()
    demo_rc = RetailCrmClient.for_connection(demo_shop.retailcrm)
    assert references_get(demo_rc, demo_shop)["users"]
    assert order_statuses_get(demo_rc)
    assert hde_choices_get(shop=demo_shop).priorities

    intruder = make_shop(make_agency("Intruder"), name="Intruder shop")
    RetailCrmConnection.objects.create(shop=intruder, base_url=demo_shop.retailcrm.base_url,
                                       api_key="guessed-key-0000000000")
    HelpDeskEddyConnection.objects.create(
        shop=intruder, base_url=demo_shop.helpdeskeddy.base_url,
        agent_email=hde_emulator.demo["email"], api_key="guessed-key-0000000000")
    intruder.refresh_from_db()
    their_rc = RetailCrmClient.for_connection(intruder.retailcrm)
    with pytest.raises(ApiUnauthorized):
        references_get(their_rc, intruder)
    with pytest.raises(ApiUnauthorized):
        order_statuses_get(their_rc)
    with pytest.raises(ApiUnauthorized):
        HelpDeskEddyClient.for_connection(intruder.helpdeskeddy).priorities()
    lists = hde_choices_get(shop=intruder)
    assert lists.priorities == [] and lists.error


def test_throttle_budgets_are_per_connection_identity(demo_shop, second_shop, rc_knobs,
                                                      make_agency, make_shop):
    """Demo spending its whole budget does not hold back another account on
    the host, nor another key on Demo's own account."""
    rc_knobs.INTEGRATION = {**rc_knobs.INTEGRATION, "RETAILCRM_RATE_LIMIT": 2,
                            "RETAILCRM_RATE_WINDOW": 30.0, "RETAILCRM_INTERACTIVE_RESERVE": 0,
                            "THROTTLE_MAX_WAIT": 0.2}
    readonly = make_shop(make_agency("Read-only agency"), name="Read-only shop")
    RetailCrmConnection.objects.create(shop=readonly, base_url=demo_shop.retailcrm.base_url,
                                       api_key=DEMO_READONLY_KEY)
    readonly.refresh_from_db()

    demo = RetailCrmClient.for_connection(demo_shop.retailcrm)
    demo.statuses()
    demo.statuses()
    with pytest.raises(ThrottleExhausted):
        demo.statuses()
    assert RetailCrmClient.for_connection(second_shop.retailcrm).statuses()
    assert RetailCrmClient.for_connection(readonly.retailcrm).statuses()
    keys = {RetailCrmClient.account_key_for(shop.retailcrm)
            for shop in (demo_shop, second_shop, readonly)}
    assert len(keys) == 3
    assert all(demo_shop.retailcrm.api_key not in key for key in keys)


def test_a_ban_stops_only_the_banned_identity(demo_shop, hde_emulator, make_agency, make_shop):
    """A ban recorded for one key of the demo HDE account (say, a shop whose
    own script hammered it) leaves another shop's connection to the same
    account URL, with another agent's key, alone."""
    from sandbox.hde.seed import OPERATOR

    other = make_shop(make_agency("Operator agency"), name="Operator shop")
    HelpDeskEddyConnection.objects.create(
        shop=other, base_url=demo_shop.helpdeskeddy.base_url, agent_email=OPERATOR["email"],
        api_key=OPERATOR["api_key"])
    other.refresh_from_db()
    banned = HelpDeskEddyClient.for_connection(demo_shop.helpdeskeddy, interactive=True)
    throttle.record_ban(banned.account_key, 600)
    with pytest.raises(ApiBanned):
        banned.get_ticket(1)
    assert HelpDeskEddyClient.for_connection(other.helpdeskeddy, interactive=True).get_ticket(1)
    assert RateLimitState.objects.filter(banned_until__isnull=False).count() == 1
