"""Keeping a lease alive while work runs.

Why: a lease must be short so that a killed worker's claim lapses in seconds
(a dead process cannot release anything), yet a live job may legitimately run
for up to the task time limit (HDE throttled, RetailCRM slow). Both hold when
the lease is short and the process that holds it renews it on a heartbeat:
a live holder keeps it, a dead one stops renewing and loses it within one
lease. The heartbeat is a daemon thread so the job itself needs no hooks; it
stops when the work ends, when a renewal finds the lease taken by someone
else, or after `limit` seconds (past the task time limit the worker is being
killed anyway, and a stuck job must not hold its claim forever).
"""

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from django.db import connections

logger = logging.getLogger("integration.leases")


@contextmanager
def lease_kept(renew: Callable[[], bool], *, every: float, limit: float | None = None,
               name: str = "lease"):
    """Call `renew()` every `every` seconds while the block runs.

    `renew` returns False when the lease is no longer ours (it lapsed and
    another worker took it): renewing stops, the block is not interrupted
    (its writes are keyed side effects, so finishing is harmless). The
    thread's database connection is closed when it ends.
    """
    stop = threading.Event()

    def beat():
        started = time.monotonic()
        try:
            while not stop.wait(every):
                if limit is not None and time.monotonic() - started > limit:
                    logger.warning("lease.renewal_stopped_at_limit", extra={"lease": name})
                    return
                try:
                    if not renew():
                        logger.warning("lease.lost", extra={"lease": name})
                        return
                except Exception:  # noqa: BLE001 - a failed beat is retried on the next one
                    logger.exception("lease.renewal_failed", extra={"lease": name})
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"{name}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
