"""The clients' calls the portal relies on, under every answer each emulator
can give to an open vendor question (one switch at a time).

Why: the clients must work whatever the real account answers
(docs/vendors/open-questions.md); the tolerant paths (rights under other
names, optional settings, history pages followed by their pagination, tags
refused or ignored, exact search ignored) are exercised here directly, the
job's use of them in tests/tickets/test_job_variants.py.
"""

import pytest

from integration.vendors import facts
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.retailcrm import RetailCrmClient
from sandbox.hde.behaviour import BOARD as HDE_BOARD
from sandbox.hde.behaviour import set_behaviour as hde_behaviour
from sandbox.retailcrm.behaviour import BOARD as RC_BOARD
from sandbox.retailcrm.behaviour import set_behaviour as rc_behaviour
from tests.orders.test_order_watch_catchup import newest_history_id, seed_history

RC_VARIANTS = [(name, value) for name, switch in RC_BOARD.switches.items()
               for value in switch.choices]
HDE_VARIANTS = [(name, value) for name, switch in HDE_BOARD.switches.items()
                for value in switch.choices]


@pytest.mark.parametrize("switch, value", RC_VARIANTS,
                         ids=[f"{s}-{v}" for s, v in RC_VARIANTS])
def test_retailcrm_client_under_every_answer(rc_emulator, rc_connect, switch, value):
    rc_behaviour("demo", **{switch: value})
    client = RetailCrmClient.for_connection(rc_connect())

    assert "5.0" in client.api_versions()
    rights = client.rights_check(client.check_credentials())
    assert rights.off == []  # the full key: every right found, under whatever name
    read = client.account_settings_optional()
    assert (read.settings is not None) is (not (switch == "settings_endpoint"
                                               and value != "available"))
    assert read.zone

    found = client.customers_by_email("Ivan.Petrov@Example.RU")
    assert [c.email for c in found] == ["ivan.petrov@example.ru"]
    orders = client.customer_orders(found[0].id)
    assert orders.items and all(o.customer_id == found[0].id for o in orders.items)
    assert client.statuses() and client.users()

    start = newest_history_id("demo")
    assert client.order_history_newest_id() == start
    seed_history("demo", records=120, orders=3)
    seen, page = [], 1
    while True:
        batch = client.order_history(start, page=page)
        seen.extend(r.id for r in batch.records)
        if not batch.more:
            break
        page += 1
    assert seen == list(range(start + 1, start + 121))


@pytest.mark.parametrize("switch, value", HDE_VARIANTS,
                         ids=[f"{s}-{v}" for s, v in HDE_VARIANTS])
def test_hde_client_under_every_answer(hde_client, switch, value):
    hde_behaviour("demo", **{switch: value})
    email = hde_client.connection.agent_email

    assert [u.email for u in hde_client.find_users_by_email(email.upper())] == [email]
    hde_client.test_connection()
    ticket = hde_client.create_ticket(title="Проверка", description="…",
                                      user_email="variant@example.org", tags=["proactive"])
    assert ticket.tags == ["proactive"]  # the emulator takes tags on create in every mode
    updated = hde_client.update_ticket(ticket.id, priority_id=1, custom_fields={1: "link"},
                                       tags=["vip"])
    fresh = hde_client.get_ticket(ticket.id)
    assert fresh.priority_id == 1 and fresh.custom_fields[1] == "link"
    assert updated.priority_id == 1
    learned = facts.fact_answer(hde_client.connection, facts.HDE_TAGS_ON_UPDATE)
    tags_stick = not (switch == "tags_on_update" and value in ("refuse", "ignore"))
    assert ("vip" in fresh.tags) is tags_stick
    assert learned == ("stick" if tags_stick else
                       {"refuse": "refused", "ignore": "ignored"}[value])
    # Known now: a second update sends no tags where they do not stick.
    again = hde_client.update_ticket(ticket.id, priority_id=2, tags=["vip", "x"])
    assert again.priority_id == 2
    tags = hde_client.get_ticket(ticket.id).tags
    if not tags_stick:
        assert tags == ["proactive"]  # as created: nothing was sent since
    else:
        assert {"vip", "x"} <= set(tags)  # replaced, or added to ("append")
    assert "closed" in [s.id for s in hde_client.statuses()]


def test_a_fresh_client_reads_other_shops_facts_never(hde_connect, hde_emulator, make_agency,
                                                      make_shop):
    """Facts are per shop and connection identity: another shop on the same
    account learns for itself."""
    first = hde_connect()
    facts.fact_set(first, facts.HDE_TAGS_ON_UPDATE, facts.TAGS_REFUSED)
    other_shop = make_shop(make_agency("Other"), name="Other")
    other = hde_connect(shop=other_shop)
    assert HelpDeskEddyClient.for_connection(other).tags_supported()
    assert not HelpDeskEddyClient.for_connection(first).tags_supported()
    first.api_key = "another-key-1234"
    first.save()
    assert HelpDeskEddyClient.for_connection(first).tags_supported()  # a new key starts afresh
