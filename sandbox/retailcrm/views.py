"""HTTP front of the RetailCRM emulator: one dispatcher per account URL.

`/sandbox/retailcrm/<account>/api/...` plays `https://<account>.retailcrm.ru/api/...`.
Each request passes the gate (account, rate limit, faults, key), then a
route table picks the handler and the scope it needs (reference §2). An
unknown route answers the vendor's `API method not found`.
"""

import json
import re
import time
from dataclasses import dataclass, field

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.retailcrm import gate, store
from sandbox.retailcrm.models import (
    Account,
    ApiKey,
    Customer,
    Fault,
    HistoryRecord,
    Note,
    Order,
    Task,
    User,
)
from sandbox.retailcrm.protocol import (
    ApiProblem,
    as_bool,
    as_list,
    crm_datetime,
    error_response,
    json_field,
    not_found,
    ok,
    paginate,
    paging,
    parse_php_query,
)


@dataclass
class Call:
    request: object
    account: Account
    key: ApiKey
    query: dict = field(default_factory=dict)

    @property
    def filters(self) -> dict:
        return self.query.get("filter") or {}

    @property
    def sites(self) -> list[str]:
        return self.key.visible_sites()


PHONE_LIKE = re.compile(r"^[\d\s+()\-.]+$")
ROUTES: list[tuple[str, re.Pattern, object, str | None]] = []


def route(method: str, pattern: str, scope: str | None):
    def register(handler):
        ROUTES.append((method, re.compile(f"^{pattern}$"), handler, scope))
        return handler
    return register


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


# -- unversioned ---------------------------------------------------------------

@route("GET", r"api-versions", None)
def api_versions(call):
    return ok({"versions": ["3.0", "4.0", "5.0"]})


@route("GET", r"credentials", None)
def credentials(call):
    return ok({
        "scopes": call.key.scopes,
        "credentials": [],  # deprecated list of method paths (§2)
        "siteAccess": "access_selective" if call.key.sites else "access_full",
        "sitesAvailable": call.sites,
    })


@route("GET", r"system-info", None)
def system_info(call):
    return ok({"systemVersion": "8.1.51", "publicUrl": call.request.build_absolute_uri(
        f"/sandbox/retailcrm/{call.account.code}"), "technicalUrl": ""})


@route("GET", r"v5/settings", None)
def account_settings(call):
    now = crm_datetime(timezone.now(), call.account.timezone)
    return ok({"settings": {
        "default_currency": {"value": "RUB", "updated_at": now},
        "system_language": {"value": "RU", "updated_at": now},
        "timezone": {"value": call.account.timezone, "updated_at": now},
        "mg": {"order_creation": {"default": {"order_type": "eshop-individual"}}},
    }})


# -- reference books (§10): objects keyed by code ------------------------------

@route("GET", r"v5/reference/statuses", "reference_read")
def statuses(call):
    return ok({"statuses": call.account.references.get("statuses", {})})


@route("GET", r"v5/reference/status-groups", "reference_read")
def status_groups(call):
    return ok({"statusGroups": call.account.references.get("statusGroups", {})})


@route("GET", r"v5/reference/sites", "reference_read")
def sites(call):
    books = call.account.references.get("sites", {})
    return ok({"sites": {code: site for code, site in books.items() if code in call.sites}})


# -- customers (§8) and notes (§9) -------------------------------------------------

def _find(call, model, ident: str, *, by: str | None = None, site: str | None = None):
    """`{x}` is an externalId unless `by=id` (§3). With a multi-store key and
    an externalId the store is needed when the id is ambiguous."""
    by = by or call.query.get("by") or "externalId"
    site = site or call.query.get("site")
    rows = model.objects.filter(account=call.account, site__in=call.sites)
    if by == "id":
        if not str(ident).isdigit():
            raise not_found()
        rows = rows.filter(crm_id=int(ident))
    elif by == "externalId":
        rows = rows.filter(external_id=ident)
        if site:
            rows = rows.filter(site=site)
    else:
        raise ApiProblem(400, "Errors in the input parameters",
                         {"by": "The value you selected is not a valid choice."})
    found = list(rows[:2])
    if not found:
        raise not_found()
    if len(found) > 1:
        raise ApiProblem(400, "Parameter 'site' is missing")
    return found[0]


def _ref(call, model, ref, site=None):
    """Resolve a nested `{"id": …}` / `{"externalId": …}` reference."""
    if not isinstance(ref, dict) or not (ref.get("id") or ref.get("externalId")):
        return None
    try:
        if ref.get("id"):
            return _find(call, model, str(ref["id"]), by="id")
        return _find(call, model, str(ref["externalId"]), by="externalId", site=site)
    except ApiProblem:
        return None


@route("GET", r"v5/customers", "customer_read")
def customers_list(call):
    limit, page = paging(call.query)
    flt = call.filters
    rows = Customer.objects.filter(account=call.account, site__in=call.sites)
    if as_list(flt.get("sites")):
        rows = rows.filter(site__in=as_list(flt["sites"]))
    if as_list(flt.get("ids")):
        rows = rows.filter(crm_id__in=[int(i) for i in as_list(flt["ids"]) if str(i).isdigit()])
    if as_list(flt.get("externalIds")):
        rows = rows.filter(external_id__in=as_list(flt["externalIds"]))
    if flt.get("email"):
        # Exact vs substring is unverified (§8.1); we match substrings, the
        # client compares exactly.
        rows = rows.filter(email__contains=str(flt["email"]).strip().lower())
    if flt.get("name"):
        needle = str(flt["name"]).strip().lower()
        if PHONE_LIKE.match(needle) and len(store.phone_digits(needle)) >= 5:
            # A phone typed with +, spaces, brackets or dashes. The vendor's
            # matching rules are unverified (§8.1, §19); we match digits, and
            # a Russian +7/8 number by its 10 national digits.
            needle = store.phone_digits(needle)
            if len(needle) == 11 and needle[0] in "78":
                needle = needle[1:]
        rows = rows.filter(search_text__contains=needle)
    if as_list(flt.get("managers")):
        wanted = {int(m) for m in as_list(flt["managers"]) if str(m).isdigit()}
        rows = rows.filter(doc__managerId__in=list(wanted))
    if as_bool(flt.get("vip")) is not None:
        rows = rows.filter(doc__vip=as_bool(flt["vip"]))
    found, pagination = paginate(rows.order_by("-crm_id"), limit, page)
    return ok({"pagination": pagination, "customers": [c.doc for c in found]})


@route("POST", r"v5/customers/create", "customer_write")
def customers_create(call):
    data = json_field(call.request, "customer")
    site = store.resolve_site(call.account, call.key, call.query.get("site"))
    if data.get("externalId") and Customer.objects.filter(
        account=call.account, site=site, external_id=str(data["externalId"])
    ).exists():
        raise ApiProblem(400, "Errors in the entity format",
                         {"externalId": "Customer with this externalId already exists."})
    customer = store.create_customer(call.account, call.key, data, site)
    return ok({"id": customer.crm_id}, status=201)


@route("GET", r"v5/customers/history", "customer_read")
def customers_history(call):
    return _history(call, "customer", "customerId")


@route("GET", r"v5/customers/notes", "customer_read")
def notes_list(call):
    limit, page = paging(call.query)
    flt = call.filters
    rows = Note.objects.filter(account=call.account)
    if as_list(flt.get("customerIds")):
        rows = rows.filter(customer_crm_id__in=[int(i) for i in as_list(flt["customerIds"])
                                                if str(i).isdigit()])
    if as_list(flt.get("ids")):
        rows = rows.filter(crm_id__in=[int(i) for i in as_list(flt["ids"]) if str(i).isdigit()])
    if flt.get("text"):
        rows = rows.filter(doc__text__icontains=flt["text"])
    found, pagination = paginate(rows.order_by("-created_at", "-crm_id"), limit, page)
    return ok({"pagination": pagination, "notes": [n.doc for n in found]})


@route("POST", r"v5/customers/notes/create", "customer_write")
def notes_create(call):
    data = json_field(call.request, "note")
    customer = _ref(call, Customer, data.get("customer"), call.query.get("site"))
    if customer is None:
        raise ApiProblem(400, "Errors in the entity format",
                         {"customer": "Set one of the following fields: id, externalId"})
    if not str(data.get("text", "")).strip():
        raise ApiProblem(400, "Errors in the entity format",
                         {"text": "This value should not be blank."})
    now = timezone.now()
    crm_id = Note.next_crm_id(call.account)
    doc = {"id": crm_id, "text": data["text"],
           "createdAt": crm_datetime(now, call.account.timezone),
           "customer": store.customer_stub(customer)}
    if data.get("managerId"):
        doc["managerId"] = int(data["managerId"])
    Note.objects.create(account=call.account, crm_id=crm_id, customer_crm_id=customer.crm_id,
                        created_at=now, doc=doc)
    return ok({"id": crm_id}, status=201)


@route("POST", r"v5/customers/notes/(?P<note_id>\d+)/delete", "customer_write")
def notes_delete(call, note_id):
    deleted, _ = Note.objects.filter(account=call.account, crm_id=int(note_id)).delete()
    if not deleted:
        raise not_found()
    return ok()


@route("GET", r"v5/customers/(?P<ident>[^/]+)", "customer_read")
def customers_get(call, ident):
    return ok({"customer": _find(call, Customer, ident).doc})


@route("POST", r"v5/customers/(?P<ident>[^/]+)/edit", "customer_write")
def customers_edit(call, ident):
    data = json_field(call.request, "customer")
    customer = store.edit_customer(call.account, call.key, _find(call, Customer, ident), data)
    return ok({"id": customer.crm_id, "state": "found"})


# -- orders (§11) and history (§12) ----------------------------------------------

@route("GET", r"v5/orders", "order_read")
def orders_list(call):
    limit, page = paging(call.query)
    flt = call.filters
    rows = Order.objects.filter(account=call.account, site__in=call.sites)
    if as_list(flt.get("sites")):
        rows = rows.filter(site__in=as_list(flt["sites"]))
    if as_list(flt.get("ids")):
        rows = rows.filter(crm_id__in=[int(i) for i in as_list(flt["ids"]) if str(i).isdigit()])
    if as_list(flt.get("externalIds")):
        rows = rows.filter(external_id__in=as_list(flt["externalIds"]))
    if as_list(flt.get("numbers")):
        rows = rows.filter(number__in=as_list(flt["numbers"]))
    if flt.get("customerId"):
        if not str(flt["customerId"]).isdigit():
            raise ApiProblem(400, "Errors in the input parameters",
                             {"filter[customerId]": "This value is not valid."})
        rows = rows.filter(customer_crm_id=int(flt["customerId"]))
    if flt.get("customerExternalId"):
        ids = Customer.objects.filter(account=call.account,
                                      external_id=flt["customerExternalId"])
        rows = rows.filter(customer_crm_id__in=ids.values("crm_id"))
    if as_list(flt.get("extendedStatus")):
        # Whether group codes are accepted is unverified (§11.1); we accept both.
        wanted = set(as_list(flt["extendedStatus"]))
        groups = call.account.references.get("statusGroups", {})
        for code in list(wanted):
            wanted.update(groups.get(code, {}).get("statuses", []))
        rows = rows.filter(status__in=wanted)
    if flt.get("createdAtFrom"):
        rows = rows.filter(doc__createdAt__gte=str(flt["createdAtFrom"]))
    if flt.get("createdAtTo"):
        rows = rows.filter(doc__createdAt__lte=f"{flt['createdAtTo']} 23:59:59")
    found, pagination = paginate(rows.order_by("-created_at", "-crm_id"), limit, page)
    return ok({"pagination": pagination, "orders": store.render_orders(call.account, found)})


@route("POST", r"v5/orders/create", "order_write")
def orders_create(call):
    data = json_field(call.request, "order")
    site = store.resolve_site(call.account, call.key, call.query.get("site"))
    customer = _ref(call, Customer, data.get("customer"), site)
    if data.get("customer") and customer is None:
        raise ApiProblem(400, "Errors in the entity format", {"customer": "Customer not found."})
    order = store.create_order(call.account, call.key, data, site, customer)
    return ok({"id": order.crm_id, "order": store.render_orders(call.account, [order])[0]},
              status=201)


@route("GET", r"v5/orders/history", "order_read")
def orders_history(call):
    return _history(call, "order", "orderId")


@route("GET", r"v5/orders/(?P<ident>[^/]+)", "order_read")
def orders_get(call, ident):
    order = _find(call, Order, ident)
    return ok({"order": store.render_orders(call.account, [order])[0]})


@route("POST", r"v5/orders/(?P<ident>[^/]+)/edit", "order_write")
def orders_edit(call, ident):
    data = json_field(call.request, "order")
    order = store.edit_order(call.account, call.key, _find(call, Order, ident), data)
    return ok({"id": order.crm_id, "order": store.render_orders(call.account, [order])[0]})


def _history(call, entity: str, id_filter: str):
    """Ascending ids; `filter[sinceId]` returns records *after* that id;
    `apiKey.current` is true for changes made with the caller's key (§12)."""
    limit, page = paging(call.query, history=True)
    flt = call.filters
    rows = HistoryRecord.objects.filter(account=call.account, entity=entity)
    if flt.get("sinceId"):
        if not str(flt["sinceId"]).isdigit():
            raise ApiProblem(400, "Errors in the input parameters",
                             {"filter[sinceId]": "This value is not valid."})
        rows = rows.filter(crm_id__gt=int(flt["sinceId"]))
    if flt.get(id_filter) and str(flt[id_filter]).isdigit():
        rows = rows.filter(**{f"doc__{entity}__id": int(flt[id_filter])})
    if flt.get("startDate"):
        rows = rows.filter(doc__createdAt__gte=str(flt["startDate"]))
    if flt.get("endDate"):
        rows = rows.filter(doc__createdAt__lte=str(flt["endDate"]))
    found, pagination = paginate(rows.order_by("crm_id"), limit, page)
    history = []
    for record in found:
        doc = dict(record.doc)
        if doc.get("source") == "api":
            doc["apiKey"] = {"current": record.api_key_id == call.key.pk}
        history.append(doc)
    return ok({"generatedAt": crm_datetime(timezone.now(), call.account.timezone),
               "history": history, "pagination": pagination})


# -- users and tasks (§13) ---------------------------------------------------------

@route("GET", r"v5/users", "user_read")
def users_list(call):
    limit, page = paging(call.query)
    flt = call.filters
    rows = User.objects.filter(account=call.account)
    for name in ("active", "isManager", "isAdmin", "online"):
        if as_bool(flt.get(name)) is not None:
            rows = rows.filter(**{f"doc__{name}": as_bool(flt[name])})
    if flt.get("email"):
        rows = rows.filter(doc__email=flt["email"])
    found, pagination = paginate(rows.order_by("crm_id"), limit, page)
    return ok({"pagination": pagination, "users": [u.doc for u in found]})


@route("GET", r"v5/users/(?P<user_id>\d+)", "user_read")
def users_get(call, user_id):
    user = User.objects.filter(account=call.account, crm_id=int(user_id)).first()
    if user is None:
        raise not_found()
    return ok({"user": user.doc})


@route("POST", r"v5/tasks/create", "task_write")
def tasks_create(call):
    data = json_field(call.request, "task")
    errors = {}
    if not str(data.get("text", "")).strip():
        errors["text"] = "This value should not be blank."
    performer = data.get("performerId")
    if not performer:
        errors["performerId"] = "This value should not be blank."
    elif not User.objects.filter(account=call.account, crm_id=int(performer)).exists():
        errors["performerId"] = "User not found."
    if errors:
        raise ApiProblem(400, "Task is not loaded", errors)
    site = call.query.get("site")
    doc = {"text": data["text"], "performer": int(performer), "performerType": "user",
           "complete": False}
    if data.get("commentary"):
        doc["commentary"] = data["commentary"]
    if data.get("datetime"):
        doc["datetime"] = data["datetime"]  # `Y-m-d H:i`, no seconds (§7)
    if data.get("phone"):
        doc["phone"] = data["phone"]
    if data.get("customer"):
        customer = _ref(call, Customer, data["customer"], site)
        if customer is None:
            raise ApiProblem(400, "Task is not loaded", {"customer": "Customer not found."})
        doc["customer"] = store.customer_stub(customer)
    if data.get("order"):
        order = _task_order(call, data["order"], site)
        doc["order"] = {"id": order.crm_id, "number": order.number, "site": order.site}
    crm_id = Task.next_crm_id(call.account)
    doc = {"id": crm_id, "createdAt": crm_datetime(timezone.now(), call.account.timezone), **doc}
    Task.objects.create(account=call.account, crm_id=crm_id, doc=doc)
    return ok({"id": crm_id}, status=201)


def _task_order(call, ref, site):
    order = None
    if isinstance(ref, dict) and ref.get("number"):
        order = Order.objects.filter(account=call.account, number=ref["number"]).first()
    elif isinstance(ref, dict):
        order = _ref(call, Order, ref, site)
    if order is None:
        raise ApiProblem(400, "Task is not loaded", {"order": "Order not found."})
    return order


@route("GET", r"v5/tasks", "task_read")
def tasks_list(call):
    limit, page = paging(call.query)
    flt = call.filters
    rows = Task.objects.filter(account=call.account)
    if as_list(flt.get("performers")):
        rows = rows.filter(doc__performer__in=[int(p) for p in as_list(flt["performers"])])
    found, pagination = paginate(rows.order_by("-crm_id"), limit, page)
    return ok({"pagination": pagination, "tasks": [t.doc for t in found]})


@route("GET", r"v5/tasks/(?P<task_id>\d+)", "task_read")
def tasks_get(call, task_id):
    task = Task.objects.filter(account=call.account, crm_id=int(task_id)).first()
    if task is None:
        raise not_found()
    return ok({"task": task.doc})


# -- the emulator's own admin endpoint ---------------------------------------------

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
