"""GET /metrics: closed to strangers, and every family counts the real paths.

The counters are the process's own (the live server is a thread of the test
process), so each test reads the scrape before and after what it drives and
compares the two. The cross-process test runs separate Python processes
with PROMETHEUS_MULTIPROC_DIR, as gunicorn and django-q2 workers run.
"""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from integration.models import RetailCrmConnection, SecretKind
from integration.ops.metrics_files import process_files_fold
from integration.tenancy.secrets import shop_secret_issue
from integration.vendors.errors import ApiBanned
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.retailcrm import RetailCrmClient
from integration.widget.links import widget_link_build
from sandbox.hde.models import Account as HdeAccount
from tests.fixtures_portal import pump_dispatcher

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scraper-token-0123456789-abcdefghij"
IVAN = "ivan.petrov@example.ru"
FAMILIES = ("portal_webhooks", "portal_vendor_calls", "portal_vendor_call_seconds",
            "portal_throttle_waits", "portal_throttle_wait_seconds", "portal_vendor_bans",
            "portal_throttle_refusals", "portal_widget_request_seconds", "portal_http_responses",
            "portal_events", "portal_events_due_seconds", "portal_connections",
            "portal_vendor_bans_active", "portal_metrics_database_up")
ENDPOINT = re.compile(r"/api(/(v[0-9]{1,2}|[a-z_\-]+|\{id\}))*/?")


@pytest.fixture
def scraper(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    settings.PROMETHEUS_MULTIPROC_DIR = ""
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def parse(text: str) -> dict:
    """{family name: {(sample name, sorted label items): value}}."""
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value
                                 for s in family.samples}
    return families


def value(families, sample, **labels) -> float:
    """Sum of `sample` over the series whose labels include `labels`."""
    family = re.sub(r"_(total|count|sum|bucket)$", "", sample)
    total = 0.0
    for (name, items), number in families.get(family, {}).items():
        if name == sample and labels.items() <= dict(items).items():
            total += number
    return total


def scrape(client, scraper) -> dict:
    response = client.get("/metrics", **scraper)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


# --- Who may scrape -------------------------------------------------------

@pytest.mark.django_db
def test_off_until_a_scraper_is_configured(client, settings, django_assert_num_queries):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []
    with django_assert_num_queries(0):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404
    assert b"portal_" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789-abcdefghij",
                                    f"Basic {TOKEN}", "Bearer ", f"Bearer {TOKEN}x"])
def test_refused_without_the_token_before_any_work(client, scraper, header,
                                                   django_assert_num_queries):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    with django_assert_num_queries(0):  # not a row read, not a gauge computed
        response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"portal_" not in response.content


@pytest.mark.django_db
def test_address_list_uses_the_client_address_behind_the_proxy(client, settings,
                                                               django_assert_num_queries):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.20.0.0/16"]
    settings.TRUSTED_PROXY_COUNT, settings.FORWARDED_ALLOW_IPS = 1, ["127.0.0.1"]
    # The proxy appended the scraper's address: allowed.
    allowed = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert allowed.status_code == 200 and b"portal_events" in allowed.content
    # A client that writes an allowed address itself is still itself.
    with django_assert_num_queries(0):
        forged = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.20.3.4, 203.0.113.9")
    assert forged.status_code == 403
    # Straight to the server, not through the proxy: the header counts for nothing.
    direct = client.get("/metrics", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.20.3.4")
    assert direct.status_code == 403


@pytest.mark.django_db
def test_with_both_configured_both_are_required(client, scraper, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", **scraper).status_code == 403
    assert client.get("/metrics", **scraper).status_code == 200


# --- What it counts -------------------------------------------------------

def test_each_family_after_driving_the_real_paths(wired_shop, live_server, client, scraper,
                                                  settings, rc_connect):
    before = scrape(client, scraper)
    hook_url = live_server.url + reverse("hook-hde", args=[wired_shop.public_id])

    # A ticket written in HDE: its dispatcher calls the portal's webhook,
    # and the job calls both vendors (the emulators, over HTTP).
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title="Где мой заказ?", description="Здравствуйте!",
                               user_email=IVAN)
    pump_dispatcher()
    # A refused delivery: a wrong secret.
    refused = requests.post(hook_url, json={"event": "new_ticket", "ticket_id": "1"},
                            auth=("hde", "not-the-secret"), timeout=10)
    assert refused.status_code == 401

    # A widget answer (the JSON API) for the customer.
    answer = requests.get(f"{live_server.url}/api/v1/context", params={"email": IVAN},
                          headers={"Authorization": f"Bearer {wired_shop.widget_token}"},
                          timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "found"
    # And the card page, as an operator opens it from the ticket.
    card = requests.get(widget_link_build(shop=wired_shop, ticket_id=ticket.id), timeout=10)
    assert card.status_code == 200

    # A throttle wait: a budget of one call per 0.2 s, two calls.
    settings.INTEGRATION = {**settings.INTEGRATION, "RETAILCRM_RATE_LIMIT": 1,
                            "RETAILCRM_RATE_WINDOW": 0.2, "RETAILCRM_INTERACTIVE_RESERVE": 0}
    rc = RetailCrmClient.for_connection(RetailCrmConnection.objects.get(shop=wired_shop),
                                        interactive=True)
    rc.statuses()
    rc.statuses()

    # A ban: the HDE account's limit is crossed, then every call is held back.
    HdeAccount.objects.filter(code="demo").update(rate_limit_per_minute=1, ban_seconds=60)
    hde_interactive = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy,
                                                        interactive=True)
    for _ in range(2):
        with pytest.raises(ApiBanned):
            hde_interactive.get_ticket(1)

    after = scrape(client, scraper)
    for family in FAMILIES:
        assert family in after, family

    def grew(sample, **labels):
        return value(after, sample, **labels) - value(before, sample, **labels)

    assert grew("portal_webhooks_total", source="hde", result="accepted") >= 1
    assert grew("portal_webhooks_total", source="hde", result="bad_secret") == 1
    assert grew("portal_http_responses_total", area="hooks", status="4xx") >= 1
    assert grew("portal_vendor_calls_total", provider="helpdeskeddy", method="GET",
                endpoint="/api/v2/tickets/{id}/", status="200", outcome="ok") >= 1
    assert grew("portal_vendor_calls_total", provider="helpdeskeddy", method="PUT",
                endpoint="/api/v2/tickets/{id}/") == 1
    assert grew("portal_vendor_calls_total", provider="retailcrm", endpoint="/api/v5/customers",
                outcome="ok") >= 1
    assert grew("portal_vendor_calls_total", provider="retailcrm",
                endpoint="/api/v5/reference/statuses") >= 2
    assert grew("portal_vendor_call_seconds_count", provider="retailcrm",
                endpoint="/api/v5/reference/statuses") >= 2
    assert grew("portal_throttle_waits_total", provider="retailcrm",
                priority="interactive") >= 1
    assert grew("portal_throttle_wait_seconds_sum", provider="retailcrm") > 0
    assert grew("portal_widget_request_seconds_count", channel="api", outcome="found") == 1
    assert grew("portal_widget_request_seconds_count", channel="page", outcome="found") == 1
    assert grew("portal_http_responses_total", area="widget", status="2xx") == 1
    assert grew("portal_vendor_bans_total", provider="helpdeskeddy") == 1
    assert grew("portal_vendor_calls_total", provider="helpdeskeddy", status="401",
                outcome="banned") == 1
    assert grew("portal_throttle_refusals_total", provider="helpdeskeddy", reason="banned") == 1
    assert value(after, "portal_vendor_bans_active", provider="helpdeskeddy") == 1
    assert value(after, "portal_events", source="hde", state="done") >= 1
    assert value(after, "portal_events", source="hde", state="dead") == 0
    assert value(after, "portal_connections", provider="retailcrm", status="ok") == 1
    assert value(after, "portal_metrics_database_up") == 1

    # No label carries a tenant or a person: no shop, account, key or e-mail.
    shop_connection = RetailCrmConnection.objects.get(shop=wired_shop)
    forbidden = [wired_shop.name, str(wired_shop.public_id), IVAN, "@",
                 live_server.url.split("//")[1], shop_connection.api_key,
                 wired_shop.helpdeskeddy.api_key, wired_shop.helpdeskeddy.agent_email,
                 wired_shop.webhook_secret, wired_shop.widget_token, "/sandbox/"]
    for family in after.values():
        for _, labels in family:
            for name, label in labels:
                assert not any(bad in label for bad in forbidden), (name, label)
                if name == "endpoint":
                    assert ENDPOINT.fullmatch(label), label


# --- Across processes -----------------------------------------------------

CHILD = r"""
import sys
import django
django.setup()
from django.test import Client
public_id, secret, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = Client()
url = f"/hooks/hde/{public_id}/"
for ticket_id in range(first, first + count):
    body = '{"event": "new_ticket", "ticket_id": "%d"}' % ticket_id
    assert client.post(url, data=body, content_type="application/json",
                       HTTP_X_WEBHOOK_SECRET=secret).status_code == 202
    assert client.post(url, data=body, content_type="application/json",
                       HTTP_X_WEBHOOK_SECRET="wrong").status_code == 401
print("done", flush=True)
"""


def _database_url(settings_dict) -> str:
    """The test database as a URL, so the children write to it too."""
    engine, name = settings_dict["ENGINE"], settings_dict["NAME"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{Path(name).resolve()}"
    user, password = settings_dict.get("USER", ""), settings_dict.get("PASSWORD", "")
    host, port = settings_dict.get("HOST") or "localhost", settings_dict.get("PORT") or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{name}"


@pytest.mark.django_db(transaction=True)
def test_counts_of_separate_processes_add_up(client, scraper, settings, two_tenants, tmp_path):
    """Two processes (as two gunicorn workers, or a web and a worker
    process) answer webhooks; one scrape reads the shared directory and
    reports the sum."""
    shop = two_tenants["a"]["shop"]
    secret = shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK)
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "1",
           "DATABASE_URL": _database_url(connection.settings_dict),
           "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    per_process = 3
    children = [subprocess.Popen(
        [sys.executable, "-c", CHILD, str(shop.public_id), secret, str(100 * (n + 1)),
         str(per_process)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for n in range(2)]
    for child in children:
        out, err = child.communicate(timeout=90)
        assert child.returncode == 0 and out.strip() == "done", err
    assert len(list(directory.glob("counter_*.db"))) == 2  # one file per process

    settings.PROMETHEUS_MULTIPROC_DIR = str(directory)
    families = scrape(client, scraper)
    assert value(families, "portal_webhooks_total", source="hde", result="accepted") == 6
    # The first process has exited: its files folded into the archive, same sums.
    assert process_files_fold(children[0].pid, str(directory)) == 1  # counters only
    assert {p.name for p in directory.glob("*.db")} == {
        "counter_archive.db", f"counter_{children[1].pid}.db"}
    again = scrape(client, scraper)
    for family in ("portal_webhooks", "portal_http_responses"):
        assert again[family] == families[family]
    assert value(families, "portal_webhooks_total", source="hde", result="bad_secret") == 6
    assert value(families, "portal_http_responses_total", area="hooks", status="2xx") == 6
    # The database gauges are read at the scrape, whichever process stored the rows.
    assert value(families, "portal_events", source="hde", state="pending") + value(
        families, "portal_events", source="hde", state="done") == 6
    assert str(shop.public_id) not in str(families) and shop.name not in str(families)


@pytest.mark.django_db(transaction=True)
def test_a_web_worker_that_dies_keeps_its_counts(tmp_path):
    """gunicorn as deployed (deploy/gunicorn.conf.py): a worker killed and
    replaced leaves its counts in the scrape, folded into the archive by
    the master instead of a file per dead worker."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "1",
           "DATABASE_URL": _database_url(connection.settings_dict),
           "PROMETHEUS_MULTIPROC_DIR": str(directory), "METRICS_TOKEN": TOKEN,
           "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "portal.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def next_worker() -> int:
        """The pid gunicorn's own log names for the next worker it boots."""
        for line in server.stderr:
            booted = re.search(r"Booting worker with pid: (\d+)", line)
            if booted:
                return int(booted.group(1))
        raise AssertionError("gunicorn stopped")

    try:
        first = next_worker()
        for _ in range(3):
            assert requests.get(f"{base}/healthz", timeout=30).status_code == 200
        assert (directory / f"counter_{first}.db").exists()
        os.kill(first, signal.SIGKILL)
        second = next_worker()  # the master reaped the first (child_exit) before this
        assert second != first
        assert not (directory / f"counter_{first}.db").exists()
        assert (directory / "counter_archive.db").exists()
        answer = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                              timeout=30)
        assert answer.status_code == 200
        families = parse(answer.text)
        assert value(families, "portal_http_responses_total", area="healthz", status="2xx") == 3
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("path,template", [
    ("/api/v5/customers/123?by=id", "/api/v5/customers/{id}"),
    ("/sandbox/retailcrm/demo/api/v5/orders/1001A?by=number", "/api/v5/orders/{id}"),
    ("/api/v5/customers?filter[email]=#3f2a9c1d&limit=100", "/api/v5/customers"),
    ("/api/v2/tickets/42/comments/7/", "/api/v2/tickets/{id}/comments/{id}/"),
    ("/api/v2/users/#3f2a9c1d/", "/api/v2/users/{id}/"),
    ("/api/v2/users/Ivan.Petrov/", "/api/v2/users/{id}/"),
    ("/help/desk/tickets/5", "{other}"),
])
def test_endpoint_labels_are_templates(path, template):
    from integration.ops.metrics import endpoint_template

    assert endpoint_template(path) == template
