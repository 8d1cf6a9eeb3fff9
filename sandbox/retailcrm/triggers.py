"""RetailCRM triggers with the "Send HTTP request" action (docs/vendors/retailcrm.md §15.1).

RetailCRM has no webhook API: an admin writes a trigger (event, condition,
actions) in Automation → Triggers, and the "Send HTTP request" action sends
whatever the admin typed: a method, a URL, parameters whose values are Twig
templates over the event (`{{ order.id }}`, `{{ order.status.code }}`), and
optional headers. The payload is therefore admin-defined; receivers in the
wild take it from the query string, a form body or a JSON body, and the
shared secret from a header or a parameter. `Trigger` holds each of those
choices, so tests can send exactly what a real account set up either way
would send.

Like the HDE dispatcher (sandbox.hde.dispatcher), `fire()` only queues
`TriggerDelivery` rows inside the transaction that changed the order (a
rolled-back change sends nothing, and the request that made the change never
waits for the receiver); `pump()` sends them, from `manage.py sandbox_pump`
beside the web server or explicitly in tests. `send()` fires one trigger for
one order at once: the way for a test to make "RetailCRM" call the portal.

Retries and signing of these requests are not documented (§19): the emulator
tries each delivery once and never signs.
"""

import json
import re
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from django.db import transaction
from django.utils import timezone

from sandbox.retailcrm.models import (
    Customer,
    Order,
    Trigger,
    TriggerDelivery,
    TriggerEncoding,
    TriggerEvent,
)

SEND_TIMEOUT = (3.05, 10)
CLAIM_SECONDS = 60
USER_AGENT = "RetailCRM-Trigger (sandbox)"
_TAG = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*(?:\|\s*(\w+)\s*)?\}\}")


def add_trigger(account, *, name: str, url: str, params: dict | None = None,
                headers: dict | None = None, encoding: str = TriggerEncoding.FORM,
                method: str = "POST", event: str = TriggerEvent.ORDER_STATUS_CHANGED) -> Trigger:
    """Set up a trigger on `account` (an Account or its code), as an admin
    would in Automation → Triggers."""
    from sandbox.retailcrm.models import Account

    if isinstance(account, str):
        account = Account.objects.get(code=account)
    if encoding not in TriggerEncoding.values:
        raise ValueError(f"encoding must be one of {TriggerEncoding.values}")
    if event not in TriggerEvent.values:
        raise ValueError(f"event must be one of {TriggerEvent.values}")
    if method.upper() not in ("GET", "POST"):
        raise ValueError("the action sends GET or POST")
    return Trigger.objects.create(account=account, name=name, url=url, method=method.upper(),
                                  encoding=encoding, event=event, params=dict(params or {}),
                                  headers=dict(headers or {}))


def order_context(order: Order) -> dict:
    """What a trigger's templates can read: the order as the API returns it,
    with `status` and `manager` as objects (Twig sees entities)."""
    doc = dict(order.doc)
    statuses = order.account.references.get("statuses", {})
    status = statuses.get(order.status, {})
    doc["status"] = {"code": order.status, "name": status.get("name", order.status),
                     "group": status.get("group", "")}
    if doc.get("managerId"):
        doc["manager"] = {"id": doc["managerId"]}
    customer = Customer.objects.filter(account=order.account,
                                       crm_id=order.customer_crm_id).first()
    if customer is not None:
        doc["customer"] = customer.doc
    return {"order": doc}


def _lookup(context: dict, path: str):
    value = context
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def render(template: str, context: dict) -> str:
    """Twig-like substitution of `{{ path }}` and `{{ path | json_encode }}`.
    An undefined path prints nothing (Twig's non-strict mode); an object
    prints its `code` (or `id`); `json_encode` of a whole object gives `{}`,
    as integrators report for `{{ order | json_encode }}` (§15.1)."""

    def substitute(match):
        value = _lookup(context, match.group(1))
        if match.group(2) == "json_encode":
            return "{}" if isinstance(value, (dict, list)) else json.dumps(value,
                                                                           ensure_ascii=False)
        if isinstance(value, dict):
            value = value.get("code", value.get("id", ""))
        if value is None or isinstance(value, (dict, list)):
            return ""
        if isinstance(value, bool):
            return "1" if value else ""
        return str(value)

    return _TAG.sub(substitute, template)


def build_request(trigger: Trigger, order: Order) -> dict:
    """The HTTP request `trigger` sends for `order`: method, url, headers,
    body, content_type (the body is empty for the query encoding)."""
    context = order_context(order)
    params = {name: render(str(template), context) for name, template in trigger.params.items()}
    headers = {name: render(str(template), context)
               for name, template in trigger.headers.items()}
    url = render(trigger.url, context)
    body, content_type = "", ""
    if trigger.encoding == TriggerEncoding.QUERY or trigger.method == "GET":
        if params:
            parts = urlsplit(url)
            query = "&".join(part for part in (parts.query, urlencode(params)) if part)
            url = urlunsplit(parts._replace(query=query))
    elif trigger.encoding == TriggerEncoding.JSON:
        body, content_type = json.dumps(params, ensure_ascii=False), "application/json"
    else:
        body, content_type = urlencode(params), "application/x-www-form-urlencoded"
    return {"method": trigger.method, "url": url, "headers": headers, "body": body,
            "content_type": content_type}


def fire(account, order: Order, event: str) -> int:
    """Queue a delivery for every active trigger of `account` on `event`.
    Runs in the caller's transaction; returns how many were queued."""
    triggers = list(Trigger.objects.filter(account=account, active=True, event=event))
    now = timezone.now()
    for trigger in triggers:
        TriggerDelivery.objects.create(trigger=trigger, order_crm_id=order.crm_id,
                                       next_attempt_at=now, **build_request(trigger, order))
    return len(triggers)


def _deliver(delivery: TriggerDelivery) -> tuple[int | None, str]:
    headers = {"User-Agent": USER_AGENT, **delivery.headers}
    if delivery.content_type:
        headers["Content-Type"] = f"{delivery.content_type}; charset=utf-8"
    try:
        response = requests.request(
            delivery.method, delivery.url, headers=headers,
            data=delivery.body.encode("utf-8") if delivery.body else None,
            timeout=SEND_TIMEOUT, allow_redirects=False,
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return response.status_code, "" if response.status_code < 400 else response.text[:500]


def _finish(delivery: TriggerDelivery, status: int | None, error: str) -> TriggerDelivery:
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = status, error
    delivery.state = (TriggerDelivery.SENT if status is not None and 200 <= status < 400
                      else TriggerDelivery.FAILED)
    TriggerDelivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts, last_status=status, last_error=error,
        state=delivery.state)
    return delivery


def pump(now=None) -> int:
    """Send every queued delivery once (2xx/3xx = sent, anything else
    failed); returns how many were attempted."""
    now = now or timezone.now()
    attempted = 0
    due = list(TriggerDelivery.objects.filter(state=TriggerDelivery.QUEUED,
                                              next_attempt_at__lte=now)
               .order_by("next_attempt_at", "pk")[:100])
    for delivery in due:
        claimed = TriggerDelivery.objects.filter(
            pk=delivery.pk, state=TriggerDelivery.QUEUED,
            next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        if not claimed:
            continue  # another pump took it
        attempted += 1
        _finish(delivery, *_deliver(delivery))
    return attempted


def send(trigger: Trigger, order: Order) -> TriggerDelivery:
    """Fire `trigger` for `order` now, whatever the trigger's event, and
    return the finished delivery (the request as sent and the answer's
    status): what a real account would have sent when the event happened."""
    with transaction.atomic():
        delivery = TriggerDelivery.objects.create(
            trigger=trigger, order_crm_id=order.crm_id, next_attempt_at=timezone.now(),
            **build_request(trigger, order))
    return _finish(delivery, *_deliver(delivery))
