"""django-q2 entry points: ids in, call a service, nothing else.

`worker_started` is the one entry point that is not a task: django-q2's
`post_spawn` signal (connected in `IntegrationConfig.ready`) calls it in every
worker process it starts, and it recovers what a killed worker left behind.
"""

import logging
import os
import socket
import threading

logger = logging.getLogger("integration.inbox")


def logs_purge_task() -> int:
    from integration.ops.retention import logs_purge

    return logs_purge()


def inbound_event_process_task(event_id: int) -> str | None:
    from integration.inbox.events import inbound_event_process

    return inbound_event_process(event_id=event_id)


def inbound_events_sweep_task() -> int:
    from integration.inbox.events import inbound_events_sweep

    return inbound_events_sweep()


def tickets_reconcile_all_task() -> int:
    """Fan out: one reconciliation task per shop."""
    from django_q.tasks import async_task

    from integration.tickets.reconcile import shops_reconcile_due

    shop_ids = shops_reconcile_due()
    for shop_id in shop_ids:
        async_task("integration.tasks.tickets_reconcile_task", shop_id,
                   task_name=f"reconcile-{shop_id}")
    return len(shop_ids)


def tickets_reconcile_task(shop_id: int) -> int | None:
    from integration.tickets.reconcile import tickets_reconcile_safely

    return tickets_reconcile_safely(shop_id=shop_id)


def personal_data_purge_task() -> dict:
    from integration.ops.personal_data import personal_data_purge

    return personal_data_purge()


def alerts_check_task() -> int:
    from integration.ops.alerts import alerts_check

    return alerts_check()


def order_watch_fanout_task() -> int:
    from integration.orders.watch import order_watch_fanout

    return order_watch_fanout()


def order_watch_poll_task(shop_id: int) -> str:
    from integration.orders.watch import order_watch_poll

    return order_watch_poll(shop_id=shop_id).state


def order_watch_poll_chunk_task(shop_ids: list[int]) -> dict:
    from integration.orders.watch import order_watch_poll_chunk

    return order_watch_poll_chunk(shop_ids=shop_ids)


def order_events_process_task(event_ids: list[int]) -> int:
    from integration.inbox.events import inbound_event_process

    return sum(1 for event_id in event_ids if inbound_event_process(event_id=event_id))


def worker_started(sender=None, proc_name: str = "", **kwargs) -> None:
    """A django-q2 worker process starts (its cluster started, or the
    sentinel replaced a dead worker): recover in a background thread, so the
    worker takes tasks at once. The workers of one cluster start together;
    the first one (per host and sentinel, through the shared cache) recovers
    for all of them."""
    from django.core.cache import cache
    from django_q.conf import Conf

    from integration.inbox.events import LEASE

    if Conf.SYNC:
        return  # sync mode runs each task through an in-process "worker": no cluster
    key = f"inbox-recovery:{socket.gethostname()}:{os.getppid()}"
    try:
        if not cache.add(key, proc_name or "worker", timeout=int(LEASE.total_seconds())):
            return
    except Exception:  # noqa: BLE001 - no cache, recover anyway (a duplicate is harmless)
        logger.warning("inbox.recovery_cache_unavailable")
    threading.Thread(target=_recover, name="inbox-recovery", daemon=True).start()


def _recover() -> None:
    from django.db import connections

    from integration.inbox.events import inbound_events_recover

    try:
        enqueued = inbound_events_recover()
        logger.info("inbox.recovered", extra={"enqueued": enqueued})
    except Exception:  # noqa: BLE001 - the every-minute sweep is the safety net
        logger.exception("inbox.recovery_failed")
    finally:
        connections.close_all()


def vendor_probe_task(report_id: int) -> str:
    """The contract probe of one shop (the shop page's "Check against the
    real service"); the report row was created when it was asked for."""
    from integration.models import ProbeReport
    from integration.vendors.probe import probe_run

    report = ProbeReport.objects.select_related("shop").filter(pk=report_id).first()
    if report is None or report.finished_at is not None:
        return "gone"
    probe_run(report=report)
    return f"{report.count('holds')}/{len(report.lines)} hold"
