"""Widget speed: the customer context cold and warm, against the emulators
in a separate process with latency injected on every emulator call, and the
naive approach (the official `retailcrm` client, sequential, paging through
every order) side by side.

    make bench-widget            # or: DEBUG=1 .venv/bin/python bench/widget.py

Run 1 (latency): the emulator's 10 rps limit is lifted and so is the
portal's throttle (both sides, so neither waits on the other).
Run 2 (vs naive): the limit is on for both; the naive script paces itself
under 10 requests/second as a real one must, our client uses its throttle.
Cold = `refresh=True` (lookup and context caches bypassed; reference books
and managers stay cached for their hour, as in production). A cold card is
timed as the card page asks for it: the first step (`parts="first"`: first
paint) and then, as the page's second request, the rest (`parts="all"`):
"complete" is the sum of the two.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    bench_environment,
    free_port,
    p50,
    pct,
    setup_django,
    start_server,
    table,
)

SIZES = {"1": "ivan.petrov@example.ru", "100": "irina.sotnikova@example.ru",
         "1,000": "opt@example.ru", "10,000": "partner@example.ru"}


def measure_ours(shop, email, cold_runs, warm_runs):
    """(first paint ms, complete ms, warm ms) per run."""
    from integration.customers.context import customer_context_get

    first, cold, warm = [], [], []
    for _ in range(cold_runs):
        started = time.perf_counter()
        context = customer_context_get(shop=shop, email=email, refresh=True, parts="first")
        first.append((time.perf_counter() - started) * 1000)
        assert context.status == "found", context.notice
        if not context.complete:
            context = customer_context_get(shop=shop, email=email, parts="all")
            assert context.complete and context.cache_age_seconds is None
        cold.append((time.perf_counter() - started) * 1000)
        assert context.status == "found", context.notice
    for _ in range(warm_runs):
        started = time.perf_counter()
        context = customer_context_get(shop=shop, email=email)
        warm.append((time.perf_counter() - started) * 1000)
        assert context.cache_age_seconds is not None
    return first, cold, warm


def naive_lookup(url, key, email, pace):
    """What a user scripts with the official client: find, read, page all
    orders, notes, the manager; one request at a time, paced under 10 rps."""
    import retailcrm

    client = retailcrm.v5(url, key)
    last = [0.0]
    calls = [0]

    def paced(call):
        wait = last[0] + pace - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        last[0] = time.perf_counter()
        calls[0] += 1
        return call().get_response()

    found = paced(lambda: client.customers({"email": email}, limit=20))["customers"][0]
    customer = paced(lambda: client.customer(found["id"], "id"))["customer"]
    page, orders = 1, []
    while True:
        body = paced(lambda p=page: client.orders({"customerId": customer["id"]}, 100, p))
        orders.extend(body["orders"])
        if page >= body["pagination"]["totalPageCount"]:
            break
        page += 1
    paced(lambda: client.customer_notes({"customerIds": [customer["id"]]}))
    paced(lambda: client.statuses())
    if customer.get("managerId"):
        paced(lambda: client.user(customer["managerId"]))
    return len(orders), calls[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--naive-runs", type=int, default=3)
    args = parser.parse_args()

    env = bench_environment("widget")
    setup_django(env)
    from django.conf import settings
    from django.core.management import call_command

    from integration.models import Shop
    from sandbox.retailcrm.models import Account

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"Seeding (emulators served by a separate process at {base})…", file=sys.stderr)
    call_command("sandbox_seed", base_url=base, stdout=open("/dev/null", "w"))  # noqa: SIM115
    server = start_server(env, port)
    try:
        shop = Shop.objects.select_related("retailcrm").get(name="Demo Shop")
        account = Account.objects.get(code="demo")
        # Run 1: latency, limits lifted on both sides.
        Account.objects.filter(pk=account.pk).update(latency_ms=args.latency_ms,
                                                     rate_limit_rps=0)
        settings.INTEGRATION = {**settings.INTEGRATION, "RETAILCRM_RATE_LIMIT": 10_000}
        from integration.customers.context import customer_context_get

        customer_context_get(shop=shop, email=SIZES["1"], refresh=True)  # reference books
        rows = []
        rt = args.latency_ms
        for label, email in SIZES.items():
            first, cold, warm = measure_ours(shop, email, args.cold, args.warm)
            rows.append([label, f"{p50(first):.0f}", f"{pct(first, 0.95):.0f}",
                         f"{p50(cold):.0f}", f"{pct(cold, 0.95):.0f}", f"{p50(warm):.1f}",
                         f"{pct(warm, 0.95):.1f}"])
        print(f"\nCustomer card, {rt} ms injected per emulator call; {args.cold} cold / "
              f"{args.warm} warm runs. Targets (p95): first paint <= {rt + 35} ms "
              f"(1 round-trip + 35), complete <= {2 * rt + 35} ms (2 round-trips + 35), "
              f"warm <= 5 ms")
        print(table(["orders", "first paint p50", "first paint p95", "complete p50",
                     "complete p95", "warm p50", "warm p95"], rows))

        # Run 2: the same customer with the limit on for both sides.
        Account.objects.filter(pk=account.pk).update(rate_limit_rps=10)
        settings.INTEGRATION = {**settings.INTEGRATION, "RETAILCRM_RATE_LIMIT": 8}
        from integration.models import ApiCall

        firsts, ours, our_calls = [], [], 0
        for _ in range(args.naive_runs):
            time.sleep(1.1)  # an operator opens a card, not ten per second
            before = ApiCall.objects.count()
            first, cold, _ = measure_ours(shop, SIZES["1,000"], 1, 0)
            our_calls = ApiCall.objects.count() - before
            firsts.extend(first)
            ours.extend(cold)
        naive, calls, orders = [], 0, 0
        for _ in range(args.naive_runs):
            time.sleep(1.1)  # let the emulator's one-second window empty
            started = time.perf_counter()
            orders, calls = naive_lookup(shop.retailcrm.base_url, shop.retailcrm.api_key,
                                         SIZES["1,000"], pace=0.11)
            naive.append((time.perf_counter() - started) * 1000)
        print(f"\n1,000-order customer, rate limit on (10 rps emulator; naive paced at "
              f"< 10 rps), {args.naive_runs} runs each")
        print(table(["approach", "requests", "p50 ms", "max ms", "naive p50 / this p50"], [
            ["portal first paint", "", f"{p50(firsts):.0f}", f"{max(firsts):.0f}",
             f"{p50(naive) / p50(firsts):.0f}×"],
            ["portal complete card (both steps)", str(our_calls), f"{p50(ours):.0f}",
             f"{max(ours):.0f}", f"{p50(naive) / p50(ours):.0f}×"],
            [f"naive official client ({orders} orders)", str(calls), f"{p50(naive):.0f}",
             f"{max(naive):.0f}", "1×"],
        ]))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
