"""`manage.py sandbox_seed` leaves a demo in which every headline feature has
something to show: the chooser, order watch, a dead event to replay, and six
weeks of history for the analytics and the dashboard.

Why: a new user reached a working demo in a minute but could not see those
features with the demo data (issue 17). One full seed for the module (the
slow part), removed afterwards.
"""

import io
import json
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Max, Min
from django.utils import timezone

from integration.analytics import reports
from integration.inbox.events import MAX_ATTEMPTS
from integration.models import (
    Agency,
    ApiCall,
    EventAttempt,
    EventSource,
    EventState,
    InboundEvent,
    LocalOrder,
    OrderWatch,
    Shop,
    SideEffect,
    TicketRecord,
)
from integration.ops import health
from integration.vendors.errors import TIMED_OUT
from sandbox import demo_history
from sandbox.demo_people import PEOPLE_BY_KEY
from sandbox.hde.models import Account as HdeAccount
from sandbox.hde.models import HdeUser, Message, Ticket
from sandbox.retailcrm.models import Account as RcAccount
from sandbox.retailcrm.models import Customer, Note, Order

BASE = "http://portal.test"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model

    from sandbox.hde.seed import _wipe

    with django_db_blocker.unblock():
        out = io.StringIO()
        call_command("sandbox_seed", "--json", "--base-url", BASE, stdout=out, stderr=io.StringIO())
        yield json.loads(out.getvalue())
        Agency.objects.all().delete()
        get_user_model().objects.filter(username__endswith="-owner").delete()
        _wipe()
        from sandbox.retailcrm import models as rc_models

        for model in (rc_models.TriggerDelivery, rc_models.Trigger, rc_models.HistoryRecord,
                      rc_models.Task, rc_models.Note, rc_models.Order, rc_models.Customer,
                      rc_models.User, rc_models.ApiKey, rc_models.IdSequence, RcAccount):
            model.objects.all().delete()


@pytest.fixture
def demo(seeded, db):
    shop = Shop.objects.get(public_id=seeded["shops"][0]["public_id"])
    return seeded, shop, RcAccount.objects.get(code="demo"), HdeAccount.objects.get(code="demo")


def test_the_chooser_one_phone_two_customers_and_a_requester_for_it(demo):
    seeded, shop, rc, desk = demo
    chooser = PEOPLE_BY_KEY["chooser"]
    digits = "".join(ch for ch in chooser.phone if ch.isdigit())[-10:]

    sharing = Customer.objects.filter(account=rc, site="main", search_text__contains=digits)

    assert sharing.count() == 2
    assert {c.doc["firstName"] for c in sharing} == {"Анна", "Пётр"}
    requester = HdeUser.objects.get(account=desk, email=chooser.email)
    assert requester.phone == chooser.phone and requester.group_type == HdeUser.CLIENT
    assert not Customer.objects.filter(account=rc, email=chooser.email.lower()).exists()
    # The HDE form's phone field still finds Анна (the first with that phone).
    anna = HdeUser.objects.get(account=desk, email=PEOPLE_BY_KEY["vip"].email)
    assert anna.hid < requester.hid
    assert not Ticket.objects.filter(account=desk, user=requester).exists()
    assert seeded["cases"]["chooser"]["retailcrm_customers"] == sorted(
        sharing.values_list("crm_id", flat=True))


def test_a_dead_event_with_a_readable_reason_ready_to_replay(demo):
    seeded, shop, rc, desk = demo

    dead = InboundEvent.objects.get(shop=shop, state=EventState.DEAD)

    ticket_id = seeded["history"]["dead_ticket_id"]
    assert dead.pk == seeded["history"]["dead_event_id"]
    assert (dead.source, dead.event_type, dead.source_key) == (
        EventSource.HDE_WEBHOOK, "new_ticket", f"new_ticket:{ticket_id}")
    assert dead.attempts == MAX_ATTEMPTS
    assert dead.last_error == TIMED_OUT  # fixed words, translated where read
    calls = ApiCall.objects.filter(event=dead).order_by("created_at")
    assert [c.outcome for c in calls] == ["timeout"] * MAX_ATTEMPTS
    # The event page lists each try, as the inbox records them.
    attempts = list(EventAttempt.objects.filter(event=dead).order_by("number"))
    assert [a.number for a in attempts] == list(range(1, MAX_ATTEMPTS + 1))
    assert [a.outcome for a in attempts] == ["retry"] * (MAX_ATTEMPTS - 1) + ["dead"]
    assert [a.started_at for a in attempts] == [c.created_at for c in calls]
    assert calls.last().created_at - calls.first().created_at > timedelta(minutes=30)
    assert timezone.now() - dead.created_at < timedelta(hours=6)
    ticket = Ticket.objects.get(account=desk, hid=ticket_id)
    assert ticket.status_id == "open" and ticket.tags == [] and not ticket.custom_fields
    assert not TicketRecord.objects.filter(shop=shop, ticket_id=ticket_id).exists()
    row = health.shops_health(shops=Shop.objects.filter(pk=shop.pk))[0]
    assert row.dead_24h == 1 and "dead" in row.problems


def test_tickets_and_orders_spread_over_more_than_thirty_days(demo):
    seeded, shop, rc, desk = demo
    now = timezone.now()

    records = TicketRecord.objects.filter(shop=shop).aggregate(first=Min("opened_at"),
                                                               last=Max("opened_at"))
    local = LocalOrder.objects.filter(shop=shop).aggregate(first=Min("created_at"),
                                                           last=Max("created_at"))

    assert timedelta(days=35) <= now - records["first"] <= timedelta(days=45)
    assert now - records["last"] < timedelta(days=2)
    assert timedelta(days=40) <= now - local["first"] <= timedelta(days=46)
    opened_days = {r.date() for r in TicketRecord.objects.filter(shop=shop)
                   .values_list("opened_at", flat=True)}
    assert len(opened_days) >= 25
    assert TicketRecord.objects.filter(shop=shop).count() >= 50
    assert TicketRecord.objects.filter(shop=shop, closed_at__isnull=False).count() >= 30
    # The records are the HDE tickets, with what the portal wrote there.
    record = TicketRecord.objects.filter(shop=shop, customer_id__isnull=False).first()
    ticket = Ticket.objects.get(account=desk, hid=record.ticket_id)
    assert ticket.date_created == record.opened_at and ticket.title == record.subject
    assert Message.objects.filter(ticket=ticket, is_comment=True,
                                  text__contains="/widget/").exists()
    assert Note.objects.filter(account=rc, customer_crm_id=record.customer_id,
                               doc__text__startswith=f"Заявка {record.unique_id}:").exists()
    # RetailCRM orders of the last six weeks, on most days.
    order_days = {o.date() for o in Order.objects.filter(
        account=rc, created_at__gte=now - timedelta(days=42)).values_list("created_at",
                                                                         flat=True)}
    assert len(order_days) >= 35


def test_the_analytics_and_the_dashboard_have_numbers(demo):
    seeded, shop, rc, desk = demo
    today = timezone.localdate()
    period = reports.Period.of_dates(shop=shop, date_from=today - timedelta(days=29),
                                     date_to=today)

    repeat = reports.repeat_purchase_report(shop=shop, period=period)
    value = reports.ticket_value_by_priority(shop=shop, period=period)
    products = reports.ticket_products(shop=shop, period=period)
    row = health.shops_health(shops=Shop.objects.filter(pk=shop.pk))[0]
    activity = health.hourly_activity(shops=Shop.objects.filter(pk=shop.pk))

    assert repeat.contacted.customers >= 15 and repeat.contacted.repeaters >= 1
    assert repeat.not_contacted.customers >= 5
    assert sum(r.customers for r in repeat.by_handling) == repeat.contacted.customers
    assert len(value) >= 2 and sum(v.total for v in value) > 0
    assert len(products) >= 5
    assert row.calls_24h > 1000 and row.widget_p95_ms and row.last_event_at
    assert {c for c, _ in row.connections} and all(c.status == "ok" for _, c in
                                                   row.connections)
    assert sum(b.events > 0 for b in activity.buckets) >= 5
    # Every whole hour has calls. The first and last bars are partial hours
    # of the rolling window: the seed's oldest calls, written when the
    # module's demo was seeded, may already lie before the window's start.
    assert all(b.api_calls > 0 for b in activity.buckets[1:-1])
    # Nothing older than the portal itself would keep (LOG_RETENTION_DAYS).
    oldest = ApiCall.objects.filter(shop=shop).aggregate(first=Min("created_at"))["first"]
    assert timezone.now() - oldest <= timedelta(days=31)


def test_order_watch_has_a_problem_order_and_one_to_change(demo):
    seeded, shop, rc, desk = demo
    watch = OrderWatch.objects.get(shop=shop)
    problem_number = seeded["cases"]["order_watch"]["problem_order_number"]

    problem = Order.objects.get(account=rc, number=problem_number)

    assert problem.status == "delivery-problem" and problem.site == "main"
    assert LocalOrder.objects.get(shop=shop, order_id=problem.crm_id).status == (
        "delivery-problem")
    effect = SideEffect.objects.get(shop=shop,
                                    key=f"order:{problem.crm_id}:status:delivery-problem:proactive")
    _, ticket_id, comment_id = effect.result.split(":")
    comment = Message.objects.get(account=desk, hid=int(comment_id))
    assert comment.is_comment and comment.ticket.hid == int(ticket_id)
    assert problem.number in comment.text and "Проблема с доставкой" in comment.text
    assert watch.enabled and watch.since_id and watch.started_at < timezone.now() - timedelta(
        days=40)
    # The customer a demo user changes: an order on its way, no open ticket.
    irina = Customer.objects.get(account=rc, email=PEOPLE_BY_KEY["hundred"].email)
    order = Order.objects.get(account=rc, number=seeded["cases"]["order_watch"]["order_number"])
    assert order.customer_crm_id == irina.crm_id and order.status == "delivering"
    assert "delivery-problem" in rc.references["statuses"]
    assert not Ticket.objects.filter(account=desk, user__email=irina.email).exists()
    assert InboundEvent.objects.filter(shop=shop, source=EventSource.RETAILCRM_HISTORY,
                                       state=EventState.DONE).count() > 100


def test_the_history_is_planned_the_same_way_every_time(demo):
    seeded, shop, rc, desk = demo
    now = timezone.now().replace(microsecond=0)

    def plan():
        world = demo_history._World(shop=shop, rc=rc, desk=desk, now=now,
                                    rng=random.Random(demo_history.RANDOM_SEED))
        return [(t.writer.email, t.opened, t.subject) for t in world.plan_tickets()]

    assert plan() == plan()


def test_the_front_page_says_where_each_case_starts(demo, client):
    seeded, shop, rc, desk = demo

    html = client.get("/sandbox/").content.decode()

    order = Order.objects.get(account=rc, number=seeded["cases"]["order_watch"]["order_number"])
    for case in ("case-ticket", "case-chooser", "case-order-watch", "case-dead-event",
                 "case-analytics", "case-backoffice"):
        assert f'data-test="{case}"' in html
    assert f'href="/sandbox/retailcrm/demo/orders/{order.crm_id}/edit"' in html
    assert PEOPLE_BY_KEY["chooser"].email in html
    assert f'/sandbox/hde/demo/tickets/{seeded["history"]["dead_ticket_id"]}/' in html
    assert "/admin/integration/inboundevent/?state=dead" in html
    assert "/admin/integration/supportanalytics/" in html
    assert "<style" not in html and "style=" not in html and "<script" not in html


def test_the_seeded_call_log_holds_no_email_or_phone(demo):
    """The finding: the seed wrote ~45 call-log rows with plain e-mails
    (`users/?search=olga.k%40example.ru`). The seed now writes its rows
    through the product's redaction, like the clients: no e-mail or phone of
    any demo person, in any spelling, nor anything shaped like an e-mail."""
    from urllib.parse import quote

    from integration.ops.log_export import EMAIL_RE

    seeded, shop, rc, desk = demo
    rows = list(ApiCall.objects.values_list("path", "error"))
    assert len(rows) > 100
    searches = [path for path, _ in rows if "search=" in path or "filter%5Bemail" in path
                or "filter[email]" in path]
    assert searches and all("#" in path for path in searches)  # hashed, parameter kept
    needles = set()
    for person in PEOPLE_BY_KEY.values():
        for value in (person.email, person.phone, getattr(person, "phone_in_hde", "")):
            if value:
                needles.update({value.lower(), quote(value, safe="").lower(),
                                quote(value).lower()})
                digits = "".join(ch for ch in value if ch.isdigit())
                if len(digits) >= 7:
                    needles.add(digits[-10:])
    for path, error in rows:
        text = f"{path} {error}".lower()
        assert not EMAIL_RE.search(text), text
        assert not [needle for needle in needles if needle in text], text
