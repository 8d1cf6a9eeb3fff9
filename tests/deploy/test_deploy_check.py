"""`manage.py check --deploy --fail-level WARNING` passes with exactly the
values the production guide documents: the web container's environment in
deploy/compose.yaml (its own keys plus deploy/portal.env.example, with each
`change-me` replaced the way the file's comments say to generate it), and
nothing else. HSTS preload stays off there, so security.W021 is silenced by
the settings on purpose, and only while preload is off.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GENERATED = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": lambda: Fernet.generate_key().decode(),
    "POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(16),
}


def documented_environment() -> dict[str, str]:
    env = {}
    for line in (DEPLOY / "portal.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    for name, value in env.items():
        if value == "change-me":
            env[name] = GENERATED[name]()
    web = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["web"]
    for name, value in web["environment"].items():
        # Compose interpolation: ${NAME} and ${NAME:?message} from portal.env.
        env[name] = re.sub(r"\$\{([A-Z_]+)(?::\?[^}]*)?\}", lambda m: env[m.group(1)],
                           str(value))
    return env


def _manage(*args, environment):
    # Nothing from the test session's environment that the settings read.
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(environment)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_with_the_documented_production_values():
    environment = documented_environment()
    assert environment["DEBUG"] == "0"
    assert "SECURE_HSTS_PRELOAD" not in environment  # documented: off until preload-listed
    result = _manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(1 silenced)" in result.stdout + result.stderr


def test_only_the_preload_warning_is_silenced_and_only_while_preload_is_off():
    code = "from django.conf import settings; print(settings.SILENCED_SYSTEM_CHECKS)"
    environment = documented_environment()
    for preload, expected in (("0", "['security.W021']"), ("1", "[]")):
        result = _manage("shell", "-c", code,
                         environment={**environment, "SECURE_HSTS_PRELOAD": preload})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected
    # A documented value that is wrong still fails the check.
    result = _manage("check", "--deploy", "--fail-level", "WARNING",
                     environment={**environment, "SECURE_SSL_REDIRECT": "0"})
    assert result.returncode != 0 and "security.W008" in result.stdout + result.stderr
