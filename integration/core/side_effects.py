"""Idempotent side effects: do a vendor write at most once per key.

The key (e.g. `ticket:42:rcrm_note`, or `sender:email:…:rcrm_customer` for
one customer per sender) is recorded as `started` *before* the call and
`done` with the vendor's id after it. The row's unique (shop, key)
constraint decides, on SQLite and PostgreSQL alike and across processes, who
writes; the others never write while the writer may still be writing:

- `done`: the stored id is returned (nothing is written).
- `started` under a live claim (`claimed_until` in the future): someone is
  writing right now. The caller waits for the outcome (polling the row) and
  returns the writer's id. The writer renews its claim on a heartbeat while
  the vendor call runs, so a slow call is waited for, and a killed writer's
  claim lapses within `EFFECT_LEASE`.
- a write whose answer never came (a read timeout: `outcome_unknown`) may
  still land at the vendor after the caller gave up on it. Its claim is then
  kept for `UNKNOWN_OUTCOME_HOLD` instead of being released, so no other
  caller looks (`find_existing`) before the write could have landed and
  writes it a second time (a lost answer to `customers/create` made a second
  customer for one sender).
- `started` with a lapsed or released claim (the writer died, or its call
  failed): the caller takes the claim over with a conditional UPDATE (one
  winner) and first asks `find_existing` whether the vendor already has the
  result (the call reached the vendor, the answer never came back), and only
  then writes. Without `find_existing` the write is repeated: fine for writes
  that are idempotent in themselves (a PUT of the same values).

`fresh_for` bounds how long a `done` result stands for: after it a caller
takes the key over again (looking first), for keys that describe the world
rather than one ticket (a sender's customer may be merged or deleted in
RetailCRM later).
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from integration.core.leases import lease_kept
from integration.models import SideEffect, SideEffectState
from integration.vendors.errors import ApiError

logger = logging.getLogger("integration.side_effects")

# A writer's claim: renewed every EFFECT_RENEW_EVERY seconds while it writes,
# so it lapses at most EFFECT_LEASE after the writer died.
EFFECT_LEASE = timedelta(seconds=20)
EFFECT_RENEW_EVERY = 5.0
# How long a caller waits for another writer's outcome before giving up with
# a retryable error (a live writer's call is bounded by the client timeouts
# and the throttle's longest wait, well under this).
WAIT_LIMIT = 60.0
POLL_SECONDS = 0.1
# How long a write with a lost answer keeps its claim: longer than a vendor
# takes to finish a request its client stopped waiting for (the read timeout
# is 15 s; a request stuck longer than this at the vendor is not expected).
UNKNOWN_OUTCOME_HOLD = timedelta(seconds=60)

_NEW, _TAKEN_OVER, _DONE, _BUSY = "new", "taken_over", "done", "busy"


class SideEffectBusy(ApiError):
    """Another worker is still writing the same change; try again shortly."""

    retryable = True
    outcome = "busy"

    def __init__(self, retry_after: float):
        super().__init__(gettext("Another worker is still making the same change; "
                                 "it will be tried again shortly."))
        self.retry_after = retry_after


def side_effect_once(*, shop, key: str, perform: Callable[[], object],
                     find_existing: Callable[[], object | None] | None = None,
                     fresh_for: timedelta | None = None,
                     wait_limit: float = WAIT_LIMIT) -> str:
    """Run `perform` once for (shop, key); return the stored result id."""
    give_up = time.monotonic() + wait_limit
    status, effect = _acquire(shop, key, fresh_for)
    while status == _BUSY:
        if time.monotonic() >= give_up:
            left = (effect.claimed_until - timezone.now()).total_seconds()
            raise SideEffectBusy(retry_after=max(1.0, left))
        time.sleep(POLL_SECONDS)
        status, effect = _examine(shop, key, fresh_for)
    if status == _DONE:
        return effect.result

    held = {"until": effect.claimed_until}

    def renew() -> bool:
        until = timezone.now() + EFFECT_LEASE
        renewed = SideEffect.objects.filter(
            pk=effect.pk, state=SideEffectState.STARTED, claimed_until=held["until"],
        ).update(claimed_until=until)
        if renewed:
            held["until"] = until
        return bool(renewed)

    try:
        with lease_kept(renew, every=EFFECT_RENEW_EVERY, name=f"effect {key}",
                        limit=float(settings.Q_CLUSTER.get("timeout") or 120)):
            existing = find_existing() if (status == _TAKEN_OVER and find_existing) else None
            result = existing if existing is not None else perform()
    except BaseException as failure:
        _release(effect, held["until"],
                 hold=UNKNOWN_OUTCOME_HOLD if getattr(failure, "outcome_unknown", False)
                 else None)
        raise
    return _done(effect, result)


def _acquire(shop, key: str, fresh_for) -> tuple[str, SideEffect]:
    """Record the key as ours, or learn who has it."""
    try:
        with transaction.atomic():
            effect = SideEffect.objects.create(shop=shop, key=key,
                                               claimed_until=timezone.now() + EFFECT_LEASE)
        return _NEW, effect
    except IntegrityError:
        return _examine(shop, key, fresh_for)


def _examine(shop, key: str, fresh_for) -> tuple[str, SideEffect]:
    """Done, busy (a live claim), or ours now (a lapsed claim or a stale
    result, taken over by one conditional UPDATE: two callers can't both win)."""
    effect = SideEffect.objects.filter(shop=shop, key=key).first()
    if effect is None:  # purged between the two statements
        return _acquire(shop, key, fresh_for)
    now = timezone.now()
    if effect.state == SideEffectState.DONE:
        if fresh_for is None or effect.done_at is None or effect.done_at >= now - fresh_for:
            return _DONE, effect
        claimable = Q(state=SideEffectState.DONE, done_at=effect.done_at)
    elif effect.claimed_until is not None and effect.claimed_until > now:
        return _BUSY, effect
    elif effect.claimed_until is None:
        claimable = Q(state=SideEffectState.STARTED, claimed_until__isnull=True)
    else:
        claimable = Q(state=SideEffectState.STARTED, claimed_until=effect.claimed_until)
    until = now + EFFECT_LEASE
    if SideEffect.objects.filter(claimable, pk=effect.pk).update(
            state=SideEffectState.STARTED, claimed_until=until, done_at=None):
        effect.state, effect.claimed_until, effect.done_at = SideEffectState.STARTED, until, None
        return _TAKEN_OVER, effect
    effect.claimed_until = until  # another caller won just now: wait for it
    return _BUSY, effect


def _release(effect: SideEffect, until, *, hold: timedelta | None = None) -> None:
    """The write failed here (or the worker is stopping): give the claim up,
    so the next attempt takes over at once and looks before writing; or,
    when the write may still land (`hold`), keep it that long first."""
    try:
        SideEffect.objects.filter(pk=effect.pk, state=SideEffectState.STARTED,
                                  claimed_until=until).update(
            claimed_until=timezone.now() + hold if hold else None)
    except Exception:  # noqa: BLE001 - the claim lapses on its own within EFFECT_LEASE
        logger.warning("side_effect.release_failed", extra={"key": effect.key})


def _done(effect: SideEffect, result) -> str:
    effect.state = SideEffectState.DONE
    effect.result = "" if result is None else str(result)[:200]
    effect.done_at = timezone.now()
    effect.claimed_until = None
    effect.save(update_fields=["state", "result", "done_at", "claimed_until"])
    return effect.result


def side_effect_done(*, shop, key: str) -> bool:
    return SideEffect.objects.filter(shop=shop, key=key, state=SideEffectState.DONE).exists()
