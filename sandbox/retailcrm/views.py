"""HTTP front of the RetailCRM emulator: one dispatcher per account URL.

`/sandbox/retailcrm/<account>/api/...` plays `https://<account>.retailcrm.ru/api/...`.
Each request passes the gate (account, rate limit, faults, key), then the
route table (`routing.py`, filled by the `api_*` modules) picks the handler
and the scope it needs (reference §2). An unknown route answers the vendor's
`API method not found`.
"""

import json
import time

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.retailcrm import api_customers, api_misc, api_orders, gate  # noqa: F401 - routes
from sandbox.retailcrm.models import Account, Fault
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


FAULT_FIELDS = {"latency_ms", "fault", "fault_burst", "slow_body_ms", "rate_limit_rps"}


@csrf_exempt
def faults(request, account: str):
    """`POST /sandbox/retailcrm/<account>/_faults` with form or JSON fields
    `fault`, `fault_burst`, `latency_ms`, `slow_body_ms`, `rate_limit_rps`;
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
