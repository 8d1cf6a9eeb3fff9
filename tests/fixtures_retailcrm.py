"""Fixtures for the RetailCRM emulator and client tests.

The tests talk to the one emulator over real HTTP (pytest-django's
`live_server`), seeded with a small plan built by the same seed code as the
demo (the 1,000/10,000-order customers are left out here; one test seeds
the full demo once).
"""

from dataclasses import replace
from types import SimpleNamespace

import pytest

from integration.models import RetailCrmConnection
from integration.vendors.retailcrm import RetailCrmClient
from sandbox.demo_people import PEOPLE, DemoPerson
from sandbox.retailcrm import gate
from sandbox.retailcrm.models import Account
from sandbox.retailcrm.seed import PLANS, seed_account

# The demo cast without its 1,000/10,000-order customers, plus one customer
# with 45 orders so that paging (limit 20 → three pages) is exercised.
SMALL_CAST = [person for person in PEOPLE if person.in_retailcrm and person.orders <= 10] + [
    DemoPerson("many", "Галина", "Пагинова", "galina@example.ru", "+7 (912) 345-67-89",
               orders=45, newest_order_status="assembling"),
]


@pytest.fixture
def rc_knobs(settings):
    """Throttle and retry knobs small enough for tests; a test that checks
    the throttle sets its own limits on top."""
    settings.INTEGRATION = {
        **settings.INTEGRATION,
        "RETAILCRM_RATE_LIMIT": 200, "RETAILCRM_RATE_WINDOW": 1.0,
        "RETAILCRM_INTERACTIVE_RESERVE": 20, "HTTP_RETRY_TOTAL": 3,
        "HTTP_RETRY_BACKOFF": 0.01, "HTTP_READ_TIMEOUT": 5.0, "THROTTLE_MAX_WAIT": 10.0,
    }
    return settings


@pytest.fixture
def rc_emulator(transactional_db, live_server, rc_knobs):
    """Accounts `demo` (small cast, limiter off) and `agency-second`."""
    gate.limiter.reset()
    gate.request_log.clear()
    demo = seed_account(replace(PLANS[0], people=SMALL_CAST, fillers=6),
                        base_url=live_server.url)
    second = seed_account(replace(PLANS[1], fillers=3), base_url=live_server.url)
    Account.objects.update(rate_limit_rps=0)
    yield SimpleNamespace(demo=demo, second=second, base_url=live_server.url)
    gate.limiter.reset()


@pytest.fixture
def rc_shop(rc_emulator, make_agency, make_shop):
    return make_shop(make_agency("RetailCRM agency"), name="RetailCRM shop")


@pytest.fixture
def rc_connect(rc_emulator, rc_shop):
    """Connect a shop to an emulator account with a given key and store."""

    def connect(*, account="demo", key=None, site="main", url=None, shop=None):
        info = getattr(rc_emulator, "demo" if account == "demo" else "second")
        shop = shop or rc_shop
        RetailCrmConnection.objects.filter(shop=shop).delete()
        return RetailCrmConnection.objects.create(
            shop=shop, base_url=url or info["url"], api_key=key or info["api_key"],
            site_code=site,
        )

    return connect


@pytest.fixture
def rc_client(rc_connect):
    return RetailCrmClient.for_connection(rc_connect())


@pytest.fixture
def rc_people(rc_emulator):
    """Demo cast key → seeded customer id (site `main`)."""
    return {key: info["customers"].get("main") or next(iter(info["customers"].values()))
            for key, info in rc_emulator.demo["people"].items()}
