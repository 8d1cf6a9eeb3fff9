"""Keep log tables bounded: rows older than the configured days go, in
batches so a large purge never holds a long lock.

Settings (portal/settings.py INTEGRATION, from the environment; the table in
deploy/README.md "Personal data"):
- LOG_RETENTION_DAYS (default 30): API calls (which hold ids, and personal
  values only as keyed hashes: integration.vendors.call_log; rows older than
  that rule were rewritten by migration 0017), widget requests and *finished*
  inbound events (done, ignored, dead). Pending, processing and parked events
  are never purged, however old: someone may still need to act on them.
- AUTH_FAILURE_RETENTION_HOURS (default 24): refused webhook attempts only
  matter inside the few minutes of services.secrets.FAILURE_WINDOW, and they
  hold client addresses; a day keeps them for a look after an incident.
  The same holds for django-axes' refused-login records, which are kept at
  least as long as the lock-out window they count towards.
- Throttle rows (RateLimitState) untouched for a day and not banned: one
  row per vendor account *and key*, so every rotated key, deleted shop or
  moved account would otherwise leave its row forever. A row still in use
  is recreated by the throttle on the next request, with nothing lost (its
  window and any ban ended long ago).
"""

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integration.models import (
    ApiCall,
    AuthFailure,
    EventState,
    InboundEvent,
    RateLimitState,
    WidgetRequest,
)

BATCH = 1000
# Far longer than any vendor window (HDE's 60 s) or ban (20 minutes).
THROTTLE_IDLE = timedelta(days=1)


def purge_in_batches(queryset) -> int:
    """Delete a queryset BATCH rows at a time, so no purge holds a long lock."""
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return deleted
        deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]


def _setting(name: str, default: int) -> int:
    return int(settings.INTEGRATION.get(name, default))


def logs_purge(*, now=None) -> int:
    """Delete expired log rows; return how many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=_setting("LOG_RETENTION_DAYS", 30))
    deleted = purge_in_batches(ApiCall.objects.filter(created_at__lt=cutoff))
    finished = [EventState.DONE, EventState.IGNORED, EventState.DEAD]
    deleted += purge_in_batches(
        InboundEvent.objects.filter(created_at__lt=cutoff, state__in=finished))
    deleted += purge_in_batches(WidgetRequest.objects.filter(created_at__lt=cutoff))
    auth_cutoff = now - timedelta(hours=_setting("AUTH_FAILURE_RETENTION_HOURS", 24))
    deleted += purge_in_batches(AuthFailure.objects.filter(created_at__lt=auth_cutoff))
    login_cutoff = min(auth_cutoff, now - settings.AXES_COOLOFF_TIME)
    deleted += purge_in_batches(AccessAttempt.objects.filter(attempt_time__lt=login_cutoff))
    idle = now - THROTTLE_IDLE
    deleted += purge_in_batches(RateLimitState.objects.filter(
        updated_at__lt=idle).filter(Q(remaining_at__isnull=True) | Q(remaining_at__lt=idle))
        .filter(Q(banned_until__isnull=True) | Q(banned_until__lt=now)))
    return deleted
