"""Test fixtures: tenants and users, a loopback-only network guard, and the
headless browser."""

import os
import shutil
import socket

import pytest
from django.contrib.auth import get_user_model

from integration.models import Agency, Membership, Role, Shop

CHROMIUM = "/usr/bin/chromium"

# Vendor-specific fixtures live beside their owners' tests.
pytest_plugins = ["tests.fixtures_retailcrm", "tests.fixtures_hde", "tests.fixtures_portal",
                  "tests.fixtures_extension"]


@pytest.fixture(autouse=True, scope="session")
def _database_connections_end_with_their_request():
    """No persistent database connections inside the test process.

    The live server serves each kept-alive HTTP connection of our pooled
    vendor clients from its own thread, and with `CONN_MAX_AGE` each such
    thread held a database connection for as long as the client kept the
    socket: three test processes on PostgreSQL reached its 100 connections
    ("too many clients"). Closing at the end of each request (age 0) keeps a
    test process to a handful; the processes a test starts (gunicorn,
    qcluster) keep the production setting. Every connection reads this dict
    (Django's connections share `settings.DATABASES`' entries)."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True, scope="session")
def _postgresql_commits_without_waiting_for_the_disk():
    """On PostgreSQL, this process's connections commit without waiting for
    the write-ahead log to reach the disk (`synchronous_commit=off`).

    The emulators and the jobs commit row by row, as they must; on a busy CI
    disk each commit waited for an fsync, which made the commit-heavy tests
    (the 10,000-record seed, the order-history catch-up, the demo seed) 3-4
    times slower than on SQLite. A test database need not survive a power
    cut: nothing else changes (isolation, constraints, what each commit
    means), and production keeps the server's setting. Connections made
    after this read it (each request opens its own: `CONN_MAX_AGE` 0)."""
    from django.conf import settings
    from django.db import connections

    entry = settings.DATABASES["default"]
    if entry["ENGINE"] != "django.db.backends.postgresql":
        return
    options = entry.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()
    connections["default"].close()  # the session's own connection reconnects with it


# Connections kept free for the processes tests start: gunicorn's workers,
# up to three qclusters with their workers, and PostgreSQL's reserved slots.
CHILD_PROCESS_CONNECTIONS = 40


@pytest.fixture(autouse=True, scope="session")
def _postgresql_connections_from_a_pool(django_db_setup, django_db_blocker,
                                        _postgresql_commits_without_waiting_for_the_disk):
    """On PostgreSQL, this process's connections come from a pool (Django's
    own, psycopg_pool): each live-server request used to open a connection of
    its own (`CONN_MAX_AGE` 0, above), and PostgreSQL starts a process for
    each, which made the PostgreSQL passes half as slow again as SQLite's.
    The pool keeps closing at the end of each request (it hands the
    connection back) and caps a test process at `max_size` connections, so
    the reason for age 0 holds. Made after the test database exists, so the
    pool connects to it.

    The test processes share the server's `max_connections` with the
    processes some tests start (gunicorn, two or three qclusters): four test
    processes whose pools had grown to 20 each left those no room ("too many
    clients", seen in the multi-worker proof). So each pool gets an equal
    share of what is left after `CHILD_PROCESS_CONNECTIONS`, and gives back
    what a burst grew it by after `max_idle` seconds."""
    from django.conf import settings
    from django.db import connections

    entry = settings.DATABASES["default"]
    if entry["ENGINE"] != "django.db.backends.postgresql":
        yield
        return
    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        cursor.execute("SHOW max_connections")
        server_max = int(cursor.fetchone()[0])
    connections["default"].close()
    processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    share = max(4, min(20, (server_max - CHILD_PROCESS_CONNECTIONS) // processes))
    entry.setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": share,
                                               "max_idle": 30, "timeout": 60}
    yield
    connections["default"].close()
    connections["default"].close_pool()
    entry["OPTIONS"].pop("pool", None)
    # A connection some thread still held kept the test database from being
    # dropped once ("is being accessed by other users"): end any left over.
    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    connections["default"].close()


@pytest.fixture(autouse=True, scope="session")
def _postgresql_flushes_by_delete():
    """On PostgreSQL, the flush after each transactional test (every test
    that talks to the live server) deletes rows instead of truncating.

    Django flushes with one `TRUNCATE` of every table: about a hundred
    tables here, each given new files, which took 2-3 s per test and made
    the PostgreSQL passes 70% slower than SQLite's. The tables hold a few
    rows each at that point, so `DELETE` is milliseconds; Django's foreign
    keys on PostgreSQL are deferred, so the order of the deletes does not
    matter inside the flush's transaction. A flush that must restart the
    sequences keeps Django's own SQL.

    Unlike `TRUNCATE`, `DELETE` does not lock the tables: a request the live
    server is still answering for the finished test (a page's poll, a
    widget timing row) can insert a row that points at a shop deleted a
    moment later, and the deferred check then refuses the commit (seen in
    CI: "violates foreign key constraint", then every later test of that
    process failing on leftovers). Such a flush is rolled back and done
    again with Django's own `TRUNCATE ... CASCADE`, which waits for the
    writer and locks it out."""
    from django.core.management.color import no_style
    from django.db import DatabaseError
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush
    execute = DatabaseOperations.execute_sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences,
                            allow_cascade=allow_cascade)
        self.tables_flushed_by_delete = list(tables)
        return ["SET CONSTRAINTS ALL DEFERRED;",
                *(f"DELETE FROM {self.quote_name(table)};" for table in tables)]

    def execute_sql_flush(self, sql_list):
        tables = self.__dict__.pop("tables_flushed_by_delete", None)
        if tables is None:
            return execute(self, sql_list)
        try:
            return execute(self, sql_list)
        except DatabaseError:
            return execute(self, truncate(self, no_style(), tables, allow_cascade=True))

    DatabaseOperations.sql_flush = sql_flush
    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.sql_flush = truncate
    DatabaseOperations.execute_sql_flush = execute


@pytest.fixture(autouse=True, scope="session")
def _flush_keeps_what_migrate_made():
    """The flush after each transactional test leaves the content types,
    permissions and role groups alone, and sends no `post_migrate`.

    Django empties every table, then sends `post_migrate` so that the
    receivers make those rows again (content types, permissions, and our
    role groups: `integration.tenancy.signals`). That re-making was 6% of the
    suite's time, spent after each of several hundred tests on rows no test
    changes. Kept, they are exactly what the receivers would make: the
    receivers are these three alone, and `tests/test_flush.py` holds it."""
    from django.core.management.commands import flush

    sql_flush, emit = flush.sql_flush, flush.emit_post_migrate_signal

    def sql_flush_but_kept(style, connection, reset_sequences=True, allow_cascade=False):
        tables = [table for table in connection.introspection.django_table_names(
            only_existing=True, include_views=False) if table not in KEPT_BY_FLUSH]
        return connection.ops.sql_flush(style, tables, reset_sequences=reset_sequences,
                                        allow_cascade=allow_cascade)

    flush.sql_flush = sql_flush_but_kept
    flush.emit_post_migrate_signal = lambda *args, **kwargs: None
    yield
    flush.sql_flush, flush.emit_post_migrate_signal = sql_flush, emit


# What `post_migrate` makes; no test changes these rows (tests/test_flush.py).
KEPT_BY_FLUSH = frozenset({"django_content_type", "auth_permission", "auth_group",
                           "auth_group_permissions"})


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Tests may only talk to this machine: any other address is a bug."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and sock.family in (socket.AF_INET, socket.AF_INET6):
            if host not in ("localhost", "::1") and not host.startswith("127."):
                raise RuntimeError(f"Test tried to reach a non-loopback address: {host}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: a test that renders a
    Russian shop's text (translation.override, a Russian request) must not
    leak Russian into the next test's assertions."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.3 s per user; tests create dozens of users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _sync_jobs(monkeypatch):
    """django-q2 runs tasks inline in tests unless a test starts a cluster.
    (django-q2 reads Q_CLUSTER once at import, so its Conf is patched.)"""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _fresh_caches(request, settings):
    """Start every test with an empty cache and empty Redis databases, as
    the database tables are: throttle logs, queued tasks, cached contexts,
    reference books and a remembered failed read would otherwise leak
    between tests (the live server's port, and so every cache key, is the
    same all session), and a test would pass or fail by what ran before it
    in its process. The embedded cache (local memory) is cleared the same
    way as Redis under CACHE_URL (the CI's third pass)."""
    import redis
    from django.core.cache import caches

    urls = [settings.REDIS_URL] if settings.REDIS_URL else []
    cache_conf = settings.CACHES["default"]
    if cache_conf["BACKEND"].endswith("RedisCache"):
        urls.append(cache_conf["LOCATION"])
    elif ("django_db_setup" in request.fixturenames
          or request.node.get_closest_marker("django_db")):
        # The embedded cache is a database table (dbcache), which Django's
        # flush after a transactional test leaves alone: only a test that
        # has the database can (and needs to) clear it.
        request.getfixturevalue("_django_db_helper")
        for alias in settings.CACHES:
            caches[alias].clear()
    for url in urls:
        redis.Redis.from_url(url).flushdb()


@pytest.fixture
def make_agency(db):
    def make(name):
        return Agency.objects.create(name=name)

    return make


@pytest.fixture
def make_shop(db):
    def make(agency, name="Shop", **fields):
        return Shop.objects.create(agency=agency, name=name, **fields)

    return make


@pytest.fixture
def make_member(db):
    def make(agency, role=Role.OWNER, username=None, password="pw-123456!"):
        User = get_user_model()
        username = username or f"{role}-{agency.name}".lower().replace(" ", "-")
        user = User.objects.create_user(username=username, password=password,
                                        email=f"{username}@example.com")
        Membership.objects.create(user=user, agency=agency, role=role)
        user.refresh_from_db()
        return user

    return make


@pytest.fixture
def two_tenants(make_agency, make_shop, make_member):
    """Agency A and agency B, each with one shop and users of every role."""
    a, b = make_agency("Agency A"), make_agency("Agency B")
    tenants = {}
    for key, agency in (("a", a), ("b", b)):
        tenants[key] = {
            "agency": agency,
            "shop": make_shop(agency, name=f"Shop {key.upper()}"),
            "owner": make_member(agency, Role.OWNER),
            "admin": make_member(agency, Role.ADMIN),
            "viewer": make_member(agency, Role.VIEWER),
        }
    return tenants


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright. Never downloads a browser.

    Missing browser: under CI=true the run fails; elsewhere the test skips
    with a loud message (`make test` installs chromium when run as root).
    """
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        message = "Debian chromium is not installed (apt-get install chromium)."
        if os.environ.get("CI") == "true":
            pytest.fail(f"BROWSER MISSING UNDER CI: {message}", pytrace=False)
        pytest.skip(f"BROWSER TESTS SKIPPED: {message}")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15000)  # a bound for `expect(...)`, as for the page below
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # Bounds, not measurements: on a busy 2-core machine running three test
    # processes, a save that tests a connection or a first paint can take
    # seconds. Nothing is judged by how fast it came, only that it came.
    page.set_default_timeout(30000)
    yield page
    context.close()


@pytest.fixture
def artifacts_dir():
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return path
