"""Webhook receivers: authenticate, validate the minimum, store, answer fast.

Neither vendor signs its requests, so each shop has its own random secret
(stored hashed) that the sender presents as Basic credentials (HDE's webhook
action supports user+password), an `X-Webhook-Secret` header or a bearer
token, or, in the documented body-secret form, a `secret` field in the body.
RetailCRM's trigger action sends whatever its admin typed
(docs/vendors/open-questions.md R-4): its parameters may come in the query
string, a form body or a JSON body, by GET or POST, and the secret in a
header or as a `secret` parameter; the trigger receiver takes each.

Order matters, because the body comes from a stranger until the secret
matched: credentials in a header are checked before the body is read at all;
only a request without them is taken as the body-secret form, and its body
is parsed under limits (size, nesting depth, number length, field count) so
no body can make the parser recurse, allocate or crash. Every way a body can
be wrong is a 4xx with a JSON answer, never a 500.

The body carries ids only; the job re-reads the vendor, so a quote in a
ticket subject can never break anything here, and only the few known fields
are stored.

Answers: 202 stored (or already stored: a repeated delivery is a no-op),
400 malformed, 401 wrong secret, 404 unknown shop, 405 not POST (GET too for
the RetailCRM trigger), 413 too large, 415 multipart body, 429 too many
refused attempts.
"""

import base64
import binascii
import codecs
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from integration.core.client_address import client_address
from integration.inbox.events import WebhookSource, inbound_event_store
from integration.inbox.keys import ticket_event_key
from integration.ops import metrics
from integration.tenancy.secrets import (
    WebhookRefusal,
    WebhookSecretKind,
    shop_secret_match_by_public_id,
    webhook_refusal,
)

logger = logging.getLogger("integration.hooks")

MAX_BODY = 64 * 1024
# The documented bodies are flat objects of a few ids; a little nesting is
# tolerated, a deep one is an attack on the parser (Python's json recurses).
MAX_DEPTH = 8
MAX_FIELDS = 64
MAX_NUMBER_CHARS = 40  # a number literal longer than this is nobody's id
MAX_TEXT = 64
MAX_QUERY = 2048  # a trigger's few parameters; a longer query string is no trigger's
ID_PATTERN = re.compile(r"[0-9]{1,18}")
HDE_EVENTS = {
    "new_ticket": "new_ticket", "ticket_created": "new_ticket",
    "new_reply": "new_reply", "new_post": "new_reply",
    "ticket_changed": "ticket_changed", "ticket_updated": "ticket_changed",
}


class HookRejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


# --- Where a secret and the fields come from ------------------------------

def header_secret(request) -> str:
    """The secret presented in a header: Basic credentials (the password),
    a bearer token, or `X-Webhook-Secret`. Never touches the body."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""
        return decoded.partition(":")[2]
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("X-Webhook-Secret", "").strip()


@dataclass
class Delivery:
    """What a sender presented: the secret and where it came from, and the
    fields once the body has been read (None until then)."""

    secret: str
    source: str  # "header", "query", "body" or "" (nothing presented)
    fields: dict | None = None
    # The places this receiver takes fields from besides the body: the
    # query string's fields (less the secret) when "query" is one of them.
    query: dict | None = None


def delivery_read(request, *, secret_places: tuple[str, ...]) -> Delivery:
    """The presented secret from the first place that has one, in the order
    given. Header places never read the body, so a request with header
    credentials is authenticated before its body is parsed; "query" reads
    only the (bounded) query string, never the body; "body" parses the
    bounded body (and keeps the fields, less the secret, for later).

    With "query" among the places, the query string is also a source of
    fields (`delivery_fields` merges it under the body's): a sender that puts
    its parameters in the URL (RetailCRM's trigger by GET, or by POST with
    the query encoding) is understood like one that sends a body.
    """
    query = None
    if "query" in secret_places:
        query = query_fields(request)
    for place in secret_places:
        if place == "header":
            secret = header_secret(request)
            if secret:
                return Delivery(secret=secret, source="header", query=query)
        elif place == "query":
            secret = query.pop("secret", None)
            if isinstance(secret, str) and secret:
                return Delivery(secret=secret, source="query", query=query)
        elif place == "body":
            fields = body_fields(request)
            secret = fields.pop("secret", None)
            if isinstance(secret, str) and secret:
                return Delivery(secret=secret, source="body", fields=fields, query=query)
            return Delivery(secret="", source="", fields=fields, query=query)
    return Delivery(secret="", source="", query=query)


def delivery_fields(request, delivery: Delivery) -> dict:
    """The fields of an authenticated delivery: the body, read once, over
    the query string's fields when the receiver takes them."""
    if delivery.fields is None:
        delivery.fields = body_fields(request)
        delivery.fields.pop("secret", None)
    if delivery.query:
        query = {k: v for k, v in delivery.query.items() if k != "secret"}
        delivery.fields = {**query, **delivery.fields}
        delivery.query = None
    return delivery.fields


def query_fields(request) -> dict:
    """The query string as a dict of its last values, within the limits
    (length, number of fields); 400 otherwise."""
    text = request.META.get("QUERY_STRING", "") or ""
    if len(text) > MAX_QUERY:
        raise HookRejected(400, _("Query string longer than %(n)d characters.") % {
            "n": MAX_QUERY})
    try:
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError as exc:
        raise HookRejected(400, _("Query string has too many fields.")) from exc


# --- The bounded body -----------------------------------------------------

def body_fields(request) -> dict:
    """The body as a dict: a form, or a JSON object, within the limits
    (a GET, or a POST with nothing in it, is {}). Raises HookRejected (413,
    415, 400) for anything else."""
    if request.method == "GET":
        return {}
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HookRejected(413, _("Body larger than %(n)d bytes.") % {"n": MAX_BODY})
    raw = request.body
    if len(raw) > MAX_BODY:
        raise HookRejected(413, _("Body larger than %(n)d bytes.") % {"n": MAX_BODY})
    content_type = (request.content_type or "").lower()
    if content_type.startswith("multipart/"):
        raise HookRejected(415, _("Send the body as JSON or as a form, not as multipart."))
    text = _decode(raw, request.content_params.get("charset", ""))
    if content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
        except ValueError as exc:
            raise HookRejected(400, _("Body has too many fields.")) from exc
    return _json_object(text)


def _decode(raw: bytes, charset: str) -> str:
    """UTF-8 (a BOM is dropped) unless the sender names another charset;
    undecodable bytes in UTF-8 become U+FFFD (the fields that matter are
    ids and are checked later)."""
    charset = charset.strip().strip('"').lower() or "utf-8"
    try:
        codec = codecs.lookup(charset)
    except LookupError as exc:
        raise HookRejected(400, _("Unknown character set in the Content-Type.")) from exc
    if codec.name == "utf-8":
        return raw.decode("utf-8-sig", errors="replace")
    try:
        return raw.decode(codec.name)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HookRejected(400, _("Body is not text in the declared character set.")) from exc


def _too_deep(text: str) -> bool:
    """True when brackets outside strings nest deeper than MAX_DEPTH.
    Only called when there are more brackets than that at all."""
    depth = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _bounded_int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    return int(literal)


def _bounded_float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    return float(literal)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _json_object(text: str) -> dict:
    if not text.strip():
        return {}
    invalid = _("Body is not valid JSON within the limits (nesting, number length).")
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(text):
        raise HookRejected(400, invalid)
    try:
        data = json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float,
                          parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise HookRejected(400, invalid) from exc
    if not isinstance(data, dict):
        raise HookRejected(400, _("Body must be a JSON object."))
    if len(data) > MAX_FIELDS:
        raise HookRejected(400, _("Body has too many fields."))
    return data


# --- Field checks ---------------------------------------------------------

def _positive_int(value, field: str) -> int:
    """A vendor id: a JSON integer or a string of ASCII digits, above zero."""
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(
        value, bool) else ""
    number = int(text) if ID_PATTERN.fullmatch(text) else 0
    if number <= 0:
        message = _("Field %(field)s must be a positive integer id.") % {"field": field}
        raise HookRejected(400, message)
    return number


def _short_text(fields: dict, field: str) -> str:
    """A short printable value (kept in the event and its key), or ""."""
    value = fields.get(field)
    if value is None or value == "":
        return ""
    if isinstance(value, (dict, list, bool)):
        text = None
    else:
        text = str(value).strip()
    if text is None or len(text) > MAX_TEXT or not text.isprintable():
        message = _("Field %(field)s must be a short line of text.") % {"field": field}
        raise HookRejected(400, message)
    return text


# --- Receivers ------------------------------------------------------------

def _refuse(request, public_id, kind: str, presented: str) -> JsonResponse:
    """No matching secret: unknown shop (404), or a refused attempt, counted
    per shop and client address and answered 429 once there were too many."""
    refusal = webhook_refusal(public_id=public_id, kind=kind, address=client_address(request),
                              presented=presented)
    if refusal == WebhookRefusal.UNKNOWN_SHOP:
        logger.info("hooks.unknown_shop", extra={"public_id": str(public_id)})
        return _error(404, _("Unknown shop."))
    if refusal == WebhookRefusal.THROTTLED:
        logger.warning("hooks.throttled", extra={"public_id": str(public_id)})
        return _error(429, _("Too many refused attempts; try again later."))
    logger.warning("hooks.bad_secret", extra={"public_id": str(public_id)})
    return _error(401, _("Wrong or missing webhook secret."))


def _receive(request, public_id, *, kind: str, build_event,
             secret_places=("header", "body")) -> JsonResponse:
    """The accept path: the secret (from a header if there is one, before the
    body is read), one query for shop and secret, then the bounded body and
    one transaction for the event and its task. Refused attempts take the
    slower path above; a sender that holds the secret is never locked out
    by someone guessing."""
    try:
        delivery = delivery_read(request, secret_places=secret_places)
        secret = shop_secret_match_by_public_id(public_id=public_id, kind=kind,
                                                presented=delivery.secret)
        if secret is None:
            return _refuse(request, public_id, kind, delivery.secret)
        fields = delivery_fields(request, delivery)
        source, source_key, event_type, payload = build_event(fields, request.body)
    except HookRejected as rejected:
        logger.info("hooks.rejected", extra={"public_id": str(public_id),
                                             "reason": rejected.message})
        return _error(rejected.status, rejected.message)
    event, created = inbound_event_store(shop=secret.shop, source=source,
                                         source_key=source_key, event_type=event_type,
                                         payload=payload)
    return JsonResponse({"ok": True, "event_id": event.pk, "duplicate": not created}, status=202)


def _hde_event(fields: dict, raw: bytes):
    ticket_id = _positive_int(fields.get("ticket_id"), "ticket_id")
    name = _short_text(fields, "event").lower()
    event_type = HDE_EVENTS.get(name)
    if event_type is None:
        raise HookRejected(400, _("Unknown event %(name)r; expected new_ticket, new_reply or "
                                  "ticket_changed.") % {"name": name[:40]})
    extra = {key: _short_text(fields, key) for key in ("post_id", "date_update", "status")}
    # A new ticket happens once; a reply is told apart by its post id and a
    # change by the update time. Without either, the body hash still makes a
    # vendor retry of the same delivery a no-op.
    distinct = extra["post_id"] or ":".join(
        extra[k] for k in ("date_update", "status")).strip(":")
    key = ticket_event_key(event_type, ticket_id,
                           distinct or hashlib.sha256(raw).hexdigest()[:16])
    payload = {"ticket_id": ticket_id, "event": name,
               **{k: v for k, v in extra.items() if v}}
    return WebhookSource.HDE_WEBHOOK, key, event_type, payload


def _retailcrm_event(fields: dict, raw: bytes):
    order_id = _positive_int(
        fields.get("order_id") or fields.get("orderId") or fields.get("id"), "order_id")
    status = _short_text(fields, "status")
    # Without a status, the delivery's own fields tell repeats apart (they
    # may have come in the query string, so not the raw body).
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
    key = f"order:{order_id}:{status or digest[:16]}"
    return WebhookSource.RETAILCRM_TRIGGER, key, "order_changed", {"order_id": order_id,
                                                                   "status": status}


@metrics.count_webhook("hde")
@csrf_exempt
@require_POST
def hde_webhook(request, public_id):
    return _receive(request, public_id, kind=WebhookSecretKind.HDE_WEBHOOK,
                    build_event=_hde_event)


@metrics.count_webhook("retailcrm")
@csrf_exempt
@require_http_methods(["GET", "POST"])
def retailcrm_trigger(request, public_id):
    """RetailCRM's "Send HTTP request" (R-4): GET or POST; the secret from a
    header (preferred: a query parameter ends up in access logs), the query
    string or the body; the order id from the body or the query string."""
    return _receive(request, public_id, kind=WebhookSecretKind.RETAILCRM_TRIGGER,
                    build_event=_retailcrm_event, secret_places=("header", "query", "body"))
