"""Fixtures for the HelpDeskEddy emulator and client tests.

The client talks to the one emulator over real HTTP (pytest-django's
`live_server`), seeded by the same `sandbox.hde.seed` as the demo. Webhooks
are received by a tiny stdlib HTTP server on 127.0.0.1 that only records what
it gets (a receiver, not a vendor fake).
"""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import requests
from django.core.cache import cache

from integration.models import HelpDeskEddyConnection
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.hde.models import Account
from sandbox.hde.seed import seed


@pytest.fixture
def hde_knobs(settings):
    """Throttle and retry knobs small enough for tests; a test that checks
    the throttle sets its own limits on top (see `hde_limits`)."""
    settings.INTEGRATION = {
        **settings.INTEGRATION,
        "HDE_RATE_LIMIT": 240, "HDE_RATE_WINDOW": 60.0, "HDE_INTERACTIVE_RESERVE": 40,
        "HDE_BAN_SECONDS": 1200, "HDE_LOW_REMAINING": 30,
        "HTTP_RETRY_TOTAL": 2, "HTTP_RETRY_BACKOFF": 0.01, "HTTP_READ_TIMEOUT": 5.0,
        "THROTTLE_MAX_WAIT": 10.0,
    }
    return settings


@pytest.fixture
def hde_limits(hde_knobs):
    """Set client-side HDE knobs: `hde_limits(HDE_RATE_LIMIT=10, ...)`."""

    def set_knobs(**knobs):
        hde_knobs.INTEGRATION = {**hde_knobs.INTEGRATION, **knobs}

    return set_knobs


@pytest.fixture
def hde_emulator(transactional_db, live_server, hde_knobs):
    """The seeded emulator: `demo` and `agency-second`, reachable over HTTP."""
    cache.clear()
    data = seed(base_url=live_server.url)
    accounts = {a["code"]: a for a in data["accounts"]}
    yield SimpleNamespace(
        base_url=live_server.url, seed=data, demo=accounts["demo"],
        second=accounts["agency-second"],
        account=lambda code="demo": Account.objects.get(code=code),
    )
    cache.clear()


@pytest.fixture
def hde_shop(hde_emulator, make_agency, make_shop):
    return make_shop(make_agency("HDE agency"), name="HDE shop", language="en",
                     timezone="Europe/Moscow")


@pytest.fixture
def hde_connect(hde_emulator, hde_shop):
    """Connect a shop to an emulator account (optionally with another key,
    e-mail or URL)."""

    def connect(*, account="demo", shop=None, email=None, key=None, url=None):
        info = hde_emulator.demo if account == "demo" else hde_emulator.second
        shop = shop or hde_shop
        HelpDeskEddyConnection.objects.filter(shop=shop).delete()
        return HelpDeskEddyConnection.objects.create(
            shop=shop, base_url=url or info["url"], agent_email=email or info["email"],
            api_key=key or info["api_key"],
        )

    return connect


@pytest.fixture
def hde_client(hde_connect):
    return HelpDeskEddyClient.for_connection(hde_connect())


@pytest.fixture
def hde_raw(hde_emulator):
    """Raw `requests` against the emulator (for what the client never does:
    bursts, fault headers, malformed input). `hde_raw("GET", "tickets/")`."""
    info = hde_emulator.demo
    token = base64.b64encode(f"{info['email']}:{info['api_key']}".encode()).decode()

    def call(method, path, *, account="demo", auth=True, headers=None, **kwargs):
        url = f"{hde_emulator.base_url}/sandbox/hde/{account}/api/v2/{path}"
        all_headers = {"Authorization": f"Basic {token}"} if auth else {}
        all_headers.update(headers or {})
        return requests.request(method, url, headers=all_headers, timeout=10, **kwargs)

    return call


class _Recorder(BaseHTTPRequestHandler):
    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        server = self.server
        with server.lock:
            server.received.append(SimpleNamespace(
                method=self.command, path=self.path, headers=dict(self.headers), body=body,
            ))
            status = server.statuses.pop(0) if server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"ok": status < 400}).encode())

    do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = _handle

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def webhook_receiver():
    """A stdlib HTTP server on 127.0.0.1 that records every request.

    `receiver.statuses` is a list of status codes to answer with, in order
    (200 once exhausted); `receiver.received` holds method, path, headers,
    body; `receiver.url` is its base URL.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.received, server.statuses, server.lock = [], [], threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def basic_credentials(headers: dict) -> tuple[str, str]:
    """Decode a recorded request's Basic credentials."""
    value = headers.get("Authorization", "")
    assert value.startswith("Basic "), value
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password
