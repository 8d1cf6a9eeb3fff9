"""Webhook receivers: authenticate, validate the minimum, store, answer fast.

Neither vendor signs its requests, so each shop has its own random secret
(stored hashed) that the sender presents as Basic credentials (HDE's webhook
action supports user+password), an `X-Webhook-Secret` header, or a `secret`
field in the body. The body carries ids only; the job re-reads the vendor,
so a quote in a ticket subject can never break anything here.

Answers: 202 stored (or already stored: a repeated delivery is a no-op),
400 malformed, 401 wrong secret, 404 unknown shop, 405 not POST,
413 too large, 429 too many refused attempts.
"""

import base64
import binascii
import hashlib
import json
import logging
from urllib.parse import parse_qsl

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integration.inbox.events import inbound_event_store
from integration.models import EventSource, SecretKind, Shop
from integration.tenancy.secrets import (
    auth_failure_record,
    auth_failures_exceeded,
    shop_secret_match_by_public_id,
)

logger = logging.getLogger("integration.hooks")

MAX_BODY = 64 * 1024
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


def _parse_body(request) -> dict:
    if len(request.body) > MAX_BODY:
        raise HookRejected(413, _("Body larger than %(n)d bytes.") % {"n": MAX_BODY})
    content_type = request.content_type or ""
    raw = request.body.decode("utf-8", errors="replace")
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw))
    try:
        data = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise HookRejected(400, _("Body is not valid JSON: %(err)s") % {"err": exc.msg}) from exc
    if not isinstance(data, dict):
        raise HookRejected(400, _("Body must be a JSON object."))
    return data


def _presented_secret(request, body: dict) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-Webhook-Secret", "") or str(body.get("secret", ""))


def _positive_int(value, field: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        message = _("Field %(field)s must be a positive integer id.") % {"field": field}
        raise HookRejected(400, message)
    return number


def _refuse(request, public_id, kind: str) -> JsonResponse:
    """No matching secret: unknown shop (404), or a refused attempt, counted
    per shop and address and answered 429 once there were too many."""
    shop = Shop.objects.filter(public_id=public_id, active=True).first()
    if shop is None:
        logger.info("hooks.unknown_shop", extra={"public_id": str(public_id)})
        return _error(404, _("Unknown shop."))
    failure_key = f"{kind}:{shop.pk}:{request.META.get('REMOTE_ADDR', '')}"
    if auth_failures_exceeded(failure_key):
        logger.warning("hooks.throttled", extra={"shop": shop.pk})
        return _error(429, _("Too many refused attempts; try again later."))
    auth_failure_record(failure_key)
    logger.warning("hooks.bad_secret", extra={"shop": shop.pk})
    return _error(401, _("Wrong or missing webhook secret."))


def _receive(request, public_id, *, kind: str, build_event) -> JsonResponse:
    """The accept path: parse, one query for shop and secret, one transaction
    for the event and its task. Refused attempts take the slower path above;
    a sender that holds the secret is never locked out by someone guessing."""
    try:
        body = _parse_body(request)
        secret = shop_secret_match_by_public_id(
            public_id=public_id, kind=kind, presented=_presented_secret(request, body))
        if secret is None:
            return _refuse(request, public_id, kind)
        shop = secret.shop
        body.pop("secret", None)
        source, source_key, event_type, payload = build_event(body, request.body)
    except HookRejected as rejected:
        logger.info("hooks.rejected", extra={"public_id": str(public_id),
                                             "reason": rejected.message})
        return _error(rejected.status, rejected.message)
    event, created = inbound_event_store(shop=shop, source=source, source_key=source_key,
                                         event_type=event_type, payload=payload)
    return JsonResponse({"ok": True, "event_id": event.pk, "duplicate": not created}, status=202)


def _hde_event(body: dict, raw: bytes):
    ticket_id = _positive_int(body.get("ticket_id"), "ticket_id")
    name = str(body.get("event", "")).strip().lower()
    event_type = HDE_EVENTS.get(name)
    if event_type is None:
        raise HookRejected(400, _("Unknown event %(name)r; expected new_ticket, new_reply or "
                                  "ticket_changed.") % {"name": name[:40]})
    # A new ticket happens once; a reply is told apart by its post id and a
    # change by the update time. Without either, the body hash still makes a
    # vendor retry of the same delivery a no-op.
    distinct = str(body.get("post_id") or "").strip() or ":".join(
        str(body.get(k) or "").strip() for k in ("date_update", "status")).strip(":")
    if event_type == "new_ticket":
        key = f"new_ticket:{ticket_id}"
    else:
        key = f"{event_type}:{ticket_id}:{distinct or hashlib.sha256(raw).hexdigest()[:16]}"
    payload = {"ticket_id": ticket_id, **{k: v for k, v in body.items() if k != "ticket_id"}}
    return EventSource.HDE_WEBHOOK, key, event_type, payload


def _retailcrm_event(body: dict, raw: bytes):
    order_id = _positive_int(body.get("order_id") or body.get("orderId") or body.get("id"),
                             "order_id")
    status = str(body.get("status", "")).strip()[:60]
    key = f"order:{order_id}:{status or hashlib.sha256(raw).hexdigest()[:16]}"
    return EventSource.RETAILCRM_TRIGGER, key, "order_changed", {"order_id": order_id,
                                                                 "status": status}


@csrf_exempt
@require_POST
def hde_webhook(request, public_id):
    return _receive(request, public_id, kind=SecretKind.HDE_WEBHOOK, build_event=_hde_event)


@csrf_exempt
@require_POST
def retailcrm_trigger(request, public_id):
    return _receive(request, public_id, kind=SecretKind.RETAILCRM_TRIGGER,
                    build_event=_retailcrm_event)
