"""Order watch under both answers to R-5 (docs/vendors/open-questions.md):
history pages that come back empty while pagination says more follow.

Issue 15: the poller stopped on the empty page and asked for the same cursor
forever (a stall, as RetailCRM's own Bitrix module once did). The watch now
follows `currentPage`/`totalPageCount`; a poll that makes no progress several
times in a row shows on the shop's health, in words.
"""

import json

import pytest
import requests

from integration.models import OrderWatch
from integration.ops.health import STALLED_POLLS, shops_health
from integration.orders.watch import order_watch_poll
from integration.vendors.retailcrm import RetailCrmClient
from sandbox.retailcrm.behaviour import set_behaviour
from tests.orders.test_order_watch_catchup import (
    newest_history_id,
    seed_history,
    stored_history_ids,
)

HISTORY_PAGES = ["normal", "empty_pages"]


@pytest.fixture
def watched(rc_emulator, rc_connect, rc_shop):
    rc_connect()
    OrderWatch.objects.create(shop=rc_shop)
    return rc_shop


@pytest.mark.parametrize("pages", HISTORY_PAGES)
def test_a_new_watch_starts_at_the_newest_record(watched, pages):
    """The start point is found even when the last page answers no records
    (a start from 0 would replay all history)."""
    seed_history("demo", records=230, orders=5)
    set_behaviour("demo", history_pages=pages)
    client = RetailCrmClient.for_connection(watched.retailcrm)
    assert client.order_history_newest_id() == newest_history_id("demo")
    assert order_watch_poll(shop_id=watched.pk).state == "started"
    assert OrderWatch.objects.get(shop=watched).since_id == newest_history_id("demo")


@pytest.mark.parametrize("pages", HISTORY_PAGES)
def test_catch_up_reads_past_empty_pages(watched, pages):
    assert order_watch_poll(shop_id=watched.pk).state == "started"
    start = OrderWatch.objects.get(shop=watched).since_id
    set_behaviour("demo", history_pages=pages)
    seed_history("demo", records=250, orders=5)  # three real pages of 100

    result = order_watch_poll(shop_id=watched.pk, budget_seconds=600)

    assert result.state == "done" and result.records == 250
    watch = OrderWatch.objects.get(shop=watched)
    assert watch.since_id == start + 250 == newest_history_id("demo")
    assert stored_history_ids(watched) == list(range(start + 1, start + 251))
    assert watch.polls_without_progress == 0
    # Up to date: the next poll reads nothing new and still counts as progress.
    again = order_watch_poll(shop_id=watched.pk)
    assert again.state == "done" and again.records == 0
    assert OrderWatch.objects.get(shop=watched).polls_without_progress == 0


def test_budget_handover_goes_on_past_empty_pages(watched):
    """With one page per run, each run re-enqueues the next (inline in
    tests); an empty page only costs a page, never the cursor."""
    order_watch_poll(shop_id=watched.pk)
    start = OrderWatch.objects.get(shop=watched).since_id
    set_behaviour("demo", history_pages="empty_pages")
    seed_history("demo", records=150, orders=3)
    order_watch_poll(shop_id=watched.pk, budget_seconds=0)
    assert OrderWatch.objects.get(shop=watched).since_id == start + 150
    assert stored_history_ids(watched) == list(range(start + 1, start + 151))


def _faults(rc_emulator, **values):
    response = requests.post(f"{rc_emulator.base_url}/sandbox/retailcrm/demo/_faults",
                             data=json.dumps(values), timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def test_polls_without_progress_show_on_the_health(watched, rc_emulator):
    order_watch_poll(shop_id=watched.pk)
    seed_history("demo", records=20, orders=2)
    _faults(rc_emulator, fault="500")
    for _ in range(STALLED_POLLS):
        assert order_watch_poll(shop_id=watched.pk).state == "failed"
    watch = OrderWatch.objects.get(shop=watched)
    assert watch.polls_without_progress == STALLED_POLLS
    row = shops_health(shops=type(watched).objects.filter(pk=watched.pk))[0]
    assert any("Order watch is not moving" in line and f"last {STALLED_POLLS} polls" in line
               for line in row.notices), row.notices

    from django.utils import translation

    with translation.override("ru"):
        row = shops_health(shops=type(watched).objects.filter(pk=watched.pk))[0]
    assert any("Отслеживание заказов" in line for line in row.notices), row.notices

    _faults(rc_emulator, fault="")
    assert order_watch_poll(shop_id=watched.pk).state == "done"
    assert OrderWatch.objects.get(shop=watched).polls_without_progress == 0
    row = shops_health(shops=type(watched).objects.filter(pk=watched.pk))[0]
    assert not any("Order watch" in line for line in row.notices)
