"""Tools for the outbound-boundary tests: listeners on 127.0.0.1 that record
what reaches them, a record of every socket connect, a resolver the test
controls, and the shop page's form as a browser posts it."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from integration.models import Role
from integration.tenancy.roles import sync_role_groups


class _Handler(BaseHTTPRequestHandler):
    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        server = self.server
        request = SimpleNamespace(method=self.command, path=self.path,
                                  headers=dict(self.headers), body=body)
        with server.lock:
            server.received.append(request)
        status, headers, payload = server.answer(request)
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    """`listener()` starts a recording HTTP server on 127.0.0.1; `answer` is
    a function of the request giving (status, headers, body)."""
    servers = []

    def start(answer=None):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.received, server.lock = [], threading.Lock()
        server.answer = answer or (lambda request: (200, {}, {"success": True}))
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def connects(monkeypatch):
    """Every address a socket tried to connect to during the test (on top of
    the suite's loopback-only guard, which turns any other address into an
    error)."""
    seen = []
    guarded = socket.socket.connect

    def recording_connect(sock, address):
        seen.append(address[0] if isinstance(address, tuple) else address)
        return guarded(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return seen


@pytest.fixture
def resolver(monkeypatch):
    """`resolver.answers["name"] = ["127.0.0.1", "10.0.0.7"]`: each look-up of
    that name answers with the next address (the last one repeats); other
    names resolve as usual. `resolver.asked` counts look-ups per name."""
    real = socket.getaddrinfo
    state = SimpleNamespace(answers={}, asked={})

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name in state.answers:
            queue = state.answers[name]
            state.asked[name] = state.asked.get(name, 0) + 1
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port or 0, 0, 0) if fam == socket.AF_INET6 else (address,
                                                                                 port or 0)
            return [(fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return state


@pytest.fixture
def role_groups(transactional_db):
    """Recreate the role groups a transactional test's flush removed."""
    sync_role_groups()


@pytest.fixture
def owner_client(client, role_groups, make_member):
    """`owner_client(shop)`: the test client logged in as an owner of the
    shop's agency."""

    def login(shop):
        owner = make_member(shop.agency, Role.OWNER, username=f"owner-{shop.pk}")
        client.force_login(owner)
        return client

    return login


def form_data(response, **overrides):
    """What a browser posts back for the admin change page in `response`:
    every form's current values and the management forms (password inputs
    render empty, so they post empty)."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            if getattr(form.fields[name].widget, "input_type", "") == "password":
                value = ""
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    data.update(overrides)
    return data


def shop_url(shop) -> str:
    return reverse("admin:integration_shop_change", args=[shop.pk])


def formset_errors(response, prefix: str) -> dict:
    formset = next(inline.formset for inline in response.context["inline_admin_formsets"]
                   if inline.formset.prefix == prefix)
    return formset.errors[0] if formset.errors else {}


def run_connection_test(client, shop) -> list[tuple[str, str]]:
    """The admin's "Test connections" action; (level, text) per message."""
    response = client.post(reverse("admin:integration_shop_changelist"),
                           {"action": "test_connections", "_selected_action": [shop.pk]},
                           follow=True)
    assert response.status_code == 200
    found = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)] or [
        (m.level_tag, str(m)) for m in response.context["messages"]]
    return [(level, text) for level, text in found if f"{shop.name} · " in text]
