"""The deploy files, checked statically.

No Docker engine or systemd runs on the CI machine, so these tests cannot
start the stack; they check what can be checked without one: the compose file
parses and wires PostgreSQL, Redis, web and workers to the same broker, cache
and database; the gunicorn config imports and binds the WSGI app; the systemd
units parse and start what they claim; every variable the production guide
lists is one the settings actually read.
"""

import configparser
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_has_postgres_redis_web_and_workers():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "migrate"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][-1] == "qcluster"
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name


def test_web_and_workers_share_database_broker_and_cache():
    services = _compose()["services"]
    envs = {name: services[name]["environment"] for name in ("web", "worker", "migrate")}
    for name, env in envs.items():
        assert env["DATABASE_URL"].startswith("postgres://"), name
        assert env["DATABASE_URL"].split("@")[1] == "postgres:5432/portal", name
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
        assert env["CACHE_URL"] == "rediscache://redis:6379/1", name
        assert env["DEBUG"] == "0", name
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully")
    # Secrets come from a file that is never committed.
    assert services["web"]["env_file"] == ["portal.env"]
    assert not (DEPLOY / "portal.env").exists()


def test_compose_env_example_names_every_required_secret():
    example = (DEPLOY / "portal.env.example").read_text()
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "PORTAL_BASE_URL",
                 "POSTGRES_PASSWORD"):
        assert re.search(rf"^{name}=", example, re.M), name


def test_compose_urls_configure_redis_broker_and_cache():
    """The URLs in the compose file produce Redis settings in Django itself."""
    env = _compose()["services"]["web"]["environment"]
    code = ("from django.conf import settings as s; "
            "print(s.CACHES['default']['BACKEND']); print(s.Q_CLUSTER.get('redis')); "
            "print(s.DATABASES['default']['ENGINE'])")
    overrides = {"DEBUG": "1", "REDIS_URL": env["REDIS_URL"], "CACHE_URL": env["CACHE_URL"],
                 "DATABASE_URL": "postgres://portal:pw@postgres:5432/portal",
                 "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
        env={**os.environ, **overrides}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    backend, broker, engine = result.stdout.split()
    assert backend == "django.core.cache.backends.redis.RedisCache"
    assert broker == "redis://redis:6379/0"
    assert engine == "django.db.backends.postgresql"


def test_gunicorn_config_imports_and_serves_the_wsgi_app(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["workers"] == 4 and config["worker_class"] == "sync"
    assert config["timeout"] >= 20 and config["max_requests"] > 0
    assert "%(U)s" in config["access_log_format"] and "%(q)s" not in config["access_log_format"]
    # gunicorn itself accepts every setting name in the file.
    from gunicorn.config import Config

    known = set(Config().settings)
    ours = {k for k, v in config.items() if not k.startswith("_") and not isinstance(v, type)
            and k not in {"multiprocessing", "os"}}
    assert ours <= known, ours - known
    # The access logger cuts widget-link tokens out of logged paths.
    logger = config["logger_class"](Config())
    atoms = logger.atoms(_Response(), _Request("/widget/abc/SIGNED.token:x/"),
                         {"REQUEST_METHOD": "GET", "RAW_URI": "/widget/abc/SIGNED.token:x/",
                          "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/widget/abc/SIGNED.x/"},
                         _Elapsed())
    assert "SIGNED" not in atoms["U"] and "SIGNED" not in atoms["r"]
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--check-config",
         "portal.wsgi"], cwd=ROOT, env={**os.environ, "DEBUG": "1"},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


class _Response:
    status, sent, headers = "200 OK", 10, []
    status_code = 200


class _Request:
    def __init__(self, path):
        self.path, self.query, self.uri, self.method = path, "", path, "GET"
        self.version, self.headers = (1, 1), []


class _Elapsed:
    seconds, microseconds = 0, 1000


def _unit(name):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def test_systemd_units_parse_and_start_the_right_processes():
    web, worker = _unit("portal-web.service"), _unit("portal-worker@.service")
    for unit in (web, worker):
        assert {"Unit", "Service", "Install"} <= set(unit.sections())
        service = unit["Service"]
        assert service["EnvironmentFile"] == "/etc/portal/portal.env"
        assert service["User"] == "portal" and service["Restart"] in {"always", "on-failure"}
        assert service["NoNewPrivileges"] == "true"
    assert "gunicorn -c deploy/gunicorn.conf.py portal.wsgi" in web["Service"]["ExecStart"]
    assert web["Service"]["ExecStartPre"].endswith("ensure_schedules")
    assert worker["Service"]["ExecStart"].endswith("manage.py qcluster")
    # A worker stopped politely may finish its task: longer than Q_TIMEOUT.
    assert int(worker["Service"]["TimeoutStopSec"]) > 120


def test_production_guide_names_only_settings_that_exist():
    guide = (DEPLOY / "README.md").read_text()
    named = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", guide, re.M))
    assert {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "SECRET_KEY"} <= named
    source = "\n".join(p.read_text() for p in [ROOT / "portal" / "settings.py",
                                               DEPLOY / "gunicorn.conf.py"])
    missing = {name for name in named if f'"{name}"' not in source}
    assert not missing, f"guide lists settings nothing reads: {missing}"
    assert "## Sizing" in guide


def test_proxy_sample_matches_what_the_portal_trusts():
    """nginx appends the client to X-Forwarded-For and says the scheme; the
    documented settings count one proxy and trust it, gunicorn listens on
    loopback only, so nothing but the proxy can name a client address."""
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "proxy_pass http://127.0.0.1:8000;" in nginx
    example = (DEPLOY / "portal.env.example").read_text()
    assert re.search(r"^TRUSTED_PROXY_COUNT=1$", example, re.M)
    assert re.search(r"^FORWARDED_ALLOW_IPS=127\.0\.0\.1$", example, re.M)
    web = _compose()["services"]["web"]
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    assert web["ports"] == ["127.0.0.1:8000:8000"]  # published on the host's loopback only
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["bind"].startswith("127.0.0.1:")
