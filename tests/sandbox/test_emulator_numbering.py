"""Concurrent creates get distinct vendor ids, on SQLite and PostgreSQL.

Why: both emulators number records per account. Numbering by "the current
maximum plus one" let two requests served at once read the same maximum;
on PostgreSQL the loser hit the unique constraint and answered a 500 that
the real vendors never answer, so a portal under load (several workers, the
benchmarks) saw failures that do not exist. Threads here hit the live
server at once; every create must answer success with an id of its own, and
the counters must keep working after rows were inserted behind their back.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
import retailcrm

from sandbox.hde import services as svc
from sandbox.hde.models import Account as HdeAccount
from sandbox.hde.models import Message, Ticket
from sandbox.retailcrm.models import Customer, HistoryRecord, Note
from sandbox.retailcrm.seed import DEMO_FULL_KEY

THREADS = 8
PER_THREAD = 4


def _at_once(work):
    """Run `work(thread_index, call_index)` THREADS × PER_THREAD times, every
    thread released together; returns the results."""
    barrier = threading.Barrier(THREADS)

    def thread(index):
        barrier.wait(timeout=30)
        return [work(index, n) for n in range(PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        return [result for chunk in pool.map(thread, range(THREADS)) for result in chunk]


def test_retailcrm_concurrent_creates_get_distinct_ids(rc_emulator, rc_people):
    url = rc_emulator.demo["url"]
    customer = rc_people["new"]

    def create(kind, index, n):
        client = retailcrm.v5(url, DEMO_FULL_KEY)  # not thread-safe: one per call
        answer = {
            "customer": lambda: client.customer_create(
                {"firstName": f"Поток {index}-{n}"}, "main"),
            "order": lambda: client.order_create(
                {"customer": {"id": customer}, "items": [{"initialPrice": 10, "quantity": 1}]},
                "main"),
            "note": lambda: client.customer_note_create(
                {"text": f"Заметка {index}-{n}", "customer": {"id": customer}}),
            "task": lambda: client.task_create({"text": f"Задача {index}-{n}", "performerId": 2}),
        }[kind]()
        return answer.get_status_code(), answer.get_response().get("id")

    orders_before = Customer.objects.get(account__code="demo", crm_id=customer).doc[
        "ordersCount"]
    history_before = HistoryRecord.objects.filter(account__code="demo").count()
    for kind in ("customer", "order", "note", "task"):
        results = _at_once(lambda index, n, kind=kind: create(kind, index, n))
        statuses = [status for status, _ in results]
        ids = [crm_id for _, crm_id in results]
        assert statuses == [201] * THREADS * PER_THREAD, kind
        assert len(set(ids)) == len(ids), kind

    made = THREADS * PER_THREAD
    # Every create wrote its history record under an id of its own...
    assert HistoryRecord.objects.filter(account__code="demo").count() == (
        history_before + 2 * made)
    # ...and every order counted on its customer (no lost update).
    assert Customer.objects.get(account__code="demo", crm_id=customer).doc[
        "ordersCount"] == orders_before + made


def test_retailcrm_concurrent_creates_with_one_external_id_make_one_customer(rc_emulator):
    """As RetailCRM does: one customer per externalId in a store, however
    many creates race for it; the others are refused as duplicates."""
    url = rc_emulator.demo["url"]

    def create(index, n):
        answer = retailcrm.v5(url, DEMO_FULL_KEY).customer_create(
            {"firstName": f"Гонка {index}-{n}", "externalId": "race-1"}, "main")
        return answer.get_status_code(), answer.get_response()

    results = _at_once(create)
    assert sorted(status for status, _ in results) == [201] + [400] * (len(results) - 1)
    assert all("already exists" in str(body.get("errors")) for status, body in results
               if status == 400)
    assert Customer.objects.filter(account__code="demo", external_id="race-1").count() == 1


def test_retailcrm_counter_heals_after_rows_inserted_directly(rc_emulator, rc_people):
    client = retailcrm.v5(rc_emulator.demo["url"], DEMO_FULL_KEY)
    first = client.customer_note_create({"text": "a", "customer": {"id": rc_people["vip"]}})
    top = first.get_response()["id"]
    template = Note.objects.get(account__code="demo", crm_id=top)
    template.pk, template.crm_id = None, top + 5  # as a seed or a test would write it
    template.save()
    after = client.customer_note_create({"text": "b", "customer": {"id": rc_people["vip"]}})
    assert after.get_status_code() == 201 and after.get_response()["id"] == top + 6


def test_hde_concurrent_creates_get_distinct_ids(hde_emulator):
    info = hde_emulator.demo
    base = f"{info['url']}/api/v2"
    auth = (info["email"], info["api_key"])

    def create(kind, index, n):
        path, body = {
            "ticket": ("tickets/", {"title": f"Поток {index}-{n}", "description": "?",
                                    "user_email": "anna.smirnova@example.ru"}),
            "post": ("tickets/3/posts/", {"text": f"Ответ {index}-{n}"}),
            "comment": ("tickets/3/comments/", {"text": f"Заметка {index}-{n}"}),
            "user": ("users/", {"name": "Поток", "email": f"thread-{index}-{n}@example.org"}),
        }[kind]
        answer = requests.post(f"{base}/{path}", json=body, auth=auth, timeout=30)
        return answer.status_code, answer.json().get("data", {}).get("id")

    for kind in ("ticket", "post", "comment", "user"):
        results = _at_once(lambda index, n, kind=kind: create(kind, index, n))
        assert [status for status, _ in results] == [200] * THREADS * PER_THREAD, kind
        ids = [hid for _, hid in results]
        assert len(set(ids)) == len(ids), kind

    account = HdeAccount.objects.get(code="demo")
    # A new ticket's first message and the replies share the message counter.
    hids = list(Message.objects.filter(account=account).values_list("hid", flat=True))
    assert len(hids) == len(set(hids))
    # Rows written directly (as tests/workers.py does) never collide later.
    first = svc.next_hid(Ticket, account, count=3)
    assert svc.next_hid(Ticket, account) == first + 3
