"""Load on the web tier as production runs it: gunicorn with the production
config (deploy/gunicorn.conf.py, DEBUG off), PostgreSQL, optionally Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_load \\
        .venv/bin/python bench/load.py                       # database cache, ORM broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_load \\
    REDIS_URL=redis://127.0.0.1:6379/11 CACHE_URL=rediscache://127.0.0.1:6379/12 \\
        .venv/bin/python bench/load.py                       # Redis broker and cache

Two phases, each a bounded run (--duration seconds) from --connections
concurrent clients on loopback:

1. Webhook accepts: POST /hooks/hde/<shop>/ with the shop's secret and a
   distinct ticket id per request (authenticate, validate, INSERT the event,
   enqueue after commit). No worker runs: this is the receiver alone.
   Reported: accepts per second, p50/p99 latency, errors (any non-202, any
   socket error, and any accepted request without its stored event).
2. Warm widget: GET /api/v1/context?email=... with the shop's widget token,
   after one cold request filled the cache (every answer is checked to be
   a cache hit in the WidgetRequest rows). Reported: requests per second,
   p50/p95, errors.

The load generator is `wrk` (Debian: `apt-get install -y wrk`; C, so the 2
cores go to the server, not to the client) with a Lua script that makes
each webhook distinct and prints percentiles; without wrk a Python
generator (threads + requests.Session) runs instead and says so.
Targets (issue 9): >= 500 accepts/s and >= 200 warm widget requests/s, zero
errors.
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import ROOT, free_port, pct, table  # noqa: E402

EMAIL = "ivan.petrov@example.ru"
TARGETS = {"webhooks": 500, "widget": 200}

WRK_SCRIPT = r"""
-- One distinct body per request (ticket ids never repeat across threads),
-- and a machine-readable summary at the end.
local counter, thread_id = 0, 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  thread_id = tonumber(tid) or 0
end
function request()
  if wrk.method == "POST" then
    counter = counter + 1
    local body = string.format('{"event": "new_ticket", "ticket_id": %d}',
                               thread_id * 10000000 + counter + OFFSET)
    return wrk.format("POST", nil, nil, body)
  end
  return wrk.format(nil)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def environment(args) -> dict:
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update({
        "DEBUG": "0", "SANDBOX_ENABLED": "1", "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": "bench-" + Fernet.generate_key().decode() * 2,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SECURE_SSL_REDIRECT": "0", "BEHIND_TLS_PROXY": "0", "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": str(args.workers), "GUNICORN_THREADS": str(args.threads),
        "GUNICORN_MAX_REQUESTS": "0",
        "GUNICORN_ACCESS_LOG": str(ROOT / "var" / "bench-load-access.log"),
        "PORTAL_BASE_URL": "http://127.0.0.1",
        # DEBUG is off, so the outbound policy is production's: the emulators
        # on loopback are reachable only as named, allowed hosts.
        "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1,localhost",
    })
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_load")
    return env


def ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        print(f"WARNING: not PostgreSQL ({url}); figures are not the production setup.")
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup(env: dict, base_url: str) -> dict:
    """Migrate, seed the RetailCRM emulator, wire one shop; returns its keys."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from django.core.cache import cache

    from integration.models import Agency, RetailCrmConnection, SecretKind
    from integration.tenancy.secrets import shop_secret_issue
    from sandbox.retailcrm.models import Account
    from sandbox.retailcrm.seed import PLANS, seed_account
    from tests.fixtures_retailcrm import SMALL_CAST

    Agency.objects.filter(name="Load agency").delete()  # a previous run's rows go
    Account.objects.filter(code=PLANS[0].code).delete()
    cache.clear()
    rc = seed_account(replace(PLANS[0], people=SMALL_CAST, fillers=6), base_url=base_url)
    Account.objects.update(rate_limit_rps=0)
    shop = Agency.objects.create(name="Load agency").shops.create(name="Load shop")
    RetailCrmConnection.objects.create(shop=shop, base_url=rc["url"], api_key=rc["api_key"],
                                       site_code="main")
    return {
        "shop": shop,
        "hook_url": f"{base_url}/hooks/hde/{shop.public_id}/",
        "hook_secret": shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK),
        "widget_url": f"{base_url}/api/v1/context?email={EMAIL}",
        "widget_token": shop_secret_issue(shop=shop, kind=SecretKind.WIDGET_TOKEN),
    }


def start_gunicorn(env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "portal.wsgi"],
        cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start (run it by hand to see why)")


def run_wrk(url: str, *, method: str, headers: dict, seconds: int, connections: int,
            offset: int) -> dict:
    script = WRK_SCRIPT.replace("OFFSET", str(offset))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(f'wrk.method = "{method}"\n' + script)
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", handle.name, url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(handle.name)
    found = re.search(r"RESULT (\{.*\})", output.stdout)
    if not found:
        raise RuntimeError(f"wrk failed:\n{output.stdout}\n{output.stderr}")
    result = json.loads(found.group(1))
    result["errors"] = result.pop("status_errors") + result.pop("socket_errors")
    result["per_second"] = result["requests"] / result["seconds"]
    return result


def run_python(url: str, *, method: str, headers: dict, seconds: int, connections: int,
               offset: int) -> dict:
    """Fallback generator: `connections` threads, one requests.Session each."""
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index):
        session, counter, own = requests.Session(), 0, []
        while time.monotonic() < deadline:
            counter += 1
            started = time.monotonic()
            try:
                if method == "POST":
                    body = {"event": "new_ticket", "ticket_id": offset + index * 10**7 + counter}
                    ok = session.post(url, json=body, headers=headers, timeout=10).ok
                else:
                    ok = session.get(url, headers=headers, timeout=10).ok
            except requests.RequestException:
                ok = False
            own.append((time.monotonic() - started) * 1000)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(own)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i + 1,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"requests": len(latencies), "seconds": elapsed, "errors": errors[0],
            "per_second": len(latencies) / elapsed, "p50_ms": pct(latencies, 0.5),
            "p95_ms": pct(latencies, 0.95), "p99_ms": pct(latencies, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (>1: gthread workers with keep-alive)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per phase (max 120)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    args.duration = max(1, min(args.duration, 120))  # bounded, always
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
        if generator == "python":
            print("wrk not found (apt-get install -y wrk): using the Python generator, which "
                  "shares the 2 cores with the server and reports lower figures.")
    load = run_wrk if generator == "wrk" else run_python

    env = environment(args)
    ensure_database(env["DATABASE_URL"])
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    wired = setup(env, base_url)
    server = start_gunicorn(env, port)
    try:
        from django.db import connection

        from integration.models import InboundEvent, WidgetRequest

        basic = "Basic " + base64.b64encode(f"hde:{wired['hook_secret']}".encode()).decode()
        hook_headers = {"Authorization": basic, "Content-Type": "application/json"}
        for n in range(20):  # warm every worker
            requests.post(wired["hook_url"], json={"event": "new_ticket", "ticket_id": 1 + n},
                          headers={"Authorization": basic}, timeout=10)
        stored_before = InboundEvent.objects.filter(shop=wired["shop"]).count()
        hooks = load(wired["hook_url"], method="POST", headers=hook_headers,
                     seconds=args.duration, connections=args.connections, offset=1000)
        stored = InboundEvent.objects.filter(shop=wired["shop"]).count() - stored_before
        # An answered 202 without its stored event would be a loss; events stored
        # beyond the count are requests wrk cut off at the end of the phase.
        hooks["errors"] += max(0, hooks["requests"] - hooks["errors"] - stored)
        hooks["stored"] = stored

        widget_headers = {"Authorization": f"Bearer {wired['widget_token']}"}
        cold = requests.get(wired["widget_url"], headers=widget_headers, timeout=30)
        assert cold.ok and cold.json()["status"] == "found", cold.text[:300]
        for _ in range(20):
            requests.get(wired["widget_url"], headers=widget_headers, timeout=10)
        rows_before = WidgetRequest.objects.filter(shop=wired["shop"]).count()
        widget = load(wired["widget_url"], method="GET", headers=widget_headers,
                      seconds=args.duration, connections=args.connections, offset=0)
        answered = WidgetRequest.objects.filter(shop=wired["shop"]).order_by("-pk")[
            :max(1, widget["requests"])]
        misses = sum(1 for row in answered if not row.cache_hit)
        widget["errors"] += misses
        widget["rows"] = WidgetRequest.objects.filter(shop=wired["shop"]).count() - rows_before
        connection.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(20)

    cache = env.get("CACHE_URL", "dbcache (PostgreSQL)")
    broker = "Redis" if env.get("REDIS_URL") else "ORM (PostgreSQL)"
    kind = f"gthread x{args.threads}" if args.threads > 1 else "sync"
    print(f"gunicorn: {args.workers} {kind} workers (deploy/gunicorn.conf.py, DEBUG off); "
          f"{os.cpu_count()} cores; database {env['DATABASE_URL'].split('@')[-1]}; "
          f"broker {broker}; cache {cache}; generator {generator}, {args.connections} "
          f"connections, {args.duration} s per phase")
    rows = [
        ["webhook accepts", f"{hooks['per_second']:.0f}/s", f"{hooks['p50_ms']:.1f}",
         "-", f"{hooks['p99_ms']:.1f}", hooks["requests"], hooks["errors"],
         f">= {TARGETS['webhooks']}/s"],
        ["warm widget (API)", f"{widget['per_second']:.0f}/s", f"{widget['p50_ms']:.1f}",
         f"{widget['p95_ms']:.1f}", f"{widget['p99_ms']:.1f}", widget["requests"],
         widget["errors"], f">= {TARGETS['widget']}/s"],
    ]
    print(table(["phase", "rate", "p50 ms", "p95 ms", "p99 ms", "requests", "errors", "target"],
                rows))
    met = (hooks["per_second"] >= TARGETS["webhooks"] and widget["per_second"] >= TARGETS[
        "widget"] and hooks["errors"] == 0 and widget["errors"] == 0)
    print("targets met" if met else "TARGETS NOT MET")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
