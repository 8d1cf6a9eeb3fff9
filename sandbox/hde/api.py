"""HTTP face of the emulated HelpDeskEddy API v2 (docs/vendors/helpdeskeddy.md §13 contract).

Every request to `/sandbox/hde/<account>/api/v2/...` goes through `endpoint()`:

1. fault injection and the account-wide rate limit are decided in one atomic
   update of the `Account` row (so concurrent requests are counted exactly);
2. HTTP Basic authentication (agent e-mail + API key, §1);
3. routing to a handler; everything else answers 404 `e-404` (§13).

Every answer carries `X-Rate-Limit` and `X-Rate-Limit-Remaining` (§4).
"""

import base64
import hmac
import json
import re
import time
from datetime import timedelta

from django.db import transaction
from django.http import HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.behaviour import behaviour_view
from sandbox.hde import services as svc
from sandbox.hde.behaviour import BOARD
from sandbox.hde.models import (
    Account,
    CustomField,
    CustomFieldOption,
    Department,
    HdeUser,
    Message,
    Priority,
    Status,
    Ticket,
    TicketType,
)

FAULT_HEADER = "HTTP_X_SANDBOX_FAULT"
STATUS_FAULTS = {"500": 500, "503": 503, "429": 429}
FAULT_KINDS = {*STATUS_FAULTS, "timeout", "slow_body", "malformed_json", "html"}


class Gate:
    """Outcome of the atomic bookkeeping for one request."""

    def __init__(self, *, limit: int, remaining: int, banned: bool, fault: str):
        self.limit, self.remaining, self.banned, self.fault = limit, remaining, banned, fault


def _ban_details(account: Account) -> str:
    minutes = max(1, round(account.ban_seconds / 60))
    return (f"Ban for {minutes} min. API limit reached "
            f"({account.rate_limit_per_minute} request per minute).")


def _pass_gate(account_pk: int, header_fault: str, path: str = "") -> tuple[Account, Gate]:
    """Count the request, apply the sliding-window limit and take one
    queued fault, all under the account row lock. A queued fault with a
    `fault_path` is taken only by requests under that path (`path` is what
    follows `/api/v2/`), so one secondary read can fail while the rest work.

    §4: the limit is for the whole account (every key) over any window; above
    it the API answers 401 "Ban" for `ban_seconds`. The log is cleared when a
    ban starts, so the account starts fresh once the ban lifts.
    """
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_pk)
        now = time.time()
        account.requests_received += 1
        fields = ["requests_received"]
        fault = header_fault
        if (account.fault_next and account.fault_kind
                and path.lstrip("/").startswith(account.fault_path.lstrip("/"))):
            account.fault_next -= 1
            fields.append("fault_next")
            fault = fault or account.fault_kind
        limit = account.rate_limit_per_minute
        banned = False
        if not account.rate_limit_enabled:
            remaining = limit
        elif account.banned_until and account.banned_until > timezone.now():
            banned, remaining = True, 0
        else:
            hits = [t for t in (account.hits or []) if t > now - account.rate_window_seconds]
            if len(hits) >= limit:
                banned, remaining = True, 0
                account.banned_until = timezone.now() + timedelta(seconds=account.ban_seconds)
                account.limit_violations += 1
                account.hits = []
                fields += ["banned_until", "limit_violations", "hits"]
            else:
                hits.append(now)
                account.hits = hits
                remaining = limit - len(hits)
                fields.append("hits")
        account.save(update_fields=fields)
    return account, Gate(limit=limit, remaining=remaining, banned=banned, fault=fault)


def _error(status: int, title: str, details: str = "") -> JsonResponse:
    return JsonResponse(svc.HdeError(status, title, details).body(), status=status)


def _authenticate(request, account: Account) -> HdeUser | None:
    """§1: `Authorization: Basic base64(email:api_key)`."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        email, _, key = base64.b64decode(token.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    user = HdeUser.objects.filter(account=account, email__iexact=email, status="active").first()
    if user is None or not user.api_key or not hmac.compare_digest(user.api_key, key):
        return None
    return user


def _fault_response(fault: str, account: Account, response: HttpResponse):
    """Replace or degrade a response according to a fault kind."""
    if fault in STATUS_FAULTS:
        status = STATUS_FAULTS[fault]
        reply = _error(status, "Too many requests" if status == 429 else "Server error",
                       "Injected by the sandbox")
        if status == 429:
            reply["Retry-After"] = "1"
        return reply
    if fault == "malformed_json":
        return HttpResponse(b'{"data": {"id": 1, "title": "trunc', status=200,
                            content_type="application/json")
    if fault == "html":
        return HttpResponse(
            "<!DOCTYPE html><html><head><title>HelpDeskEddy</title></head>"
            "<body><h1>Страница не найдена</h1></body></html>",
            status=200, content_type="text/html; charset=utf-8",
        )
    if fault == "slow_body":
        content = response.content
        pause = account.fault_sleep_seconds

        def chunks():
            yield content[: len(content) // 2]
            time.sleep(pause)
            yield content[len(content) // 2:]

        slow = StreamingHttpResponse(chunks(), status=response.status_code,
                                     content_type=response["Content-Type"])
        return slow
    return response


@csrf_exempt
def endpoint(request, account, rest):
    """Single entry point of the API; see the module docstring."""
    account_obj = Account.objects.filter(code=account).first()
    if account_obj is None:
        return _error(404, "Not found", f"Unknown HelpDeskEddy system {account}")
    header = request.META.get(FAULT_HEADER, "").strip().lower()
    latency = account_obj.fault_latency_ms
    if header.startswith("latency="):
        latency, header = int(header.split("=", 1)[1] or 0), ""
    if header and header not in FAULT_KINDS:
        header = ""
    if latency:
        time.sleep(latency / 1000)
    account_obj, gate = _pass_gate(account_obj.pk, header, rest)
    if gate.banned:
        response = _error(401, "Ban", _ban_details(account_obj))
    elif gate.fault == "timeout":
        time.sleep(account_obj.fault_sleep_seconds)
        response = _route(request, account_obj, rest)
    elif gate.fault in STATUS_FAULTS or gate.fault in ("malformed_json", "html"):
        response = _fault_response(gate.fault, account_obj, HttpResponse())
    else:
        response = _route(request, account_obj, rest)
        if gate.fault == "slow_body":
            response = _fault_response(gate.fault, account_obj, response)
    response["X-Rate-Limit"] = str(gate.limit)
    response["X-Rate-Limit-Remaining"] = str(gate.remaining)
    return response


# --- routing ---------------------------------------------------------------
def _route(request, account: Account, rest: str):
    actor = _authenticate(request, account)
    if actor is None:
        return _error(401, "Unauthorized", "Wrong e-mail or API key")
    path = "/" + rest.strip("/") + "/"
    for pattern, methods in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        handler = methods.get(request.method)
        if handler is None:
            return _error(405, "Method not allowed", f"{request.method} {path}")
        try:
            return handler(request, account, svc.Actor(actor), **match.groupdict())
        except svc.HdeError as error:
            return JsonResponse(error.body(), status=error.status)
        except ValueError as error:  # a malformed id in a filter list
            return _error(400, "Bad request", str(error))
    return _error(404, "Not found", f"Unknown method {path}")


def _ok(data, pagination=None) -> JsonResponse:
    body = {"data": data}
    if pagination is not None:
        body["pagination"] = pagination
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


def _body(request) -> dict:
    """JSON, form-urlencoded or multipart (§1). Form keys such as
    `custom_fields[3]` and `tags[]` are folded into the JSON shapes."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if "json" in content_type:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise svc.invalid("Malformed JSON body") from exc
        if not isinstance(data, dict):
            raise svc.invalid("The body must be an object")
        return data
    form = request.POST if request.method == "POST" else QueryDict(request.body)
    data: dict = {}
    for key in form:
        values = form.getlist(key)
        nested = re.fullmatch(r"(\w+)\[(\w*)\]", key)
        if nested and nested.group(1) == "custom_fields":
            data.setdefault("custom_fields", {})[nested.group(2)] = values[-1]
        elif nested:
            data.setdefault(nested.group(1), []).extend(values)
        else:
            data[key] = values[-1]
    return data


def _page(request) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _csv(request, name) -> list[str]:
    return [x.strip() for x in request.GET.get(name, "").split(",") if x.strip()]


# --- tickets -----------------------------------------------------------------
_ORDER = re.compile(r"(date_created|date_updated|viewed_by_staff|viewed_by_client)"
                    r"\{(asc|desc)\}")


def tickets_list(request, account, actor):
    """§5.2 filters; `data` is an object keyed by id, in sort order."""
    tickets = Ticket.objects.filter(account=account).select_related("owner", "user")
    q = request.GET
    if q.get("search"):
        term = q["search"]
        tickets = tickets.filter(title__icontains=term) | tickets.filter(unique_id__iexact=term)
    if _csv(request, "user_list"):
        tickets = tickets.filter(user__hid__in=[int(x) for x in _csv(request, "user_list")])
    if _csv(request, "owner_list"):
        owners = [int(x) for x in _csv(request, "owner_list")]
        unassigned = tickets.filter(owner__isnull=True) if 0 in owners else tickets.none()
        tickets = tickets.filter(owner__hid__in=owners) | unassigned
    if _csv(request, "status_list"):
        tickets = tickets.filter(status_id__in=_csv(request, "status_list"))
    if _csv(request, "priority_list"):
        tickets = tickets.filter(priority_id__in=[int(x) for x in _csv(request, "priority_list")])
    if _csv(request, "type_list"):
        tickets = tickets.filter(type_id__in=[int(x) for x in _csv(request, "type_list")])
    for param, lookup in (("from_date_created", "date_created__gte"),
                          ("to_date_created", "date_created__lte"),
                          ("from_date_updated", "date_updated__gte"),
                          ("to_date_updated", "date_updated__lte")):
        if q.get(param):
            tickets = tickets.filter(**{lookup: svc.parse_filter_date(account, q[param])})
    order = [("-" if d == "desc" else "") + f for f, d in _ORDER.findall(q.get("order_by", ""))
             if f.startswith("date_")] or ["-date_created"]
    items = list(tickets.order_by(*order, "-hid"))
    chunk, pagination = svc.paginate(items, _page(request), total_as_string=True)
    return _ok({str(t.hid): svc.ticket_json(account, t) for t in chunk}, pagination)


def ticket_create(request, account, actor):
    ticket = svc.create_ticket(account, _body(request), actor)
    return _ok(svc.ticket_json(account, svc.get_ticket(account, ticket.hid)))


def ticket_get(request, account, actor, ticket_id):
    return _ok(svc.ticket_json(account, svc.get_ticket(account, ticket_id)))


def ticket_update(request, account, actor, ticket_id):
    ticket = svc.get_ticket(account, ticket_id)
    svc.update_ticket(account, ticket, _body(request), actor)
    return _ok(svc.ticket_json(account, svc.get_ticket(account, ticket_id)))


def _messages(is_comment: bool):
    def list_view(request, account, actor, ticket_id):
        """Newest first (§6); paginated by 30."""
        ticket = svc.get_ticket(account, ticket_id)
        items = list(Message.objects.filter(ticket=ticket, is_comment=is_comment)
                     .select_related("user", "ticket").order_by("-date_created", "-hid"))
        chunk, pagination = svc.paginate(items, _page(request))
        return _ok([svc.message_json(account, m) for m in chunk], pagination)

    def create_view(request, account, actor, ticket_id):
        ticket = svc.get_ticket(account, ticket_id)
        data = _body(request)
        author = actor.user
        # §6: `user_id` sets the author ("if not given, the API user"), as
        # the official docs' examples say; switch `post_author=ignored`
        # always answers as the API user.
        if (data.get("user_id") not in (None, "", "0", 0)
                and account.switch("post_author") == "allowed"):
            author = svc.get_user(account, data["user_id"])
        message = svc.add_message(account, ticket, text=data.get("text", ""), author=author,
                                  is_comment=is_comment)
        return _ok(svc.message_json(account, message))

    return list_view, create_view


posts_list, post_create = _messages(False)
comments_list, comment_create = _messages(True)


def _message_delete(is_comment: bool):
    def view(request, account, actor, ticket_id, message_id):
        """§3 quirk: a successful delete answers HTTP 200 with the `errors`
        envelope and an `s-204` code."""
        ticket = svc.get_ticket(account, ticket_id)
        kind = "Comment" if is_comment else "Post"
        deleted, _ = Message.objects.filter(ticket=ticket, hid=int(message_id),
                                            is_comment=is_comment).delete()
        if not deleted:
            raise svc.not_found(f"{kind} with id {{{message_id}}} in ticket with id "
                                f"{{{ticket.hid}}} not found")
        return JsonResponse({"errors": [{
            "code": "s-204", "title": "No content",
            "details": f"{kind} with id {{{message_id}}} in ticket with id {{{ticket.hid}}} "
                       "successfully deleted"}]})

    return view


# --- users -------------------------------------------------------------------
def users_list(request, account, actor):
    q = request.GET
    users = svc.search_users(account, search=q.get("search", ""),
                             exact=q.get("exact_search") == "1",
                             id_list=q.get("id_list", ""), group_list=q.get("group_list", ""))
    chunk, pagination = svc.paginate(users, _page(request))
    return _ok([svc.user_json(account, u) for u in chunk], pagination)


def user_get(request, account, actor, user_id):
    return _ok(svc.user_json(account, svc.get_user(account, user_id)))


def user_create(request, account, actor):
    data = _body(request)
    if not data.get("name"):
        raise svc.invalid("Field name is required")
    user = svc.create_user(account, email=str(data.get("email", "")), name=str(data["name"]),
                           lastname=str(data.get("lastname", "")),
                           phone=str(data.get("phone", "")))
    return _ok(svc.user_json(account, user))


def user_update(request, account, actor, user_id):
    user = svc.get_user(account, user_id)
    data = _body(request)
    for field in ("name", "lastname", "phone", "email", "organization", "status"):
        if field in data:
            setattr(user, field, str(data[field]))
    user.date_updated = timezone.now()
    user.save()
    return _ok(svc.user_json(account, user))


# --- dictionaries (§8, §9) -----------------------------------------------------
def _dictionary(model):
    def view(request, account, actor):
        return _ok(svc.named_json(model.objects.filter(account=account)))

    return view


def statuses_list(request, account, actor):
    """Statuses have string ids (§5.3)."""
    return _ok([{"id": s.slug, "name": s.name} for s in Status.objects.filter(account=account)])


def custom_fields_list(request, account, actor):
    data = svc.custom_fields_json(account)
    total = len(data)
    return _ok(data, {"total": total, "per_page": svc.PAGE_SIZE, "current_page": 1,
                      "total_pages": 1})


def custom_field_get(request, account, actor, field_id):
    data = svc.custom_fields_json(account)
    if str(field_id) not in data:
        raise svc.not_found(f"Custom field with id {{{field_id}}} not found")
    return _ok({str(field_id): data[str(field_id)]})  # §9.1: wrapped in a keyed object


def custom_field_options(request, account, actor, field_id):
    field = CustomField.objects.filter(account=account, hid=int(field_id)).first()
    if field is None:
        raise svc.not_found(f"Custom field with id {{{field_id}}} not found")
    options = [{"id": o.hid, "pid": o.pid, "name": o.name}
               for o in CustomFieldOption.objects.filter(field=field)]
    return _ok(options, {"total": len(options), "per_page": 50, "current_page": 1,
                         "total_pages": 1})


def user_custom_fields(request, account, actor):
    return _ok({}, {"total": 0, "per_page": svc.PAGE_SIZE, "current_page": 1, "total_pages": 1})


ROUTES = [
    (re.compile(r"/tickets/"), {"GET": tickets_list, "POST": ticket_create}),
    (re.compile(r"/tickets/(?P<ticket_id>\d+)/"), {"GET": ticket_get, "PUT": ticket_update}),
    (re.compile(r"/tickets/(?P<ticket_id>\d+)/posts/"), {"GET": posts_list, "POST": post_create}),
    (re.compile(r"/tickets/(?P<ticket_id>\d+)/comments/"),
     {"GET": comments_list, "POST": comment_create}),
    (re.compile(r"/tickets/(?P<ticket_id>\d+)/posts/(?P<message_id>\d+)/"),
     {"DELETE": _message_delete(False)}),
    (re.compile(r"/tickets/(?P<ticket_id>\d+)/comments/(?P<message_id>\d+)/"),
     {"DELETE": _message_delete(True)}),
    (re.compile(r"/users/"), {"GET": users_list, "POST": user_create}),
    (re.compile(r"/users/custom_fields/"), {"GET": user_custom_fields}),
    (re.compile(r"/users/(?P<user_id>\d+)/"), {"GET": user_get, "PUT": user_update}),
    (re.compile(r"/statuses/"), {"GET": statuses_list}),
    (re.compile(r"/priorities/"), {"GET": _dictionary(Priority)}),
    (re.compile(r"/types/"), {"GET": _dictionary(TicketType)}),
    (re.compile(r"/departments/"), {"GET": _dictionary(Department)}),
    (re.compile(r"/custom_fields/"), {"GET": custom_fields_list}),
    (re.compile(r"/custom_fields/(?P<field_id>\d+)/"), {"GET": custom_field_get}),
    (re.compile(r"/custom_fields/(?P<field_id>\d+)/options/"), {"GET": custom_field_options}),
]


# `GET|POST /sandbox/hde/<account>/_behaviour`: the account's answers to the
# vendor's open questions (sandbox.hde.behaviour). Not a vendor API.
behaviour = behaviour_view(
    BOARD, lambda code: Account.objects.filter(code=code).first(),
    lambda request: _error(404, "Not found", "Unknown HelpDeskEddy system"))
