"""One RetailCRM customer per unknown sender, whatever the timing.

Why: a sender who writes two or three tickets back to back had them
processed at the same moment; every job searched RetailCRM, found nothing and
created a customer, leaving twins with one e-mail and the notes split between
them. Here the jobs run in threads at once (each with its own database
connection, as worker processes have) against both emulators over real HTTP;
RetailCRM answers slowly so that every search finishes before any create.
Counted where a manager would see a duplicate: in the RetailCRM emulator.
Worker processes (SIGKILL, two clusters) are in tests/inbox/test_faults_workers.py.
"""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from integration.core.side_effects import EFFECT_LEASE
from integration.customers.types import TicketInfo
from integration.inbox.events import inbound_event_process
from integration.models import (
    EventSource,
    EventState,
    InboundEvent,
    ShopSettings,
    SideEffect,
    TicketRecord,
)
from integration.tickets.job import sender_key
from integration.vendors.retailcrm import RetailCrmClient
from sandbox.hde.models import Account as HdeAccount
from sandbox.retailcrm.models import Account as RcAccount
from tests.workers import (
    crm_customers_of,
    crm_ticket_notes,
    emulator_tickets,
    ticket_marker,
    wait_for,
)


@pytest.fixture
def shop(wired_shop, settings):
    # What is under test is who creates the customer, not timeouts: reads
    # with room to spare keep a loaded CI machine from sending an event to a
    # retry for a slow answer.
    settings.INTEGRATION = {**settings.INTEGRATION, "HTTP_READ_TIMEOUT": 30.0}
    ShopSettings.objects.filter(shop=wired_shop).update(create_unknown_customers=True)
    HdeAccount.objects.filter(code="demo").update(rate_limit_enabled=False)
    return wired_shop


def _events(shop, tickets):
    """Stored and not yet processed: the webhooks came before any worker ran."""
    return [InboundEvent.objects.create(shop=shop, source=EventSource.HDE_WEBHOOK,
                                        source_key=f"new_ticket:{t}", event_type="new_ticket",
                                        payload={"ticket_id": t}) for t in tickets]


def _run(event_id, outcome, start=None):
    try:
        if start is not None:
            start.wait(30)
        outcome[event_id] = inbound_event_process(event_id=event_id)
    except BaseException as error:  # noqa: BLE001 - handed to the test
        outcome[event_id] = error
    finally:
        connections.close_all()


def _at_once(events) -> dict:
    """Every event processed by its own worker, all released together."""
    start, outcome = threading.Barrier(len(events)), {}
    threads = [threading.Thread(target=_run, args=(e.pk, outcome, start)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcome


def _three_at_once_all_done(shop, sender) -> list[int]:
    """Three tickets from `sender`, their jobs released together against a
    slow RetailCRM (every search before any create); all must end done."""
    tickets = emulator_tickets(3, [sender])
    RcAccount.objects.filter(code="demo").update(latency_ms=400)
    events = _events(shop, tickets)
    outcome = _at_once(events)
    assert set(outcome.values()) == {EventState.DONE}, [
        (e.pk, e.state, e.last_error) for e in InboundEvent.objects.filter(
            pk__in=[e.pk for e in events])]
    return tickets


@pytest.mark.parametrize("sender", ["newcomer@example.org", "+7 916 555-01-02"],
                         ids=["e-mail", "phone only"])
def test_concurrent_jobs_for_one_unknown_sender_create_exactly_one_customer(shop, sender):
    tickets = _three_at_once_all_done(shop, sender)
    [customer_id] = crm_customers_of(sender)
    records = TicketRecord.objects.filter(shop=shop, ticket_id__in=tickets)
    assert {r.customer_id for r in records} == {customer_id}
    assert sum(r.customer_created for r in records) == 1  # one job wrote, the others waited
    # Every ticket's note is on that customer, once.
    assert sorted(crm_ticket_notes(customer_id)) == sorted(ticket_marker(t) for t in tickets)
    assert SideEffect.objects.filter(shop=shop, key__startswith="sender:").count() == 1


@pytest.fixture
def small_database_pool():
    """On PostgreSQL, this process's connection pool cut to four for one test
    (tests/conftest.py sizes it as a share of the server's connections)."""
    from django.conf import settings

    entry = settings.DATABASES["default"]
    pool = entry.get("OPTIONS", {}).get("pool")
    if entry["ENGINE"] != "django.db.backends.postgresql" or not pool:
        pytest.skip("PostgreSQL-only: SQLite has no connection pool (CI's second and third "
                    "passes run this)")
    connections["default"].close()
    connections["default"].close_pool()
    entry["OPTIONS"]["pool"] = {**pool, "max_size": 4, "timeout": 60}
    yield
    connections["default"].close()
    connections["default"].close_pool()
    entry["OPTIONS"]["pool"] = pool


def test_jobs_waiting_on_vendors_leave_the_pool_to_others(shop, small_database_pool):
    """Three jobs whose threads wait on slow vendors at once, and four
    pooled connections: a thread hands its connection back while it waits
    (integration.core.db_waits). Holding them, the jobs emptied the pool,
    the emulators serving their requests in this process could not get a
    connection, and every request timed out together (CI, PostgreSQL, four
    test processes with a pool of 15 each)."""
    sender = "pool.share@example.org"
    _three_at_once_all_done(shop, sender)
    assert len(crm_customers_of(sender)) == 1


def test_a_writer_killed_mid_create_is_looked_up_not_repeated(shop):
    """Another worker sent this sender's create to RetailCRM and was killed
    before it stored the id: its claim is not renewed and lapses. The job
    that searched before the customer existed waits for that claim, then
    finds the customer in RetailCRM instead of creating a twin."""
    sender = "late.answer@example.org"
    [ticket] = emulator_tickets(1, [sender])
    [event] = _events(shop, [ticket])
    key = sender_key(TicketInfo(id=0, email=sender))
    crm = RetailCrmClient.for_connection(shop.retailcrm)
    outcome = {}
    with time_machine.travel(timezone.now(), tick=True) as clock:
        SideEffect.objects.create(shop=shop, key=key,
                                  claimed_until=timezone.now() + EFFECT_LEASE)
        job = threading.Thread(target=_run, args=(event.pk, outcome))
        job.start()
        # The job's search is behind it once its HDE comment is written.
        wait_for(lambda: SideEffect.objects.filter(
            shop=shop, key=f"ticket:{ticket}:hde_comment", state="done").exists(),
            timeout=60, interval=0.05, what="the job to pass its search")
        created = crm.create_customer(first_name="late.answer", email=sender, site="main")
        job.join(0.5)
        assert job.is_alive()  # waiting on the killed writer's claim
        clock.shift(EFFECT_LEASE + timedelta(seconds=1))
        job.join(60)
    assert outcome == {event.pk: EventState.DONE}
    assert crm_customers_of(sender) == [created]
    record = TicketRecord.objects.get(shop=shop, ticket_id=ticket)
    assert (record.customer_id, record.customer_created) == (created, False)
    assert crm_ticket_notes(created) == [ticket_marker(ticket)]
    effect = SideEffect.objects.get(shop=shop, key=key)
    assert (effect.state, effect.result) == ("done", str(created))


def test_a_later_ticket_from_a_created_sender_uses_the_same_customer(shop):
    """Sequential, no race: the second ticket's search finds the customer the
    first one created (the key is not even consulted)."""
    sender = "twice@example.org"
    first, second = emulator_tickets(2, [sender])
    [first_event, second_event] = _events(shop, [first, second])
    assert inbound_event_process(event_id=first_event.pk) == EventState.DONE
    assert inbound_event_process(event_id=second_event.pk) == EventState.DONE
    [customer_id] = crm_customers_of(sender)
    assert sorted(crm_ticket_notes(customer_id)) == sorted([ticket_marker(first),
                                                            ticket_marker(second)])
    created = TicketRecord.objects.filter(shop=shop, ticket_id__in=[first, second])
    assert sorted(created.values_list("customer_created", flat=True)) == [False, True]
    # A reply on the first ticket runs the flow again and finds the customer:
    # the record still says the portal created it for that ticket.
    reply = InboundEvent.objects.create(shop=shop, source=EventSource.HDE_WEBHOOK,
                                        source_key=f"new_reply:{first}:1",
                                        event_type="new_reply", payload={"ticket_id": first})
    assert inbound_event_process(event_id=reply.pk) == EventState.DONE
    assert TicketRecord.objects.get(shop=shop, ticket_id=first).customer_created


def test_the_sender_key_is_one_per_person_and_holds_no_address():
    same = [TicketInfo(id=1, email="Ann@Example.org "), TicketInfo(id=2, email="ann@example.org")]
    assert len({sender_key(info) for info in same}) == 1
    phones = [TicketInfo(id=1, phone="8 (916) 555-01-02"), TicketInfo(id=2, phone="+79165550102")]
    assert len({sender_key(info) for info in phones}) == 1
    key = sender_key(same[0])
    assert key.startswith("sender:email:") and "example" not in key
    assert sender_key(TicketInfo(id=3, user_id=17)).startswith("sender:hde_user:")
    assert sender_key(TicketInfo(id=4)) == ""


@pytest.mark.django_db
def test_sender_keys_go_after_the_customer_link_retention(settings, make_agency, make_shop):
    """A sender key maps a (hashed) person to a customer id, as a customer
    link does, and is purged on the same schedule; ticket keys are not
    touched by it."""
    from integration.ops.personal_data import personal_data_purge

    settings.INTEGRATION = {**settings.INTEGRATION, "CUSTOMER_LINK_RETENTION_DAYS": 30}
    shop = make_shop(make_agency("Retention agency"))
    old, recent, ticket_key = (
        SideEffect.objects.create(shop=shop, key=key, state="done", result="7")
        for key in (sender_key(TicketInfo(id=1, email="old@example.org")),
                    sender_key(TicketInfo(id=2, email="recent@example.org")),
                    "ticket:9:hde_comment"))
    SideEffect.objects.filter(pk__in=[old.pk, ticket_key.pk]).update(
        created_at=timezone.now() - timedelta(days=31))
    assert personal_data_purge()["side_effects"] == 1
    assert set(SideEffect.objects.values_list("pk", flat=True)) == {recent.pk, ticket_key.pk}


def test_a_create_whose_answer_was_lost_is_not_sent_again_before_it_could_land(
        shop, settings):
    """RetailCRM carries out a `customers/create` after the portal stopped
    waiting for the answer (a read timeout). A second job for the same sender
    must not search, find nothing yet, and create a twin: the lost write keeps
    its claim (UNKNOWN_OUTCOME_HOLD), and whoever takes it over afterwards
    finds the customer that landed."""
    from integration.core.side_effects import (
        UNKNOWN_OUTCOME_HOLD,
        SideEffectBusy,
        side_effect_once,
    )
    from integration.vendors.errors import ApiTimeoutError

    settings.INTEGRATION = {**settings.INTEGRATION, "HTTP_READ_TIMEOUT": 1.0}
    sender = "lost.answer@example.org"
    key = sender_key(TicketInfo(id=0, email=sender))
    crm = RetailCrmClient.for_connection(shop.retailcrm)

    def create():
        return crm.create_customer(first_name="lost.answer", email=sender, site="main")

    def existing():
        return min((c.id for c in crm.customers_by_email(sender)), default=None)

    with time_machine.travel(timezone.now(), tick=True) as clock:
        # The create reaches RetailCRM, which answers after the client gave up.
        RcAccount.objects.filter(code="demo").update(latency_ms=1800)
        with pytest.raises(ApiTimeoutError) as lost:
            side_effect_once(shop=shop, key=key, perform=create, find_existing=existing)
        assert lost.value.outcome_unknown
        RcAccount.objects.filter(code="demo").update(latency_ms=0)
        # A second job at once: it neither searches nor writes, it waits (and,
        # waiting too long, is retried later).
        with pytest.raises(SideEffectBusy):
            side_effect_once(shop=shop, key=key, perform=create, find_existing=existing,
                             wait_limit=0.3)
        [landed] = wait_for(lambda: crm_customers_of(sender), timeout=10, interval=0.05,
                            what="the first create to land in RetailCRM")
        # After the hold, the next caller looks first and finds it.
        clock.shift(UNKNOWN_OUTCOME_HOLD + timedelta(seconds=1))
        assert side_effect_once(shop=shop, key=key, perform=create,
                                find_existing=existing) == str(landed)
    assert crm_customers_of(sender) == [landed]


def test_an_email_nobody_has_falls_through_to_the_phone_as_the_card_does(shop):
    """Пётр writes from a work address RetailCRM does not know, from the phone
    he shares with Анна: the job reads his phone, finds both, and leaves the
    choice to the operator (no "new customer" tag, no customer created),
    exactly as the card then offers it."""
    from sandbox.hde.models import Message, Ticket

    work_email = "petr.smirnov@work.example.net"
    [ticket_id] = emulator_tickets(1, [work_email])
    [event] = _events(shop, [ticket_id])

    assert inbound_event_process(event_id=event.pk) == EventState.DONE

    assert crm_customers_of(work_email) == []  # nobody created for the work address
    record = TicketRecord.objects.get(shop=shop, ticket_id=ticket_id)
    assert record.customer_id is None
    ticket = Ticket.objects.get(account__code="demo", hid=ticket_id)
    assert "new-customer" not in ticket.tags
    comment = Message.objects.filter(ticket=ticket, is_comment=True).latest("hid").text
    assert "несколько клиентов RetailCRM" in comment
