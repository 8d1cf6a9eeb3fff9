"""Webhook ingress and backlog drain, against the emulators in a separate
process.

    make bench-webhooks                       # SQLite (the embedded default)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench make bench-webhooks

Phase 1 (accept): a burst of --burst webhooks (distinct ticket ids) from 16
client threads at the portal (gunicorn, one worker, 16 threads): accepted
per second, p50/p99 accept latency. No worker runs, so this is the receiver
alone: authenticate, validate, store, enqueue.

Phase 2 (drain): --tickets real tickets are created in the HDE emulator; its
dispatcher delivers the webhooks; then two django-q2 workers drain the
backlog with the HDE budget scaled down (--hde-limit requests per
--hde-window seconds for the portal; the emulator enforces limit+25% over
the same window and counts violations). Reported: HDE and RetailCRM calls
per ticket, drain time against the floor the budget allows, HDE limit
violations, duplicates (internal comments per ticket beyond one) and lost
events (not done).
"""

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    ROOT,
    bench_environment,
    free_port,
    p50,
    pct,
    setup_django,
    start_server,
    table,
)


def burst(url: str, secret: str, count: int, threads: int = 16):
    latencies, statuses, lock = [], [], threading.Lock()
    ids = iter(range(1_000_000, 1_000_000 + count))

    def worker():
        session = requests.Session()
        session.auth = ("hde", secret)
        while True:
            with lock:
                ticket_id = next(ids, None)
            if ticket_id is None:
                return
            started = time.perf_counter()
            response = session.post(url, json={"event": "new_ticket", "ticket_id": ticket_id},
                                    timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses.append(response.status_code)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--tickets", type=int, default=60)
    parser.add_argument("--hde-limit", type=int, default=30)
    parser.add_argument("--hde-window", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2,
                        help="gunicorn processes (16 threads in total)")
    args = parser.parse_args()

    env = bench_environment("webhooks")
    # HDE_LOW_REMAINING scales with the budget (30 of 300 in production).
    env.update({"HDE_RATE_LIMIT": str(args.hde_limit), "HDE_RATE_WINDOW": str(args.hde_window),
                "HDE_INTERACTIVE_RESERVE": "0", "Q_WORKERS": str(args.workers),
                "HDE_LOW_REMAINING": str(max(1, args.hde_limit // 10))})
    setup_django(env)
    from django.conf import settings
    from django.core.management import call_command
    from django_q.models import OrmQ

    from integration.models import ApiCall, EventState, InboundEvent, Shop
    from sandbox.hde.models import Account as HdeAccount
    from sandbox.hde.models import Message

    settings.INTEGRATION = {**settings.INTEGRATION, "HDE_RATE_LIMIT": args.hde_limit,
                            "HDE_RATE_WINDOW": args.hde_window, "HDE_INTERACTIVE_RESERVE": 0}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"Seeding ({database}; portal and emulators at {base})…", file=sys.stderr)
    seeded = {}

    def capture(document):
        seeded.update(document)

    import io
    import json
    out = io.StringIO()
    call_command("sandbox_seed", base_url=base, json=True, stdout=out)
    capture(json.loads(out.getvalue()))
    OrmQ.objects.all().delete()
    demo = next(s for s in seeded["shops"] if s["name"] == "Demo Shop")
    server = start_server(env, port, gunicorn_workers=args.web_workers,
                          threads=max(1, 16 // args.web_workers))
    workers = []
    try:
        # Phase 1: the receiver alone.
        elapsed, latencies, statuses = burst(demo["webhook_url"], demo["webhook_secret"],
                                             args.burst)
        accepted = statuses.count(202)
        print(f"\nPhase 1: {args.burst} webhooks, 16 client threads, {database}")
        print(table(["accepted", "errors", "accepts/s", "p50 ms", "p99 ms"], [[
            accepted, len(statuses) - accepted, f"{accepted / elapsed:.0f}",
            f"{p50(latencies):.1f}", f"{pct(latencies, 0.99):.1f}"]]))
        InboundEvent.objects.filter(source_key__startswith="new_ticket:1").delete()
        OrmQ.objects.all().delete()
        if not args.tickets:
            return

        # Phase 2: real tickets through the emulator's dispatcher, then drain.
        shop = Shop.objects.select_related("helpdeskeddy").get(name="Demo Shop")
        HdeAccount.objects.filter(code="demo").update(
            rate_limit_per_minute=int(args.hde_limit * 1.25), rate_window_seconds=args.hde_window,
            requests_received=0, limit_violations=0)
        from integration.vendors.helpdeskeddy import HelpDeskEddyClient
        from sandbox.hde import dispatcher

        emails = ["ivan.petrov@example.ru", "olga.k@example.ru", "anna.smirnova@example.ru",
                  "d.sokolov@example.ru", "maria.volkova@example.ru", "newcomer@example.org"]
        hde_direct = HelpDeskEddyClient.for_connection(shop.helpdeskeddy, interactive=True)
        HdeAccount.objects.filter(code="demo").update(rate_limit_enabled=False)
        ticket_ids = [hde_direct.create_ticket(
            title=f"Вопрос по заказу #{n}", description="…", user_email=emails[n % len(emails)]).id
            for n in range(args.tickets)]
        while dispatcher.pump():
            pass
        HdeAccount.objects.filter(code="demo").update(rate_limit_enabled=True,
                                                      requests_received=0, limit_violations=0)
        ApiCall.objects.all().delete()
        backlog = InboundEvent.objects.filter(event_type="new_ticket",
                                              state=EventState.PENDING).count()
        started = time.perf_counter()
        workers = [subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            while dispatcher.pump():  # the echoes of the portal's own writes
                pass
            open_events = InboundEvent.objects.exclude(
                state__in=[EventState.DONE, EventState.IGNORED, EventState.DEAD]).count()
            if open_events == 0:
                break
            time.sleep(0.5)
        drained = time.perf_counter() - started
        events = InboundEvent.objects.filter(event_type="new_ticket")
        done = events.filter(state=EventState.DONE).count()
        hde_calls = ApiCall.objects.filter(provider="helpdeskeddy").count()
        crm_calls = ApiCall.objects.filter(provider="retailcrm").count()
        cap = args.hde_limit
        # The budget's rate: `cap` calls per window, sustained. (A sliding
        # window admits no more than `cap` in any window, so after the first
        # window every further `cap` calls take a full window.)
        floor = hde_calls / (cap / args.hde_window)
        comments = [Message.objects.filter(ticket__account__code="demo", ticket__hid=t,
                                           is_comment=True).count() for t in ticket_ids]
        account = HdeAccount.objects.get(code="demo")
        print(f"\nPhase 2: {backlog} new tickets drained by {args.workers} workers; HDE budget "
              f"{cap} requests / {args.hde_window:.0f} s (emulator limit "
              f"{account.rate_limit_per_minute})")
        print(table(["HDE calls/ticket", "RetailCRM calls/ticket", "drain s", "budget floor s",
                     "drain / floor", "HDE violations", "duplicates", "lost"], [[
            f"{hde_calls / max(1, backlog):.2f}", f"{crm_calls / max(1, backlog):.2f}",
            f"{drained:.1f}", f"{floor:.1f}", f"{drained / floor:.2f}" if floor else "—",
            account.limit_violations, sum(max(0, c - 1) for c in comments),
            events.count() - done]]))
    finally:
        for worker in workers:
            worker.terminate()
        server.terminate()
        server.wait(timeout=10)
        for worker in workers:
            worker.wait(timeout=20)


if __name__ == "__main__":
    main()
