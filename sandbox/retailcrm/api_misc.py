"""Unversioned methods, account settings, reference books (§10), users and
tasks (§13)."""

from django.utils import timezone

from sandbox.retailcrm import store
from sandbox.retailcrm.models import Customer, Order, Task, User
from sandbox.retailcrm.protocol import (
    ApiProblem,
    as_bool,
    as_list,
    crm_datetime,
    json_field,
    not_found,
    ok,
    paginate,
    paging,
)
from sandbox.retailcrm.routing import resolve_ref, route


@route("GET", r"api-versions", None)
def api_versions(call):
    return ok({"versions": ["3.0", "4.0", "5.0"]})


# `credentials_rights=renamed_or_split`: what a key's rights might be called
# instead (§2: only five names are confirmed). Enforcement is unchanged: the
# key can do exactly what it could; only the names it reports differ.
RENAMED_SCOPES = {
    "customer_read": ["customers_read"],
    "customer_write": ["customer_create", "customer_edit", "customer_notes_write"],
    "order_read": ["order_read"],
    "order_write": ["order_create", "order_edit"],
    "reference_read": ["references_read"],
    "user_read": ["users_read"],
    "task_read": ["task_read"],
    "task_write": ["task_create", "task_edit"],
}
# ...and the deprecated `credentials` list of method paths, filled in then.
SCOPE_PATHS = {
    "customer_read": ["/api/v5/customers", "/api/v5/customers/{externalId}",
                      "/api/v5/customers/history", "/api/v5/customers/notes"],
    "customer_write": ["/api/v5/customers/create", "/api/v5/customers/{externalId}/edit",
                       "/api/v5/customers/notes/create"],
    "order_read": ["/api/v5/orders", "/api/v5/orders/{externalId}", "/api/v5/orders/history"],
    "order_write": ["/api/v5/orders/create", "/api/v5/orders/{externalId}/edit"],
    "reference_read": ["/api/v5/reference/statuses", "/api/v5/reference/status-groups",
                       "/api/v5/reference/sites", "/api/v5/reference/order-methods",
                       "/api/v5/reference/delivery-types", "/api/v5/reference/payment-types",
                       "/api/v5/reference/payment-statuses"],
    "user_read": ["/api/v5/users", "/api/v5/users/{id}"],
    "task_read": ["/api/v5/tasks", "/api/v5/tasks/{id}"],
    "task_write": ["/api/v5/tasks/create"],
}


@route("GET", r"credentials", None)
def credentials(call):
    scopes, paths = list(call.key.scopes), []  # deprecated list of method paths (§2)
    if call.account.switch("credentials_rights") == "renamed_or_split":
        scopes = [name for scope in call.key.scopes for name in RENAMED_SCOPES.get(scope, [scope])]
        paths = [path for scope in call.key.scopes for path in SCOPE_PATHS.get(scope, [])]
    return ok({
        "scopes": scopes,
        "credentials": paths,
        "siteAccess": "access_selective" if call.key.sites else "access_full",
        "sitesAvailable": call.sites,
    })


@route("GET", r"system-info", None)
def system_info(call):
    return ok({"systemVersion": "8.1.51", "publicUrl": call.request.build_absolute_uri(
        f"/sandbox/retailcrm/{call.account.code}"), "technicalUrl": ""})


@route("GET", r"v5/settings", None)
def account_settings(call):
    """Switch `settings_endpoint`: `forbidden` answers 403 `Access denied.`
    and `failing` a 500, on this path only (whether every key may read it is
    unverified, §7)."""
    answer = call.account.switch("settings_endpoint")
    if answer == "forbidden":
        raise ApiProblem(403, "Access denied.")
    if answer == "failing":
        raise ApiProblem(500, "Internal Server Error")
    now = crm_datetime(timezone.now(), call.account.timezone)
    return ok({"settings": {
        "default_currency": {"value": "RUB", "updated_at": now},
        "system_language": {"value": "RU", "updated_at": now},
        "timezone": {"value": call.account.timezone, "updated_at": now},
        "mg": {"order_creation": {"default": {"order_type": "eshop-individual"}}},
    }})


def _in_ordering(book: dict) -> dict:
    """Reference books come back in their `ordering`, as RetailCRM sends them:
    PostgreSQL's jsonb does not keep the keys' insertion order."""
    return dict(sorted(book.items(), key=lambda item: (item[1].get("ordering", 0), item[0])))


@route("GET", r"v5/reference/statuses", "reference_read")
def statuses(call):
    return ok({"statuses": _in_ordering(call.account.references.get("statuses", {}))})


@route("GET", r"v5/reference/status-groups", "reference_read")
def status_groups(call):
    return ok({"statusGroups": _in_ordering(call.account.references.get("statusGroups", {}))})


@route("GET", r"v5/reference/sites", "reference_read")
def sites(call):
    books = call.account.references.get("sites", {})
    return ok({"sites": {code: site for code, site in books.items() if code in call.sites}})


def _book(name: str):
    """`/reference/<book>` for one of the books kept in `Account.references`
    (order methods, delivery and payment types, payment statuses)."""

    def answer(call):
        return ok({name: _in_ordering(call.account.references.get(name, {}))})

    return answer


for _path, _name in (("order-methods", "orderMethods"), ("delivery-types", "deliveryTypes"),
                     ("payment-types", "paymentTypes"), ("payment-statuses", "paymentStatuses")):
    route("GET", rf"v5/reference/{_path}", "reference_read")(_book(_name))


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
        customer = resolve_ref(call, Customer, data["customer"], site)
        if customer is None:
            raise ApiProblem(400, "Task is not loaded", {"customer": "Customer not found."})
        doc["customer"] = store.customer_stub(customer)
    if data.get("order"):
        order = _task_order(call, data["order"], site)
        doc["order"] = {"id": order.crm_id, "number": order.number, "site": order.site}
    created = timezone.now()
    task = Task.create_numbered(call.account, lambda crm_id: {
        "id": crm_id, "createdAt": crm_datetime(created, call.account.timezone), **doc})
    return ok({"id": task.crm_id}, status=201)


def _task_order(call, ref, site):
    order = None
    if isinstance(ref, dict) and ref.get("number"):
        order = Order.objects.filter(account=call.account, number=ref["number"]).first()
    elif isinstance(ref, dict):
        order = resolve_ref(call, Order, ref, site)
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
