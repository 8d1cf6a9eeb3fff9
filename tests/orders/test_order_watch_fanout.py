"""The order-watch fan-out at many shops (bench/scale.py measured 1,000): the
cycle's cost does not grow with the shops, a poll still waiting in the queue
is not queued again, and a chunk of shops hands the rest back to the queue
when its time is up."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from integration.models import OrderWatch, RetailCrmConnection
from integration.orders.watch import (
    POLL_CHUNK,
    QUEUED_STALE,
    order_watch_fanout,
    order_watch_poll_chunk,
)

SHOPS = 2 * POLL_CHUNK + 5


@pytest.fixture
def queued(monkeypatch):
    """Tasks stay in the broker (no inline run); returns the queued chunks."""
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    broker.purge_queue()

    def chunks():
        found = []
        while (task := broker.dequeue()):
            for ack_id, body in task:
                found.append(SignedPackage.loads(body)["args"][0])
                broker.acknowledge(ack_id)
        return found

    yield chunks
    broker.purge_queue()


@pytest.fixture
def many_shops(make_agency, make_shop):
    agency = make_agency("Many shops")
    shops = [make_shop(agency, name=f"Shop {n}") for n in range(SHOPS)]
    RetailCrmConnection.objects.bulk_create([RetailCrmConnection(
        shop=shop, base_url="https://many.retailcrm.ru", api_key=f"key-{n:04d}-abcdefghijklmnop",
        site_code="") for n, shop in enumerate(shops)])
    return shops


def test_one_cycle_costs_a_few_queries_and_never_queues_a_shop_twice(many_shops, queued):
    with CaptureQueriesContext(connection) as first:
        assert order_watch_fanout() == SHOPS
    # Watches created, due shops read and claimed: a fixed handful of
    # queries, plus one queue insert per chunk on the database broker.
    assert len(first.captured_queries) <= 6 + SHOPS // POLL_CHUNK + 1
    chunks = queued()
    assert sorted(shop_id for chunk in chunks for shop_id in chunk) == sorted(
        s.pk for s in many_shops)
    assert max(len(chunk) for chunk in chunks) == POLL_CHUNK

    # The workers are behind: the next minute queues nothing more.
    with CaptureQueriesContext(connection) as second:
        assert order_watch_fanout() == 0
    assert len(second.captured_queries) <= 3
    assert queued() == []

    # A poll lost with its task (broker flushed) is queued again later.
    with time_machine.travel(timezone.now() + QUEUED_STALE + timedelta(seconds=1)):
        assert order_watch_fanout() == SHOPS
        assert len(queued()) == len(chunks)


def test_a_chunk_past_its_budget_hands_the_rest_back(many_shops, queued):
    ids = [shop.pk for shop in many_shops[:4]]
    OrderWatch.objects.bulk_create([OrderWatch(shop_id=i, enabled=False, queued_at=timezone.now())
                                    for i in ids])
    assert order_watch_poll_chunk(shop_ids=ids, budget_seconds=0) == {"off": 1, "requeued": 3}
    assert queued() == [ids[1:]]
    # The shop that ran is free to be queued again; the handed-back ones stay claimed.
    assert OrderWatch.objects.get(shop_id=ids[0]).queued_at is None
    assert OrderWatch.objects.filter(shop_id__in=ids[1:], queued_at__isnull=False).count() == 3
