"""Keep log tables bounded: rows older than LOG_RETENTION_DAYS go, in
batches so a large purge never holds a long lock."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from integration.models import ApiCall, EventState, InboundEvent

BATCH = 1000


def _purge(queryset) -> int:
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return deleted
        deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]


def logs_purge(*, now=None) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.INTEGRATION["LOG_RETENTION_DAYS"])
    deleted = _purge(ApiCall.objects.filter(created_at__lt=cutoff))
    finished = [EventState.DONE, EventState.IGNORED, EventState.DEAD]
    deleted += _purge(InboundEvent.objects.filter(created_at__lt=cutoff, state__in=finished))
    return deleted
