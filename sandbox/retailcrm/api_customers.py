"""Customers (docs/vendors/retailcrm.md §8) and their notes (§9)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from sandbox.retailcrm import matching, store
from sandbox.retailcrm.api_orders import history_feed
from sandbox.retailcrm.models import Customer, Note
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
from sandbox.retailcrm.routing import find_entity, resolve_ref, route


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
        # Exact vs substring and letter case are unverified (§8.1): switches.
        rows = matching.by_email(call.account, rows, flt["email"])
    if flt.get("name"):
        # Names and phones; phone rules are unverified (§8.1, §19): a switch.
        rows = matching.by_name(call.account, rows, flt["name"])
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
    taken = ApiProblem(400, "Errors in the entity format",
                       {"externalId": "Customer with this externalId already exists."})
    if data.get("externalId") and Customer.objects.filter(
        account=call.account, site=site, external_id=str(data["externalId"])
    ).exists():
        raise taken
    try:
        with transaction.atomic():
            customer = store.create_customer(call.account, call.key, data, site)
    except IntegrityError:  # a concurrent create with the same externalId won
        raise taken from None
    return ok({"id": customer.crm_id}, status=201)


@route("GET", r"v5/customers/history", "customer_read")
def customers_history(call):
    return history_feed(call, "customer", "customerId")


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
    customer = resolve_ref(call, Customer, data.get("customer"), call.query.get("site"))
    if customer is None:
        raise ApiProblem(400, "Errors in the entity format",
                         {"customer": "Set one of the following fields: id, externalId"})
    if not str(data.get("text", "")).strip():
        raise ApiProblem(400, "Errors in the entity format",
                         {"text": "This value should not be blank."})
    now = timezone.now()
    extra = {"managerId": int(data["managerId"])} if data.get("managerId") else {}

    def build_doc(crm_id):
        return {"id": crm_id, "text": data["text"],
                "createdAt": crm_datetime(now, call.account.timezone),
                "customer": store.customer_stub(customer), **extra}

    note = Note.create_numbered(call.account, build_doc, customer_crm_id=customer.crm_id,
                                created_at=now)
    crm_id = note.crm_id
    return ok({"id": crm_id}, status=201)


@route("POST", r"v5/customers/notes/(?P<note_id>\d+)/delete", "customer_write")
def notes_delete(call, note_id):
    deleted, _ = Note.objects.filter(account=call.account, crm_id=int(note_id)).delete()
    if not deleted:
        raise not_found()
    return ok()


@route("GET", r"v5/customers/(?P<ident>[^/]+)", "customer_read")
def customers_get(call, ident):
    return ok({"customer": find_entity(call, Customer, ident).doc})


@route("POST", r"v5/customers/(?P<ident>[^/]+)/edit", "customer_write")
def customers_edit(call, ident):
    data = json_field(call.request, "customer")
    customer = store.edit_customer(call.account, call.key, find_entity(call, Customer, ident), data)
    return ok({"id": customer.crm_id, "state": "found"})
