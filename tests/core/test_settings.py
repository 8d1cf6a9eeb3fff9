"""Production settings: missing secrets stop start-up. (`check --deploy` with the
documented values: tests/deploy/test_deploy_check.py.)"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, env_overrides):
    # A clean production-like environment: nothing from the test session
    # (browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright's loop).
    dropped = {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_missing_secret_with_debug_off_names_the_variable():
    result = _manage("check", env_overrides={
        "DEBUG": "0", "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    })
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_sqlite_is_configured_for_concurrency(settings):
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("SQLite-only settings; this run uses another database")
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    # A file other threads and processes can open (never ":memory:"), one per
    # test process: pytest-xdist's processes add their "_gwN".
    assert re.search(r"/test-db-\d+\.sqlite3(_gw\d+)?$", db["TEST"]["NAME"])
    assert os.path.exists(db["NAME"])


def test_q_cluster_never_redelivers_failed_tasks(settings):
    q = settings.Q_CLUSTER
    assert q["retry"] > q["timeout"]
    assert q["max_attempts"] == 1 and q["ack_failures"] is True and q["catch_up"] is False


def test_a_cluster_holds_only_what_it_is_about_to_run_and_leases_fit(settings):
    """A killed cluster strands the tasks it pulled but had not started (Redis
    pops them; the ORM broker hides them for `retry` seconds): it may hold at
    most one per worker. Leases lapse well within the one-minute recovery
    target, are renewed often enough to survive two missed beats, and are
    never renewed past the task time limit."""
    from integration.core.side_effects import EFFECT_LEASE, EFFECT_RENEW_EVERY
    from integration.inbox.events import LEASE, LEASE_RENEW_EVERY, task_time_limit

    q = settings.Q_CLUSTER
    assert q["bulk"] == 1 and q["queue_limit"] <= q["workers"]
    for lease, every in ((LEASE, LEASE_RENEW_EVERY), (EFFECT_LEASE, EFFECT_RENEW_EVERY)):
        assert lease.total_seconds() <= 30 and every * 3 < lease.total_seconds()
    assert task_time_limit() == q["timeout"] > LEASE.total_seconds()


def test_env_example_lists_every_variable_the_settings_read():
    import re

    read = set(re.findall(r'env(?:\.[a-z]+)?\(\s*"([A-Z][A-Z0-9_]+)"',
                          (ROOT / "portal" / "settings.py").read_text()))
    read |= {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}  # read through required_secret()
    listed = {line.split("=", 1)[0].lstrip("# ").strip()
              for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line}
    assert read - listed == set()
