"""Pooled database connections are handed back while a thread waits.

Why: with Django's connection pool (PostgreSQL, `OPTIONS["pool"]`), a
connection stays checked out by its thread until the thread closes it, which
for a job or a fan-out thread is at its very end. A thread waiting on a
vendor then holds a pooled connection for nothing, for as long as the vendor
takes (up to the read timeout). A few slow round-trips at once empty the
pool, and whatever else needs a connection waits for one: in the suite, the
emulator serving those very requests from the same process could not get
one, so every request timed out together (seen in CI on PostgreSQL with four
test processes, each with a pool of 15).

So a thread gives its pooled connection back before it waits on the network
or on a throttle slot; its next query takes one from the pool again, which
is cheap. A connection inside a transaction is kept (closing it would break
the transaction), and so is an unpooled one: reconnecting it would cost a
new server process for nothing, since it takes no slot from anyone.
"""

from django.db import connections


def pooled_connections_release() -> int:
    """Hand this thread's idle pooled connections back; returns how many."""
    released = 0
    for connection in connections.all(initialized_only=True):
        if (getattr(connection, "pool", None) is None or connection.connection is None
                or connection.in_atomic_block):
            continue
        connection.close()
        released += 1
    return released
