"""What the sync-log screens may show and export, and how.

Why a module of its own: the log rows were redacted when they were written
(integration.vendors.base.redact), but a key can change after a row was
stored, and an inbound payload is whatever the vendor sent. So everything a
screen or a CSV shows passes through here once more: the shop's *current*
vendor keys are blanked, credential-looking JSON keys are blanked, texts are
cut to an excerpt. The CSV is streamed row by row from the (already
tenant-scoped) queryset, so a month of logs never sits in memory.
"""

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

from integration.models import HelpDeskEddyConnection, RetailCrmConnection
from integration.vendors.base import redact
from integration.vendors.errors import shown_text

EXCERPT_CHARS = 1000
SECRET_WORDS = ("key", "secret", "token", "password", "authorization", "signature")
# Spreadsheet programs run cells starting with these as formulas (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def shop_secret_values(shop_ids: Iterable[int]) -> dict[int, list[str]]:
    """The current API keys of the given shops' connections, to blank them
    wherever they might show up. Decrypts once per shop, not once per row."""
    shop_ids = set(shop_ids)
    found: dict[int, list[str]] = {shop_id: [] for shop_id in shop_ids}
    for model in (RetailCrmConnection, HelpDeskEddyConnection):
        for conn in model.objects.filter(shop_id__in=shop_ids):
            if conn.api_key:
                found[conn.shop_id].append(conn.api_key)
    return found


_memo: ContextVar[dict | None] = ContextVar("log_export_secrets", default=None)


@contextmanager
def secrets_memo():
    """Within one page render, look each shop's keys up once (a changelist
    of 100 calls would otherwise decrypt the same keys 100 times). Scoped to
    the render, so a key changed a second later is already the one blanked."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def shop_secrets(shop_id: int) -> list[str]:
    memo = _memo.get()
    if memo is not None and shop_id in memo:
        return memo[shop_id]
    value = shop_secret_values([shop_id])[shop_id]
    if memo is not None:
        memo[shop_id] = value
    return value


def _blank_secret_keys(value):
    if isinstance(value, dict):
        return {
            k: "[redacted]" if any(w in str(k).lower() for w in SECRET_WORDS)
            else _blank_secret_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_blank_secret_keys(v) for v in value]
    return value


def text_excerpt(text: str, secrets: list[str], limit: int = EXCERPT_CHARS) -> str:
    """A stored text (error, path) made safe to show: keys blanked, cut short."""
    cleaned = redact(text or "", secrets)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def payload_excerpt(payload, secrets: list[str], limit: int = EXCERPT_CHARS, *,
                    masked: bool = False) -> str:
    """An inbound payload as indented JSON with credential-like fields and
    the shop's keys blanked (and contact details, for a viewer)."""
    text = json.dumps(_blank_secret_keys(payload or {}), ensure_ascii=False, indent=2,
                      sort_keys=True, default=str)
    if masked:
        text = mask_contacts(text)
    return text_excerpt(text, secrets, limit)


# -- what a viewer sees (integration.tenancy.access: no personal data) ---------
EMAIL_RE = re.compile(r"[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.UNICODE)
PHONE_RE = re.compile(r"(?<![\w%])(?:\+|%2B)?\d[\d\s().\-+]{7,}\d(?!\w)", re.IGNORECASE)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _phone_mask(match) -> str:
    text = match.group(0)
    if sum(c.isdigit() for c in text) < 10 or DATE_RE.match(text):
        return text  # an id, a timestamp: not a phone number
    return "[phone]"


def mask_contacts(text: str) -> str:
    """E-mail addresses and phone numbers in a log text, masked: what a
    viewer sees in paths (searches by e-mail or phone), errors and payloads."""
    return PHONE_RE.sub(_phone_mask, EMAIL_RE.sub("[e-mail]", text or ""))


_masked: ContextVar[frozenset] = ContextVar("log_export_masked", default=frozenset())


@contextmanager
def personal_data_masked(shop_ids: Iterable[int]):
    """Within one page render, mask contact details of these shops' rows
    (the shops whose personal data the user may not read)."""
    token = _masked.set(frozenset(shop_ids))
    try:
        yield
    finally:
        _masked.reset(token)


def shop_excerpt(text: str, shop_id: int, limit: int = EXCERPT_CHARS, *,
                 masked: bool | None = None) -> str:
    """A stored text of one shop's row made safe to show: the shop's keys
    blanked, contact details masked when the reader may not see them
    (`masked`, or else the render's `personal_data_masked`), cut short."""
    if masked is None:
        masked = shop_id in _masked.get()
    cleaned = redact(text or "", shop_secrets(shop_id))
    if masked:
        cleaned = mask_contacts(cleaned)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.isoformat(timespec="seconds")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    """csv.writer wants a file; this one hands each line back instead."""

    def write(self, value):
        return value


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)  # BOM: Excel opens UTF-8 (Cyrillic) right
    for row in rows:
        yield writer.writerow([_cell(v) for v in row])


Column = tuple[str, Callable]


def _export(queryset, columns: list[Column], *, redacted: set[str] = frozenset(),
            masked_shop_ids: frozenset = frozenset()):
    """Stream `columns` of `queryset` as CSV lines. Columns named in
    `redacted` are passed through the shop's keys (and, for rows of
    `masked_shop_ids`, have contact details masked); the keys are looked up
    lazily per shop as rows arrive."""
    secrets: dict[int, list[str]] = {}

    def rows():
        for obj in queryset.select_related("shop").iterator(chunk_size=500):
            if obj.shop_id not in secrets:
                secrets.update(shop_secret_values([obj.shop_id]))
            row = []
            for name, getter in columns:
                value = getter(obj)
                if name in redacted:
                    value = str(value or "")
                    if obj.shop_id in masked_shop_ids:
                        value = mask_contacts(value)
                    value = text_excerpt(value, secrets[obj.shop_id])
                row.append(value)
            yield row

    return csv_lines([name for name, _ in columns], rows())


def api_calls_csv(queryset, masked_shop_ids: frozenset = frozenset()) -> Iterator[str]:
    columns: list[Column] = [
        ("id", lambda c: c.pk), ("time", lambda c: c.created_at),
        ("shop", lambda c: c.shop.name), ("provider", lambda c: c.provider),
        ("method", lambda c: c.method), ("path", lambda c: c.path),
        ("status", lambda c: c.status_code), ("outcome", lambda c: c.outcome),
        ("duration_ms", lambda c: c.duration_ms), ("interactive", lambda c: c.interactive),
        ("event_id", lambda c: c.event_id), ("error", lambda c: c.error),
    ]
    return _export(queryset, columns, redacted={"path", "error"},
                   masked_shop_ids=masked_shop_ids)


def inbound_events_csv(queryset, masked_shop_ids: frozenset = frozenset()) -> Iterator[str]:
    """Payloads are left out on purpose: they are customer data and may be
    large; the detail page shows a redacted excerpt."""
    columns: list[Column] = [
        ("id", lambda e: e.pk), ("received", lambda e: e.created_at),
        ("shop", lambda e: e.shop.name), ("source", lambda e: e.source),
        ("event_type", lambda e: e.event_type), ("source_key", lambda e: e.source_key),
        ("state", lambda e: e.state), ("attempts", lambda e: e.attempts),
        ("processed", lambda e: e.processed_at),
        ("last_error", lambda e: shown_text(e.last_error)),
    ]
    return _export(queryset, columns, redacted={"last_error", "source_key"},
                   masked_shop_ids=masked_shop_ids)


def widget_requests_csv(queryset, masked_shop_ids: frozenset = frozenset()) -> Iterator[str]:
    columns: list[Column] = [
        ("id", lambda w: w.pk), ("time", lambda w: w.created_at),
        ("shop", lambda w: w.shop.name), ("channel", lambda w: w.channel),
        ("duration_ms", lambda w: w.duration_ms), ("cache_hit", lambda w: w.cache_hit),
        ("outcome", lambda w: w.outcome), ("request_id", lambda w: w.request_id),
    ]
    return _export(queryset, columns)
