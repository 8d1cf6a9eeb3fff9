"""A thousand shops on one box (not a test): order watch, the scheduler,
webhooks of busy shops and worker memory with --shops shops connected.

    DEBUG=1 .venv/bin/python bench/scale.py [--shops 1000] [--quick]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale_bench \
    REDIS_URL=redis://127.0.0.1:6379/12 CACHE_URL=rediscache://127.0.0.1:6379/12 \
    DEBUG=1 .venv/bin/python bench/scale.py

The emulators run in a *separate process* (gunicorn, one process with
threads so the RetailCRM emulator's in-process 10 rps limit stays exact) on
their own SQLite file, with --latency-ms injected on every call. Each shop
has its own RetailCRM account (a manager, a few customers and their orders)
and its own HDE account (dictionaries, the portal's agent). The portal's
database is a fresh SQLite file or the PostgreSQL database named in
DATABASE_URL (recreated); REDIS_URL makes Redis the broker (its database is
flushed). One django-q2 cluster with --workers workers runs the jobs, as
`manage.py qcluster` does in production.

1. Order watch: every shop's watch is current; the "order-watch-poll"
   schedule runs for --minutes while a manager changes a few orders in
   random accounts (so some polls find records and store events). Lag of a
   poll = when it ran (its history request, from the portal's own API-call
   log) minus when it was due (the previous poll of that shop plus the
   interval; the very first round is due when the schedule first fires).
2. Scheduler: the cost of one cycle of deciding what is due (the schedule's
   task `order_watch_fanout`, run in-process under a query counter), and
   the fan-out tasks' durations as the cluster recorded them.
3. Webhooks: --busy shops receive --tickets new tickets each at once (the
   events are stored as the receiver stores them); the cluster drains them
   while the 1,000-shop polling goes on. The HDE budget is scaled down
   (--hde-limit per --hde-window for the portal; the emulator enforces 25 %
   more over the same window and counts violations) so that busy shops
   really press their limit with two workers.
4. Memory: RSS of the cluster's processes, sampled every 5 s.
"""

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-scale"
sys.path.insert(0, str(ROOT))

from bench._harness import free_port, pct, table  # noqa: E402

HISTORY_PATH = "/api/v5/orders/history?"


def _env(database_url: str, **extra) -> dict:
    env = dict(os.environ, DEBUG="1", SANDBOX_ENABLED="1", DATABASE_URL=database_url,
               DJANGO_SETTINGS_MODULE="portal.settings", PYTHONPATH=str(ROOT),
               LOG_LEVEL="WARNING")
    env.update(extra)
    return env


# -- child process: seed the emulator database ----------------------------------
def seed_emulator(base_url: str, shops: int, busy: int, tickets: int, latency_ms: int,
                  hde_limit: int, hde_window: float) -> None:
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from sandbox.hde import seed as hde_seed
    from sandbox.hde import services as hde_svc
    from sandbox.hde.models import Account as HdeAccount
    from sandbox.hde.models import HdeUser, Ticket
    from sandbox.retailcrm import seed as rc_seed
    from sandbox.retailcrm.models import Account, Customer, HistoryRecord, Order

    started = time.perf_counter()
    now = timezone.now().replace(microsecond=0)
    out = []
    with transaction.atomic():
        for n in range(shops):
            code = f"s{n:04d}"
            plan = rc_seed.AccountPlan(
                code=code, name=f"Магазин {n}", tz="Europe/Moscow",
                sites=[("main", f"Магазин {n}", f"https://{code}.example.ru")], suffix="A",
                keys=[(f"scalePortalKey{n:04d}Xq7Lm2Pw9Rt4", rc_seed.FULL_SCOPES, []),
                      (f"scaleManagerKey{n:04d}Hy3Jk8Nb5Vc1", rc_seed.FULL_SCOPES, [])],
                managers=[("Анна", "Иванова", "Менеджер", f"manager@{code}.example.ru",
                           "", True)],
                fillers=6)
            rc = rc_seed.seed_account(plan, base_url=base_url, now=now)
            account = HdeAccount.objects.create(code=code, name=f"Магазин {n}",
                                                fault_latency_ms=latency_ms)
            hde_seed._dictionaries(account)
            agent_key = f"hde-scale-{n:04d}-7c1e9a"
            HdeUser.objects.create(account=account, hid=1, name="Интеграция",
                                   lastname="RetailCRM", email=f"integration@{code}.example",
                                   group_type=HdeUser.STAFF, api_key=agent_key,
                                   date_created=now, date_updated=now)
            ticket_ids = []
            if n < busy:
                # The busy shops' limit, scaled down with the portal's budget.
                account.rate_limit_per_minute = int(hde_limit * 1.25)
                account.rate_window_seconds = hde_window
                account.save(update_fields=["rate_limit_per_minute", "rate_window_seconds"])
                emails = list(Customer.objects.filter(account__code=code).exclude(email="")
                              .values_list("email", flat=True)[:3])
                emails.append(f"newcomer@{code}.example.org")
                users = hde_seed.clients_add(account, [("Клиент", "", e, "") for e in emails])
                first = hde_svc.next_hid(Ticket, account, tickets)
                hde_seed.add_tickets(account, [
                    hde_seed.SeedTicket(
                        hid=first + i, user=users[emails[i % len(emails)].lower()],
                        title=f"Вопрос по заказу №{i + 1}", opened_at=now, updated_at=now,
                        messages=[hde_seed.SeedMessage(users[emails[i % len(emails)].lower()],
                                                       "<p>Где мой заказ?</p>", now)])
                    for i in range(tickets)])
                ticket_ids = list(range(first, first + tickets))
            out.append({
                "code": code, "rc_url": rc["url"], "rc_key": rc["api_key"],
                "manager_key": plan.keys[1][0],
                "newest": HistoryRecord.objects.filter(account__code=code, entity="order")
                .order_by("-crm_id").values_list("crm_id", flat=True).first() or 0,
                "orders": list(Order.objects.filter(account__code=code)
                               .values_list("crm_id", flat=True)),
                "hde_url": f"{base_url}/sandbox/hde/{code}",
                "hde_email": f"integration@{code}.example", "hde_key": agent_key,
                "tickets": ticket_ids,
            })
        Account.objects.update(latency_ms=latency_ms)
    print(json.dumps({"accounts": out, "seconds": time.perf_counter() - started}))


# -- parent: set-up ---------------------------------------------------------------
def _run(args, env) -> None:
    subprocess.run(args, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def _fresh_database(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.split("sqlite:///", 1)[1]).unlink(missing_ok=True)
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _migrate(url: str) -> None:
    _fresh_database(url)
    _run([sys.executable, "manage.py", "migrate", "--noinput"], _env(url))
    _run([sys.executable, "manage.py", "createcachetable"], _env(url))


def _wait_port(port: int, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            if process.poll() is not None:
                raise RuntimeError("the emulator server exited") from None
            time.sleep(0.3)
    raise RuntimeError("the emulator server did not start")


def start_emulators(args):
    WORK.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{WORK / 'emulator.sqlite3'}"
    _migrate(url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    seeded = subprocess.run(
        [sys.executable, __file__, "--seed-emulator", base_url, "--shops", str(args.shops),
         "--busy", str(args.busy), "--tickets", str(args.tickets),
         "--latency-ms", str(args.latency_ms), "--hde-limit", str(args.hde_limit),
         "--hde-window", str(args.hde_window)],
        env=_env(url), cwd=ROOT, check=True, capture_output=True, text=True)
    info = json.loads(seeded.stdout.strip().splitlines()[-1])
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
         "--threads", "32", "--log-level", "warning"],
        cwd=ROOT, env=_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(port, server)
    return server, base_url, info


def create_shops(info: dict) -> dict[str, int]:
    from django.utils import timezone

    from integration.models import (
        Agency,
        HelpDeskEddyConnection,
        OrderWatch,
        RetailCrmConnection,
        Shop,
    )
    from integration.onboarding.shop_defaults import shop_defaults_apply

    now = timezone.now()
    shops = {}
    agencies = [Agency.objects.create(name=f"Агентство {n}") for n in range(10)]
    for n, account in enumerate(info["accounts"]):
        shop = Shop.objects.create(agency=agencies[n % len(agencies)],
                                   name=f"Магазин {account['code']}")
        RetailCrmConnection.objects.create(shop=shop, base_url=account["rc_url"],
                                           api_key=account["rc_key"], site_code="main")
        HelpDeskEddyConnection.objects.create(shop=shop, base_url=account["hde_url"],
                                              agent_email=account["hde_email"],
                                              api_key=account["hde_key"])
        OrderWatch.objects.create(shop=shop, since_id=account["newest"], started_at=now,
                                  problem_statuses=[])
        if account["tickets"]:
            shop_defaults_apply(shop=shop, normal_priority_id=2, high_priority_id=1)
        shops[account["code"]] = shop.pk
    return shops


# -- the cluster and its memory ---------------------------------------------------
def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Cluster:
    """`manage.py qcluster` in a child process; a thread samples the RSS of
    every process under it (main, sentinel, workers, monitor, pusher)."""

    def __init__(self, env: dict):
        self.process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT,
                                        env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.samples: list[dict[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(5):
            tree, queue = {}, [self.process.pid]
            while queue:
                pid = queue.pop()
                tree[pid] = _rss_mb(pid)
                queue.extend(_children(pid))
            self.samples.append(tree)

    def stop(self) -> None:
        self._stop.set()
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def memory(self, workers: int) -> dict:
        """Workers are the largest processes under the sentinel (they import
        and run the jobs; monitor and pusher stay small); the total is the
        whole cluster's."""
        per_worker, totals = [], []
        for tree in self.samples:
            values = sorted((v for pid, v in tree.items() if pid != self.process.pid), reverse=True)
            # values[0] may be the sentinel: it forked the workers, so it is
            # their size before any job ran. Skip it: workers are the next ones.
            per_worker.extend(values[1:1 + workers] if len(values) > workers + 1 else values)
            totals.append(sum(tree.values()))
        return {"worker_max": max(per_worker, default=0), "worker_p50": statistics.median(
            per_worker) if per_worker else 0, "total_max": max(totals, default=0)}


# -- phase 1: order watch --------------------------------------------------------
def order_edits(info: dict, stop: threading.Event, per_second: float, done: list) -> None:
    """A manager somewhere moves an order to another status now and then."""
    rng = random.Random(7)
    session = requests.Session()
    statuses = ["assembling", "delivering", "complete", "delivery-problem"]
    while not stop.wait(1 / per_second):
        account = rng.choice(info["accounts"])
        if not account["orders"]:
            continue
        try:
            session.post(f"{account['rc_url']}/api/v5/orders/{rng.choice(account['orders'])}/edit",
                         data={"by": "id", "order": json.dumps({"status": rng.choice(statuses)})},
                         headers={"X-API-KEY": account["manager_key"]}, timeout=30)
            done.append(time.time())
        except requests.RequestException:
            pass


def poll_lags(shop_ids: list[int], since, interval: float) -> dict:
    """Poll starts from the API-call log: one poll's pages follow each other
    within seconds, so a call less than half an interval after the previous
    one belongs to the same poll."""
    from integration.models import ApiCall

    starts = defaultdict(list)
    for shop_id, created, duration in (
            ApiCall.objects.filter(provider="retailcrm", path__contains=HISTORY_PATH,
                                   created_at__gte=since)
            .order_by("created_at").values_list("shop_id", "created_at", "duration_ms")):
        start = created.timestamp() - duration / 1000
        if not starts[shop_id] or start - starts[shop_id][-1] > interval / 2:
            starts[shop_id].append(start)
    from django_q.models import Task

    fanout = Task.objects.filter(func="integration.tasks.order_watch_fanout_task",
                                 started__gte=since).order_by("started").first()
    # The first round is due when the schedule first fires (a cluster's
    # scheduler looks every 30 s, so that is up to 30 s after it starts).
    due = fanout.started if fanout else since
    first, steady, polls = [], [], []
    for shop_id in shop_ids:
        times = starts.get(shop_id, [])
        polls.append(len(times))
        if times:
            first.append(max(0.0, times[0] - due.timestamp()))
        steady.extend(max(0.0, b - a - interval) for a, b in zip(times, times[1:], strict=False))
    return {"first": first, "steady": steady, "polls": polls,
            "never": sum(1 for n in polls if n == 0)}


def fanout_cost(repeat: int = 3) -> dict:
    """One scheduler cycle in-process: what `order_watch_fanout` costs
    (queries and seconds) to decide what is due and queue it; the queue is
    emptied afterwards."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integration.models import OrderWatch
    from integration.orders.watch import order_watch_fanout

    seconds, queries, queued = [], [], 0
    for _ in range(repeat):
        OrderWatch.objects.update(lease_until=None, queued_at=None)  # every shop due
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            queued = order_watch_fanout()
            seconds.append(time.perf_counter() - started)
        queries.append(len(captured.captured_queries))
        _empty_queue()
    return {"seconds": statistics.median(seconds), "queries": statistics.median(queries),
            "queued": queued}


def _empty_queue() -> None:
    from django.conf import settings
    from django_q.models import OrmQ

    if settings.REDIS_URL:
        from django_q.brokers import get_broker

        get_broker().purge_queue()
    else:
        OrmQ.objects.all().delete()


def fanout_runs(since) -> list[float]:
    from django_q.models import Task

    return [(t.stopped - t.started).total_seconds() for t in Task.objects.filter(
        func="integration.tasks.order_watch_fanout_task", started__gte=since)]


# -- phase 3: webhooks of busy shops -----------------------------------------------
def webhooks(info, shops, args, env) -> dict:
    from django.utils import timezone

    from integration.inbox.events import inbound_event_store
    from integration.inbox.keys import ticket_event_key
    from integration.models import ApiCall, EventSource, EventState, InboundEvent, Shop

    busy = [a for a in info["accounts"] if a["tickets"]]
    cluster = Cluster(env)
    time.sleep(10)  # the cluster's processes are up and polling the queue
    started = timezone.now()
    t0 = time.perf_counter()
    stored = []
    for account in busy:  # each busy shop's burst arrives at once
        shop = Shop.objects.get(pk=shops[account["code"]])
        for ticket_id in account["tickets"]:
            event, _ = inbound_event_store(
                shop=shop, source=EventSource.HDE_WEBHOOK,
                source_key=ticket_event_key("new_ticket", ticket_id), event_type="new_ticket",
                payload={"ticket_id": ticket_id, "event": "new_ticket"})
            stored.append(event.pk)
    accepted = time.perf_counter() - t0
    deadline = time.monotonic() + args.drain_timeout
    events = InboundEvent.objects.filter(pk__in=stored)
    while time.monotonic() < deadline:
        if not events.exclude(state__in=[EventState.DONE, EventState.DEAD,
                                         EventState.IGNORED]).exists():
            break
        time.sleep(1)
    drained = time.perf_counter() - t0
    cluster.stop()
    latencies = [(e.processed_at - e.created_at).total_seconds()
                 for e in events.filter(state=EventState.DONE)]
    states = defaultdict(int)
    for state in events.values_list("state", flat=True):
        states[state] += 1
    busy_ids = [shops[a["code"]] for a in busy]
    calls = ApiCall.objects.filter(provider="helpdeskeddy", shop_id__in=busy_ids,
                                   created_at__gte=started)
    per_shop = defaultdict(list)
    # Requests are counted when they were sent (the log row is written
    # after the answer, `duration_ms` later), as the emulator counts them.
    for shop_id, created, duration in calls.values_list("shop_id", "created_at",
                                                        "duration_ms"):
        per_shop[shop_id].append(created.timestamp() - duration / 1000)
    peak = 0
    for times in per_shop.values():
        times.sort()
        left = 0
        for right, moment in enumerate(times):
            while moment - times[left] >= args.hde_window:
                left += 1
            peak = max(peak, right - left + 1)
    with sqlite3.connect(WORK / "emulator.sqlite3") as emulator:
        violations, banned = emulator.execute(
            "SELECT COALESCE(SUM(limit_violations), 0), COUNT(banned_until) "
            "FROM sandbox_hde_account").fetchone()
    return {"events": len(stored), "accepted_s": accepted, "drained_s": drained,
            "done": states.get(EventState.DONE, 0), "states": dict(states),
            "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95), "max": max(latencies or [0]),
            "hde_calls": calls.count(), "peak": peak, "violations": violations,
            "banned": banned, "memory": cluster.memory(args.workers)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=1000)
    parser.add_argument("--quick", action="store_true",
                        help="shorter: 2 minutes of polling, 5 tickets per busy shop")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--interval", type=float, default=60.0,
                        help="the order-watch poll interval the schedule keeps (s)")
    parser.add_argument("--edits-per-second", type=float, default=1.0)
    parser.add_argument("--busy", type=int, default=50)
    parser.add_argument("--tickets", type=int, default=10, help="new tickets per busy shop")
    parser.add_argument("--hde-limit", type=int, default=20)
    parser.add_argument("--hde-window", type=float, default=10.0)
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--seed-emulator", metavar="BASE_URL")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.tickets = min(args.minutes, 2.0), min(args.tickets, 5)
    args.busy = min(args.busy, args.shops)
    if args.seed_emulator:
        seed_emulator(args.seed_emulator, args.shops, args.busy, args.tickets, args.latency_ms,
                      args.hde_limit, args.hde_window)
        return 0

    portal_url = os.environ.get("DATABASE_URL") or f"sqlite:///{WORK / 'portal.sqlite3'}"
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    WORK.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    print("Seeding the emulators…", file=sys.stderr)
    server, base_url, info = start_emulators(args)
    seed_seconds = info["seconds"]
    try:
        print("Migrating the portal and connecting the shops…", file=sys.stderr)
        _migrate(portal_url)
        env = _env(portal_url, Q_WORKERS=str(args.workers),
                   HDE_RATE_LIMIT=str(args.hde_limit), HDE_RATE_WINDOW=str(args.hde_window),
                   HDE_INTERACTIVE_RESERVE="0",
                   HDE_LOW_REMAINING=str(max(1, args.hde_limit // 10)))
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone
        from django_q.models import Schedule

        shops = create_shops(info)
        call_command("ensure_schedules", stdout=open(os.devnull, "w"))  # noqa: SIM115
        later = timezone.now() + timedelta(days=1)
        Schedule.objects.exclude(name="order-watch-poll").update(next_run=later)
        backend = connection.vendor + (" + Redis broker" if settings.REDIS_URL else
                                       " + ORM broker")
        print(f"Polling {args.shops} shops for {args.minutes:g} min…", file=sys.stderr)

        # Phase 1: order watch under the schedule.
        since = timezone.now()
        Schedule.objects.filter(name="order-watch-poll").update(next_run=since)
        cluster = Cluster(env)
        stop, edits = threading.Event(), []
        editor = threading.Thread(target=order_edits,
                                  args=(info, stop, args.edits_per_second, edits), daemon=True)
        editor.start()
        time.sleep(args.minutes * 60)
        stop.set()
        cluster.stop()
        lags = poll_lags(list(shops.values()), since, args.interval)
        runs = fanout_runs(since)
        poll_memory = cluster.memory(args.workers)
        from integration.models import InboundEvent

        order_events = InboundEvent.objects.filter(event_type="order_changed").count()

        # Phase 2: the scheduler's own cost per cycle.
        Schedule.objects.filter(name="order-watch-poll").update(next_run=later)
        cost = fanout_cost()

        # Phase 3: busy shops' webhooks while polling goes on.
        print(f"Webhooks of {args.busy} busy shops…", file=sys.stderr)
        Schedule.objects.filter(name="order-watch-poll").update(next_run=timezone.now())
        hooks = webhooks(info, shops, args, env)
    finally:
        server.terminate()
        server.wait(timeout=20)

    expected = args.minutes * 60 / args.interval
    print(f"# bench/scale.py --shops {args.shops}{' --quick' if args.quick else ''}: portal on "
          f"{backend}, {args.workers} workers (one django-q2 cluster); emulators in a separate "
          f"process, {args.latency_ms} ms injected per call; seed {seed_seconds:.0f} s, "
          f"whole run {time.perf_counter() - clock:.0f} s.")
    print(f"\nOrder watch: {args.shops} shops, interval {args.interval:.0f} s, "
          f"{args.minutes:g} min; {len(edits)} order edits by managers → "
          f"{order_events} order events")
    print(table(["polls", f"polls/shop (due ≈ {expected:.1f})", "shops never polled",
                 "first round p50 s", "first round p95 s", "lag p50 s", "lag p95 s",
                 "lag max s"], [[
        sum(lags["polls"]), f"{statistics.mean(lags['polls']):.2f}", lags["never"],
        f"{pct(lags['first'], 0.5):.1f}", f"{pct(lags['first'], 0.95):.1f}",
        f"{pct(lags['steady'], 0.5):.1f}", f"{pct(lags['steady'], 0.95):.1f}",
        f"{max(lags['steady'] or [0]):.1f}"]]))
    print(f"\nScheduler: one cycle of order_watch_fanout (in-process, median of 3); "
          f"{len(runs)} fan-out runs in the cluster")
    print(table(["shops queued", "queries/cycle", "ms/cycle", "cluster fan-out p50 ms",
                 "cluster fan-out max ms"], [[
        cost["queued"], int(cost["queries"]), f"{cost['seconds'] * 1000:.0f}",
        f"{pct(runs, 0.5) * 1000:.0f}" if runs else "—",
        f"{max(runs) * 1000:.0f}" if runs else "—"]]))
    print(f"\nWebhooks: {args.busy} busy shops × {args.tickets} new tickets at once, polling "
          f"goes on; HDE budget {args.hde_limit} / {args.hde_window:g} s per account (emulator "
          f"limit {int(args.hde_limit * 1.25)})")
    print(table(["events", "done", "drain s", "events/s", "latency p50 s", "latency p95 s",
                 "HDE calls", "peak calls/window/account", "HDE violations", "banned accounts"],
                [[hooks["events"], hooks["done"], f"{hooks['drained_s']:.1f}",
                  f"{hooks['events'] / hooks['drained_s']:.2f}", f"{hooks['p50']:.1f}",
                  f"{hooks['p95']:.1f}", hooks["hde_calls"], hooks["peak"], hooks["violations"],
                  hooks["banned"]]]))
    print("\nMemory (RSS, MB; sampled every 5 s)")
    print(table(["phase", "per worker p50", "per worker max", "whole cluster max"], [
        ["order watch", f"{poll_memory['worker_p50']:.0f}", f"{poll_memory['worker_max']:.0f}",
         f"{poll_memory['total_max']:.0f}"],
        ["webhooks + order watch", f"{hooks['memory']['worker_p50']:.0f}",
         f"{hooks['memory']['worker_max']:.0f}", f"{hooks['memory']['total_max']:.0f}"]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
