"""Order watch: follow each shop's RetailCRM order changes from `orders/history`.

Why polling when RetailCRM has triggers: a trigger is admin-configured, can be
switched off or mistyped, and carries whatever body the admin wrote (reference
retailcrm-api.md §15.1); the history feed needs no setup and never loses a
change (§12). Both feed the same inbox (services.inbox), so either alone works
and both together cost nothing extra: the handler's effects are idempotent.

One run for one shop:
1. *Lease* the shop with one conditional UPDATE of `OrderWatch.lease_until`
   (two workers never poll one shop; a crashed worker's lease just expires).
   The value written is also the holder's token: every later write is
   conditional on it, so a worker that lost its lease can change nothing.
2. *First run*: remember the newest history id and start from there; years of
   old history are not replayed.
3. *Catch up*: page through `orders/history?filter[sinceId]` (100 records a
   page), following `pagination` (`currentPage` < `totalPageCount`), never
   the emptiness of a page: RetailCRM can answer a page with no records while
   more pages follow (docs/vendors/open-questions.md R-5; its own Bitrix module
   once stalled on exactly that). Per page: skip the portal's own changes (`apiKey.current`, §18.15)
   and other stores' orders; read the changed orders in one request
   (`filter[ids][]`); store one `InboundEvent` per changed order (key
   `order:<id>:<newest history id of that order in the page>`, payload with
   every history id and a snapshot of the order read *after* the changes);
   advance the cursor in the same transaction. A failure mid-poll therefore
   never skips a record: the cursor stays at the last page that is stored.
4. After a time budget the run hands over to a fresh task (the queue's
   timeout stays far away), and the lease is released.
5. A poll that fails, or ends while RetailCRM says more history follows
   without the cursor having moved, counts as "no progress"; several in a
   row show on the shop's health (integration.ops.health), in words.

The snapshot spares the handler a request per order: 10,000 history records
cost about 200 RetailCRM requests instead of 10,000 (see bench/order_watch.py).
"""

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integration.models import (
    EventSource,
    EventState,
    InboundEvent,
    OrderWatch,
    RetailCrmConnection,
)
from integration.models.orders import DEFAULT_PROBLEM_STATUS
from integration.vendors.errors import INTERNAL_ERROR, ApiError, stored_text_named

logger = logging.getLogger("integration.order_watch")

LEASE = timedelta(minutes=5)
# A run stops taking new pages after this long and re-enqueues itself, well
# inside django-q's task timeout (Q_TIMEOUT, 120 s by default) and the lease.
RUN_BUDGET_SECONDS = 60.0
STATUSES_TTL = 3600
EVENT_TYPE = "order_changed"
MAX_PAYLOAD_IDS = 100
# Empty pages in a row a run reads before it stops (the next poll goes on
# from the same cursor): a bound on requests, not on correctness.
MAX_EMPTY_PAGES = 20


class LeaseLost(Exception):
    """Another worker holds the shop now (ours expired): stop writing."""


@dataclass
class PollResult:
    shop_id: int
    state: str = "done"  # off | busy | started | done | more | failed | lost
    batches: int = 0
    records: int = 0
    events: int = 0
    since_id: int | None = None
    error: str = ""
    # The run moved the cursor, or RetailCRM said nothing more follows.
    progress: bool = False


# -- reference data ------------------------------------------------------------
def order_statuses_get(client, *, naming=()) -> dict:
    """RetailCRM's status book (code → Status with name and group), cached an
    hour per connection identity (account URL + key digest): one host can
    serve several accounts, and a key RetailCRM refuses must not read what
    another key cached.

    `naming`: the status codes of the orders at hand. A book cached before
    one of them was created in RetailCRM is read again (`books_name`): an
    order moved into a new status would otherwise carry its code into a
    proactive ticket's subject and the analytics' groups for up to an hour."""
    from integration.customers.context import books_name, books_unnamed
    from integration.vendors.facts import right_available

    if not right_available(client.shop, "reference_read"):
        return {}  # the key may not read reference books: codes instead of names
    key = f"rcrm-statuses:v2:{client.connection.identity}"
    cached = cache.get(key)
    if cached is not None and books_name(cached, naming):
        return cached["statuses"]
    statuses = client.statuses()
    cache.set(key, {"statuses": statuses, "read_at": time.time(),
                    "unnamed": books_unnamed(statuses, naming,
                                             cached.get("unnamed") if cached else None)},
              STATUSES_TTL)
    return statuses


def problem_statuses_of(watch: OrderWatch, client=None) -> list[str]:
    """The shop's problem statuses; before anyone chose, the default one if
    the account has it."""
    if watch.problem_statuses is not None:
        return list(watch.problem_statuses)
    if client is None:
        return [DEFAULT_PROBLEM_STATUS]
    return [DEFAULT_PROBLEM_STATUS] if DEFAULT_PROBLEM_STATUS in order_statuses_get(client) else []


def order_snapshot(order, statuses: dict, read_at) -> dict:
    """The compact, JSON-safe copy of an order the handler stores as
    LocalOrder. `product_ids` are the items' offer ids (RetailCRM sells
    offers; §11.3 items carry no separate product id); `product_names` what
    the items call them, so the analytics name products instead of ids."""
    status = statuses.get(order.status)
    product_ids, product_names = [], {}
    for item in (order.raw or {}).get("items") or []:
        offer = (item.get("offer") or {}) if isinstance(item, dict) else {}
        offer_id = offer.get("id")
        if offer_id is not None and offer_id not in product_ids:
            product_ids.append(offer_id)
        name = offer.get("displayName") or offer.get("name") or item.get("productName")
        if offer_id is not None and isinstance(name, str) and name.strip():
            product_names[str(offer_id)] = name.strip()
    return {
        "id": order.id, "number": order.number, "customer_id": order.customer_id,
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "status": order.status, "status_group": status.group if status else "",
        "status_name": status.name if status else "",
        "total": f"{order.total_summ:.2f}", "currency": order.currency,
        "product_ids": product_ids, "product_names": product_names,
        "read_at": read_at.isoformat(),
    }


# -- scheduling ----------------------------------------------------------------
# Shops per queued poll task. One task per shop cost the fan-out a queue
# insert per shop and the cluster its per-task bookkeeping (dequeue, result
# row, acknowledgement) for every shop every minute; at 1,000 shops that was
# more than two workers could drain (bench/scale.py).
POLL_CHUNK = 25
# A chunk stops starting polls after this long and queues the rest as a new
# task, so one slow RetailCRM delays the shops after it by at most this
# (plus its own request timeout), not by a whole chunk of timeouts.
CHUNK_BUDGET_SECONDS = 20.0
# A poll queued this long ago and never started (its task was lost with a
# flushed broker or a killed cluster) is queued again.
QUEUED_STALE = timedelta(minutes=10)


def order_watch_enqueue(*, shop_id: int) -> None:
    """Queue one poll of one shop (the admin's "Poll now", a run with more to
    read)."""
    from django_q.tasks import async_task

    async_task("integration.tasks.order_watch_poll_task", shop_id,
               task_name=f"order-watch-{shop_id}-{time.time_ns()}")


def _enqueue_chunk(shop_ids: list[int]) -> None:
    from django_q.tasks import async_task

    async_task("integration.tasks.order_watch_poll_chunk_task", shop_ids,
               task_name=f"order-watch-{shop_ids[0]}-{len(shop_ids)}-{time.time_ns()}")


def order_watch_fanout(*, now=None) -> int:
    """Every minute: queue a poll of every watched shop that is due, in
    tasks of POLL_CHUNK shops, so one shop's slow or failing RetailCRM
    delays few others (and none by more than CHUNK_BUDGET_SECONDS). Shops
    connected to RetailCRM get a watch on first sight (switched on: the
    first poll is cheap, it only records where history stands).

    A shop is due when no poll holds it and none is waiting in the queue
    (`queued_at`); the due shops are claimed in one UPDATE. The cycle costs
    a fixed handful of queries plus one queue insert per chunk, whatever
    the number of shops."""
    now = now or timezone.now()
    unwatched = RetailCrmConnection.objects.filter(
        shop__active=True, shop__order_watch__isnull=True).values_list("shop_id", flat=True)
    OrderWatch.objects.bulk_create([OrderWatch(shop_id=shop_id) for shop_id in unwatched],
                                   ignore_conflicts=True)
    due = (OrderWatch.objects.filter(enabled=True, shop__active=True,
                                     shop__retailcrm__isnull=False)
           .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
           .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - QUEUED_STALE)))
    shop_ids = sorted(due.values_list("shop_id", flat=True))
    if not shop_ids:
        return 0
    # Claimed before queuing: a synchronous queue (tests) runs the polls at
    # once, and each poll clears the mark as it takes its lease.
    OrderWatch.objects.filter(shop_id__in=shop_ids).update(queued_at=now)
    for start in range(0, len(shop_ids), POLL_CHUNK):
        _enqueue_chunk(shop_ids[start:start + POLL_CHUNK])
    return len(shop_ids)


def order_watch_poll_chunk(*, shop_ids: list[int],
                           budget_seconds: float = CHUNK_BUDGET_SECONDS) -> dict[str, int]:
    """Poll the shops of one fan-out chunk in turn; a poll's failure is
    recorded on its own watch and never stops the others. Past the budget,
    the shops not started yet go back to the queue as a new chunk."""
    deadline = time.monotonic() + budget_seconds
    states: dict[str, int] = {}
    for index, shop_id in enumerate(shop_ids):
        if index and time.monotonic() > deadline:
            _enqueue_chunk(shop_ids[index:])
            states["requeued"] = len(shop_ids) - index
            break
        try:
            state = order_watch_poll(shop_id=shop_id).state
        except Exception:  # noqa: BLE001 - recorded on the watch; the next shop goes on
            logger.exception("order_watch.poll_crashed", extra={"shop": shop_id})
            state = "failed"
        states[state] = states.get(state, 0) + 1
    return states


# -- one run -------------------------------------------------------------------
def _lease(watch: OrderWatch, now):
    """One conditional UPDATE on the row itself (no joins, so PostgreSQL
    re-checks it under concurrency): only one worker gets the shop."""
    until = now + LEASE
    got = OrderWatch.objects.filter(pk=watch.pk).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(lease_until=until,
                                                                     queued_at=None)
    return until if got else None


def _held(watch: OrderWatch, token):
    return OrderWatch.objects.filter(pk=watch.pk, lease_until=token)


def order_watch_poll(*, shop_id: int, now=None,
                     budget_seconds: float = RUN_BUDGET_SECONDS) -> PollResult:
    """Poll one shop once (see the module doc). Never raises a vendor error:
    it is recorded on the watch and the next minute tries again from the
    same cursor."""
    from integration.vendors.retailcrm import RetailCrmClient

    now = now or timezone.now()
    result = PollResult(shop_id=shop_id)
    watch = OrderWatch.objects.select_related("shop").filter(shop_id=shop_id).first()
    connection = RetailCrmConnection.objects.filter(shop_id=shop_id).first()
    if watch is None or not watch.enabled or not watch.shop.active or connection is None:
        result.state = "off"
        return _unqueued(watch, result)
    from integration.vendors.facts import rights_off

    if "order_read" in rights_off(connection):
        result.state = "off"  # the key may not read orders: the health page says so
        return _unqueued(watch, result)
    token = _lease(watch, now)
    if token is None:
        result.state = "busy"
        return _unqueued(watch, result)
    try:
        client = RetailCrmClient.for_connection(connection)
        if watch.since_id is None:
            _start(watch, client, token, now, result)
        else:
            _catch_up(watch, client, token, result, time.monotonic() + budget_seconds)
    except ApiError as error:
        result.state, result.error = "failed", stored_text_named(error)
        logger.warning("order_watch.poll_failed", extra={"shop": shop_id, "error": str(error)})
    except LeaseLost:
        result.state = "lost"
    except Exception:
        # The traceback goes to the log (the fan-out logs it); people read fixed words.
        result.state, result.error = "failed", INTERNAL_ERROR
        _release(watch, token, result)
        raise
    _release(watch, token, result)
    if result.state == "more":
        order_watch_enqueue(shop_id=shop_id)
    return result


def _unqueued(watch, result: PollResult) -> PollResult:
    """A queued poll that does not run clears its mark, so the next fan-out
    may queue the shop again."""
    if watch is not None and watch.queued_at is not None:
        OrderWatch.objects.filter(pk=watch.pk).update(queued_at=None)
    return result


def _start(watch, client, token, now, result) -> None:
    """First run: start from now, and settle the default problem status."""
    newest = client.order_history_newest_id()
    fields = {"since_id": newest, "started_at": now}
    if watch.problem_statuses is None:
        fields["problem_statuses"] = problem_statuses_of(watch, client)
        books = order_statuses_get(client)
        fields["problem_status_names"] = {code: books[code].name
                                          for code in fields["problem_statuses"]
                                          if code in books and books[code].name}
    if not _held(watch, token).update(**fields):
        raise LeaseLost
    result.state, result.since_id = "started", newest


def _catch_up(watch, client, token, result, deadline: float) -> None:
    """Read pages after the stored cursor, page after page with the same
    `sinceId`, until pagination says there are no more (an empty page is
    just skipped); the cursor moves to the newest id of every page read."""
    since, page, empty = watch.since_id, 1, 0
    site = client.site_code
    while True:
        batch = client.order_history(since, page=page)
        changed: OrderedDict[int, list] = OrderedDict()
        for record in batch.records:
            order_site = ((record.raw or {}).get("order") or {}).get("site", "")
            if record.by_this_key or not record.order_id or (site and order_site
                                                                and order_site != site):
                continue
            changed.setdefault(int(record.order_id), []).append(record)
        snapshots = _snapshots(client, list(changed)) if changed else {}
        with transaction.atomic():
            ids = _store(watch.shop, changed, snapshots)
            if batch.last_id is not None and not _held(watch, token).update(
                    since_id=batch.last_id):
                raise LeaseLost
            if ids:
                transaction.on_commit(lambda ids=ids: _enqueue_processing(ids))
        result.batches += 1
        result.records += len(batch.records)
        result.events += len(ids)
        if batch.records:
            result.since_id, result.progress, empty = batch.last_id, True, 0
        else:
            empty += 1
        if not batch.more:
            result.state, result.progress = "done", True  # up to date
            return
        if empty >= MAX_EMPTY_PAGES:
            result.state = "done"  # the next poll goes on from the cursor
            logger.warning("order_watch.empty_pages", extra={"shop": watch.shop_id,
                                                               "page": batch.current_page})
            return
        if time.monotonic() > deadline:
            result.state = "more"
            return
        page += 1


def _snapshots(client, order_ids: list[int]) -> dict[int, dict]:
    """The changed orders as they are now, 100 per request. Read after the
    history page, so each snapshot already reflects that page's changes."""
    read_at = timezone.now()
    orders = [order for start in range(0, len(order_ids), 100)
              for order in client.orders_by_ids(order_ids[start:start + 100])]
    statuses = order_statuses_get(client, naming={order.status for order in orders})
    return {order.id: order_snapshot(order, statuses, read_at) for order in orders}


def _store(shop, changed: OrderedDict, snapshots: dict) -> list[int]:
    """One pending event per changed order; a page stored twice (a crash
    before the cursor moved) is a no-op thanks to the unique key."""
    if not changed:
        return []
    rows = []
    for order_id, records in changed.items():
        newest = records[-1]
        rows.append(InboundEvent(
            shop=shop, source=EventSource.RETAILCRM_HISTORY,
            source_key=f"order:{order_id}:{newest.id}", event_type=EVENT_TYPE,
            state=EventState.PENDING,
            payload={
                "order_id": order_id,
                "history_ids": [r.id for r in records][-MAX_PAYLOAD_IDS:],
                "fields": sorted({r.field for r in records if r.field}),
                "status": newest.status,
                "deleted": any(r.deleted for r in records),
                "snapshot": snapshots.get(order_id),
            },
        ))
    InboundEvent.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [row.source_key for row in rows]
    return list(InboundEvent.objects.filter(
        shop=shop, source=EventSource.RETAILCRM_HISTORY, source_key__in=keys,
        state=EventState.PENDING).order_by("pk").values_list("pk", flat=True))


def _enqueue_processing(event_ids: list[int]) -> None:
    """One queue task per page (not per event): a 10,000-record catch-up is
    100 tasks. Each event is still claimed and finished on its own, and the
    inbox sweep picks up whatever a dead worker left."""
    from django_q.tasks import async_task

    async_task("integration.tasks.order_events_process_task", event_ids,
               task_name=f"order-events-{event_ids[0]}-{len(event_ids)}")


def _release(watch, token, result: PollResult) -> None:
    now = timezone.now()
    fields = {"lease_until": None, "last_poll_at": now, "last_poll_records": result.records,
              "last_error": result.error[:2000]}
    if result.state in ("started", "done", "more"):
        fields["last_success_at"] = now
    if result.state == "started" or result.progress:
        fields["polls_without_progress"] = 0
    elif result.state in ("done", "more", "failed"):
        fields["polls_without_progress"] = F("polls_without_progress") + 1
    _held(watch, token).update(**fields)
