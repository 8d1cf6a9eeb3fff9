"""Shared machinery of the vendor clients.

Every request goes through `BaseClient.request()`, which
- refuses, before anything is sent, a stored key asked to go to an origin it
  was not entered for and a URL the outbound policy forbids
  (integration.core.outbound_policy; the transport in `outbound.py` checks
  every socket's address again at connect time and refuses redirects to
  another origin),
- waits for a slot in the account's shared throttle (`throttle.acquire`),
- sends with default (connect, read) timeouts on a pooled session,
- lets urllib3 retry idempotent GETs on 429/502/503/504 with backoff and
  Retry-After, each retry also taking a throttle slot and writing its own row,
- maps the outcome to the error tree in `errors.py` (the subclass knows the
  vendor's envelope),
- writes one `ApiCall` row per attempt, its path free of keys and personal
  data (`call_log.py`), and keeps the connection's health.

Throttle, ban and cache keys are the connection's identity (account URL plus
a keyed digest of the key, `ConnectionBase.identity`), never the host alone:
two shops on one host must not share data, budgets or bans.

Writes (POST/PUT) are never retried here: jobs retry them with idempotency
keys, because a timed-out POST may well have succeeded.
"""

import contextlib
import json
import logging
import re
import threading
import time

import requests
from django.conf import settings
from django.utils import timezone
from urllib3.util.retry import Retry

from integration.core import outbound_policy
from integration.core.db_waits import pooled_connections_release
from integration.models import ApiCall, ConnectionStatus
from integration.ops import metrics
from integration.vendors import call_log, throttle
from integration.vendors.errors import (
    ApiError,
    ApiHostError,
    ApiRefusedByPolicy,
    ApiServerError,
    ApiTimeoutError,
    ApiUnauthorized,
    ApiUnexpectedResponse,
    stored_text,
)
from integration.vendors.outbound import GuardedAdapter, guarded_session

logger = logging.getLogger("integration.clients")

SECRET_PARAMS = call_log.SECRET_PARAMS
MAX_ERROR_CHARS = 1000
MAX_RETRY_AFTER = 10.0


def redact(text: str, secrets: list[str]) -> str:
    """Remove every known secret, and anything that looks like credentials,
    from a text that may be stored or logged."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = re.sub(r"(?i)(authorization:\s*)(basic|bearer)\s+\S+", r"\1\2 [redacted]", text)
    text = re.sub(r"(?i)(apiKey=)[^&\s\"']+", r"\1[redacted]", text)
    return text[:MAX_ERROR_CHARS]


def safe_path(url: str, kept: frozenset[str] = call_log.KEPT_PARAMS) -> str:
    """Path plus query for logs and rows: secret parameters blanked,
    personal values hashed (see `call_log`)."""
    return call_log.scrub_url(url, kept)[0]


class AccountedRetry(Retry):
    """urllib3 Retry that tells the client about each retried attempt, so the
    retry takes a throttle slot and gets its own ApiCall row, and that gives
    up instead of sleeping through a long Retry-After."""

    def __init__(self, *args, on_retry=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_retry = on_retry

    def new(self, **kwargs):
        retry = super().new(**kwargs)
        retry.on_retry = self.on_retry
        return retry

    def sleep_for_retry(self, response=None):
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after is not None:
            time.sleep(min(retry_after, MAX_RETRY_AFTER))
            return True
        return False

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,
                  _stacktrace=None):
        new_retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.on_retry is not None:
            self.on_retry(method, url, response, error)
        return new_retry


class BaseClient:
    provider: str = ""
    rate_limit_settings: tuple[str, str, str] = ("", "", "")
    # Query parameters whose values the call log may keep as they are (ids,
    # codes, dates, paging); every other value is hashed.
    log_params: frozenset[str] = call_log.KEPT_PARAMS
    # The HTTP statuses by which the vendor says "too many requests".
    rate_limit_statuses: tuple[int, ...] = (429,)

    def __init__(self, *, shop, connection, interactive: bool = False, event=None,
                 request_id: str = ""):
        self.shop = shop
        self.connection = connection
        self.base_url = connection.base_url.rstrip("/")
        self.interactive = interactive
        self.event = event
        self.request_id = request_id
        self.account_key = self.account_key_for(connection)
        self._local = threading.local()
        self.session = self._build_session()
        # Shared by the pool threads one client fans out to (see
        # `slots_ahead` and `call_log_batch`).
        self._shared_lock = threading.Lock()
        self._prepaid = 0
        self._batched_calls: list | None = None
        # The outcome of the newest failed attempt ("rate_limited", …): a
        # caller whose own deadline passed while this client still retried
        # can say what the vendor answered instead of "timed out".
        self.last_failure = ""

    @classmethod
    def account_key_for(cls, connection) -> str:
        """The throttle/ban key (`RateLimitState.key`) of a connection: the
        provider, the host for people reading the table, and the
        connection's identity (account URL + key digest).

        Why not the host, or the account URL alone: shops on one host (every
        sandbox account; installs under one name) would share one budget
        and one ban, and anyone who typed another tenant's account URL with
        any key would spend that tenant's budget. The cost: two keys of one
        vendor account get a budget each while the vendor counts them
        together; its own answers (RetailCRM's 503, HDE's remaining-count
        header and ban) still slow each of them down."""
        return f"{cls.provider}:{connection.host[:120]}:{connection.identity}"

    # -- hooks for subclasses ---------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def secrets(self) -> list[str]:
        return [self.connection.api_key]

    def raise_for_response(self, response: requests.Response, body, path: str) -> None:
        """Map a vendor response to the error tree; return when it is a success."""
        raise NotImplementedError

    def after_response(self, response: requests.Response) -> None:
        """Vendor-specific bookkeeping (rate-limit headers, bans)."""

    # -- session ----------------------------------------------------------
    def budget(self) -> throttle.Budget:
        limit, window, reserve = self.rate_limit_settings
        knobs = settings.INTEGRATION
        return throttle.Budget(knobs[limit], knobs[window], knobs[reserve])

    def _build_session(self) -> requests.Session:
        knobs = settings.INTEGRATION
        retry = AccountedRetry(
            total=knobs["HTTP_RETRY_TOTAL"],
            connect=knobs["HTTP_RETRY_TOTAL"],
            # read=False: a read timeout is raised as itself (ReadTimeout), not
            # wrapped into MaxRetryError/ConnectionError, so it maps to
            # ApiTimeoutError; reads are never retried (the vendor may be
            # working on it).
            read=False,
            status=knobs["HTTP_RETRY_TOTAL"],
            backoff_factor=knobs["HTTP_RETRY_BACKOFF"],
            status_forcelist=(429, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
            on_retry=self._on_retry,
        )
        session = guarded_session(
            GuardedAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16))
        session.headers.update({"User-Agent": "retailcrm-hde-portal/1.0", **self.auth_headers()})
        return session

    def _on_retry(self, method, url, response, error):
        """An attempt failed and urllib3 will retry: log it, then take a slot."""
        started = getattr(self._local, "started", time.monotonic())
        status = response.status if response is not None else None
        reason = f"retrying after HTTP {status}" if status else f"retrying after {error!r}"
        self._record(method, self._local.path, status, started, "retried", reason)
        self.last_failure = ("rate_limited" if status in self.rate_limit_statuses
                             else "server_error" if status and status >= 500
                             else "timeout" if "Timeout" in type(error).__name__
                             else "host_error" if error is not None else "")
        throttle.acquire(self.account_key, self.budget(), interactive=self.interactive)
        self._local.started = time.monotonic()

    # -- round-trips ----------------------------------------------------------
    def slots_ahead(self, count: int) -> None:
        """Take the throttle slots of `count` requests about to leave together
        (a round-trip's parallel requests) in one step; each of them then
        uses one instead of taking its own (one transaction, not one per
        request, on the path an operator waits on). A request beyond them
        takes its own slot as usual; a slot left unused only makes the
        budget stricter."""
        if count <= 0:
            return
        throttle.acquire(self.account_key, self.budget(), interactive=self.interactive,
                         count=count)
        with self._shared_lock:
            self._prepaid += count

    def _slot(self) -> None:
        with self._shared_lock:
            if self._prepaid > 0:
                self._prepaid -= 1
                return
        throttle.acquire(self.account_key, self.budget(), interactive=self.interactive)

    @contextlib.contextmanager
    def call_log_batch(self):
        """The call-log rows of the requests made inside (from any thread)
        are written in one bulk insert when the block ends, instead of one
        insert per request while the operator waits."""
        with self._shared_lock:
            outer = self._batched_calls is not None
            if not outer:
                self._batched_calls = []
        try:
            yield self
        finally:
            if not outer:
                with self._shared_lock:
                    rows, self._batched_calls = self._batched_calls, None
                if rows:
                    ApiCall.objects.bulk_create(rows)

    # -- the one request path ----------------------------------------------
    def _refuse_unless_allowed(self, method: str, path: str) -> None:
        """The first line of the outbound policy, before a slot is taken or
        a socket opened: the key must have been entered for this origin, and
        the URL must pass the static checks (scheme, user-info, literal
        address). A URL changed in memory (an unsaved form) or in the
        database without its key (a bulk update) is refused here."""
        try:
            if not self.connection.key_bound:
                raise outbound_policy.Refused(outbound_policy.KEY_ORIGIN,
                                              "the key was entered for another origin")
            outbound_policy.check_url(self.base_url)
        except outbound_policy.Refused as refused:
            self._local.started = time.monotonic()
            self._refused(method, path, refused)

    def _refused(self, method, path, refused: outbound_policy.Refused):
        self._fail(method, path, None, ApiRefusedByPolicy(
            "The portal refused to send this request (outbound policy).", path=path,
            provider=self.provider, reason=refused.reason), refused)

    def request(self, method: str, path: str, *, params=None, data=None, json_body=None,
                timeout=None):
        """Send one logical request and return the parsed JSON body."""
        url = f"{self.base_url}{path}"
        knobs = settings.INTEGRATION
        timeout = timeout or (knobs["HTTP_CONNECT_TIMEOUT"], knobs["HTTP_READ_TIMEOUT"])
        # Prepared once: the URL the log keeps is the one sent.
        prepared = self.session.prepare_request(requests.Request(
            method, url, params=params, data=data, json=json_body))
        prepared_path, personal = call_log.scrub_url(prepared.url, self.log_params)
        self._local.path = prepared_path
        self._local.personal = personal
        self._local.rate_limit_remaining = None
        self._refuse_unless_allowed(method, prepared_path)
        self.before_request()
        self._slot()
        # No pooled database connection is held while the vendor answers
        # (integration.core.db_waits).
        pooled_connections_release()
        self._local.started = time.monotonic()
        try:
            response = self.session.send(prepared, timeout=timeout,
                                         allow_redirects=method == "GET")
        except outbound_policy.Refused as refused:
            self._refused(method, prepared_path, refused)
        except requests.Timeout as exc:
            timed_out = ApiTimeoutError(
                "The vendor did not answer in time.", path=prepared_path, provider=self.provider
            )
            # Past the connect step the request was sent: it may yet be carried out.
            timed_out.outcome_unknown = not isinstance(exc, requests.ConnectTimeout)
            self._fail(method, prepared_path, None, timed_out, exc)
        except requests.ConnectionError as exc:
            if _is_read_timeout(exc):
                # A body that stalls after the headers: requests wraps the
                # read timeout in a ConnectionError; it is still a timeout.
                stalled = ApiTimeoutError(
                    "The vendor stopped sending its answer.", path=prepared_path,
                    provider=self.provider,
                )
                stalled.outcome_unknown = True
                self._fail(method, prepared_path, None, stalled, exc)
            self._fail(method, prepared_path, None, ApiHostError(
                "The vendor host cannot be reached.", path=prepared_path, provider=self.provider
            ), exc)
        except requests.RequestException as exc:
            self._fail(method, prepared_path, None, ApiError(
                "The request failed.", path=prepared_path, provider=self.provider
            ), exc)
        self.after_response(response)
        body = self._parse_json(response)
        try:
            self.raise_for_response(response, body, prepared_path)
        except ApiError as error:
            error.provider = self.provider
            error.path = prepared_path
            self._fail(method, prepared_path, response.status_code, error, None)
        if body is _NOT_JSON:
            self._fail(method, prepared_path, response.status_code, ApiUnexpectedResponse(
                "The vendor answered with something that is not JSON.",
                status_code=response.status_code, path=prepared_path, provider=self.provider,
            ), None)
        self._record(method, prepared_path, response.status_code, self._local.started, "ok", "")
        self._mark_healthy()
        return body

    def before_request(self) -> None:
        """Hook run before taking a throttle slot (e.g. honour a low quota)."""

    @contextlib.contextmanager
    def optional_calls(self):
        """Calls made inside are optional reads or probes (an account's
        settings, a right tried on purpose, a parameter the vendor may
        refuse): their failure is the answer being sought, not a sign that
        the connection is broken, so it leaves the connection's health as
        it was. They are still logged, throttled and raised."""
        previous = getattr(self._local, "optional", False)
        self._local.optional = True
        try:
            yield self
        finally:
            self._local.optional = previous

    @staticmethod
    def _parse_json(response: requests.Response):
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError):
            return _NOT_JSON

    def _fail(self, method, path, status, error: ApiError, cause):
        if cause is not None:
            error.__cause__ = cause
        # The call log is read by people (sync logs): fixed words for the
        # network, the policy and unexpected answers (translated where
        # read), else the vendor's own text. The technical cause (the
        # exception's kind) goes to the log below.
        self._record(method, path, status, self._local.started, error.outcome,
                     stored_text(error))
        self._mark_unhealthy(error)
        logger.warning(
            "%s.request_failed",
            self.provider,
            extra={"shop": self.shop.pk, "path": path, "status": status, "outcome": error.outcome,
                   "cause": type(cause).__name__ if cause is not None else ""},
        )
        raise error

    def _record(self, method, path, status, started, outcome, error_text):
        metrics.vendor_call_observe(provider=self.provider, method=method, path=path,
                                    status=status, outcome=outcome,
                                    seconds=time.monotonic() - started)
        row = ApiCall(
            shop=self.shop,
            provider=self.provider,
            method=method,
            path=path[:500],
            status_code=status,
            outcome=outcome,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=redact(call_log.scrub_text(error_text, getattr(self._local, "personal", [])),
                         self.secrets()),
            rate_limit_remaining=getattr(self._local, "rate_limit_remaining", None),
            interactive=self.interactive,
            event=self.event,
            request_id=self.request_id,
        )
        with self._shared_lock:
            if outcome not in ("ok", "retried"):  # a retry says why in _on_retry
                self.last_failure = outcome
            if self._batched_calls is not None:
                self._batched_calls.append(row)
                return
        row.save(force_insert=True)

    def _mark_healthy(self):
        conn = self.connection
        now = timezone.now()
        stale = conn.last_success_at is None or (now - conn.last_success_at).total_seconds() > 60
        if conn.status != ConnectionStatus.OK or conn.consecutive_failures or stale:
            type(conn).objects.filter(pk=conn.pk).update(
                status=ConnectionStatus.OK, last_success_at=now, consecutive_failures=0
            )
            conn.status, conn.last_success_at, conn.consecutive_failures = (
                ConnectionStatus.OK, now, 0,
            )

    def _mark_unhealthy(self, error: ApiError):
        from django.db.models import F

        if not isinstance(error, (ApiUnauthorized, ApiHostError, ApiServerError,
                                  ApiUnexpectedResponse)):
            return  # a 404 or a validation error says nothing about the connection
        if getattr(self._local, "optional", False):
            return  # an optional read or a probe (see optional_calls)
        status = (
            ConnectionStatus.NEEDS_ATTENTION
            if isinstance(error, ApiUnauthorized)
            else ConnectionStatus.FAILING
        )
        type(self.connection).objects.filter(pk=self.connection.pk).update(
            status=status,
            last_error_at=timezone.now(),
            last_error=redact(call_log.scrub_text(stored_text(error),
                                                  getattr(self._local, "personal", [])),
                              self.secrets()),
            consecutive_failures=F("consecutive_failures") + 1,
        )
        self.connection.status = status


def _is_read_timeout(exc: Exception) -> bool:
    from urllib3.exceptions import ReadTimeoutError

    reason = exc.args[0] if exc.args else None
    return isinstance(reason, ReadTimeoutError) or isinstance(
        getattr(reason, "reason", None), ReadTimeoutError)


class _NotJson:
    def __repr__(self):
        return "<not JSON>"


_NOT_JSON = _NotJson()
NOT_JSON = _NOT_JSON
