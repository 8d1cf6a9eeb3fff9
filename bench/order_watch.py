"""Order watch figures (not a test): catch-up time and status-change-to-ticket delay.

    DEBUG=1 .venv/bin/python bench/order_watch.py [--records 10000] [--latency-ms 50]

The emulators run in a *separate process* (`manage.py runserver` on a free
loopback port with its own SQLite file), so the portal's numbers include real
HTTP, the emulator's own work and the injected latency, and nothing is shared
in memory. Steps:
1. migrate two scratch databases under var/bench-order-watch/ (emulator, portal);
2. seed the emulator in a child process (the demo seed: ~24,000 order-history
   records over ~11,000 orders; plus a manager's API key and `latency_ms` on
   both emulated accounts) and serve it;
3. catch-up: a shop whose cursor sits `--records` records behind the newest
   one is polled until it is current (storing every record as events), then
   the events are processed by one in-process worker; measured twice: under
   the default client throttle (background calls 6 requests/second; RetailCRM
   allows 10) and with the throttle lifted (what the code itself costs);
4. delay: a manager moves orders of customers without open tickets to
   "delivery-problem"; we time the poll + handler until the HDE ticket exists.
   The schedule polls every 60 s, so the expected delay is half the interval
   (30 s) plus that processing time; the worst case is the full interval plus it.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-order-watch"
MANAGER_KEY = "benchManagerKey6Tg3Hy8Uj1Ik4Ol7"


def _env(database, **extra) -> dict:
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    env = dict(os.environ, DEBUG="1", SANDBOX_ENABLED="1", DATABASE_URL=url,
               DJANGO_SETTINGS_MODULE="portal.settings", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- child process: seed the emulator database -----------------------------------
def seed_emulator(base_url: str, latency_ms: int) -> None:
    import django

    django.setup()
    from sandbox.hde import seed as hde_seed
    from sandbox.hde.models import Account as HdeAccount
    from sandbox.retailcrm import seed as rc_seed
    from sandbox.retailcrm.models import Account, ApiKey, Customer, HistoryRecord, Order

    started = time.perf_counter()
    retailcrm = rc_seed.seed(base_url=base_url)
    hde = hde_seed.seed(base_url=base_url)
    demo = retailcrm["accounts"][0]
    account = Account.objects.get(code="demo")
    ApiKey.objects.create(account=account, key=MANAGER_KEY, scopes=rc_seed.FULL_SCOPES)
    Account.objects.update(latency_ms=latency_ms)
    HdeAccount.objects.update(fault_latency_ms=latency_ms)
    # Orders of customers with an e-mail and no HDE ticket (so a new ticket is made).
    fillers = Customer.objects.filter(account=account, site="main",
                                      email__startswith="client").order_by("crm_id")
    probes = []
    for customer in fillers:
        order = Order.objects.filter(account=account, customer_crm_id=customer.crm_id,
                                     status__in=["new", "assembling", "delivering"]).first()
        if order:
            probes.append(order.crm_id)
        if len(probes) == 5:
            break
    newest = HistoryRecord.objects.filter(account=account, entity="order").order_by(
        "-crm_id").values_list("crm_id", flat=True)[0]
    print(json.dumps({"retailcrm": demo, "hde": hde["accounts"][0], "newest_history_id": newest,
                      "history_records": HistoryRecord.objects.filter(
                          account=account, entity="order").count(),
                      "probes": probes, "seconds": time.perf_counter() - started}))


# -- parent process ----------------------------------------------------------------
def _run(args, env):
    subprocess.run(args, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def _fresh_postgres(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def prepare(latency_ms: int, portal_url: str):
    WORK.mkdir(parents=True, exist_ok=True)
    emulator_db = WORK / "emulator.sqlite3"
    portal_db = portal_url or WORK / "portal.sqlite3"
    for path in (emulator_db, portal_db):
        if isinstance(path, str):
            _fresh_postgres(path)
        else:
            path.unlink(missing_ok=True)
        _run([sys.executable, "manage.py", "migrate", "--noinput"], _env(path))
        _run([sys.executable, "manage.py", "createcachetable"], _env(path))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    seeded = subprocess.run(
        [sys.executable, __file__, "--seed-emulator", base_url, "--latency-ms", str(latency_ms)],
        env=_env(emulator_db), cwd=ROOT, check=True, capture_output=True, text=True)
    info = json.loads(seeded.stdout.strip().splitlines()[-1])
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=_env(emulator_db), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    return server, portal_db, base_url, info


def catch_up(info, records: int, *, throttle: bool) -> dict:
    from django.conf import settings
    from django_q.conf import Conf

    from integration.inbox.events import inbound_event_process
    from integration.models import (
        Agency,
        ApiCall,
        EventState,
        InboundEvent,
        OrderWatch,
        RetailCrmConnection,
        Shop,
    )
    from integration.orders.watch import order_watch_poll

    knobs = dict(settings.INTEGRATION)
    if not throttle:  # the emulator's own 10 rps limit is switched off too
        settings.INTEGRATION = {**knobs, "RETAILCRM_RATE_LIMIT": 1000,
                                "RETAILCRM_INTERACTIVE_RESERVE": 0}
    label = "default throttle" if throttle else "throttle lifted"
    agency = Agency.objects.create(name=f"Bench catch-up ({label})")
    shop = Shop.objects.create(agency=agency, name="Bench shop")
    RetailCrmConnection.objects.create(shop=shop, base_url=info["retailcrm"]["url"],
                                       api_key=info["retailcrm"]["api_key"], site_code="")
    start = info["newest_history_id"] - records
    OrderWatch.objects.create(shop=shop, since_id=start, problem_statuses=[])
    Conf.SYNC = False  # events queue up; processed below by one worker
    try:
        started = time.perf_counter()
        result = order_watch_poll(shop_id=shop.pk, budget_seconds=3600)
        polled = time.perf_counter() - started
        ids = list(InboundEvent.objects.filter(shop=shop, state=EventState.PENDING)
                   .order_by("pk").values_list("pk", flat=True))
        started = time.perf_counter()
        for event_id in ids:
            inbound_event_process(event_id=event_id)
        processed = time.perf_counter() - started
    finally:
        settings.INTEGRATION = knobs
    watch = OrderWatch.objects.get(shop=shop)
    done = InboundEvent.objects.filter(shop=shop, state=EventState.DONE).count()
    calls = ApiCall.objects.filter(shop=shop).count()
    assert result.state == "done" and watch.since_id == info["newest_history_id"], result
    assert done == len(ids), (done, len(ids))
    return {"label": label, "records": result.records, "pages": result.batches,
            "events": len(ids), "calls": calls, "poll": polled, "process": processed,
            "orders": shop.local_orders.count()}


def delay(info) -> list[float]:
    import requests
    from django_q.conf import Conf

    from integration.models import (
        Agency,
        HelpDeskEddyConnection,
        OrderWatch,
        RetailCrmConnection,
        Shop,
        TicketRecord,
    )
    from integration.onboarding.shop_defaults import shop_defaults_apply
    from integration.orders.watch import order_watch_poll
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    agency = Agency.objects.create(name="Bench delay")
    shop = Shop.objects.create(agency=agency, name="Bench delay shop")
    RetailCrmConnection.objects.create(shop=shop, base_url=info["retailcrm"]["url"],
                                       api_key=info["retailcrm"]["api_key"], site_code="main")
    HelpDeskEddyConnection.objects.create(shop=shop, base_url=info["hde"]["url"],
                                          agent_email=info["hde"]["email"],
                                          api_key=info["hde"]["api_key"])
    shop_defaults_apply(shop=shop, normal_priority_id=2, high_priority_id=1)
    OrderWatch.objects.create(shop=shop)
    Conf.SYNC = True  # the handler runs right after the poll stores the page
    assert order_watch_poll(shop_id=shop.pk).state == "started"
    hde = HelpDeskEddyClient.for_connection(shop.helpdeskeddy)
    samples = []
    for order_id in info["probes"]:
        changed = time.perf_counter()
        response = requests.post(
            f"{info['retailcrm']['url']}/api/v5/orders/{order_id}/edit",
            data={"by": "id", "order": json.dumps({"status": "delivery-problem"})},
            headers={"X-API-KEY": MANAGER_KEY}, timeout=30)
        response.raise_for_status()
        order_watch_poll(shop_id=shop.pk)
        record = TicketRecord.objects.get(shop=shop, order_number=response.json()["order"][
            "number"])
        assert hde.get_ticket(record.ticket_id).title
        samples.append(time.perf_counter() - changed)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--portal-database-url", default="",
                        help="e.g. postgres://postgres@127.0.0.1:5432/bench_order_watch "
                             "(recreated); default: a SQLite file")
    parser.add_argument("--seed-emulator", metavar="BASE_URL")
    args = parser.parse_args()
    if args.seed_emulator:
        seed_emulator(args.seed_emulator, args.latency_ms)
        return

    server, portal_db, base_url, info = prepare(args.latency_ms, args.portal_database_url)
    os.environ.update(_env(portal_db, CACHE_URL="locmemcache://", LOG_LEVEL="WARNING"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    try:
        rows = [catch_up(info, args.records, throttle=True)]
        _faults(base_url, rate_limit_rps=0)
        rows.append(catch_up(info, args.records, throttle=False))
        _faults(base_url, rate_limit_rps=10)
        samples = delay(info)
    finally:
        server.terminate()
        server.wait(timeout=10)
    portal = "PostgreSQL" if args.portal_database_url else "SQLite"
    print(f"Portal database: {portal}. Emulators: separate process (runserver, SQLite), "
          f"{args.latency_ms} ms latency "
          f"injected per request; seed {info['seconds']:.1f} s, "
          f"{info['history_records']:,} order-history records in the account.")
    print()
    print(f"Catch-up of {args.records:,} history records (one worker processes the events):")
    print("| client throttle | pages | events | API calls | poll+store | process events "
          "| total | LocalOrders |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['label']} | {row['pages']} | {row['events']:,} | {row['calls']} "
              f"| {row['poll']:.1f} s | {row['process']:.1f} s "
              f"| {row['poll'] + row['process']:.1f} s | {row['orders']:,} |")
    print()
    p50, worst = statistics.median(samples), max(samples)
    print(f"Status change → proactive HDE ticket ({len(samples)} orders, default throttle):")
    print("| | seconds |")
    print("|---|---:|")
    print(f"| measured processing (edit seen by the poll → ticket created), p50 | {p50:.2f} |")
    print(f"| measured processing, max | {worst:.2f} |")
    print(f"| expected delay at the 60 s poll interval (30 s average wait + p50) "
          f"| {30 + p50:.1f} |")
    print(f"| worst case (60 s wait + max) | {60 + worst:.1f} |")
    print("| with a RetailCRM trigger configured: no interval wait, about the same processing "
          f"(one order read instead of the poll's history page + order list) | ≈{p50:.1f} |")


def _faults(base_url: str, **values) -> None:
    import requests

    requests.post(f"{base_url}/sandbox/retailcrm/demo/_faults", json=values,
                  timeout=30).raise_for_status()


if __name__ == "__main__":
    main()
