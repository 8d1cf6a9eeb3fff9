"""Multi-worker proof at full size: 1,000 ticket events drained by two
django-q2 clusters sharing Redis, on PostgreSQL, with the HDE emulator's
limit scaled to 200 requests per 5 s (client) / 250 per 5 s (emulator).
Two of the five senders are unknown to RetailCRM (one phone-only) and write
a fifth of the tickets each, processed side by side; a third of the way
through, one cluster is SIGKILLed and restarted at once.

It runs the suite's own proof (tests/inbox/test_faults_workers.py) with
MULTIWORKER_EVENTS=1000, so the figures come from exactly the assertions the
CI makes on 200 events: zero duplicates (one HDE comment and one RetailCRM
note per ticket), zero losses (every event done), zero HDE limit violations,
one RetailCRM customer per unknown sender, and the killed cluster's events
done within 60 s of its restart (measured by the events' own `processed_at`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \
    REDIS_URL=redis://127.0.0.1:6379/1 CACHE_URL=rediscache://127.0.0.1:6379/2 \
    .venv/bin/python bench/multiworker.py [--events 1000]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL", "").startswith("postgres")
            and os.environ.get("REDIS_URL")):
        print("Needs DATABASE_URL=postgres://... and REDIS_URL=redis://... (see the docstring).")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = {**os.environ, "DEBUG": "1", "MULTIWORKER_EVENTS": str(args.events),
               "MULTIWORKER_REPORT": str(report),
               "MULTIWORKER_TIMEOUT": str(max(300, args.events))}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:logging", "-x",
             "tests/inbox/test_faults_workers.py::"
             "test_two_clusters_drain_ticket_events_without_duplicates_or_losses"],
            cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode != 0 or not report.exists():
            print(result.stdout[-4000:], result.stderr[-2000:])
            return 1
        figures = json.loads(report.read_text())
    print(json.dumps(figures, indent=2))
    print(f"\n{figures['events']} events in {figures['seconds']} s "
          f"({figures['events_per_second']}/s); duplicates {figures['duplicates']}, "
          f"losses {figures['losses']}, HDE limit violations {figures['hde_limit_violations']}")
    print(f"unknown senders: {figures['unknown_senders']} × "
          f"{figures['tickets_per_unknown_sender']} tickets → "
          f"{figures['customers_per_unknown_sender']} RetailCRM customer each")
    print(f"cluster killed with {figures['events_in_flight_at_kill']} events in flight: "
          f"all done {figures['recovery_seconds_after_restart']} s after its restart "
          "(target ≤ 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
