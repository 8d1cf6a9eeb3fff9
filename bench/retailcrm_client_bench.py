"""Figures for the RetailCRM client against its emulator (not a test).

    DEBUG=1 .venv/bin/python bench/retailcrm_client_bench.py [--calls 40]

Re-seeds the emulator (same deterministic data as `manage.py sandbox_seed`;
the keys and account codes do not change), serves it on a loopback port,
and prints: seed time; per-method latency (p50/p95) for the widget's calls;
what reached the emulator per second under the default throttle with the
emulator's 10 rps limit on; and the effect of injected latency.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402

from integration.models import Agency, RetailCrmConnection, Shop  # noqa: E402
from integration.vendors.retailcrm import RetailCrmClient  # noqa: E402
from sandbox.retailcrm import gate  # noqa: E402
from sandbox.retailcrm.models import Account  # noqa: E402
from sandbox.retailcrm.seed import seed  # noqa: E402


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve() -> str:
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def timed(function, calls: int) -> tuple[float, float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=40)
    calls = parser.parse_args().calls
    base_url = serve()
    started = time.perf_counter()
    result = seed(base_url=base_url)
    print(f"seed ({len(result['accounts'])} accounts, >11,000 orders): "
          f"{time.perf_counter() - started:.2f} s")
    demo = result["accounts"][0]
    people = {key: info["customers"]["main"] for key, info in demo["people"].items()
              if "main" in info["customers"]}
    agency, _ = Agency.objects.get_or_create(name="Bench agency (retailcrm)")
    shop, _ = Shop.objects.get_or_create(agency=agency, name="Bench shop")
    RetailCrmConnection.objects.update_or_create(shop=shop, defaults={
        "base_url": demo["url"], "api_key": demo["api_key"], "site_code": "main"})
    try:
        client = RetailCrmClient.for_connection(shop.retailcrm, interactive=True)
        Account.objects.filter(code="demo").update(rate_limit_rps=10)
        gate.limiter.reset()
        gate.request_log.clear()
        checks = {
            "customers_by_email": lambda: client.customers_by_email("anna.smirnova@example.ru"),
            "customers_by_phone": lambda: client.customers_by_phone("8 916 123-45-67"),
            "customer_orders(huge, 100)": lambda: client.customer_orders(people["huge"],
                                                                         limit=100),
            "orders_by_number": lambda: client.orders_by_number(
                demo["people"]["problem"]["newest_order_number"]),
            "order_history(since 0)": lambda: client.order_history(0),
        }
        run_started = time.monotonic()
        for name, function in checks.items():
            p50, p95 = timed(function, calls)
            print(f"{name:<28} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms  (incl. throttle waits)")
        elapsed = time.monotonic() - run_started
        seen = gate.request_log.entries("demo")
        print(f"{len(seen)} requests in {elapsed:.1f} s under the default throttle: "
              f"max {gate.request_log.max_per_window('demo')} in any second, "
              f"{sum(1 for r in seen if r.status == 503)} answered 503 by the emulator")
        Account.objects.filter(code="demo").update(latency_ms=200)
        p50, p95 = timed(lambda: client.customers_by_email("anna.smirnova@example.ru"), 5)
        print(f"with latency_ms=200: customers_by_email p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    finally:
        Account.objects.filter(code="demo").update(latency_ms=0)
        agency.delete()


if __name__ == "__main__":
    main()
