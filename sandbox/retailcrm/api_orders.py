"""Orders (docs/vendors/retailcrm.md §11) and the order/customer change feeds (§12)."""

from django.utils import timezone

from sandbox.retailcrm import matching, store
from sandbox.retailcrm.models import Customer, HistoryRecord, Order
from sandbox.retailcrm.protocol import (
    ApiProblem,
    as_list,
    crm_datetime,
    json_field,
    ok,
    paginate,
    paging,
)
from sandbox.retailcrm.routing import find_entity, resolve_ref, route


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
    if flt.get("customer"):
        # Free text naming the customer (§11.1; semantics unverified).
        customers = Customer.objects.filter(account=call.account, site__in=call.sites)
        rows = matching.orders_by_customer(call.account, rows, customers, flt["customer"])
    if flt.get("email"):
        rows = matching.orders_by_email(call.account, rows, flt["email"])
    if as_list(flt.get("extendedStatus")):
        # Whether group codes are accepted is unverified (§11.1): a switch.
        wanted = set(as_list(flt["extendedStatus"]))
        if call.account.switch("extended_status_groups") == "accepted":
            groups = call.account.references.get("statusGroups", {})
            for code in list(wanted):
                wanted.update(groups.get(code, {}).get("statuses", []))
        rows = rows.filter(status__in=wanted)
    if flt.get("createdAtFrom"):
        rows = rows.filter(doc__createdAt__gte=str(flt["createdAtFrom"]))
    if flt.get("createdAtTo"):
        rows = rows.filter(doc__createdAt__lte=f"{flt['createdAtTo']} 23:59:59")
    ordered = rows.order_by(*ORDER_LIST_ORDER[call.account.switch("order_list_order")])
    # Count and page on ids (indexes cover them), then read only the page's
    # rows: an order's large document sits before its other columns, so a
    # query that reads rows pays for every matching document.
    ids, pagination = paginate(ordered.values_list("pk", flat=True), limit, page)
    by_id = Order.objects.in_bulk(ids)
    found = [by_id[pk] for pk in ids if pk in by_id]
    return ok({"pagination": pagination, "orders": store.render_orders(call.account, found)})


# The default sort of the order list is undocumented (§11.1): a switch.
ORDER_LIST_ORDER = {
    "newest_first": ("-created_at", "-crm_id"),
    "oldest_first": ("created_at", "crm_id"),
    "id_asc": ("crm_id",),
}


@route("POST", r"v5/orders/create", "order_write")
def orders_create(call):
    data = json_field(call.request, "order")
    site = store.resolve_site(call.account, call.key, call.query.get("site"))
    customer = resolve_ref(call, Customer, data.get("customer"), site)
    if data.get("customer") and customer is None:
        raise ApiProblem(400, "Errors in the entity format", {"customer": "Customer not found."})
    order = store.create_order(call.account, call.key, data, site, customer)
    return ok({"id": order.crm_id, "order": store.render_orders(call.account, [order])[0]},
              status=201)


@route("GET", r"v5/orders/history", "order_read")
def orders_history(call):
    return history_feed(call, "order", "orderId")


@route("GET", r"v5/orders/(?P<ident>[^/]+)", "order_read")
def orders_get(call, ident):
    order = find_entity(call, Order, ident)
    return ok({"order": store.render_orders(call.account, [order])[0]})


@route("POST", r"v5/orders/(?P<ident>[^/]+)/edit", "order_write")
def orders_edit(call, ident):
    data = json_field(call.request, "order")
    order = store.edit_order(call.account, call.key, find_entity(call, Order, ident), data)
    return ok({"id": order.crm_id, "order": store.render_orders(call.account, [order])[0]})


def history_feed(call, entity: str, id_filter: str):
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
    if call.account.switch("history_pages") == "empty_pages":
        found, pagination = _with_empty_pages(rows.order_by("crm_id"), limit, page)
    else:
        found, pagination = paginate(rows.order_by("crm_id"), limit, page)
    history = []
    for record in found:
        doc = dict(record.doc)
        if doc.get("source") == "api":
            doc["apiKey"] = {"current": record.api_key_id == call.key.pk}
        history.append(doc)
    return ok({"generatedAt": crm_datetime(timezone.now(), call.account.timezone),
               "history": history, "pagination": pagination})


def _with_empty_pages(queryset, limit: int, page: int) -> tuple[list, dict]:
    """`history_pages=empty_pages`: every odd page answers no records while
    `pagination` says more pages follow; page 2k holds what page k would
    (so `totalPageCount` doubles, `totalCount` stays true). A client that
    stops at the first empty page stalls on its cursor, as RetailCRM's own
    module once did; one that follows `totalPageCount` still gets every
    record, in order."""
    total = queryset.count()
    real_pages = (total + limit - 1) // limit
    pagination = {"limit": limit, "totalCount": total, "currentPage": page,
                  "totalPageCount": 2 * real_pages}
    if page % 2:
        return [], pagination
    real = page // 2
    return list(queryset[(real - 1) * limit: real * limit]), pagination
