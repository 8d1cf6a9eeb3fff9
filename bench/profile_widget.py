"""Where our own Python time goes in a cold customer card.

    DEBUG=1 .venv/bin/python bench/profile_widget.py [--runs 30] [--top 25]

The same set-up as `bench/widget.py` (emulators in their own process, 50 ms
injected per call, limits lifted), then `--runs` cold cards of the 1-order
customer, each as the card page asks for it: the first step and, when the
answer says so, the second. Prints:

- our CPU time per cold card (this process only: the emulators run in the
  other one), from `time.process_time()` around the runs;
- the top entries of a cProfile taken in *every* thread the card uses (the
  request thread and each pool thread of `integration.core.threads`), by
  own CPU time (the profiler's clock is each thread's CPU time, so waiting
  on the emulator's 50 ms, on locks or on a busy machine counts nothing).

A bench, not a test: it wraps the pool's runner to profile each pool call.
"""

import argparse
import cProfile
import io
import pstats
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import bench_environment, free_port, setup_django, start_server  # noqa: E402

EMAIL = "ivan.petrov@example.ru"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--by", choices=["own", "cumulative"], default="own")
    args = parser.parse_args()

    env = bench_environment("widget")
    setup_django(env)
    from django.conf import settings
    from django.core.management import call_command

    from integration.core import threads
    from integration.customers.context import customer_context_get
    from integration.models import Shop
    from sandbox.retailcrm.models import Account

    port = free_port()
    call_command("sandbox_seed", base_url=f"http://127.0.0.1:{port}",
                 stdout=open("/dev/null", "w"))  # noqa: SIM115
    server = start_server(env, port)
    profiles, lock = [], threading.Lock()
    original = threads._closing

    def profiled(fn, args_, kwargs):
        run = original(fn, args_, kwargs)

        def wrapped():
            profile = cProfile.Profile(time.thread_time)
            profile.enable()
            try:
                return run()
            finally:
                profile.disable()
                with lock:
                    profiles.append(profile)
        return wrapped

    try:
        shop = Shop.objects.select_related("retailcrm").get(name="Demo Shop")
        Account.objects.filter(code="demo").update(latency_ms=args.latency_ms, rate_limit_rps=0)
        settings.INTEGRATION = {**settings.INTEGRATION, "RETAILCRM_RATE_LIMIT": 10_000}
        two_step = "parts" in customer_context_get.__code__.co_varnames

        def card():
            if not two_step:
                return customer_context_get(shop=shop, email=EMAIL, refresh=True)
            first = customer_context_get(shop=shop, email=EMAIL, refresh=True, parts="first")
            if getattr(first, "complete", True):
                return first
            return customer_context_get(shop=shop, email=EMAIL, parts="rest")

        for _ in range(3):
            card()  # warm: reference books, connections, imports
        # Our CPU per card without the profiler (it slows Python down several
        # times), then the profile.
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.runs):
            context = card()
            assert context.status == "found", context.notice
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        threads._closing = profiled
        main_profile = cProfile.Profile(time.thread_time)
        main_profile.enable()
        for _ in range(args.runs):
            card()
        main_profile.disable()
        threads._closing = original
        stats = pstats.Stats(main_profile, stream=io.StringIO())
        for profile in profiles:
            stats.add(profile)
        print(f"{args.runs} cold cards ({'two steps' if two_step else 'one step'}), "
              f"{args.latency_ms} ms per emulator call: our CPU "
              f"{cpu * 1000 / args.runs:.1f} ms per card, wall {wall * 1000 / args.runs:.0f} ms")
        rows = []
        for (filename, line, name), (_cc, nc, tottime, cumtime, _) in stats.stats.items():
            short = filename.split("/site-packages/")[-1].split("/paint/")[-1]
            rows.append((tottime, cumtime, nc, f"{short}:{line}({name})"))
        rows.sort(reverse=True, key=lambda row: row[0] if args.by == "own" else row[1])
        print(f"\nTop {args.top} by {args.by} CPU time (all threads; under the profiler, which "
              f"inflates Python-heavy entries), per card:")
        print("| own CPU ms | cumulative CPU ms | calls | function |")
        print("|-------:|--------------:|------:|----------|")
        for tottime, cumtime, calls, where in rows[:args.top]:
            print(f"| {tottime * 1000 / args.runs:.2f} | {cumtime * 1000 / args.runs:.2f} | "
                  f"{calls / args.runs:.0f} | `{where}` |")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
