"""Environment loading: one `environ.Env`, read once.

Why a separate module: settings, management commands and scripts need the same
view of the environment, and development secrets must be generated exactly once
per checkout. With DEBUG on and no value for a secret, a development value is
generated and kept in `.dev-secrets.env` (git-ignored) so sessions survive
restarts and the web server and the worker agree on the keys. With DEBUG off a
missing secret stops start-up with a message that names the variable.
"""

import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRETS_FILE = BASE_DIR / ".dev-secrets.env"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

_DEV_GENERATORS = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": lambda: Fernet.generate_key().decode(),
}


def _load_dev_secrets() -> dict[str, str]:
    values: dict[str, str] = {}
    if DEV_SECRETS_FILE.exists():
        for line in DEV_SECRETS_FILE.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                name, _, value = line.partition("=")
                values[name.strip()] = value.strip()
    return values


def required_secret(name: str, *, debug: bool) -> str:
    """Return a required secret from the environment.

    In development (DEBUG on) a missing value is generated once and persisted;
    in production it is a configuration error that names the variable.
    """
    value = env.str(name, default="")
    if value:
        return value
    if not debug:
        raise ImproperlyConfigured(
            f"{name} is required when DEBUG is off. Set it in the environment "
            f"or in .env (see .env.example)."
        )
    stored = _load_dev_secrets()
    if name not in stored:
        stored[name] = _DEV_GENERATORS[name]()
        DEV_SECRETS_FILE.write_text(
            "# Generated development secrets; never use in production.\n"
            + "".join(f"{key}={val}\n" for key, val in stored.items())
        )
    return stored[name]


# Redis databases a test process may use: the CI's broker and cache (1, 2)
# and the throttle tests' own (15) stay clear of every shifted pair.
_XDIST_REDIS_STRIDE = 3


def isolate_parallel_test_redis(environ_=None) -> None:
    """Under pytest-xdist, give each test process its own Redis databases,
    as pytest-django gives it its own test database: one process's `flushdb`,
    queued tasks or cached contexts never reach another's. Worker `gwN`
    (N > 0) moves REDIS_URL's and CACHE_URL's database number up by
    3·N. Done once, in the environment, so the processes a test starts
    (gunicorn, qcluster) inherit the moved URLs and do not move them again."""
    import os
    import re

    environ_ = os.environ if environ_ is None else environ_
    worker = environ_.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or environ_.get("XDIST_REDIS_ISOLATED"):
        return
    offset = int(worker[2:] or 0) * _XDIST_REDIS_STRIDE
    for name in ("REDIS_URL", "CACHE_URL"):
        url = environ_.get(name, "")
        if offset and url.split("://", 1)[0] in {"redis", "rediss", "rediscache"}:
            match = re.match(r"^(.*://[^/?]+)(?:/(\d*))?(\?.*)?$", url)
            if match:
                db = int(match.group(2) or 0) + offset
                environ_[name] = f"{match.group(1)}/{db}{match.group(3) or ''}"
    environ_["XDIST_REDIS_ISOLATED"] = "1"


isolate_parallel_test_redis()
