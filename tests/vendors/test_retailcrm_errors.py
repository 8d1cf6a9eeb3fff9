"""Every error class, the GET-only retries and the shared throttle, each
provoked for real: the emulator's fault injection, a closed port, a wrong
account URL, a refused key, and request counting at the emulator."""

import socket
import time

import pytest
from django.utils import translation

from integration.models import ApiCall, ConnectionStatus
from integration.vendors.errors import (
    ApiAccessDenied,
    ApiHostError,
    ApiNotFound,
    ApiRateLimited,
    ApiServerError,
    ApiTimeoutError,
    ApiUnauthorized,
    ApiUnexpectedResponse,
    people_text,
    shown_text,
)
from integration.vendors.retailcrm import WRONG_URL_HINT, RetailCrmClient
from sandbox.retailcrm import gate
from sandbox.retailcrm.models import Account
from sandbox.retailcrm.seed import DEMO_READONLY_KEY


class EmulatorView:
    """What reached the emulator's `demo` account during one test; requests
    still in flight from an earlier test do not count."""

    def __init__(self):
        self.started = time.monotonic()

    def requests(self):
        return gate.request_log.entries("demo", since=self.started)

    def max_per_window(self, window):
        return gate.request_log.max_per_window("demo", window, since=self.started)


@pytest.fixture
def seen(rc_emulator):
    return EmulatorView()


def _set_fault(**fields):
    Account.objects.filter(code="demo").update(**fields)


def test_wrong_key_marks_the_connection_as_needing_attention(rc_connect):
    connection = rc_connect(key="not-a-real-key-123456")
    with pytest.raises(ApiUnauthorized) as caught:
        RetailCrmClient.for_connection(connection).statuses()
    assert caught.value.status_code == 403 and 'Wrong "apiKey" value.' in str(caught.value)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION
    assert "not-a-real-key-123456" not in connection.last_error
    # RetailCRM says it in English whatever the account's language; a person
    # reads it in theirs (the stored text stays the vendor's).
    with translation.override("ru"):
        assert people_text(caught.value) == "неверный API-ключ"
        assert shown_text(connection.last_error) == "неверный API-ключ"
    with translation.override("en"):
        assert shown_text(connection.last_error) == "the API key is wrong"


def test_missing_scope_is_access_denied(rc_connect, rc_people):
    client = RetailCrmClient.for_connection(rc_connect(key=DEMO_READONLY_KEY))
    assert client.customer(rc_people["vip"]).id == rc_people["vip"]  # reading is allowed
    with pytest.raises(ApiAccessDenied, match="Access denied."):
        client.create_note(rc_people["vip"], "no rights")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_wrong_account_url_is_reported_as_such(rc_connect, rc_emulator, rc_people, method):
    client = RetailCrmClient.for_connection(
        rc_connect(url=f"{rc_emulator.base_url}/sandbox/retailcrm/no-such-account"))
    with pytest.raises(ApiUnexpectedResponse) as caught:
        if method == "GET":
            client.statuses()
        else:
            client.create_note(rc_people["vip"], "x")
    assert caught.value.status_code == (404 if method == "GET" else 405)
    assert WRONG_URL_HINT in str(caught.value)


def test_unreachable_host_is_a_retryable_host_error(rc_connect):
    connection = rc_connect(url="http://127.0.0.1:9/sandbox/retailcrm/demo")
    with pytest.raises(ApiHostError) as caught:
        RetailCrmClient.for_connection(connection).statuses()
    assert caught.value.retryable
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.FAILING


@pytest.fixture
def black_hole():
    """A loopback port whose accept queue is full: connections hang in SYN
    like a firewalled vendor host."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(server.getsockname())
        except BlockingIOError:
            pass
        fillers.append(filler)
    time.sleep(0.05)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/sandbox/retailcrm/demo"
    for sock in (*fillers, server):
        sock.close()


def test_connect_timeout_is_a_timeout_error(rc_connect, rc_knobs, black_hole):
    rc_knobs.INTEGRATION = {**rc_knobs.INTEGRATION, "HTTP_CONNECT_TIMEOUT": 0.2,
                            "HTTP_RETRY_TOTAL": 1}
    connection = rc_connect(url=black_hole)
    started = time.monotonic()
    with pytest.raises(ApiTimeoutError) as caught:
        RetailCrmClient.for_connection(connection).statuses()
    assert caught.value.retryable and caught.value.outcome == "timeout"
    assert 0.35 <= time.monotonic() - started < 2.0  # one retry of the connect
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.FAILING


def test_slow_answer_times_out_without_retrying_the_read(rc_client, rc_knobs, seen):
    rc_knobs.INTEGRATION = {**rc_knobs.INTEGRATION, "HTTP_READ_TIMEOUT": 0.4}
    _set_fault(latency_ms=1200)
    client = RetailCrmClient.for_connection(rc_client.connection)
    started = time.monotonic()
    with pytest.raises(ApiTimeoutError) as caught:
        client.statuses()
    assert caught.value.retryable and caught.value.outcome == "timeout"
    assert time.monotonic() - started < 1.0  # reads are not retried
    assert len(seen.requests()) <= 1


def test_stalled_body_is_a_retryable_error(rc_client, rc_knobs):
    """Headers arrived, the body stalls: requests reports a ConnectionError
    wrapping the read timeout, so it surfaces as a (retryable) host error."""
    rc_knobs.INTEGRATION = {**rc_knobs.INTEGRATION, "HTTP_READ_TIMEOUT": 0.4}
    _set_fault(fault="slow", slow_body_ms=1200)
    with pytest.raises(ApiHostError) as caught:
        RetailCrmClient.for_connection(rc_client.connection).statuses()
    assert caught.value.retryable
    assert "Read timed out" in str(caught.value.__cause__)


def test_a_503_burst_is_retried_for_gets_with_a_row_per_attempt(rc_client, rc_shop, seen):
    _set_fault(fault="503", fault_burst=2)
    assert "new" in rc_client.statuses()
    assert [r.status for r in seen.requests()] == [503, 503, 200]
    rows = ApiCall.objects.filter(shop=rc_shop).order_by("id")
    assert [(r.status_code, r.outcome) for r in rows] == [
        (503, "retried"), (503, "retried"), (200, "ok")]
    assert Account.objects.get(code="demo").fault == ""  # the burst is over


def test_persistent_503_ends_as_rate_limited_after_the_retry_budget(rc_client, seen):
    _set_fault(fault="503")
    with pytest.raises(ApiRateLimited) as caught:
        rc_client.statuses()
    assert caught.value.status_code == 503 and caught.value.retryable
    assert len(seen.requests()) == 1 + 3  # first try + HTTP_RETRY_TOTAL


def test_writes_are_never_retried(rc_client, rc_people, seen):
    _set_fault(fault="503")
    with pytest.raises(ApiRateLimited):
        rc_client.create_note(rc_people["vip"], "once only")
    assert [r.method for r in seen.requests()] == ["POST"]


def test_429_retry_after_is_honoured(rc_client):
    _set_fault(fault="429", fault_burst=1)
    started = time.monotonic()
    assert rc_client.sites()
    assert time.monotonic() - started >= 0.9  # Retry-After: 1


def test_server_errors(rc_client, seen):
    _set_fault(fault="500")
    with pytest.raises(ApiServerError):
        rc_client.statuses()
    assert len(seen.requests()) == 1  # 500 is not in the retry list
    _set_fault(fault="502", fault_burst=1)
    assert rc_client.statuses()  # 502 is: one retry fixes it


@pytest.mark.parametrize("fault, message", [
    ("malformed", "malformed JSON"),
    ("html", WRONG_URL_HINT),
])
def test_not_json_answers_are_unexpected(rc_client, fault, message):
    _set_fault(fault=fault)
    with pytest.raises(ApiUnexpectedResponse) as caught:
        rc_client.statuses()
    assert message in str(caught.value)


def test_throttle_keeps_the_account_under_the_vendor_limit(rc_connect, rc_knobs, seen):
    """Default budget (8/s of the vendor's 10) against the emulator's real
    10 rps limiter: twenty calls, no 503, at most 8 in any second."""
    rc_knobs.INTEGRATION = {**rc_knobs.INTEGRATION, "RETAILCRM_RATE_LIMIT": 8,
                            "RETAILCRM_RATE_WINDOW": 1.0, "RETAILCRM_INTERACTIVE_RESERVE": 2}
    Account.objects.filter(code="demo").update(rate_limit_rps=10)
    client = RetailCrmClient.for_connection(rc_connect(), interactive=True)
    for _ in range(20):
        client.statuses()
    assert [r.status for r in seen.requests()] == [200] * 20
    assert seen.max_per_window(0.9) <= 8


def test_background_calls_leave_the_operator_a_reserved_share(rc_connect, rc_knobs):
    rc_knobs.INTEGRATION = {**rc_knobs.INTEGRATION, "RETAILCRM_RATE_LIMIT": 4,
                            "RETAILCRM_RATE_WINDOW": 1.0, "RETAILCRM_INTERACTIVE_RESERVE": 2}
    connection = rc_connect()
    background = RetailCrmClient.for_connection(connection)
    started = time.monotonic()
    for _ in range(4):
        background.statuses()
    assert time.monotonic() - started >= 0.9  # background cap: 2 per second
    interactive = RetailCrmClient.for_connection(connection, interactive=True)
    started = time.monotonic()
    interactive.statuses()
    interactive.statuses()
    assert time.monotonic() - started < 0.5  # the reserve was free


def test_the_budget_is_shared_by_every_shop_using_one_key_of_an_account(
        rc_connect, rc_knobs, make_agency, make_shop, seen):
    """The budget belongs to the connection's identity (account URL + key):
    two shops with the same key share it. (Another key gets a budget of its
    own: tests/security/test_outbound_identity.py.)

    Judged by the throttle's decision, not by arrival times: with two
    requests per 30 s and no waiting allowed, the first shop spends the
    budget and the second shop's request is held back before it is sent."""
    from integration.vendors.errors import ThrottleExhausted

    rc_knobs.INTEGRATION = {**rc_knobs.INTEGRATION, "RETAILCRM_RATE_LIMIT": 2,
                            "RETAILCRM_RATE_WINDOW": 30.0, "RETAILCRM_INTERACTIVE_RESERVE": 0,
                            "THROTTLE_MAX_WAIT": 0.1}
    other_shop = make_shop(make_agency("Other agency"), name="Other shop")
    first = RetailCrmClient.for_connection(rc_connect())
    first.statuses()
    first.status_groups()
    second = RetailCrmClient.for_connection(rc_connect(shop=other_shop))
    with pytest.raises(ThrottleExhausted) as held:
        second.statuses()
    assert 25 < held.value.retry_after <= 30
    assert len(seen.requests()) == 2  # the held request never reached RetailCRM


def test_a_non_json_answer_is_logged_as_such_not_as_ok(rc_client):
    from integration.models import ApiCall
    from integration.vendors.errors import ApiUnexpectedResponse

    _set_fault(fault="html")
    with pytest.raises(ApiUnexpectedResponse):
        RetailCrmClient.for_connection(rc_client.connection).statuses()
    row = ApiCall.objects.filter(provider="retailcrm").latest("created_at")
    assert row.outcome == "unexpected" and row.status_code == 200


def test_not_found_reads_in_the_readers_language(rc_connect):
    """RetailCRM answers an unknown id with its English "Not found"; a
    person reads it in their language, without the API path or HTTP code
    the error carries for the log."""
    client = RetailCrmClient.for_connection(rc_connect())
    with pytest.raises(ApiNotFound) as caught:
        client.customer(987654321)
    assert caught.value.status_code == 404 and "/api/v5/customers/" in str(caught.value)
    with translation.override("ru"):
        assert people_text(caught.value) == "не найдено"
    with translation.override("en"):
        assert people_text(caught.value) == "not found"
