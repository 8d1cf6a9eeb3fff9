"""Idempotent side effects: do a vendor write at most once per key.

The key (e.g. `ticket:42:rcrm_note`) is recorded as `started` *before* the
call and `done` with the vendor's id after it. A retry that finds `done`
returns the stored id; one that finds `started` (the worker died between the
call and the record) first asks `find_existing` whether the vendor already
has the result (e.g. a note containing the ticket marker) and only then
repeats the call. Without `find_existing` a `started` effect is repeated:
fine for writes that are idempotent in themselves (a PUT of the same values).
"""

from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from integration.models import SideEffect, SideEffectState


def side_effect_once(*, shop, key: str, perform: Callable[[], object],
                     find_existing: Callable[[], object | None] | None = None) -> str:
    """Run `perform` once for (shop, key); return the stored result id."""
    try:
        with transaction.atomic():
            effect = SideEffect.objects.create(shop=shop, key=key)
    except IntegrityError:
        effect = SideEffect.objects.get(shop=shop, key=key)
        if effect.state == SideEffectState.DONE:
            return effect.result
        existing = find_existing() if find_existing else None
        if existing is not None:
            return _done(effect, existing)
    return _done(effect, perform())


def _done(effect: SideEffect, result) -> str:
    effect.state = SideEffectState.DONE
    effect.result = "" if result is None else str(result)[:200]
    effect.done_at = timezone.now()
    effect.save(update_fields=["state", "result", "done_at"])
    return effect.result


def side_effect_done(*, shop, key: str) -> bool:
    return SideEffect.objects.filter(shop=shop, key=key, state=SideEffectState.DONE).exists()
