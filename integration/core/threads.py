"""Threads for vendor requests that may run side by side (the customer
lookup's searches, a client's fallback forms of one search).

Each pool thread gives its database connection back when its call ends
(the clients write their call log through the ORM), so threads never leak
connections.

Two pools: `threaded` for work started by a request or a job, and
`threaded_inner` for requests a call already running in a pool thread fans
out (a client trying several forms of a phone at once). A task that waits on
tasks of its own pool can starve it when the pool is full; the inner pool
keeps the two levels apart.
"""

from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

from django.db import connections

from integration.core.db_waits import pooled_connections_release

_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="portal")
_INNER_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="portal-inner")


def _closing(fn, args, kwargs):
    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()
    return run


def threaded(fn, *args, **kwargs) -> Future:
    """Run `fn(*args, **kwargs)` in a pool thread; the future holds its
    result or its exception."""
    return _POOL.submit(_closing(fn, args, kwargs))


def threaded_inner(fn, *args, **kwargs) -> Future:
    """`threaded`, for calls made from inside a pool thread (see the module
    docstring)."""
    return _INNER_POOL.submit(_closing(fn, args, kwargs))


def wait_on(futures, *, timeout: float):
    """`concurrent.futures.wait` for a thread that fanned work out: its own
    pooled database connection is handed back first, since the threads it
    waits on need connections of their own (integration.core.db_waits)."""
    pooled_connections_release()
    return futures_wait(futures, timeout=timeout)


def map_side_by_side(fn, items, *, workers: int = 4) -> list:
    """`[fn(item) for item in items]`, `workers` at a time, in order.

    For a screen that needs many independent reads (the dry run's customer
    contexts). Its own short-lived pool, a third level: each `fn` may fan out
    into `threaded`, which it must not wait on from inside that same pool."""
    items = list(items)
    if len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)),
                            thread_name_prefix="portal-outer") as pool:
        return list(pool.map(lambda item: _closing(fn, (item,), {})(), items))
