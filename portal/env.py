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
