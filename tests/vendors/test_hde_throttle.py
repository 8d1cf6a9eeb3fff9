"""The HDE client keeps the whole account under the vendor's limit.

Why: HDE counts 300 requests/minute for the whole account and then bans every
key for 20 minutes (docs/vendors/helpdeskeddy.md §4). The emulator enforces the same rule with
its own counters, so these tests prove the client side from the vendor's
point of view: a burst from several threads (each with its own client, as
separate workers would) never trips the emulator's limit, a ban is honoured
by every client of the account, and the vendor's `X-Rate-Limit-Remaining`
slows background work. Windows are shrunk to seconds through settings and
the emulator's model fields.
"""

import threading
import time
from datetime import timedelta

import pytest
import requests
import time_machine
from django.db import connections
from django.utils import timezone, translation

from integration.models import ApiCall, RateLimitState
from integration.vendors.errors import ApiBanned, ThrottleExhausted, people_text
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.hde.models import Account


def emulator_limits(**fields):
    Account.objects.filter(code="demo").update(**fields)
    return Account.objects.get(code="demo")


def counters():
    account = Account.objects.get(code="demo")
    return account.requests_received, account.limit_violations


def run_threads(target, count):
    errors = []

    def wrapped(index):
        try:
            target(index)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_a_burst_from_several_threads_stays_under_the_account_limit(hde_connect, hde_limits):
    emulator_limits(rate_limit_per_minute=20, rate_window_seconds=2.0, ban_seconds=60)
    hde_limits(HDE_RATE_LIMIT=16, HDE_RATE_WINDOW=2.0, HDE_INTERACTIVE_RESERVE=0,
               HDE_LOW_REMAINING=0, THROTTLE_MAX_WAIT=20.0)
    connection = hde_connect()
    before, _ = counters()

    def worker(index):
        client = HelpDeskEddyClient.for_connection(connection)
        for n in range(8):
            client.get_ticket(1 + (index + n) % 10)

    started = time.monotonic()
    errors = run_threads(worker, 4)
    elapsed = time.monotonic() - started

    assert errors == []
    received, violations = counters()
    assert received - before == 32
    assert violations == 0
    # 32 requests at 16 per 2 s cannot finish before the second window opens.
    assert elapsed >= 2.0
    assert ApiCall.objects.filter(outcome="ok").count() == 32


def test_the_same_burst_without_the_client_gets_the_account_banned(hde_emulator):
    emulator_limits(rate_limit_per_minute=20, rate_window_seconds=2.0, ban_seconds=60)
    info = hde_emulator.demo
    statuses = []

    def worker(index):
        for _ in range(8):
            response = requests.get(f"{info['url']}/api/v2/tickets/1/",
                                    auth=(info["email"], info["api_key"]), timeout=10)
            statuses.append((response.status_code, response.headers["X-Rate-Limit-Remaining"],
                             response.json().get("errors", [{}])[0].get("title")))

    assert run_threads(worker, 4) == []
    assert sorted(statuses).count((200, "0", None)) <= 1
    assert sum(1 for s in statuses if s[0] == 200) == 20
    assert {s for s in statuses if s[0] != 200} == {(401, "0", "Ban")}
    assert counters() == (32, 1)


def test_a_ban_stops_every_client_of_the_account_until_it_lifts(hde_connect, hde_limits,
                                                                 make_agency, make_shop):
    emulator_limits(rate_limit_per_minute=3, rate_window_seconds=60, ban_seconds=1.5)
    hde_limits(HDE_BAN_SECONDS=1.5, HDE_LOW_REMAINING=0)
    # Interactive clients: the vendor's low remaining count must not hold
    # them back before the limit is actually crossed.
    client = HelpDeskEddyClient.for_connection(hde_connect(), interactive=True)
    for ticket_id in (1, 2, 3):
        client.get_ticket(ticket_id)

    with pytest.raises(ApiBanned) as caught:
        client.get_ticket(4)

    assert caught.value.retry_after == 1.5
    # A person reads our words, in their language: no vendor text, no clock.
    assert "blocked this account's API access" in people_text(caught.value)
    with translation.override("ru"):
        assert people_text(caught.value).startswith("сервис временно закрыл доступ к API")
    assert ApiCall.objects.order_by("-pk").first().outcome == "banned"
    state = RateLimitState.objects.get(key=client.account_key)
    assert state.banned_until is not None
    received, violations = counters()
    assert (received, violations) == (4, 1)

    # Another shop on the same HDE account does not even send its request.
    other_shop = make_shop(make_agency("Second agency"), name="Second")
    other = HelpDeskEddyClient.for_connection(hde_connect(shop=other_shop), interactive=True)
    with pytest.raises(ApiBanned):
        other.get_ticket(1)
    assert counters() == (4, 1)

    # Past the ban on the clock both sides read (time-machine; no sleep).
    with time_machine.travel(timezone.now() + timedelta(seconds=1.6), tick=True):
        assert other.get_ticket(1).id == 1
        # A background client is not held back by the ban answer's "remaining 0".
        background = HelpDeskEddyClient.for_connection(client.connection)
        assert background.get_ticket(2).id == 2
    assert counters() == (6, 1)


def test_a_ban_on_one_account_leaves_other_accounts_alone(hde_connect, hde_limits, make_agency,
                                                          make_shop):
    Account.objects.filter(code="agency-second").update(rate_limit_per_minute=1,
                                                        ban_seconds=60)
    other_shop = make_shop(make_agency("Second agency"), name="Second")
    second = HelpDeskEddyClient.for_connection(hde_connect(account="second", shop=other_shop),
                                               interactive=True)
    demo = HelpDeskEddyClient.for_connection(hde_connect(), interactive=True)
    assert second.account_key != demo.account_key
    assert demo.account_key == HelpDeskEddyClient.account_key_for(demo.connection)
    assert demo.account_key.endswith(demo.connection.identity)
    second.get_ticket(1)
    with pytest.raises(ApiBanned):
        second.get_ticket(1)
    assert demo.get_ticket(1).id == 1


def test_low_vendor_remaining_makes_background_calls_wait_or_give_up(hde_connect, hde_limits):
    emulator_limits(rate_limit_per_minute=10, rate_window_seconds=60)
    hde_limits(HDE_LOW_REMAINING=8, HDE_RATE_WINDOW=60.0, THROTTLE_MAX_WAIT=1.0)
    connection = hde_connect()
    background = HelpDeskEddyClient.for_connection(connection)
    background.get_ticket(1)  # remaining 9
    background.get_ticket(2)  # remaining 8: at the threshold

    with pytest.raises(ThrottleExhausted) as paced:
        background.get_ticket(3)
    assert counters()[0] == 2
    with translation.override("ru"):
        assert people_text(paced.value).startswith("портал сдерживает частоту запросов")

    # An operator waiting on the widget is not held back.
    interactive = HelpDeskEddyClient.for_connection(connection, interactive=True)
    assert interactive.get_ticket(3).id == 3


def test_low_vendor_remaining_waits_when_the_window_is_short(hde_connect, hde_limits):
    emulator_limits(rate_limit_per_minute=10, rate_window_seconds=60)
    hde_limits(HDE_LOW_REMAINING=9, HDE_RATE_WINDOW=1.0, THROTTLE_MAX_WAIT=5.0)
    client = HelpDeskEddyClient.for_connection(hde_connect())
    client.get_ticket(1)  # remaining 9: at the threshold

    started = time.monotonic()
    client.get_ticket(2)

    assert time.monotonic() - started >= 0.8


def test_background_calls_leave_the_interactive_reserve(hde_connect, hde_limits):
    emulator_limits(rate_limit_enabled=False)
    hde_limits(HDE_RATE_LIMIT=4, HDE_INTERACTIVE_RESERVE=2, HDE_RATE_WINDOW=30.0,
               THROTTLE_MAX_WAIT=0.2)
    connection = hde_connect()
    background = HelpDeskEddyClient.for_connection(connection)
    interactive = HelpDeskEddyClient.for_connection(connection, interactive=True)
    background.get_ticket(1)
    background.get_ticket(2)
    with pytest.raises(ThrottleExhausted):
        background.get_ticket(3)
    interactive.get_ticket(3)
    interactive.get_ticket(4)
    with pytest.raises(ThrottleExhausted):
        interactive.get_ticket(5)
    assert counters()[0] == 4
