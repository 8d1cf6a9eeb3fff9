"""HTTP front of the RetailCRM emulator: one dispatcher per account URL.

`/sandbox/retailcrm/<account>/api/...` plays `https://<account>.retailcrm.ru/api/...`.
Each request passes the gate (account, rate limit, faults, key), then the
route table (`routing.py`, filled by the `api_*` modules) picks the handler
and the scope it needs (docs/vendors/retailcrm.md §2). An unknown route answers the vendor's
`API method not found`.
"""

import json
import time

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.behaviour import behaviour_view
from sandbox.retailcrm import api_customers, api_misc, api_orders, gate  # noqa: F401 - routes
from sandbox.retailcrm import triggers as trigger_actions
from sandbox.retailcrm.behaviour import BOARD
from sandbox.retailcrm.models import Account, Fault, Order, Trigger, TriggerDelivery
from sandbox.retailcrm.protocol import ApiProblem, error_response, parse_php_query
from sandbox.retailcrm.routing import ROUTES, Call


@csrf_exempt
def api(request, account: str, path: str):
    arrived = time.monotonic()
    account_row = gate.find_account(account)
    if account_row is None:
        return gate.unknown_account(request)
    response = _gated(request, account_row, path)
    gate.request_log.add(gate.LoggedRequest(
        account=account_row.code, at=arrived, method=request.method,
        path=f"/api/{path}", status=response.status_code,
    ))
    return response


def _gated(request, account: Account, path: str) -> HttpResponse:
    limited = gate.over_rate_limit(account)
    if limited is not None:
        return limited
    gate.apply_latency(request, account)
    faulty = gate.injected_fault(request, account)
    if faulty is not None:
        return faulty
    try:
        key = gate.authenticate(request, account)
        for method, pattern, handler, scope in ROUTES:
            match = pattern.match(path)
            if match is None or method != request.method:
                continue
            gate.require_scope(key, scope)
            pairs = _pairs(request.GET)
            if request.method == "POST":
                pairs += _pairs(request.POST)
            call = Call(request=request, account=account, key=key, query=parse_php_query(pairs))
            return handler(call, **match.groupdict())
        raise ApiProblem(404, "API method not found")
    except ApiProblem as problem:
        return error_response(problem)


def _pairs(querydict):
    return [(name, value) for name, values in querydict.lists() for value in values]


FAULT_FIELDS = {"latency_ms", "fault", "fault_burst", "fault_after", "slow_body_ms",
                "rate_limit_rps"}


@csrf_exempt
def faults(request, account: str):
    """`POST /sandbox/retailcrm/<account>/_faults` with form or JSON fields
    `fault`, `fault_burst`, `fault_after`, `latency_ms`, `slow_body_ms`, `rate_limit_rps`;
    GET shows the current values. Not part of the vendor API."""
    row = gate.find_account(account)
    if row is None:
        return gate.unknown_account(request)
    if request.method == "POST":
        try:
            if request.content_type == "application/json":
                values = dict(json.loads(request.body or b"{}"))
            else:
                values = request.POST.dict()
            for name in set(values) & (FAULT_FIELDS - {"fault"}):
                values[name] = int(values[name])
        except (ValueError, TypeError):
            values = {"": None}
        unknown = set(values) - FAULT_FIELDS
        if unknown or values.get("fault", "") not in Fault.values:
            return JsonResponse({"success": False, "errorMsg": "Unknown field or fault.",
                                 "allowed": sorted(FAULT_FIELDS), "faults": Fault.values},
                                status=400)
        for name, value in values.items():
            setattr(row, name, value)
        row.save(update_fields=list(values) or None)
        gate.limiter.reset(row.code)
    return JsonResponse({name: getattr(row, name) for name in sorted(FAULT_FIELDS)})


# `GET|POST /sandbox/retailcrm/<account>/_behaviour`: the account's answers to
# the vendor's open questions (sandbox.retailcrm.behaviour). Not a vendor API.
behaviour = behaviour_view(BOARD, gate.find_account, gate.unknown_account)

TRIGGER_FIELDS = {"name", "url", "params", "headers", "encoding", "method", "event"}


def _trigger_json(trigger: Trigger) -> dict:
    return {"id": trigger.pk, "name": trigger.name, "event": trigger.event,
            "method": trigger.method, "url": trigger.url, "encoding": trigger.encoding,
            "params": trigger.params, "headers": trigger.headers, "active": trigger.active}


def _delivery_json(delivery: TriggerDelivery) -> dict:
    return {"id": delivery.pk, "trigger": delivery.trigger_id,
            "order_id": delivery.order_crm_id, "method": delivery.method,
            "url": delivery.url, "headers": delivery.headers, "body": delivery.body,
            "content_type": delivery.content_type, "state": delivery.state,
            "last_status": delivery.last_status}


@csrf_exempt
def triggers(request, account: str):
    """`GET /sandbox/retailcrm/<account>/_triggers` lists the account's
    triggers and their last deliveries; `POST` (JSON) adds a trigger with
    `name`, `url`, `params`, `headers`, `encoding` (query|form|json),
    `method`, `event` (see sandbox.retailcrm.triggers). Not a vendor API."""
    row = gate.find_account(account)
    if row is None:
        return gate.unknown_account(request)
    if request.method == "POST":
        try:
            values = json.loads(request.body or b"{}")
            if not isinstance(values, dict) or set(values) - TRIGGER_FIELDS:
                raise ValueError(f"fields: {', '.join(sorted(TRIGGER_FIELDS))}")
            if not values.get("name") or not values.get("url"):
                raise ValueError("name and url are required")
            created = trigger_actions.add_trigger(row, **values)
        except (ValueError, TypeError) as error:
            return JsonResponse({"success": False, "errorMsg": str(error)}, status=400)
        return JsonResponse({"success": True, "trigger": _trigger_json(created)}, status=201)
    deliveries = TriggerDelivery.objects.filter(trigger__account=row).order_by("-pk")[:50]
    return JsonResponse({
        "triggers": [_trigger_json(t) for t in row.triggers.all()],
        "deliveries": [_delivery_json(d) for d in deliveries],
    })


@csrf_exempt
def trigger_fire(request, account: str, trigger_id: int):
    """`POST /sandbox/retailcrm/<account>/_triggers/<id>/fire` with
    `order_id` (the CRM id): send that trigger's request for that order now,
    as the account would when its event happens; answers the delivery (the
    request as sent and the receiver's status). Not a vendor API."""
    row = gate.find_account(account)
    if row is None:
        return gate.unknown_account(request)
    if request.method != "POST":
        return JsonResponse({"success": False, "errorMsg": "POST only."}, status=405)
    trigger = Trigger.objects.filter(account=row, pk=trigger_id).first()
    order_id = request.POST.get("order_id") or request.GET.get("order_id") or ""
    order = (Order.objects.filter(account=row, crm_id=int(order_id)).first()
             if order_id.isdigit() else None)
    if trigger is None or order is None:
        return JsonResponse({"success": False, "errorMsg": "Unknown trigger or order."},
                            status=404)
    return JsonResponse({"success": True,
                         "delivery": _delivery_json(trigger_actions.send(trigger, order))})
