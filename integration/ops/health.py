"""Health at a glance: one row per shop, and activity per hour.

Why aggregates: an agency may run dozens of shops, and the dashboard must
stay a handful of queries whatever their number (one per source: shops with
their connections, events, API calls, widget durations, rate-limit rows, and
two for the hourly chart), never a query per shop.
"""

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from integration.models import (
    ApiCall,
    AuthFailure,
    EventState,
    InboundEvent,
    OrderWatch,
    Provider,
    RateLimitState,
    VendorFact,
    WidgetRequest,
)

WINDOW = timedelta(hours=24)
BACKLOG_STATES = (EventState.PENDING, EventState.PROCESSING)
# Order-watch polls in a row without progress before the health says so.
STALLED_POLLS = 3


@dataclass
class Headroom:
    """How much of our budget for a vendor account is free right now."""

    key: str
    limit: int
    used: int
    vendor_remaining: int | None = None
    banned_until: datetime | None = None

    @property
    def free(self) -> int:
        free = max(0, self.limit - self.used)
        if self.vendor_remaining is not None:
            free = min(free, self.vendor_remaining)
        return free

    @property
    def banned(self) -> bool:
        return self.banned_until is not None


@dataclass
class ShopHealth:
    shop: object
    retailcrm: object | None
    hde: object | None
    last_event_at: datetime | None = None
    backlog: int = 0
    dead_24h: int = 0
    failed_calls_24h: int = 0
    calls_24h: int = 0
    widget_p95_ms: int | None = None
    widget_count: int = 0
    retailcrm_rate: Headroom | None = None
    hde_rate: Headroom | None = None
    # Lines a person reads, in the current language: what works differently
    # for this shop (features off, vendor answers tolerated, a stalled poll).
    notices: list[str] = field(default_factory=list)
    # Webhooks refused for presenting a replaced secret (a vendor still
    # sending the old one after a reissue), and when the last one was.
    refused_24h: int = 0
    refused_last_at: datetime | None = None

    @property
    def connections(self) -> list[tuple[str, object]]:
        return [("retailcrm", self.retailcrm), ("hde", self.hde)]

    @property
    def problems(self) -> list[str]:
        found = [c.status for c in (self.retailcrm, self.hde) if c and c.status != "ok"]
        if self.hde_rate and self.hde_rate.banned:
            found.append("banned")
        if self.dead_24h:
            found.append("dead")
        return found


def health_notices(*, watch=None, facts: dict | None = None, refused: int = 0,
                   refused_last_at: datetime | None = None, zone: str = "",
                   features_off: bool = True) -> list[str]:
    """What a person should know about one shop's integration, in words:
    a stalled order watch, features a key's missing rights switch off, and
    vendor answers the portal now works around (docs/vendors/
    open-questions.md). `facts`: (provider, name) → value, current ones only
    (integration.vendors.facts.facts_of). `features_off=False`: the page
    shows the features that are off in a box of its own (the shop page)."""
    from integration.vendors import facts as known

    facts = facts or {}
    lines = []
    if refused:
        from integration.core.formatting import shop_datetime_zoned

        lines.append(ngettext(
            "%(n)d webhook was refused in the last 24 hours: it came with a secret that has "
            "been replaced (the last at %(when)s). Give HDE and RetailCRM the new secrets: "
            "the shop's set-up shows where.",
            "%(n)d webhooks were refused in the last 24 hours: they came with a secret that "
            "has been replaced (the last at %(when)s). Give HDE and RetailCRM the new "
            "secrets: the shop's set-up shows where.", refused) % {
            "n": refused, "when": shop_datetime_zoned(refused_last_at, zone)})
    if watch is not None and watch.enabled and watch.polls_without_progress >= STALLED_POLLS:
        lines.append(ngettext(
            "Order watch is not moving: the last poll made no progress.",
            "Order watch is not moving: the last %(n)d polls made no progress (RetailCRM "
            "failed, or said more changes follow but none could be read).",
            watch.polls_without_progress) % {"n": watch.polls_without_progress})
    rights = facts.get((Provider.RETAILCRM, known.RC_RIGHTS)) or {}
    off = [r for r in known.RIGHT_FEATURES
           if r in rights.get("missing", []) or r in rights.get("unconfirmed", [])]
    if off and features_off:
        lines.append(gettext("The RetailCRM key lacks rights, so these features are off: "
                             "%(features)s.") % {
            "features": "; ".join(str(known.RIGHT_FEATURES[r]) for r in off)})
    settings_read = facts.get((Provider.RETAILCRM, known.RC_SETTINGS)) or {}
    if settings_read.get("answer") == known.UNAVAILABLE:
        lines.append(gettext("RetailCRM does not let this key read the account settings: "
                             "times are read in the shop's time zone."))
    tags = facts.get((Provider.HELPDESKEDDY, known.HDE_TAGS_ON_UPDATE)) or {}
    if tags.get("answer") in (known.TAGS_REFUSED, known.TAGS_IGNORED):
        lines.append(gettext("Tags not supported: HelpDeskEddy does not apply tags in ticket "
                             "updates, so the portal no longer sends them (priority and fields "
                             "are still written)."))
    created = facts.get((Provider.HELPDESKEDDY, known.HDE_TAGS_ON_CREATE)) or {}
    if created.get("answer") in (known.TAGS_REFUSED, known.TAGS_IGNORED):
        lines.append(gettext("HelpDeskEddy does not apply tags on new tickets: proactive "
                             "tickets are created without them."))
    return lines


@dataclass
class HourBucket:
    start: datetime
    events: int = 0
    api_calls: int = 0
    failed_calls: int = 0


@dataclass
class Activity:
    buckets: list[HourBucket] = field(default_factory=list)


def percentile(values: list[int], q: float) -> int | None:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _headroom(state: RateLimitState | None, key: str, *, limit: int, window: float,
              now_epoch: float, now: datetime) -> Headroom:
    if state is None:
        return Headroom(key=key, limit=limit, used=0)
    used = sum(1 for t in (state.hits or []) if t > now_epoch - window)
    remaining = None
    if (state.remaining is not None and state.remaining_at is not None
            and (now - state.remaining_at).total_seconds() < window):
        remaining = state.remaining
    banned = state.banned_until if state.banned_until and state.banned_until > now else None
    return Headroom(key=key, limit=limit, used=used, vendor_remaining=remaining,
                    banned_until=banned)


def shops_health(*, shops, now: datetime | None = None) -> list[ShopHealth]:
    """Health rows for a queryset of shops (already scoped to the user)."""
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient
    from integration.vendors.retailcrm import RetailCrmClient

    now = now or timezone.now()
    since = now - WINDOW
    shop_list = list(shops.select_related("agency", "retailcrm", "helpdeskeddy")
                     .order_by("agency__name", "name"))
    ids = [shop.pk for shop in shop_list]
    rows = {shop.pk: ShopHealth(shop=shop, retailcrm=getattr(shop, "retailcrm", None),
                                hde=getattr(shop, "helpdeskeddy", None)) for shop in shop_list}
    for item in (InboundEvent.objects.filter(shop_id__in=ids).values("shop_id").annotate(
            last=Max("created_at"),
            backlog=Count("id", filter=Q(state__in=BACKLOG_STATES)),
            dead=Count("id", filter=Q(state=EventState.DEAD, updated_at__gte=since)))):
        row = rows[item["shop_id"]]
        row.last_event_at, row.backlog, row.dead_24h = item["last"], item["backlog"], item["dead"]
    for item in (ApiCall.objects.filter(shop_id__in=ids, created_at__gte=since, created_at__lt=now)
                 .values("shop_id").annotate(total=Count("id"),
                                             failed=Count("id", filter=~Q(outcome="ok")))):
        rows[item["shop_id"]].calls_24h = item["total"]
        rows[item["shop_id"]].failed_calls_24h = item["failed"]
    for item in (AuthFailure.objects.filter(shop_id__in=ids, created_at__gte=since,
                                            created_at__lt=now)
                 .values("shop_id").annotate(total=Count("id"), last=Max("created_at"))):
        rows[item["shop_id"]].refused_24h = item["total"]
        rows[item["shop_id"]].refused_last_at = item["last"]
    durations = defaultdict(list)
    for shop_id, duration in WidgetRequest.objects.filter(
            shop_id__in=ids, created_at__gte=since).values_list("shop_id", "duration_ms"):
        durations[shop_id].append(duration)
    for shop_id, values in durations.items():
        rows[shop_id].widget_p95_ms = percentile(values, 95)
        rows[shop_id].widget_count = len(values)

    _notices(rows)
    knobs = settings.INTEGRATION
    keys = {}
    for row in rows.values():
        if row.retailcrm:
            keys[row.shop.pk, "rc"] = RetailCrmClient.account_key_for(row.retailcrm)
        if row.hde:
            keys[row.shop.pk, "hde"] = HelpDeskEddyClient.account_key_for(row.hde)
    states = {s.key: s for s in RateLimitState.objects.filter(key__in=set(keys.values()))}
    now_epoch = time.time()
    for (shop_id, kind), key in keys.items():
        if kind == "rc":
            rows[shop_id].retailcrm_rate = _headroom(
                states.get(key), key, limit=knobs["RETAILCRM_RATE_LIMIT"],
                window=knobs["RETAILCRM_RATE_WINDOW"], now_epoch=now_epoch, now=now)
        else:
            rows[shop_id].hde_rate = _headroom(
                states.get(key), key, limit=knobs["HDE_RATE_LIMIT"],
                window=knobs["HDE_RATE_WINDOW"], now_epoch=now_epoch, now=now)
    return [rows[shop.pk] for shop in shop_list]


def _notices(rows: dict[int, ShopHealth]) -> None:
    """Health lines for every row, in two queries whatever the number of
    shops (order watches, vendor facts)."""
    ids = list(rows)
    watches = {w.shop_id: w for w in OrderWatch.objects.filter(shop_id__in=ids)}
    found = defaultdict(dict)
    for fact in VendorFact.objects.filter(shop_id__in=ids).values(
            "shop_id", "provider", "name", "value", "identity"):
        row = rows[fact["shop_id"]]
        connection = row.retailcrm if fact["provider"] == Provider.RETAILCRM else row.hde
        if connection is not None and connection.identity == fact["identity"]:
            found[fact["shop_id"]][fact["provider"], fact["name"]] = fact["value"] or {}
    for shop_id, row in rows.items():
        row.notices = health_notices(watch=watches.get(shop_id), facts=found.get(shop_id),
                                     refused=row.refused_24h,
                                     refused_last_at=row.refused_last_at, zone=row.shop.timezone)


def hourly_activity(*, shops, now: datetime | None = None, window: timedelta = WINDOW
                    ) -> Activity:
    """Events received and API calls made per hour, oldest first, over the
    same rolling window as the health rows (`shops_health`: from `now -
    window`, up to but excluding `now`), so that the chart's bars add up to
    the rows' "last 24 h" figures read at the same instant.

    The bars are clock hours; the oldest is partial and starts at the
    window's start (labelled with that time, e.g. 14:37, so no two bars
    read alike), the newest ends at `now`: 25 bars unless the window starts
    on the hour."""
    now = now or timezone.now()
    since = now - window
    zone = timezone.get_current_timezone()
    first = since.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    last = (now - timedelta(microseconds=1)).astimezone(zone).replace(
        minute=0, second=0, microsecond=0)
    count = round((last - first) / timedelta(hours=1)) + 1
    starts = [first + timedelta(hours=n) for n in range(count)]
    buckets = {start: HourBucket(start=max(start, since)) for start in starts}
    for item in (InboundEvent.objects.filter(shop__in=shops, created_at__gte=since,
                                             created_at__lt=now)
                 .annotate(hour=TruncHour("created_at")).values("hour")
                 .annotate(n=Count("id"))):
        if item["hour"] in buckets:
            buckets[item["hour"]].events = item["n"]
    for item in (ApiCall.objects.filter(shop__in=shops, created_at__gte=since, created_at__lt=now)
                 .annotate(hour=TruncHour("created_at")).values("hour")
                 .annotate(n=Count("id"), failed=Count("id", filter=~Q(outcome="ok")))):
        if item["hour"] in buckets:
            buckets[item["hour"]].api_calls = item["n"]
            buckets[item["hour"]].failed_calls = item["failed"]
    return Activity(buckets=[buckets[start] for start in starts])
