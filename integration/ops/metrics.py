"""Prometheus metrics for whoever runs the portal (`GET /metrics`).

Two kinds of numbers, for two reasons:

- **Things that happen** (a webhook answered, a vendor call, a throttle
  wait, a ban, a widget answer, an HTTP response) are counters and
  histograms kept by the process where they happen. gunicorn workers and
  django-q2 workers are separate processes, so with `PROMETHEUS_MULTIPROC_DIR`
  set (production) each process writes its values to its own memory-mapped
  file in that directory and the scrape adds every file up
  (prometheus-client's multiprocess mode): the web process that answers the
  scrape reports the workers' vendor calls too, and a process that exits
  keeps its counts (its file stays). Without the directory (development, the
  test suite) each process reports only itself.
- **Things that are** (events per state, the oldest due event, connections
  per status, active bans) are read from the database at scrape time: the
  database already holds the one true answer for every process on every
  machine, and a gauge kept in memory would be wrong after any restart.

Why not counters in the database or Redis: a row update per vendor call
would put a write (a lock, on SQLite the one writer) on every call's path,
and Redis is optional. Why not rows counted at scrape time (`ApiCall`,
`WidgetRequest`): retention deletes them hourly, and a count that drops
reads to Prometheus as a reset, i.e. a burst of made-up traffic.

Labels never carry a tenant: no shop name, public id, account URL, e-mail,
key or vendor id. The vendor endpoint is the path template
(`/api/v5/customers/{id}`) without the query. Per-shop health already has a
screen (the console's dashboard) and its own alerts (e-mails to the agency);
a per-shop label would multiply every series by the number of shops and
hand the scraper a list of tenants.

Recording never raises: a metric that cannot be written (a full disk under
the multiprocess directory) must not fail a webhook or a vendor call; it is
logged once per process.
"""

import json
import logging
import re
from functools import wraps

from django.conf import settings
from django.db.models.signals import post_save
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger("integration.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
# `_created` series (a timestamp per label set) only double the output; the
# multiprocess mode has none, so neither mode shows them.
disable_created_metrics()

# The process-local registry. In multiprocess mode the values live in files
# and the scrape reads the directory instead (see `exposition`).
REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS = Counter(
    "portal_webhooks", "Webhook deliveries answered, by sender and result.",
    ["source", "result"], registry=REGISTRY)
VENDOR_CALLS = Counter(
    "portal_vendor_calls", "Vendor API attempts (one per try, retries included).",
    ["provider", "method", "endpoint", "status", "outcome"], registry=REGISTRY)
VENDOR_CALL_SECONDS = Histogram(
    "portal_vendor_call_seconds", "Vendor API attempt duration.",
    ["provider", "method", "endpoint"], registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20))
THROTTLE_WAITS = Counter(
    "portal_throttle_waits", "Times a caller waited for a slot in a vendor budget.",
    ["provider", "priority"], registry=REGISTRY)
THROTTLE_WAIT_SECONDS = Histogram(
    "portal_throttle_wait_seconds", "Length of each wait for a vendor budget slot.",
    ["provider", "priority"], registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
THROTTLE_REFUSALS = Counter(
    "portal_throttle_refusals", "Calls not sent: account banned, or no slot within the "
    "longest allowed wait.", ["provider", "reason"], registry=REGISTRY)
VENDOR_BANS = Counter(
    "portal_vendor_bans", "Vendor bans recorded (HDE answers 401 Ban above its limit).",
    ["provider"], registry=REGISTRY)
WIDGET_SECONDS = Histogram(
    "portal_widget_request_seconds", "Widget answers (card page and JSON API), as recorded "
    "in the widget request log.", ["channel", "cache", "outcome"], registry=REGISTRY,
    buckets=(0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10))
HTTP_RESPONSES = Counter(
    "portal_http_responses", "HTTP responses of the portal, by area and status class.",
    ["area", "status"], registry=REGISTRY)

PROVIDERS = ("retailcrm", "helpdeskeddy")
# The first path segment names the area; anything else is "other", so a
# scanner probing random paths adds no series.
AREAS = frozenset({"admin", "api", "widget", "hooks", "extension", "sandbox", "metrics",
                   "healthz", "static", "accounts", "i18n"})
WEBHOOK_RESULTS = {
    202: "accepted", 400: "malformed", 401: "bad_secret", 404: "unknown_shop",
    405: "wrong_method", 413: "too_large", 415: "unsupported_type", 429: "throttled",
}

_failed = False


def _safely(record):
    """Run a recording function; never let a metric break the caller."""
    @wraps(record)
    def run(*args, **kwargs):
        global _failed
        try:
            record(*args, **kwargs)
        except Exception:  # noqa: BLE001 - metrics are never worth a failed request
            if not _failed:
                _failed = True
                logger.exception("metrics.record_failed")
    return run


# --- Labels ---------------------------------------------------------------

_KEEP_SEGMENT = re.compile(r"[a-z_\-]{1,40}|v[0-9]{1,2}")


def endpoint_template(path: str) -> str:
    """The vendor path as a template: from `/api/` on (a base path in the
    account URL, e.g. an account code, is dropped; a path without `/api/`
    is `{other}`), no query, and every
    segment that is not a plain lower-case word (ids, order numbers, hashed
    e-mails, anything unexpected) replaced by `{id}`. A bounded set of
    values whatever the vendor or the caller puts in a path."""
    path = path.split("?", 1)[0]
    start = path.find("/api/")
    if start < 0:  # not a vendor API path: nothing of it is known to be safe
        return "{other}"
    path = path[start:]
    segments = [s if (not s or _KEEP_SEGMENT.fullmatch(s)) else "{id}"
                for s in path.split("/")][:8]
    return "/".join(segments) or "/"


def provider_of(account_key: str) -> str:
    """The provider part of a throttle key (`provider:host:identity`): the
    host and the identity stay out of the labels."""
    provider = account_key.split(":", 1)[0]
    return provider if provider in PROVIDERS else "other"


# --- Recording (called where things happen) --------------------------------

@_safely
def vendor_call_observe(*, provider: str, method: str, path: str, status: int | None,
                        outcome: str, seconds: float) -> None:
    """One vendor attempt, as the call log records it (vendors.base)."""
    endpoint = endpoint_template(path)
    VENDOR_CALLS.labels(provider, method.upper()[:8], endpoint,
                        str(status) if status else "none", outcome[:20]).inc()
    VENDOR_CALL_SECONDS.labels(provider, method.upper()[:8], endpoint).observe(seconds)


@_safely
def throttle_waited(account_key: str, seconds: float, *, interactive: bool) -> None:
    priority = "interactive" if interactive else "background"
    THROTTLE_WAITS.labels(provider_of(account_key), priority).inc()
    THROTTLE_WAIT_SECONDS.labels(provider_of(account_key), priority).observe(seconds)


@_safely
def throttle_refused(account_key: str, reason: str) -> None:
    """reason: "banned" (the account is under a ban) or "exhausted"."""
    THROTTLE_REFUSALS.labels(provider_of(account_key), reason).inc()


@_safely
def ban_recorded(account_key: str) -> None:
    VENDOR_BANS.labels(provider_of(account_key)).inc()


@_safely
def _webhook_answered(source: str, response) -> None:
    result = WEBHOOK_RESULTS.get(response.status_code, "other")
    if result == "accepted":
        try:
            if json.loads(response.content).get("duplicate"):
                result = "duplicate"
        except (ValueError, AttributeError):
            pass
    WEBHOOKS.labels(source, result).inc()


def count_webhook(source: str):
    """Decorator for a webhook receiver: counts every answer it gives (the
    method check included), by sender and result."""
    def wrap(view):
        @wraps(view)
        def counted(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            _webhook_answered(source, response)
            return response
        return counted
    return wrap


@_safely
def _widget_request_saved(sender, instance, created, **kwargs):
    """The widget's own record of an answer (WidgetRequest), read as it is
    written: the same numbers as the console's widget timings, without a
    second clock in the widget code."""
    if not created:
        return
    WIDGET_SECONDS.labels(
        instance.channel if instance.channel in ("page", "api") else "other",
        "hit" if instance.cache_hit else "miss",
        str(instance.outcome)[:20],
    ).observe(instance.duration_ms / 1000)


def connect_signals() -> None:
    """Called once from the app's `ready()`."""
    post_save.connect(_widget_request_saved, sender="integration.WidgetRequest",
                      dispatch_uid="integration.metrics.widget_request")


class ResponseMetricsMiddleware:
    """Counts every response by area and status class (the 5xx rate). First
    in MIDDLEWARE, so it sees what the client gets, errors turned into 500
    pages included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        _response_counted(request.path, response.status_code)
        return response


@_safely
def _response_counted(path: str, status: int) -> None:
    area = path.strip("/").split("/", 1)[0]
    HTTP_RESPONSES.labels(area if area in AREAS else "other", f"{status // 100}xx").inc()


# --- Read at scrape time ---------------------------------------------------

class DatabaseCollector:
    """Gauges from the database: a handful of aggregate queries, whatever
    the number of shops or events."""

    def collect(self):
        from django.db import DatabaseError

        try:
            families = list(self._families())
            ok = 1
        except DatabaseError:
            logger.warning("metrics.database_unavailable", exc_info=True)
            families, ok = [], 0
        yield from families
        up = GaugeMetricFamily("portal_metrics_database_up",
                               "1 when the scrape could read the database.")
        up.add_metric([], ok)
        yield up

    def _families(self):
        from django.db.models import Count, Min, Q
        from django.db.models.functions import Coalesce
        from django.utils import timezone

        from integration.models import (
            EventSource,
            EventState,
            HelpDeskEddyConnection,
            InboundEvent,
            RateLimitState,
            RetailCrmConnection,
        )

        now = timezone.now()
        events = GaugeMetricFamily("portal_events", "Inbound events kept, by source and state.",
                                   labels=["source", "state"])
        counts = {(row["source"], row["state"]): row["n"] for row in
                  InboundEvent.objects.values("source", "state").annotate(n=Count("id"))}
        for source in EventSource.values:
            for state in EventState.values:
                events.add_metric([source, state], counts.get((source, state), 0))
        yield events

        lag = GaugeMetricFamily(
            "portal_events_due_seconds",
            "How long the longest-waiting pending event has been due (0 when none is).",
            labels=["source"])
        due = dict(InboundEvent.objects.filter(state=EventState.PENDING).filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).values(
            "source").annotate(since=Min(Coalesce("next_attempt_at", "created_at"))).values_list(
            "source", "since"))
        for source in EventSource.values:
            since = due.get(source)
            lag.add_metric([source], max(0.0, (now - since).total_seconds()) if since else 0.0)
        yield lag

        connections = GaugeMetricFamily("portal_connections", "Vendor connections by status.",
                                        labels=["provider", "status"])
        for provider, model in (("retailcrm", RetailCrmConnection),
                                ("helpdeskeddy", HelpDeskEddyConnection)):
            by_status = dict(model.objects.values("status").annotate(n=Count("id")).values_list(
                "status", "n"))
            for status in ("ok", "unknown", "failing", "needs_attention"):
                connections.add_metric([provider, status], by_status.pop(status, 0))
            for status, n in by_status.items():
                connections.add_metric([provider, str(status)[:20]], n)
        yield connections

        bans = GaugeMetricFamily("portal_vendor_bans_active",
                                 "Vendor accounts under a ban right now.", labels=["provider"])
        banned = {provider: 0 for provider in PROVIDERS}
        for key in RateLimitState.objects.filter(banned_until__gt=now).values_list(
                "key", flat=True):
            provider = provider_of(key)
            banned[provider] = banned.get(provider, 0) + 1
        for provider, n in banned.items():
            bans.add_metric([provider], n)
        yield bans


def exposition() -> bytes:
    """The text Prometheus scrapes: every process's counters (the
    multiprocess directory, or this process alone), then the database
    gauges."""
    directory = settings.PROMETHEUS_MULTIPROC_DIR
    if directory:
        import os

        from django.core.exceptions import ImproperlyConfigured
        from prometheus_client import multiprocess

        if not os.path.isdir(directory):
            raise ImproperlyConfigured(
                f"PROMETHEUS_MULTIPROC_DIR={directory} is not a directory: the deployment "
                f"creates it (deploy/README.md, Monitoring).")

        from integration.ops.metrics_files import directory_lock

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        with directory_lock(directory, exclusive=False):  # never half-way through a fold
            counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    return counted + generate_latest(database)


# --- Who may scrape --------------------------------------------------------

def scrape_refusal(request) -> int | None:
    """Why this request may not read the metrics, as an HTTP status, or
    None when it may. Decided from the settings and the request's headers
    alone: nothing is counted, read or written before the answer.

    Neither a token nor an address list configured: the endpoint is off
    (404). With an address list, the client (as `client_address` sees it
    behind the documented proxy) must be on it (403); with a token, the
    request must carry it as a bearer token (401). With both, both."""
    import hmac

    from integration.core.client_address import address_in_networks, client_address

    token, allowed = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not allowed:
        return 404
    if allowed and not address_in_networks(client_address(request), allowed):
        return 403
    if token:
        header = request.headers.get("Authorization", "")
        presented = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not presented or not hmac.compare_digest(presented.encode(), token.encode()):
            return 401
    return None
