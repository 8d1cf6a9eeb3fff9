"""What happens to a request before an endpoint sees it: the account lookup,
the vendor's rate limit, injected faults and API-key authentication.

The order mirrors the real service: the front proxy (nginx) answers an
unknown account and the rate limit with HTML pages before the application
checks the key (docs/vendors/retailcrm.md §5.3, §6).
"""

import threading
import time
from collections import deque
from dataclasses import dataclass

from django.db.models import F
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from sandbox.retailcrm.models import Account, ApiKey, Fault
from sandbox.retailcrm.protocol import ApiProblem, nginx_page

FAULT_HEADER = "HTTP_X_SANDBOX_FAULT"
LATENCY_HEADER = "HTTP_X_SANDBOX_LATENCY_MS"
RATE_WINDOW_SECONDS = 1.0
REQUEST_LOG_SIZE = 5000


class SlidingWindowLimiter:
    """At most `limit` admitted requests per account in any one-second
    window (the vendor counts 10 rps, §6). In-process: the emulator is one
    server process, and the limit must not cost a database write."""

    def __init__(self):
        self._lock = threading.Lock()
        self._admitted: dict[str, deque] = {}

    def admit(self, account: str, limit: int) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._admitted.setdefault(account, deque())
            while hits and hits[0] <= now - RATE_WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True

    def reset(self, account: str | None = None) -> None:
        with self._lock:
            if account is None:
                self._admitted.clear()
            else:
                self._admitted.pop(account, None)


@dataclass(frozen=True)
class LoggedRequest:
    account: str
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    status: int


class RequestLog:
    """The last requests the emulator received, so tests and benchmarks can
    count what really reached the "vendor" (e.g. requests per second)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, account: str | None = None, *, since: float = 0.0) -> list[LoggedRequest]:
        """Requests (to `account`) that arrived at or after `since`, in the
        order they were answered."""
        with self._lock:
            return [e for e in self._entries
                    if (account is None or e.account == account) and e.at >= since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def max_per_window(self, account: str, window: float = RATE_WINDOW_SECONDS, *,
                       since: float = 0.0) -> int:
        """The largest number of requests that arrived inside any `window` seconds."""
        times = sorted(e.at for e in self.entries(account, since=since))
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best


limiter = SlidingWindowLimiter()
request_log = RequestLog()


def find_account(code: str) -> Account | None:
    return Account.objects.filter(code=code).first()


def unknown_account(request) -> HttpResponse:
    """A wrong account URL: the vendor's proxy answers HTML, 405 for POSTs
    (§5.3, the PHP client's AccountNotFoundHandler)."""
    if request.method == "POST":
        return nginx_page(405, "Not Allowed")
    return nginx_page(404, "Not Found")


def over_rate_limit(account: Account) -> HttpResponse | None:
    if account.rate_limit_rps and not limiter.admit(account.code, account.rate_limit_rps):
        return nginx_page(503, "Service Temporarily Unavailable")
    return None


def _take_account_fault(account: Account) -> str:
    """The account's fault for this request: after `fault_after` requests
    have passed; a burst counts down and clears."""
    if not account.fault:
        return ""
    if account.fault_after and Account.objects.filter(
            pk=account.pk, fault_after__gt=0).update(fault_after=F("fault_after") - 1):
        return ""
    if account.fault_burst == 0:
        return account.fault
    taken = Account.objects.filter(pk=account.pk, fault_burst__gt=0).update(
        fault_burst=F("fault_burst") - 1
    )
    Account.objects.filter(pk=account.pk, fault_burst=0).exclude(fault="").update(fault="")
    return account.fault if taken else ""


def apply_latency(request, account: Account) -> None:
    try:
        extra = int(request.META.get(LATENCY_HEADER, "0"))
    except ValueError:
        extra = 0
    delay = account.latency_ms + max(0, extra)
    if delay:
        time.sleep(delay / 1000)


def injected_fault(request, account: Account) -> HttpResponse | None:
    """A response replacing the real one, or None. The header wins over the
    account setting (tests send it through raw `requests`; the portal's
    client never sends it)."""
    fault = request.META.get(FAULT_HEADER, "").strip() or _take_account_fault(account)
    if fault == Fault.RATE_LIMIT_503:
        return nginx_page(503, "Service Temporarily Unavailable")
    if fault == Fault.TOO_MANY_429:
        return nginx_page(429, "Too Many Requests", {"Retry-After": "1"})
    if fault == Fault.SERVER_ERROR_500:
        return JsonResponse({"success": False, "errorMsg": "Internal Server Error"}, status=500)
    if fault == Fault.BAD_GATEWAY_HTML:
        return nginx_page(502, "Bad Gateway")
    if fault == Fault.MALFORMED_JSON:
        return HttpResponse('{"success": true, "customers": [{"id": 1, "firstN',
                            content_type="application/json")
    if fault == Fault.HTML_PAGE:
        return HttpResponse("<!DOCTYPE html><html><body><h1>Вход в систему</h1></body></html>",
                            content_type="text/html; charset=utf-8")
    if fault == Fault.SLOW_BODY:
        return _slow_body(account.slow_body_ms)
    return None


def _slow_body(delay_ms: int) -> StreamingHttpResponse:
    """Headers and the first bytes at once, the rest after `delay_ms`: what a
    stalled upstream looks like to a client with a read timeout."""

    def chunks():
        yield b'{"success": true, '
        time.sleep(delay_ms / 1000)
        yield b'"slow": true}'

    return StreamingHttpResponse(chunks(), content_type="application/json")


def authenticate(request, account: Account) -> ApiKey:
    """`X-API-KEY` header or `apiKey` parameter (§2); errors as the vendor's
    envelope with 403 (the Go client's mocks), or 401 with the switch
    `auth_error_status` (the exact status is uncertain, §19)."""
    status = int(account.switch("auth_error_status"))
    raw = (request.headers.get("X-Api-Key") or request.GET.get("apiKey")
           or request.POST.get("apiKey") or "")
    if not raw:
        raise ApiProblem(status, '"apiKey" is missing.')
    key = ApiKey.objects.select_related("account").filter(key=raw, active=True).first()
    if key is None or key.account_id != account.pk:
        raise ApiProblem(status, 'Wrong "apiKey" value.')
    return key


def require_scope(key: ApiKey, scope: str | None) -> None:
    if scope and scope not in key.scopes:
        raise ApiProblem(403, "Access denied.")
