"""Vendor ids numbered per account, safely under concurrent creates.

Both vendors number records per account (every HDE system has its own
ticket 1; RetailCRM ids are the account's). Taking "the current maximum plus
one" collides when two requests create at once on PostgreSQL (several web
processes, or one threaded server): both read the same maximum, one loses
the unique constraint and the vendor would have answered a 500 it never
answers. So each (account, kind) has a counter row, and `allocate()` locks
that row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's IMMEDIATE
transactions already serialise writers) for the rest of the caller's
transaction. Creates of one kind in one account queue on that row; nothing
else does.

The counter never goes below the largest id actually stored, because seeds
and tests bulk-insert rows with explicit ids without touching it: a stale
counter heals on the next allocation (read under the same lock).
"""

from django.db import IntegrityError, transaction
from django.db.models import Max


def allocate(sequence_model, *, account, kind: str, rows, field: str, count: int = 1,
             floor: int = 0) -> int:
    """Reserve `count` consecutive ids of `kind` in `account` and return the
    first. `rows` is the queryset of existing records of that kind (their
    `field` holds the vendor id); ids start above `floor`.

    Call it inside the transaction that inserts the rows, so the lock lasts
    until they are committed; called outside one it still hands out distinct
    ids (the counter is authoritative), only without queueing the inserts.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    with transaction.atomic():
        for _attempt in range(10):
            sequence = (sequence_model.objects.select_for_update()
                        .filter(account=account, kind=kind).first())
            if sequence is None:
                try:
                    # A new row is ours (locked) until our transaction ends;
                    # a concurrent creator waits on the unique index, then
                    # fails and locks the committed row on its next attempt.
                    with transaction.atomic():
                        sequence = sequence_model.objects.create(account=account, kind=kind,
                                                                 last=0)
                except IntegrityError:
                    continue
            stored = rows.aggregate(top=Max(field))["top"] or 0
            first = max(sequence.last, stored, floor) + 1
            sequence.last = first + count - 1
            sequence.save(update_fields=["last"])
            return first
    raise IntegrityError(f"could not lock the {kind} counter of account {account.pk}")
