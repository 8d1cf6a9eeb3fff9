"""Wire format of RetailCRM API v5 as the emulator speaks it (docs/vendors/retailcrm.md §4–§5).

- GET parameters are PHP-style brackets: `filter[ids][]=1&filter[email]=x`.
- POST bodies are form-encoded; nested entities arrive as one field holding
  a JSON string (`customer=`, `order=`, `note=`, `task=`).
- Every JSON answer carries `success`; errors carry `errorMsg` and maybe
  `errors` (an object of field messages).
"""

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import HttpResponse, JsonResponse

ALLOWED_LIMITS = (20, 50, 100)
HISTORY_MAX_LIMIT = 100
_BRACKETS = re.compile(r"\[([^\]]*)\]")


class ApiProblem(Exception):
    """Raised by handlers; turned into the vendor's error envelope."""

    def __init__(self, status: int, error_msg: str, errors=None):
        super().__init__(error_msg)
        self.status = status
        self.error_msg = error_msg
        self.errors = errors


def not_found() -> ApiProblem:
    return ApiProblem(404, "Not found")


def parse_php_query(pairs) -> dict:
    """Nest `a[b][]=1` pairs the way PHP does. Values stay strings.

    Tolerates what the official Python client sends: the literal
    `filter=None` when no filters are given (§17), Python `True`/`False`.
    """
    result: dict = {}
    for raw_key, value in pairs:
        head, _, rest = raw_key.partition("[")
        keys = [head] + (_BRACKETS.findall("[" + rest) if rest else [])
        node = result
        for position, key in enumerate(keys):
            last = position == len(keys) - 1
            if last:
                if key == "":
                    if not isinstance(node, list):
                        break
                    node.append(value)
                elif isinstance(node, dict):
                    node[key] = value
                break
            following = keys[position + 1]
            default = [] if following == "" else {}
            if isinstance(node, list):
                child = default
                node.append(child)
            else:
                child = node.get(key)
                if not isinstance(child, (dict, list)):
                    child = default
                    node[key] = child
            node = child
    if not isinstance(result.get("filter"), dict):
        result["filter"] = {}
    return result


def as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else [value]


def as_bool(value) -> bool | None:
    if value is None or value == "":
        return None
    return str(value).lower() in ("1", "true", "yes")


def json_field(request, name: str, *, required: bool = True):
    """A form field that holds a JSON-encoded entity (§4)."""
    raw = request.POST.get(name)
    if raw is None:
        if required:
            raise ApiProblem(400, f"Parameter '{name}' is missing")
        return None
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ApiProblem(400, "Errors in the input parameters",
                         {name: "Invalid JSON."}) from error
    if not isinstance(value, dict):
        raise ApiProblem(400, "Errors in the entity format", {name: "An object is expected."})
    return value


def paging(params: dict, *, history: bool = False) -> tuple[int, int]:
    """`limit` must be 20, 50 or 100 (§5.2; history: at most 100)."""
    raw_limit = params.get("limit") or "20"
    raw_page = params.get("page") or "1"
    try:
        limit, page = int(raw_limit), int(raw_page)
    except (TypeError, ValueError) as error:
        raise ApiProblem(400, "Errors in the input parameters",
                         {"limit": "This value is not valid."}) from error
    if history:
        if not 1 <= limit <= HISTORY_MAX_LIMIT:
            raise ApiProblem(400, "Errors in the input parameters",
                             {"limit": f"This value should be {HISTORY_MAX_LIMIT} or less."})
    elif limit not in ALLOWED_LIMITS:
        raise ApiProblem(400, "Errors in the input parameters",
                         {"limit": "The value you selected is not a valid choice."})
    if page < 1:
        raise ApiProblem(400, "Errors in the input parameters",
                         {"page": "This value should be 1 or more."})
    return limit, page


def paginate(queryset, limit: int, page: int) -> tuple[list, dict]:
    total = queryset.count()
    rows = list(queryset[(page - 1) * limit: page * limit])
    pagination = {
        "limit": limit, "totalCount": total, "currentPage": page,
        "totalPageCount": (total + limit - 1) // limit,
    }
    return rows, pagination


def ok(payload: dict | None = None, status: int = 200) -> JsonResponse:
    return JsonResponse({"success": True, **(payload or {})}, status=status,
                        json_dumps_params={"ensure_ascii": False})


def error_response(problem: ApiProblem) -> JsonResponse:
    body = {"success": False, "errorMsg": problem.error_msg}
    if problem.errors:
        body["errors"] = problem.errors
    return JsonResponse(body, status=problem.status, json_dumps_params={"ensure_ascii": False})


NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def nginx_page(status: int, reason: str, headers: dict | None = None) -> HttpResponse:
    """What the vendor's front proxy sends: an HTML page, not the JSON
    envelope (§6 rate limit 503, §5.3 405 for a missing account)."""
    response = HttpResponse(NGINX_PAGE.format(status=status, reason=reason), status=status,
                            content_type="text/html")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def crm_datetime(moment: datetime, tz: str) -> str:
    """`Y-m-d H:i:s` in the account's timezone, no offset (§7)."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
