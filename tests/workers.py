"""Real processes for scale and fault tests: a gunicorn server (portal and
both emulators), django-q2 clusters (`manage.py qcluster`), all on the test
database, and a shop wired to the emulators they serve.

Why real processes: the promises under test (many workers share one HDE
budget, a SIGKILLed worker loses nothing, a dropped database connection is
survived) are about processes, Redis and PostgreSQL, which threads inside the
test process would not exercise. Every process is started in its own session
and stopped by its process-group id, never by name.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

from integration.models import (
    Agency,
    HelpDeskEddyConnection,
    RetailCrmConnection,
    SecretKind,
    Shop,
)
from integration.onboarding.shop_defaults import shop_defaults_apply
from integration.tenancy.secrets import shop_secret_issue

ROOT = Path(__file__).resolve().parent.parent
URGENT, STANDARD = 1, 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test runs on (the test database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def child_env(**knobs) -> dict[str, str]:
    """Environment for child processes: same database, broker, cache and
    keys as the test process, plus integration knobs as variables."""
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({
        "DEBUG": "1", "SANDBOX_ENABLED": "1", "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "LOG_LEVEL": "INFO", "Q_SYNC": "0", "PYTHONUNBUFFERED": "1",
        # tasks_processed() counts django-q2's per-task INFO lines.
        "DJANGO_Q_LOG_LEVEL": "INFO",
    })
    cache_conf = settings.CACHES["default"]
    if cache_conf["BACKEND"].endswith("RedisCache"):
        env["CACHE_URL"] = "rediscache://" + cache_conf["LOCATION"].split("://", 1)[1]
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update({k: str(v) for k, v in knobs.items()})
    return env


class Process:
    """A child in its own session, with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, sig=signal.SIGKILL) -> None:
        """Signal the whole process group (a cluster is several processes)."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Disposable test processes: the whole group goes at once (a polite
        qcluster shutdown takes many seconds and proves nothing here)."""
        self.kill(signal.SIGKILL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(env: dict, log_dir: Path, *, workers: int = 4) -> tuple[Process, str]:
    port = free_port()
    server = Process("gunicorn", [sys.executable, "-m", "gunicorn", "portal.wsgi",
                                  "-b", f"127.0.0.1:{port}", "-w", str(workers),
                                  "--timeout", "120", "--access-logfile", "/dev/null"],
                     {**env, "PORTAL_BASE_URL": f"http://127.0.0.1:{port}"}, log_dir)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=5).status_code < 500:
                return server, url
        except requests.RequestException:
            pass
        if server.proc.poll() is not None:
            break
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"gunicorn did not start:\n{server.log()[-3000:]}")


def start_cluster(name: str, env: dict, log_dir: Path) -> Process:
    return Process(name, [sys.executable, "manage.py", "qcluster"], env, log_dir)


def tasks_processed(cluster: Process) -> int:
    """django-q2 logs one 'processing' line per task a worker takes."""
    return sum(1 for line in cluster.log().splitlines()
               if "processing" in line and "event-" in line)


def wait_for(predicate, *, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wire_shop(base_url: str, *, hde_limits: dict | None = None):
    """Seed both emulators for `base_url` (the gunicorn server) and wire a
    shop to them as the demo seed does; return (shop, webhook secret)."""
    from sandbox.hde.models import Account as HdeAccount
    from sandbox.hde.seed import seed as hde_seed
    from sandbox.retailcrm.models import Account as RcAccount
    from sandbox.retailcrm.seed import PLANS, seed_account
    from tests.fixtures_retailcrm import SMALL_CAST

    hde = {a["code"]: a for a in hde_seed(base_url=base_url)["accounts"]}["demo"]
    rc = seed_account(replace(PLANS[0], people=SMALL_CAST, fillers=6), base_url=base_url)
    RcAccount.objects.update(rate_limit_rps=0)
    if hde_limits:
        HdeAccount.objects.filter(code="demo").update(**hde_limits)
    shop = Shop.objects.create(agency=Agency.objects.create(name="Scale agency"),
                               name="Scale shop", language="en")
    RetailCrmConnection.objects.create(shop=shop, base_url=rc["url"], api_key=rc["api_key"],
                                       site_code="main")
    HelpDeskEddyConnection.objects.create(shop=shop, base_url=hde["url"],
                                          agent_email=hde["email"], api_key=hde["api_key"])
    from sandbox.hde import seed as hde_fields

    shop_defaults_apply(shop=shop, normal_priority_id=STANDARD, high_priority_id=URGENT,
                        crm_card_field_id=hde_fields.CRM_CARD,
                        mappings={"customer_id": hde_fields.CUSTOMER_ID})
    secret = shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK)
    return shop, secret, rc


def emulator_tickets(count: int, emails: list[str]) -> list[int]:
    """`count` new tickets in the HDE emulator's demo account, written
    directly (as its seed does): creating them through the API would spend
    the very budget the tests measure. Senders take turns; a sender written
    as a phone (`+7 …`) is a phone-only contact, as HDE stores one."""
    from django.utils import timezone

    from sandbox.hde import services as svc
    from sandbox.hde.models import Account, Message, Ticket

    account = Account.objects.get(code="demo")
    users = [svc.user_for_contact(account, phone=contact) if contact.startswith("+")
             else svc.user_for_contact(account, email=contact) for contact in emails]
    first = svc.next_hid(Ticket, account)
    first_message = svc.next_hid(Message, account)
    now = timezone.now()
    tickets = Ticket.objects.bulk_create([
        Ticket(account=account, hid=first + n, unique_id=svc.unique_id_for(first + n),
               title=f"Question {n}", source="email", status_id="open", priority_id=STANDARD,
               user=users[n % len(users)], date_created=now, date_updated=now)
        for n in range(count)])
    Message.objects.bulk_create([
        Message(account=account, hid=first_message + n, ticket=ticket, user=ticket.user,
                text=f"<p>Hello {n}</p>", date_created=now)
        for n, ticket in enumerate(tickets)])
    return [t.hid for t in tickets]


def post_webhooks(url: str, shop, secret: str, ticket_ids: list[int], *, threads: int = 8):
    """Deliver a `new_ticket` webhook per ticket to the real receiver."""
    from concurrent.futures import ThreadPoolExecutor

    endpoint = f"{url}/hooks/hde/{shop.public_id}/"

    def send(chunk):
        session, statuses = requests.Session(), []
        session.auth = ("hde", secret)
        for ticket_id in chunk:
            response = session.post(endpoint, json={"event": "new_ticket",
                                                    "ticket_id": ticket_id}, timeout=30)
            statuses.append(response.status_code)
        return statuses

    chunks = [ticket_ids[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return [s for statuses in pool.map(send, chunks) for s in statuses]


def crm_customers_of(contact: str) -> list[int]:
    """RetailCRM emulator customers (ids) with this e-mail, or with a phone
    that has the same digits: what a duplicate would look like to a manager."""
    from sandbox.hde.services import phone_digits
    from sandbox.retailcrm.models import Customer

    customers = Customer.objects.filter(account__code="demo")
    if not contact.startswith("+"):
        return sorted(customers.filter(email__iexact=contact).values_list("crm_id", flat=True))
    wanted = phone_digits(contact)[-10:]
    return sorted(c.crm_id for c in customers
                  if any(phone_digits(p.get("number", ""))[-10:] == wanted
                         for p in c.doc.get("phones", [])))


def ticket_marker(ticket_id: int, language: str = "ru") -> str:
    """How the portal's RetailCRM notes name an HDE ticket of the demo
    account: by its number ("Заявка UYA-10518" in a Russian shop)."""
    from sandbox.hde.services import unique_id_for

    word = {"ru": "Заявка", "en": "Ticket"}[language]
    return f"{word} {unique_id_for(ticket_id)}"


def crm_ticket_notes(customer_id: int) -> list[str]:
    """The markers ("Заявка UYA-10518") of the ticket notes on one RetailCRM
    emulator customer."""
    from sandbox.retailcrm.models import Note

    return [n.doc.get("text", "").split(":")[0]
            for n in Note.objects.filter(account__code="demo", customer_crm_id=customer_id)
            if n.doc.get("text", "").startswith(("Заявка ", "Ticket "))]


def crm_status_create(code: str, name: str, *, group: str = "delivery",
                      ordering: int = 215) -> None:
    """A manager adds a status to the demo RetailCRM account's book (in
    `group`), after the portal may have cached the book."""
    from sandbox.retailcrm.models import Account

    account = Account.objects.get(code="demo")
    books = account.references
    books["statuses"][code] = {"name": name, "code": code, "active": True,
                               "ordering": ordering, "group": group}
    books["statusGroups"][group]["statuses"].append(code)
    Account.objects.filter(pk=account.pk).update(references=books)


def crm_status_delete(code: str) -> None:
    """The status leaves the demo account's book; orders in it stay."""
    from sandbox.retailcrm.models import Account

    account = Account.objects.get(code="demo")
    books = account.references
    books["statuses"].pop(code, None)
    for group in books["statusGroups"].values():
        if code in group.get("statuses", []):
            group["statuses"].remove(code)
    Account.objects.filter(pk=account.pk).update(references=books)


def crm_order_move(email: str, status: str, to: str) -> None:
    """A manager moves the customer's order in `status` to `to` in the back
    office (history and triggers as RetailCRM writes them)."""
    from sandbox.retailcrm import store
    from sandbox.retailcrm.models import Account, Order

    account = Account.objects.get(code="demo")
    order = Order.objects.get(account=account, status=status, email=email)
    store.edit_order(account, None, order, {"status": to}, user_id=None)
