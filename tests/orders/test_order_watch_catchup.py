"""Order watch at scale and under failure: 10,000 history records, RetailCRM
failing mid-poll, leases, the fan-out, and tenant isolation."""

import json

import pytest
import requests

from integration.models import (
    EventSource,
    EventState,
    InboundEvent,
    LocalOrder,
    OrderWatch,
    RetailCrmConnection,
)
from integration.orders.watch import order_watch_fanout, order_watch_poll
from sandbox.retailcrm import store
from sandbox.retailcrm.models import Account, HistoryRecord, Order
from sandbox.retailcrm.seed import FULL_SCOPES

CYCLE = ["assembling", "send-to-delivery", "delivering", "redirect", "client-confirmed"]


def seed_history(code: str, *, records: int, orders: int, site: str = "main") -> dict[int, str]:
    """`records` status changes spread over `orders` orders, written with the
    emulator's own bulk helpers (as a RetailCRM user, not an API key); the
    orders end in the status of their last change. Returns id → final status."""
    account = Account.objects.get(code=code)
    picked = list(Order.objects.filter(account=account, site=site).order_by("crm_id")[:orders])
    final, entries = {}, []
    for index in range(records):
        order = picked[index % len(picked)]
        status = CYCLE[(index // len(picked)) % len(CYCLE)]
        entries.append(store.history_entry(
            account=account, entity="order", key=None, user_id=1, field="status",
            old=None, new={"code": status}, target={**store.order_stub(order), "status": status}))
        final[order.crm_id] = status
    store.save_history(account, entries)
    for order in picked:
        order.status = final[order.crm_id]
        order.doc = {**order.doc, "status": final[order.crm_id]}
    Order.objects.bulk_update(picked, ["status", "doc"])
    return final


def newest_history_id(code: str) -> int:
    return HistoryRecord.objects.filter(account__code=code, entity="order").order_by(
        "-crm_id").values_list("crm_id", flat=True)[0]


def stored_history_ids(shop) -> list[int]:
    ids = []
    for payload in InboundEvent.objects.filter(
            shop=shop, source=EventSource.RETAILCRM_HISTORY).values_list("payload", flat=True):
        ids.extend(payload["history_ids"])
    return sorted(ids)


def faults(rc_emulator, code="demo", **values):
    response = requests.post(f"{rc_emulator.base_url}/sandbox/retailcrm/{code}/_faults",
                             data=json.dumps(values), timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


@pytest.fixture
def watched(rc_emulator, rc_connect, rc_shop):
    """A shop on RetailCRM account `demo`, watch started; no HDE (the
    proactive side is covered in test_order_watch)."""
    rc_connect()
    OrderWatch.objects.create(shop=rc_shop)
    assert order_watch_poll(shop_id=rc_shop.pk).state == "started"
    return rc_shop


def test_ten_thousand_records_catch_up(watched):
    """10,000 history records, 100 pages, read in one run. The records
    touch 4 orders: each page then makes 4 events (one per order per page),
    400 in all. The reading is what is under test here; 20 orders (2,000
    events, each processed inline) took four minutes of a loaded CI pass
    and proved nothing more about the cursor."""
    start = OrderWatch.objects.get(shop=watched).since_id
    final = seed_history("demo", records=10_000, orders=4)
    result = order_watch_poll(shop_id=watched.pk, budget_seconds=600)
    assert (result.state, result.batches, result.records) == ("done", 100, 10_000)
    watch = OrderWatch.objects.get(shop=watched)
    assert watch.since_id == newest_history_id("demo") == start + 10_000
    assert watch.lease_until is None and watch.last_error == "" and watch.last_poll_records
    # Every record stored exactly once, one event per order per page, all done.
    assert stored_history_ids(watched) == list(range(start + 1, start + 10_001))
    events = InboundEvent.objects.filter(shop=watched)
    assert events.count() == 100 * 4
    assert not events.exclude(state=EventState.DONE).exists()
    local = dict(LocalOrder.objects.filter(shop=watched).values_list("order_id", "status"))
    assert local == final


def test_budget_hands_over_to_a_new_run(watched):
    start = OrderWatch.objects.get(shop=watched).since_id
    seed_history("demo", records=250, orders=5)
    # budget 0: one page per run; each run queues the next (inline in tests).
    result = order_watch_poll(shop_id=watched.pk, budget_seconds=0)
    assert result.state == "more" and result.batches == 1
    assert OrderWatch.objects.get(shop=watched).since_id == start + 250
    assert stored_history_ids(watched) == list(range(start + 1, start + 251))


# The history page and its orders (one request for up to 100 orders; the
# status book was read, and cached, when the watch started).
PAGE_ONE_REQUESTS = 2


def test_failure_mid_poll_never_skips_records(watched, rc_emulator):
    start = OrderWatch.objects.get(shop=watched).since_id
    final = seed_history("demo", records=350, orders=7)
    # Page 1 of the history and its orders pass (PAGE_ONE_REQUESTS requests,
    # counted by the emulator, never timed), then every request gets the
    # vendor's rate-limit 503: page 2 fails (retried, still 503) mid-poll.
    faults(rc_emulator, rate_limit_rps=0, fault="503", fault_after=PAGE_ONE_REQUESTS)
    result = order_watch_poll(shop_id=watched.pk, budget_seconds=600)
    assert result.state == "failed" and result.error == "RetailCRM: too many requests"
    watch = OrderWatch.objects.get(shop=watched)
    assert watch.since_id == start + 100  # page 1 stored, page 2 not
    assert watch.last_error == "RetailCRM: too many requests" and watch.lease_until is None
    assert stored_history_ids(watched) == list(range(start + 1, start + 101))

    # A burst of 502s (more than the client retries) fails the next poll at once.
    faults(rc_emulator, fault="502", fault_burst=4)
    assert order_watch_poll(shop_id=watched.pk).state == "failed"
    assert OrderWatch.objects.get(shop=watched).since_id == start + 100

    result = order_watch_poll(shop_id=watched.pk, budget_seconds=600)
    assert result.state == "done" and result.records == 250
    watch = OrderWatch.objects.get(shop=watched)
    assert watch.since_id == start + 350 and watch.last_error == ""
    assert stored_history_ids(watched) == list(range(start + 1, start + 351))
    assert dict(LocalOrder.objects.filter(shop=watched).values_list("order_id", "status")) \
        == final


def test_a_leased_shop_is_not_polled_twice(watched):
    from datetime import timedelta

    from django.utils import timezone

    seed_history("demo", records=10, orders=2)
    held = timezone.now() + timedelta(minutes=3)
    OrderWatch.objects.filter(shop=watched).update(lease_until=held)
    assert order_watch_poll(shop_id=watched.pk).state == "busy"
    watch = OrderWatch.objects.get(shop=watched)
    assert watch.lease_until == held and not InboundEvent.objects.filter(shop=watched).exists()
    # An expired lease (its worker died) is taken over.
    OrderWatch.objects.filter(shop=watched).update(
        lease_until=timezone.now() - timedelta(seconds=1))
    assert order_watch_poll(shop_id=watched.pk).state == "done"
    assert InboundEvent.objects.filter(shop=watched).count() == 2


def test_fanout_polls_each_shop_and_one_failure_blocks_nobody(rc_emulator, rc_connect, rc_shop,
                                                             make_agency, make_shop):
    other = make_shop(make_agency("Second agency"), name="Second shop")
    rc_connect(account="second", site="second", shop=other)
    off = make_shop(make_agency("Off agency"), name="Off shop")
    rc_connect(shop=off)
    OrderWatch.objects.create(shop=off, enabled=False)
    rc_connect(shop=rc_shop)
    unconnected = make_shop(make_agency("Bare agency"), name="Bare shop")

    assert order_watch_fanout() == 2  # watches created for connected shops; `off` stays off
    assert not OrderWatch.objects.filter(shop=unconnected).exists()
    assert OrderWatch.objects.get(shop=off).since_id is None
    for shop in (rc_shop, other):
        assert OrderWatch.objects.get(shop=shop).since_id is not None

    seed_history("demo", records=30, orders=3)
    seed_history("agency-second", records=30, orders=3, site="second")
    faults(rc_emulator, code="agency-second", fault="500")
    order_watch_fanout()
    failing = OrderWatch.objects.get(shop=other)
    assert failing.last_error and failing.lease_until is None
    assert OrderWatch.objects.get(shop=rc_shop).last_error == ""
    assert LocalOrder.objects.filter(shop=rc_shop).count() == 3
    assert not LocalOrder.objects.filter(shop=other).exists()


def test_shop_b_poll_never_touches_shop_a(rc_emulator, rc_connect, rc_shop, make_agency,
                                          make_shop):
    shop_a = rc_shop
    shop_b = make_shop(make_agency("Agency B"), name="Shop B")
    rc_connect(shop=shop_a)
    rc_connect(account="second", site="second", shop=shop_b)
    for shop in (shop_a, shop_b):
        OrderWatch.objects.create(shop=shop)
        order_watch_poll(shop_id=shop.pk)
    cursor_a = OrderWatch.objects.get(shop=shop_a).since_id
    seed_history("demo", records=20, orders=2)
    final_b = seed_history("agency-second", records=20, orders=2, site="second")

    order_watch_poll(shop_id=shop_b.pk)
    assert OrderWatch.objects.get(shop=shop_a).since_id == cursor_a
    assert not InboundEvent.objects.filter(shop=shop_a).exists()
    assert not LocalOrder.objects.filter(shop=shop_a).exists()
    assert dict(LocalOrder.objects.filter(shop=shop_b).values_list("order_id", "status")) \
        == final_b
    assert set(InboundEvent.objects.values_list("shop_id", flat=True)) == {shop_b.pk}


def test_other_stores_orders_are_skipped(rc_emulator, rc_connect, rc_shop):
    """A key that sees both stores: the shop (store `main`) ignores `outlet`."""
    rc_connect()
    OrderWatch.objects.create(shop=rc_shop)
    order_watch_poll(shop_id=rc_shop.pk)
    seed_history("demo", records=4, orders=2, site="outlet")
    result = order_watch_poll(shop_id=rc_shop.pk)
    assert result.records == 4 and result.events == 0
    assert not LocalOrder.objects.filter(shop=rc_shop).exists()
    assert RetailCrmConnection.objects.get(shop=rc_shop).site_code == "main"
    assert FULL_SCOPES  # the shop's key is the full-access one
