"""Shared bench plumbing: a separate database, the portal + emulators served
by a separate process, and percentile helpers. Benchmarks print figures;
they are not tests."""

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def bench_environment(name: str) -> dict:
    """Environment for a bench run: its own SQLite file unless DATABASE_URL
    is given (e.g. PostgreSQL), development secrets, the sandbox mounted."""
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / f'bench-{name}.sqlite3'}")
    env["SANDBOX_ENABLED"] = "1"
    return env


def setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict, port: int, *, gunicorn_workers: int = 1,
                 threads: int = 16) -> subprocess.Popen:
    """The portal with its emulators in another process; waits until it
    answers.

    gunicorn, not runserver: Django's development server writes headers and
    body in separate small segments, and with keep-alive clients Nagle's
    algorithm meets delayed ACKs, adding ~40 ms to small answers (measured:
    credentials 51 ms under runserver, 3.6 ms under gunicorn). One worker
    with threads keeps the emulators' in-process rate limiters exact.
    """
    if gunicorn_workers:
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}",
                   "-w", str(gunicorn_workers), "--threads", str(threads),
                   "--log-level", "warning"]
    else:
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the bench server did not start")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


def p50(samples):
    return statistics.median(samples) if samples else float("nan")


def table(headers: list[str], rows: list[list]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in rows]
    return "\n".join([line, rule, *body])
