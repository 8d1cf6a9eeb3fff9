"""Settings for the portal. Every value that differs between machines comes from
the environment (see `.env.example` for the full list with safe dev values)."""

import os
from datetime import timedelta

from csp.constants import NONCE
from django.utils.translation import gettext_lazy as _

from portal.env import BASE_DIR, env, required_secret

DEBUG = env.bool("DEBUG", default=False)
(BASE_DIR / "var").mkdir(exist_ok=True)  # SQLite test DB, collected static files
SECRET_KEY = required_secret("SECRET_KEY", debug=DEBUG)
# Newest key first; older keys only decrypt (MultiFernet). Independent of
# SECRET_KEY so either can be rotated without the other.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
    required_secret("FIELD_ENCRYPTION_KEYS", debug=DEBUG)
]
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
REDIS_URL = env.str("REDIS_URL", default="")

INSTALLED_APPS = [
    "integration.console.site.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # naturaltime: "now", "12 seconds ago", "3 minutes ago", translated (the
    # bare timesince filter says "0 minutes" for anything under a minute).
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "django_htmx",
    "axes",
    "integration",
    "sandbox",
    "sandbox.retailcrm",
    "sandbox.hde",
]

MIDDLEWARE = [
    # First: counts what the client finally gets (5xx pages included).
    "integration.ops.metrics.ResponseMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the console's times in the user's shops' zone.
    "integration.console.time_zone.ShopsZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A console page that raises Http404 answers like the admin's object
    # pages: the dashboard with a notice, never an error page.
    "integration.console.not_found.ConsoleNotFoundMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a locked-out login into the lock-out page, which then still
    # passes through the CSP middleware above on its way out.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "integration.console.time_zone.console_zone",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the django-q2 worker and the emulator pump share one
    # file: WAL lets readers run beside the writer, the busy timeout waits
    # instead of failing, and IMMEDIATE transactions take the write lock up
    # front so two writers never deadlock on a lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Live-server tests need a database that other threads and processes can
    # open, so the test database is a file, never ":memory:".
    # One file per test process, so parallel runs never share (and clobber) it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")
    }
# Persistent connections, SQLite included: closing a WAL database's last
# connection checkpoints it (measured ~6 ms per request on the webhook path).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
# Shared across processes (web, workers). Never used for anything that must be
# atomic: rate limits and locks use atomic database updates or Redis.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://portal_cache")}

# --- Auth, i18n, static ---------------------------------------------------
# django-axes first: it refuses a locked-out (address, username) pair before
# any password is checked, then Django's own backend authenticates.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
# Russian dates in the genitive ("30 ноября"): portal/formats/ru/formats.py.
FORMAT_MODULE_PATH = ["portal.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- E-mail ---------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

# --- Security (production values come from the environment) -------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool(
    "BEHIND_TLS_PROXY", default=not DEBUG
) else None
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# `check --deploy` warns (security.W021) while HSTS preload is off. Off is the
# documented production value (deploy/README.md): preloading commits every
# browser to HTTPS for the domain and its subdomains for months and needs the
# domain submitted to the preload list first, which is the operator's
# decision. So the warning is silenced deliberately, and only while preload
# is off; turning it on brings the check back.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"

# django-csp 4: a strict default policy. The widget view widens
# frame-ancestors to the shop's HDE origin only (per view). No
# 'unsafe-inline': scripts and styles are static files; the few inline blocks
# that remain (Django's change list without actions, drf-spectacular's
# Swagger page) carry the per-request nonce (NONCE is added to the header
# only on pages that used `request.csp_nonce`). A style="" attribute or an
# inline event handler anywhere is refused by the browser, and the browser
# tests fail on any such report (tests/security/test_browser_csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'", NONCE],
        "script-src": ["'self'", NONCE],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-src": ["'self'", "http:", "https:"] if SANDBOX_ENABLED else ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON only: the widget API is for programs, its docs are Swagger UI at
    # /api/v1/docs/. DRF's browsable HTML pages use inline style attributes,
    # which the CSP (no 'unsafe-inline') would refuse.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RetailCRM ↔ HelpDeskEddy portal API",
    # The introduction at the top of /api/v1/docs/: what the API is for and
    # how to get a token (Markdown, kept beside the API's code).
    "DESCRIPTION": (BASE_DIR / "integration" / "api" / "intro.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets served from the drf-spectacular-sidecar package, not a
    # CDN; its icon is the portal's (templates/drf_spectacular/swagger_ui.html).
    "SWAGGER_UI_DIST": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- django-q2 ------------------------------------------------------------
# Retries, backoff and the dead state belong to our own event records, so the
# broker never redelivers a failed task (max_attempts=1, ack_failures=True).
# `retry` must exceed `timeout`, or a slow task runs twice.
# A cluster holds only what it is about to run: `bulk` 1 and a local queue of
# one task per worker. Tasks a killed cluster had pulled are gone with it
# (Redis pops them) or hidden for `retry` seconds (the ORM broker locks them);
# either way their events are still `pending` in our tables, and a starting
# worker's recovery sweep enqueues them again at once
# (integration.inbox.events). Prefetching 50 tasks, as before, stranded up to
# 50 events behind a dead cluster. `recycle`: a worker process is replaced
# after that many tasks (memory); the new one runs the same cheap recovery.
_Q_WORKERS = env.int("Q_WORKERS", default=2)
Q_CLUSTER = {
    "name": "portal",
    "workers": _Q_WORKERS,
    "timeout": env.int("Q_TIMEOUT", default=120),
    "retry": env.int("Q_RETRY", default=180),
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "queue_limit": _Q_WORKERS,
    "bulk": 1,
    "recycle": 500,
    "poll": 0.5,
    "label": _("Background jobs"),
    "sync": env.bool("Q_SYNC", default=False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Outbound requests to vendors (integration.core.outbound_policy) -----
# https only, public addresses only. Development (DEBUG as the process
# starts; pinned here because test runners switch DEBUG off at run time while
# the emulators still live on loopback) also allows http and loopback, any
# port. Hosts named in OUTBOUND_ALLOWED_HOSTS (exact names, e.g. an
# on-premises help desk) may use http and private addresses; metadata names
# (metadata.google.internal, *.internal) stay refused whatever the list says.
OUTBOUND_DEV_MODE = DEBUG
OUTBOUND_ALLOWED_HOSTS = env.list("OUTBOUND_ALLOWED_HOSTS", default=[])

# --- Integration knobs (settings so tests can shrink them) ---------------
INTEGRATION = {
    # RetailCRM answers 503 above 10 requests/second per account: keep 8/s,
    # of which background jobs may use 6 so an operator is never starved.
    "RETAILCRM_RATE_LIMIT": env.int("RETAILCRM_RATE_LIMIT", default=8),
    "RETAILCRM_RATE_WINDOW": env.float("RETAILCRM_RATE_WINDOW", default=1.0),
    "RETAILCRM_INTERACTIVE_RESERVE": env.int("RETAILCRM_INTERACTIVE_RESERVE", default=2),
    # HDE bans the whole account for 20+ minutes above 300 requests/minute.
    "HDE_RATE_LIMIT": env.int("HDE_RATE_LIMIT", default=240),
    "HDE_RATE_WINDOW": env.float("HDE_RATE_WINDOW", default=60.0),
    "HDE_INTERACTIVE_RESERVE": env.int("HDE_INTERACTIVE_RESERVE", default=40),
    "HDE_BAN_SECONDS": env.int("HDE_BAN_SECONDS", default=20 * 60),
    "HDE_LOW_REMAINING": env.int("HDE_LOW_REMAINING", default=30),
    # How long a caller may wait for a throttle slot before giving up.
    "THROTTLE_MAX_WAIT": env.float("THROTTLE_MAX_WAIT", default=30.0),
    "HTTP_CONNECT_TIMEOUT": env.float("HTTP_CONNECT_TIMEOUT", default=3.05),
    "HTTP_READ_TIMEOUT": env.float("HTTP_READ_TIMEOUT", default=15.0),
    "HTTP_RETRY_TOTAL": env.int("HTTP_RETRY_TOTAL", default=3),
    "HTTP_RETRY_BACKOFF": env.float("HTTP_RETRY_BACKOFF", default=0.3),
    "LOG_RETENTION_DAYS": env.int("LOG_RETENTION_DAYS", default=30),
    # Alerts (integration.ops.alerts): a backlog at or above the threshold
    # for this many minutes is "stays high"; one message per condition per
    # shop per ALERT_REPEAT_MINUTES.
    "ALERT_BACKLOG_THRESHOLD": env.int("ALERT_BACKLOG_THRESHOLD", default=50),
    "ALERT_BACKLOG_MINUTES": env.int("ALERT_BACKLOG_MINUTES", default=15),
    "ALERT_REPEAT_MINUTES": env.int("ALERT_REPEAT_MINUTES", default=60),
    # Personal data (deploy/README.md "Personal data"): closed tickets' record
    # rows and their side-effect keys, remembered HDE user → customer links,
    # and refused webhook secrets and logins (they hold client addresses).
    "TICKET_RETENTION_DAYS": env.int("TICKET_RETENTION_DAYS", default=365),
    "CUSTOMER_LINK_RETENTION_DAYS": env.int("CUSTOMER_LINK_RETENTION_DAYS", default=365),
    "AUTH_FAILURE_RETENTION_HOURS": env.int("AUTH_FAILURE_RETENTION_HOURS", default=24),
}

# --- Client address behind the proxy, admin login lock-out ---------------
# Reverse proxies in front of gunicorn, each appending the address it got the
# request from to X-Forwarded-For (nginx: $proxy_add_x_forwarded_for). The
# client is that many entries from the right, trusted only on requests that
# come from FORWARDED_ALLOW_IPS (the proxy; gunicorn reads the same
# variable). 0: no proxy, REMOTE_ADDR is the client (development).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0 if DEBUG else 1)
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"])
# django-axes: ADMIN_LOGIN_FAILURE_LIMIT refused passwords for one username
# from one address lock that pair (and only that pair: someone elsewhere
# cannot lock the owner out) until ADMIN_LOGIN_FAILURE_WINDOW seconds after
# the last one, or until an agency owner or a superuser unlocks it.
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("ADMIN_LOGIN_FAILURE_WINDOW", default=900))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_CLIENT_IP_CALLABLE = "integration.core.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "integration.console.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Retrying while locked does not push the end of the lock further away, so
# "try again in N minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# No log of every successful login (client addresses are personal data);
# refused attempts are kept only until their window passes.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# --- Metrics and error reports (deploy/README.md "Monitoring") ------------
# GET /metrics (Prometheus) is off unless a scraper is named: a bearer token,
# an allow-list of scraper addresses (as client_address sees them behind the
# proxy; CIDR ranges allowed), or both (then both are required).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 24:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("METRICS_TOKEN must be at least 24 characters long.")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# Where every web and worker process of this host writes its counters so one
# scrape adds them up (prometheus-client multiprocess mode). The same
# directory for gunicorn and qcluster, created and emptied by the deployment
# only while none of them runs (systemd's RuntimeDirectory, a compose tmpfs
# volume). Empty: each process counts only itself (development, tests).
# prometheus-client reads the variable from the environment itself when it
# is imported (a value in .env is put there by portal.env first).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
# Optional Sentry: errors (and, with a sample rate above 0, traces), scrubbed
# of e-mails, phones, names and keys before they leave (integration.ops.sentry).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from integration.ops.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default=""),
                release=env.str("SENTRY_RELEASE", default=""),
                traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Widget links are credentials: Django's request loggers name the path
    # of every refused request, so their tokens are redacted at the source.
    "filters": {"redact_widget_tokens": {"()": "integration.core.log_filters.RedactWidgetTokens"}},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes narrates every login at INFO; refusals stay at WARNING
        # (with the username and address masked).
        "axes": {"level": "WARNING"},
        # django-q2 logs every enqueue at INFO: one line per accepted webhook
        # on the web tier's hot path. Failures still show at WARNING.
        "django-q": {"level": env.str("DJANGO_Q_LOG_LEVEL", default="WARNING")},
        # urllib3 logs every request line at DEBUG, query included: the
        # vendor searches carry e-mails and phones (the call log hashes them,
        # integration.vendors.call_log), so its debug lines never go out.
        "urllib3": {"level": "WARNING"},
        "django.request": {"filters": ["redact_widget_tokens"]},
        "django.server": {"filters": ["redact_widget_tokens"]},
    },
}
