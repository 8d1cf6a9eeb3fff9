"""Six weeks of the demo shop's past, in both emulators and in the portal.

Why: a fresh demo had no past, so the support analytics, the dashboard's
chart and order watch's record had nothing to show. `seed_history` writes
what the portal would hold had it served the demo shop for the last
HISTORY_DAYS days against the seeded RetailCRM account:

- HDE: about sixty tickets from RetailCRM customers (and a few unknown
  senders), each with the customer's message, the portal's internal comment,
  an operator's reply and, for most, a closed status;
- RetailCRM: the notes and tasks the portal wrote for those tickets;
- the portal: a ticket record per ticket, a local copy of every order of the
  shop's store created in the window, the order watch with its cursor, the
  inbound events and API calls of the last LOG_DAYS days (the portal purges
  older ones itself), every-minute history polls of the last day, operators'
  looks at the widget, the proactive comment order watch wrote when an order
  went to a problem status, and one dead event to replay (an HDE timeout).

Everything the portal *writes* comes from the product's own pure functions
(context assembly, priority rules, texts, signed widget links, order
snapshots), so the history reads exactly like the portal's work; only the
HTTP calls are not made (their log rows are written as they would have been).
Deterministic: a fixed random seed and times relative to `now`; bulk inserts.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from integration.customers import assembly
from integration.customers.types import ContextStatus, CustomerContext, TicketInfo
from integration.inbox.events import MAX_ATTEMPTS, backoff_seconds
from integration.models import (
    ApiCall,
    AttemptOutcome,
    ConnectionStatus,
    EventAttempt,
    EventSource,
    EventState,
    FieldMapping,
    InboundEvent,
    LocalOrder,
    OrderWatch,
    ShopSettings,
    SideEffect,
    SideEffectState,
    TicketRecord,
    WidgetRequest,
)
from integration.orders import texts as order_texts
from integration.orders.changes import proactive_key, product_names_apply
from integration.orders.watch import order_snapshot, problem_statuses_of
from integration.tickets import texts as ticket_texts
from integration.tickets.job import mapped_values
from integration.tickets.priority import priority_decide
from integration.vendors import retailcrm_parsing as parsing
from integration.vendors.base import redact, safe_path
from integration.vendors.call_log import scrub_text, scrub_url
from integration.vendors.errors import ApiTimeoutError, stored_text
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.retailcrm import RetailCrmClient
from integration.widget.links import widget_link_build
from sandbox.demo_people import PEOPLE, PEOPLE_BY_KEY
from sandbox.hde import seed as hde_seed
from sandbox.hde import services as hde_svc
from sandbox.hde.models import Account as HdeAccount
from sandbox.hde.models import HdeUser, Message, Ticket
from sandbox.retailcrm import store
from sandbox.retailcrm.models import Account as RcAccount
from sandbox.retailcrm.models import Customer, HistoryRecord, Note, Order, Task, User
from sandbox.retailcrm.protocol import crm_datetime

HISTORY_DAYS = 42
LOCAL_ORDER_DAYS = 45  # order watch started a little before the first ticket
LOG_DAYS = 30  # LOG_RETENTION_DAYS: the portal purges older events and calls
POLL_HOURS = 24  # every-minute polls that found nothing: only the last day
DEAD_HOURS_AGO = 3
RANDOM_SEED = "demo-history-v1"

# Cast members who wrote to support in the past weeks (key → tickets). Not
# the others: order watch's demo customer ("hundred") must have no ticket, so
# a problem status opens a new one; the chooser's requester stays ticket-less;
# the wholesale giants would swamp every average; the rest have their own
# seeded tickets (sandbox.hde.seed).
CAST_WRITERS = {"vip": 2, "delivery": 1, "overdue": 1, "cancelled": 1, "twin_sites": 1,
                "new": 1}
FILLER_WRITERS = 30
UNKNOWN_WRITERS = [("Виктор", "Гостев", "v.gostev@mail.example"),
                   ("Лидия", "Новая", "lidia.new@mail.example"),
                   ("Гость", "", "guest-2044@mail.example"),
                   ("Олег", "Прохожий", "oleg.p@mail.example")]

ORDER_SUBJECTS = [
    ("Где мой заказ {number}?", "Добрый день! Подскажите, когда доставят заказ {number}?"),
    ("Вопрос по заказу {number}", "Хочу уточнить состав заказа {number}."),
    ("Изменить адрес доставки", "Можно ли изменить адрес доставки по заказу {number}?"),
    ("Не пришёл чек по заказу {number}", "Оплатил(а) заказ {number}, чек на почту не пришёл."),
    ("Повреждённая упаковка", "Заказ {number} пришёл в мятой коробке, товар цел."),
    ("Возврат: {product}", "Хочу вернуть «{product}» из заказа {number}, не подошло."),
    ("Как пользоваться: {product}", "Подскажите, как правильно включить «{product}»?"),
]
GENERAL_SUBJECTS = [
    ("Есть ли в наличии?", "Подскажите, когда появится в продаже мультиварка 5 л?"),
    ("Оптовые цены", "Какие условия для покупки от 10 штук?"),
    ("Подарочный сертификат", "Есть ли у вас подарочные сертификаты?"),
    ("Доставка в Казань", "Сколько стоит доставка в Казань и сколько идёт?"),
]
REPLIES = ["Добрый день! Проверили, всё в порядке, заказ в пути.",
           "Здравствуйте! Передали вопрос менеджеру, он свяжется с вами сегодня.",
           "Спасибо за обращение! Оформили возврат, деньги придут в течение 5 дней.",
           "Добрый день! Инструкцию отправили на почту.",
           "Здравствуйте! Да, это возможно, изменения внесли."]


@dataclass
class _Writer:
    first: str
    last: str
    email: str
    phone: str
    customer: Customer | None


@dataclass
class _Ticket:
    writer: _Writer
    opened: datetime
    subject: str
    body: str
    order: Order | None = None
    closes_after: timedelta | None = None
    processed: bool = True
    hid: int = 0
    user: HdeUser | None = None
    context: CustomerContext | None = None
    decision: object = None
    link: str = ""
    status: str = "open"
    closed: datetime | None = None
    extra: dict = field(default_factory=dict)


def _backdate(model, rows: list[tuple[int, datetime]]) -> None:
    """Give bulk-inserted rows their past `created_at`. The field is
    `auto_now_add` (every insert writes "now"), and `bulk_update` builds one
    expression per row (seconds for a few thousand rows), so the times go
    back in plain `UPDATE … CASE id WHEN …` statements, 500 rows each."""
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    column = ops.quote_name(model._meta.get_field("created_at").column)
    key = ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            whens = " ".join(["WHEN %s THEN %s"] * len(chunk))
            marks = ", ".join(["%s"] * len(chunk))
            params = [value for pk, at in chunk
                      for value in (pk, ops.adapt_datetimefield_value(at))]
            cursor.execute(f"UPDATE {table} SET {column} = CASE {key} {whens} END "  # noqa: S608
                           f"WHERE {key} IN ({marks})", params + [pk for pk, _ in chunk])


LOG_PARAMS = {"retailcrm": RetailCrmClient.log_params,
              "helpdeskeddy": HelpDeskEddyClient.log_params}


class _Log:
    """Events and API calls collected in memory, inserted in bulk at the end
    and given their past times (`_backdate`)."""

    def __init__(self, shop, rng):
        self.shop, self.rng = shop, rng
        self.events: list[tuple[InboundEvent, datetime]] = []
        self.calls: list[tuple[ApiCall, datetime, int | None]] = []  # event index

    def event(self, *, at, source, key, event_type, payload, state=EventState.DONE,
              attempts=1, error="", processed_after=2.0) -> int:
        self.events.append((InboundEvent(
            shop=self.shop, source=source, source_key=key, event_type=event_type,
            payload=payload, state=state, attempts=attempts, last_error=error,
            processed_at=at + timedelta(seconds=processed_after)), at))
        return len(self.events) - 1

    def call(self, *, at, provider, method, path, status=200, outcome="ok", error="",
             event=None, low=40, high=180, duration=None) -> datetime:
        """One call log row, written through the product's own redaction (the
        client's `log_params`, `scrub_url`, `redact`): what the clients would
        have logged, never the e-mail or phone a search carried."""
        duration = duration if duration is not None else self.rng.randint(low, high)
        kept = LOG_PARAMS[provider]
        _, personal = scrub_url(path, kept)
        path = safe_path(path, kept)
        error = redact(scrub_text(error, personal), []) if error else error
        self.calls.append((ApiCall(
            shop=self.shop, provider=provider, method=method, path=path[:500],
            status_code=status, outcome=outcome, duration_ms=duration, error=error,
            interactive=False), at, event))
        return at + timedelta(milliseconds=duration + 5)

    def save(self) -> tuple[int, int]:
        events = [event for event, _ in self.events]
        InboundEvent.objects.bulk_create(events, batch_size=500)
        _backdate(InboundEvent, [(event.pk, at) for event, at in self.events])
        calls = []
        for call, _at, index in self.calls:
            if index is not None:
                call.event = events[index]
            calls.append(call)
        ApiCall.objects.bulk_create(calls, batch_size=1000)
        _backdate(ApiCall, [(call.pk, at) for call, at, _ in self.calls])
        return len(events), len(calls)


def _query(**params) -> str:
    """A query string as the clients' logged paths spell it (brackets kept)."""
    pairs = [(name, v) for name, value in params.items()
             for v in (value if isinstance(value, list) else [value])]
    return "?" + urlencode(pairs, safe="[]") if pairs else ""


@transaction.atomic
def seed_history(*, shop, retailcrm_account: str, hde_account: str,
                 now: datetime | None = None) -> dict:
    """Write the history for `shop` (wired to both accounts, with its
    defaults applied); returns what the demo needs to point at."""
    now = (now or timezone.now()).replace(microsecond=0)
    rng = random.Random(RANDOM_SEED)
    rc = RcAccount.objects.get(code=retailcrm_account)
    desk = HdeAccount.objects.get(code=hde_account)
    world = _World(shop=shop, rc=rc, desk=desk, now=now, rng=rng)
    tickets = world.plan_tickets()
    world.write_tickets(tickets)
    local_orders = world.watch_orders()
    dead = world.dead_event(next(t for t in tickets if not t.processed))
    world.background(tickets)
    events, calls = world.log.save()
    EventAttempt.objects.bulk_create([
        EventAttempt(event=dead, shop=shop, number=number, started_at=started,
                     duration_ms=10000, outcome=outcome, error=message, calls=1)
        for number, started, outcome, message in world.dead_attempts])
    # Its calls went through, so both connections are known to work (the
    # dashboard says "unknown" for a connection nobody has used yet).
    for connection_row in (shop.retailcrm, shop.helpdeskeddy):
        type(connection_row).objects.filter(pk=connection_row.pk).update(
            status=ConnectionStatus.OK, last_success_at=now - timedelta(seconds=20),
            consecutive_failures=0)
    return {"tickets": len(tickets), "ticket_records": sum(t.processed for t in tickets),
            "local_orders": local_orders, "events": events, "api_calls": calls,
            "dead_event_id": dead.pk, "dead_ticket_id": dead.payload["ticket_id"]}


class _World:
    """The two accounts, the shop's settings and the log being written: one
    place for the steps of `seed_history` to share what they read once."""

    def __init__(self, *, shop, rc, desk, now, rng):
        self.shop, self.rc, self.desk, self.now, self.rng = shop, rc, desk, now, rng
        self.tz = ZoneInfo(rc.timezone)
        self.site = shop.retailcrm.site_code or rc.site_codes()[0]
        self.crm_url = shop.retailcrm.base_url.rstrip("/")
        self.rc_path = urlsplit(self.crm_url).path
        self.hde_path = urlsplit(shop.helpdeskeddy.base_url.rstrip("/")).path
        self.settings = ShopSettings.of(shop)
        self.mappings = list(FieldMapping.objects.for_shop(shop))
        self.log = _Log(shop, rng)
        self.cursors: list[tuple[datetime, int]] = []  # (poll, sinceId after it)
        self.statuses = parsing.parse_statuses({"statuses": rc.references.get("statuses", {})})
        self.users = [parsing.parse_user(u.doc) for u in User.objects.filter(account=rc)]
        self.agent = HdeUser.objects.filter(account=desk, group_type=HdeUser.STAFF).order_by(
            "hid").first()
        self.operator = (HdeUser.objects.filter(account=desk, group_type=HdeUser.STAFF)
                         .exclude(pk=self.agent.pk).order_by("hid").first() or self.agent)

    # -- who wrote, when, about what --------------------------------------
    def plan_tickets(self) -> list[_Ticket]:
        rng, now = self.rng, self.now
        start = now - timedelta(days=HISTORY_DAYS)
        customers = {c.email: c for c in Customer.objects.filter(account=self.rc, site=self.site)
                     .exclude(email="").order_by("crm_id")}
        cast_emails = {p.email.lower() for p in PEOPLE if p.email}
        fillers = [c for c in customers.values() if c.email not in cast_emails
                   and c.doc.get("ordersCount", 0) > 0]
        # The dead event's writer: a loyal customer (≥ 5 orders), with no
        # other ticket, so replaying it shows a rule at work.
        loyal = next(c for c in fillers if c.doc.get("ordersCount", 0) >= 5)
        fillers.remove(loyal)
        writers = []
        for key, count in CAST_WRITERS.items():
            person = PEOPLE_BY_KEY[key]
            customer = customers.get(person.email.lower())
            writers += [_Writer(person.first_name, person.last_name, person.email,
                                person.phone_in_hde or person.phone, customer)] * count
        for customer in rng.sample(fillers, min(FILLER_WRITERS, len(fillers))):
            doc = customer.doc
            phone = (doc.get("phones") or [{}])[0].get("number", "")
            writers += [_Writer(doc.get("firstName", ""), doc.get("lastName", ""),
                                customer.email, phone, customer)] * rng.choice([1, 1, 1, 2, 2, 3])
        writers += [_Writer(first, last, email, "", None) for first, last, email in
                    UNKNOWN_WRITERS]
        self.orders = defaultdict(list)
        for order in Order.objects.filter(account=self.rc, site=self.site, customer_crm_id__in=[
                w.customer.crm_id for w in writers if w.customer]).order_by("created_at"):
            self.orders[order.customer_crm_id].append(order)

        tickets = []
        for writer in writers:
            recent = [o for o in self.orders.get(writer.customer.crm_id, [])
                      if o.created_at >= start] if writer.customer else []
            # Mostly about their first order of the period: what comes after
            # it is what the analytics call a repeat purchase.
            order = ((recent[0] if rng.random() < 0.6 else rng.choice(recent))
                     if recent and rng.random() < 0.85 else None)
            if order is not None:
                opened = order.created_at + timedelta(minutes=rng.randint(90, 5 * 1440))
                subject, body = rng.choice(ORDER_SUBJECTS)
                product = ((order.doc.get("items") or [{}])[0].get("offer") or {}).get(
                    "name", "товар")
                subject = subject.format(number=order.number, product=product)
                body = body.format(number=order.number, product=product)
            else:
                opened = start + timedelta(minutes=rng.randint(0, HISTORY_DAYS * 1440))
                subject, body = rng.choice(GENERAL_SUBJECTS)
            opened = min(opened, now - timedelta(minutes=rng.randint(20, 600)))
            roll = rng.random()
            closes_after = (timedelta(minutes=rng.randint(8, 55)) if roll < 0.35 else
                            timedelta(minutes=rng.randint(61, 23 * 60)) if roll < 0.7 else
                            timedelta(hours=rng.randint(25, 6 * 24)) if roll < 0.9 else
                            timedelta(hours=rng.randint(7 * 24 + 1, 12 * 24)))
            tickets.append(_Ticket(writer=writer, opened=opened.replace(microsecond=0),
                                   subject=subject, body=body, order=order,
                                   closes_after=closes_after))
        # The dead event's ticket: written during an HDE outage a few hours
        # ago; the portal gave up after its last attempt.
        doc = loyal.doc
        tickets.append(_Ticket(
            writer=_Writer(doc.get("firstName", ""), doc.get("lastName", ""), loyal.email,
                           "", loyal),
            opened=now - timedelta(hours=DEAD_HOURS_AGO, minutes=7),
            subject="Не могу оформить возврат",
            body="Здравствуйте! Второй день не получается оформить возврат на сайте.",
            processed=False))
        tickets.sort(key=lambda t: t.opened)
        return tickets

    # -- HDE tickets, RetailCRM notes and tasks, ticket records -------------
    def write_tickets(self, tickets: list[_Ticket]) -> None:
        users = hde_seed.clients_add(self.desk, [(t.writer.first, t.writer.last, t.writer.email,
                                                  t.writer.phone) for t in tickets])
        first_hid = hde_svc.next_hid(Ticket, self.desk, len(tickets))
        for offset, ticket in enumerate(tickets):
            ticket.hid, ticket.user = first_hid + offset, users[ticket.writer.email.lower()]
            closed = ticket.opened + ticket.closes_after if ticket.closes_after else None
            if not ticket.processed:
                ticket.status = "open"
            elif closed and closed < self.now - timedelta(minutes=10):
                ticket.status, ticket.closed = "closed", closed
            else:
                ticket.status = "process" if self.rng.random() < 0.4 else "open"
            if ticket.processed:
                self._decide(ticket)
        hde_seed.add_tickets(self.desk, [self._hde_ticket(t) for t in tickets])
        self._crm_writes([t for t in tickets if t.processed])
        records = [self._record(t) for t in tickets if t.processed]
        TicketRecord.objects.bulk_create(records, batch_size=500)
        _backdate(TicketRecord, [(record.pk, record.opened_at) for record in records])
        for ticket in tickets:
            if ticket.processed and ticket.opened >= self.now - timedelta(days=LOG_DAYS):
                self._ticket_log(ticket)

    def _context(self, ticket: _Ticket) -> CustomerContext:
        customer = ticket.writer.customer
        if customer is None:
            return CustomerContext(status=ContextStatus.UNKNOWN)
        known = [o for o in self.orders.get(customer.crm_id, []) if o.created_at <= ticket.opened]
        newest = list(reversed(known))[:20]
        page = parsing.Page(items=[parsing.parse_order(doc, self.tz) for doc in
                                   store.render_orders(self.rc, newest)],
                            total_count=len(known), current_page=1, total_pages=1, limit=20)
        context = assembly.build(
            shop=self.shop, crm_url=self.crm_url, customer=parsing.parse_customer(
                customer.doc, self.tz), orders_page=page, pinned=[],
            notes=parsing.Page(items=[], total_count=0, current_page=1, total_pages=1,
                               limit=20),
            tickets=[], refs={"statuses": self.statuses, "users": self.users},
            today=ticket.opened.astimezone(self.tz).date())
        context.matched_by = "email"
        if ticket.order is not None and ticket.order.number in ticket.subject:
            context.pinned_order_number = ticket.order.number
        return context

    def _decide(self, ticket: _Ticket) -> None:
        ticket.context = self._context(ticket)
        info = TicketInfo(id=ticket.hid, subject=ticket.subject, body=ticket.body,
                          channel="email", status="open", user_id=ticket.user.hid,
                          email=ticket.writer.email)
        ticket.decision = priority_decide(shop=self.shop, context=ticket.context, ticket=info,
                                          today=ticket.opened.astimezone(self.tz).date())
        ticket.link = widget_link_build(shop=self.shop, ticket_id=ticket.hid)

    def _hde_ticket(self, ticket: _Ticket) -> hde_seed.SeedTicket:
        messages = [hde_seed.SeedMessage(ticket.user, f"<p>{ticket.body}</p>", ticket.opened)]
        seed = hde_seed.SeedTicket(hid=ticket.hid, user=ticket.user, title=ticket.subject,
                                   opened_at=ticket.opened, updated_at=ticket.opened,
                                   status=ticket.status, messages=messages)
        if not ticket.processed:
            return seed
        decision, context = ticket.decision, ticket.context
        fields = {m.hde_field_id: mapped_values(context=context, widget_link=ticket.link).get(
            m.value, "") for m in self.mappings}
        if self.settings.crm_card_field_id:
            fields.setdefault(self.settings.crm_card_field_id, ticket.link)
        fields.update(decision.fields)
        seed.priority_id = decision.priority_id or seed.priority_id
        seed.tags, seed.custom_fields = list(decision.tags), fields
        commented = ticket.opened + timedelta(seconds=3)
        messages.append(hde_seed.SeedMessage(
            self.agent, ticket_texts.summary_comment(shop=self.shop, context=context,
                                                     decision=decision,
                                                     widget_link=ticket.link),
            commented, is_comment=True))
        seed.updated_at = commented
        if ticket.status != "open" or ticket.closed:
            answered = ticket.opened + (ticket.closes_after * 0.6 if ticket.closed
                                        else timedelta(minutes=self.rng.randint(5, 15)))
            answered = min(answered, self.now - timedelta(minutes=5))
            messages.append(hde_seed.SeedMessage(self.operator,
                                                 f"<p>{self.rng.choice(REPLIES)}</p>",
                                                 max(answered, commented)))
            seed.owner, seed.updated_at = self.operator, max(answered, commented)
        if ticket.closed:
            seed.updated_at = ticket.closed
        return seed

    def _crm_writes(self, tickets: list[_Ticket]) -> None:
        """The note per ticket, the task for an order in delivery and the
        closing note, as the ticket job writes them."""
        notes, tasks, effects = [], [], {}  # effects: key → [done at, result]
        for ticket in tickets:
            customer = ticket.context.customer if ticket.context else None
            key = f"ticket:{ticket.hid}"
            effects[f"{key}:hde_update"] = [ticket.opened, str(ticket.hid)]
            effects[f"{key}:hde_comment"] = [ticket.opened, ""]
            if customer is None:
                continue
            row = ticket.writer.customer
            if self.settings.note_on_ticket:
                notes.append((row, ticket.opened + timedelta(seconds=4),
                              ticket_texts.customer_note(
                                  shop=self.shop, ticket_id=ticket.hid, subject=ticket.subject,
                                  number=hde_svc.unique_id_for(ticket.hid)),
                              f"{key}:rcrm_note"))
            in_delivery = [o.number for o in ticket.context.orders if o.status_group == "delivery"]
            performer = ((ticket.context.manager.id if ticket.context.manager else None)
                         or self.settings.fallback_manager_id)
            if self.settings.task_for_orders_in_delivery and in_delivery and performer:
                tasks.append((row, ticket, performer, ticket_texts.manager_task(
                    shop=self.shop, ticket_id=ticket.hid, subject=ticket.subject,
                    order_numbers=in_delivery, number=hde_svc.unique_id_for(ticket.hid))))
                ticket.extra["task"] = True
            if ticket.closed and self.settings.closing_note:
                notes.append((row, ticket.closed + timedelta(seconds=5),
                              ticket_texts.closing_note(
                                  shop=self.shop, ticket_id=ticket.hid, subject=ticket.subject,
                                  number=hde_svc.unique_id_for(ticket.hid)),
                              f"{key}:rcrm_closing_note"))
        notes.sort(key=lambda note: note[1])
        if notes:
            first = Note.allocate_crm_ids(self.rc, len(notes))
            Note.objects.bulk_create([Note(
                account=self.rc, crm_id=first + offset, customer_crm_id=row.crm_id,
                created_at=at, doc={"id": first + offset, "text": text,
                                    "createdAt": crm_datetime(at, self.rc.timezone),
                                    "customer": store.customer_stub(row)})
                for offset, (row, at, text, _) in enumerate(notes)], batch_size=500)
            for offset, (_, at, _, key) in enumerate(notes):
                effects[key] = [at, str(first + offset)]
        if tasks:
            first = Task.allocate_crm_ids(self.rc, len(tasks))
            for offset, (_, ticket, _, _) in enumerate(tasks):
                effects[f"ticket:{ticket.hid}:rcrm_task"] = [ticket.opened, str(first + offset)]
            Task.objects.bulk_create([Task(account=self.rc, crm_id=first + offset, doc={
                "id": first + offset, "text": text, "performer": performer,
                "performerType": "user", "complete": bool(ticket.closed),
                "createdAt": crm_datetime(ticket.opened + timedelta(seconds=5),
                                          self.rc.timezone),
                "datetime": (ticket.opened + timedelta(days=1)).astimezone(self.tz).strftime(
                    "%Y-%m-%d %H:%M"),
                "customer": store.customer_stub(row)})
                for offset, (row, ticket, performer, text) in enumerate(tasks)])
        SideEffect.objects.bulk_create([
            SideEffect(shop=self.shop, key=key, state=SideEffectState.DONE, result=result,
                       done_at=at) for key, (at, result) in effects.items()], batch_size=1000)

    def _record(self, ticket: _Ticket) -> TicketRecord:
        decision, context = ticket.decision, ticket.context
        return TicketRecord(
            shop=self.shop, ticket_id=ticket.hid, unique_id=hde_svc.unique_id_for(ticket.hid),
            subject=ticket.subject[:300], hde_user_id=ticket.user.hid,
            customer_id=context.customer.id if context.customer else None,
            order_number=context.pinned_order_number, priority_id=decision.priority_id,
            priority_rule=decision.priority_rule[:200], status=ticket.status,
            opened_at=ticket.opened, closed_at=ticket.closed,
            last_portal_update_at=ticket.opened + timedelta(seconds=3))

    def _ticket_log(self, ticket: _Ticket) -> None:
        """The new-ticket event with the job's calls, the echo of our PUT,
        and the close with its note."""
        log, rc, hde = self.log, self.rc_path, self.hde_path
        at = ticket.opened + timedelta(seconds=1)
        event = log.event(at=at, source=EventSource.HDE_WEBHOOK, key=f"new_ticket:{ticket.hid}",
                          event_type="new_ticket", payload={"ticket_id": ticket.hid,
                                                            "event": "new_ticket"})
        t = log.call(at=at, provider="helpdeskeddy", method="GET",
                     path=f"{hde}/api/v2/tickets/{ticket.hid}/", event=event)
        t = log.call(at=t, provider="retailcrm", method="GET", event=event,
                     path=f"{rc}/api/v5/customers" + _query(**{
                         "filter[email]": ticket.writer.email, "limit": 100,
                         "filter[sites][]": self.site}))
        customer = ticket.context.customer
        if customer is not None:
            for path in (f"{rc}/api/v5/customers/notes" + _query(**{
                    "filter[customerIds][]": customer.id, "limit": 20, "page": 1}),
                    f"{rc}/api/v5/orders" + _query(**{"filter[customerId]": customer.id,
                                                      "limit": 20, "page": 1})):
                t = log.call(at=t, provider="retailcrm", method="GET", path=path, event=event)
        t = log.call(at=t, provider="helpdeskeddy", method="PUT",
                     path=f"{hde}/api/v2/tickets/{ticket.hid}/", event=event, low=60, high=200)
        t = log.call(at=t, provider="helpdeskeddy", method="POST", event=event,
                     path=f"{hde}/api/v2/tickets/{ticket.hid}/comments/", low=40, high=120)
        if customer is not None and self.settings.note_on_ticket:
            t = log.call(at=t, provider="retailcrm", method="POST", status=201, event=event,
                         path=f"{rc}/api/v5/customers/notes/create")
        if ticket.extra.get("task"):
            t = log.call(at=t, provider="retailcrm", method="POST", status=201, event=event,
                         path=f"{rc}/api/v5/tasks/create")
        stamp = (ticket.opened + timedelta(seconds=3)).astimezone(
            ZoneInfo(self.desk.timezone)).strftime("%Y-%m-%d %H:%M:%S")
        log.event(at=t + timedelta(seconds=1), source=EventSource.HDE_WEBHOOK,
                  key=f"ticket_changed:{ticket.hid}:{stamp}:open", event_type="ticket_changed",
                  payload={"ticket_id": ticket.hid, "event": "ticket_changed",
                           "date_update": stamp, "status": "open"}, processed_after=0.2)
        if ticket.closed:
            stamp = ticket.closed.astimezone(ZoneInfo(self.desk.timezone)).strftime(
                "%Y-%m-%d %H:%M:%S")
            closed = log.event(at=ticket.closed + timedelta(seconds=1),
                               source=EventSource.HDE_WEBHOOK,
                               key=f"ticket_changed:{ticket.hid}:{stamp}:closed",
                               event_type="ticket_changed",
                               payload={"ticket_id": ticket.hid, "event": "ticket_changed",
                                        "date_update": stamp, "status": "closed"})
            t = log.call(at=ticket.closed + timedelta(seconds=1), provider="helpdeskeddy",
                         method="GET", path=f"{hde}/api/v2/tickets/{ticket.hid}/", event=closed)
            if customer is not None and self.settings.closing_note:
                log.call(at=t, provider="retailcrm", method="POST", status=201, event=closed,
                         path=f"{rc}/api/v5/customers/notes/create")

    # -- order watch: local orders, history events, the proactive comment ---
    def watch_orders(self) -> int:
        now, rc = self.now, self.rc
        window = now - timedelta(days=LOCAL_ORDER_DAYS)
        orders = list(Order.objects.filter(account=rc, site=self.site, created_at__gte=window)
                      .order_by("created_at", "crm_id"))
        parsed = {doc["id"]: parsing.parse_order(doc, self.tz)
                  for doc in store.render_orders(rc, orders)}
        statuses = self.statuses
        local, names = [], {}
        for order in orders:
            snapshot = order_snapshot(parsed[order.crm_id], statuses,
                                      min(now, order.created_at + timedelta(hours=2, minutes=1)))
            names.update(snapshot["product_names"])
            local.append(LocalOrder(
                shop=self.shop, order_id=order.crm_id, customer_id=order.customer_crm_id,
                number=order.number, created_at=order.created_at, status=snapshot["status"],
                status_group=snapshot["status_group"], status_name=snapshot["status_name"],
                total=Decimal(snapshot["total"]), currency=snapshot["currency"],
                product_ids=snapshot["product_ids"],
                synced_at=datetime.fromisoformat(snapshot["read_at"])))
        LocalOrder.objects.bulk_create(local, batch_size=1000)
        product_names_apply(shop=self.shop, names=names)  # as the watch keeps them

        records = self._recent_history()
        newest = (HistoryRecord.objects.filter(account=rc, entity="order")
                  .order_by("-crm_id").values_list("crm_id", flat=True).first()) or 0
        OrderWatch.objects.update_or_create(shop=self.shop, defaults={
            "enabled": True, "since_id": newest, "started_at": window,
            "last_poll_at": now - timedelta(seconds=20),
            "last_success_at": now - timedelta(seconds=20), "last_poll_records": 0})
        watch = OrderWatch.objects.get(shop=self.shop)
        self._history_events(records, parsed, watch)
        return len(local)

    def _recent_history(self) -> list[tuple[datetime, HistoryRecord]]:
        """Order history of the last LOG_DAYS days, oldest first."""
        since = self.now - timedelta(days=LOG_DAYS)
        rows = []
        for record in (HistoryRecord.objects.filter(account=self.rc, entity="order")
                       .order_by("-crm_id").iterator(chunk_size=2000)):
            at = parsing.parse_datetime(record.doc.get("createdAt"), self.tz)
            if at is None or at < since:
                break
            rows.append((at, record))
        rows.reverse()
        return rows

    def _history_events(self, records, parsed, watch) -> None:
        """One event per order per poll (the minute after its changes), with
        the poll's two calls; a problem status on a customer's open ticket
        gets order watch's internal comment there."""
        log, rc = self.log, self.rc_path
        by_poll: dict[datetime, list[HistoryRecord]] = defaultdict(list)
        for at, record in records:
            by_poll[(at + timedelta(minutes=1)).replace(second=3)].append(record)
        problems = set(problem_statuses_of(watch))
        cursor = records[0][1].crm_id - 1 if records else 0
        for poll_at in sorted(by_poll):
            batch = by_poll[poll_at]
            t = log.call(at=poll_at, provider="retailcrm", method="GET", low=30, high=90,
                         path=f"{rc}/api/v5/orders/history" + _query(**{
                             "filter[sinceId]": cursor, "limit": 100}))
            cursor = batch[-1].crm_id
            self.cursors.append((poll_at, cursor))
            mine = defaultdict(list)
            for record in batch:
                order = record.doc.get("order") or {}
                if order.get("site") == self.site and order.get("id") in parsed:
                    mine[order["id"]].append(record)
            if not mine:
                continue
            t = log.call(at=t, provider="retailcrm", method="GET", path=f"{rc}/api/v5/orders"
                         + _query(**{"filter[ids][]": sorted(mine), "limit": 100}))
            for order_id, changes in mine.items():
                status = (changes[-1].doc.get("newValue") or {}).get("code", "")
                snapshot = order_snapshot(parsed[order_id], self.statuses, t)
                snapshot["status"] = status
                snapshot["status_group"] = getattr(self.statuses.get(status), "group", "")
                event = log.event(
                    at=t + timedelta(milliseconds=300), source=EventSource.RETAILCRM_HISTORY,
                    key=f"order:{order_id}:{changes[-1].crm_id}", event_type="order_changed",
                    payload={"order_id": order_id, "history_ids": [r.crm_id for r in changes],
                             "fields": ["status"], "status": status, "deleted": False,
                             "snapshot": snapshot}, processed_after=0.5)
                if status in problems:
                    self._proactive(parsed[order_id], status, event, t)

    def _proactive(self, order, status, event, at) -> None:
        """Order watch told the operator on the customer's open ticket (the
        demo's problem order belongs to a customer who has one)."""
        customer = Customer.objects.filter(account=self.rc, crm_id=order.customer_id).first()
        user = HdeUser.objects.filter(account=self.desk, email__iexact=customer.email).first() \
            if customer and customer.email else None
        target = (Ticket.objects.filter(account=self.desk, user=user).exclude(
            status_id="closed").order_by("-date_updated").first()) if user else None
        if target is None:
            return
        summary = assembly.order_summary(order, statuses=self.statuses, crm_url=self.crm_url,
                                         tz=self.tz, today=at.astimezone(self.tz).date())
        hid = hde_svc.next_hid(Message, self.desk)
        Message.objects.create(account=self.desk, hid=hid, ticket=target, user=self.agent,
                               is_comment=True, date_created=at + timedelta(seconds=2),
                               text=order_texts.problem_comment(shop=self.shop,
                                                                summary=summary))
        Ticket.objects.filter(pk=target.pk).update(date_updated=at + timedelta(seconds=2))
        SideEffect.objects.create(shop=self.shop, key=proactive_key(order.id, status),
                                  state=SideEffectState.DONE, result=f"comment:{target.hid}:{hid}",
                                  done_at=at + timedelta(seconds=2))
        log, rc, hde = self.log, self.rc_path, self.hde_path
        t = log.call(at=at + timedelta(milliseconds=400), provider="retailcrm", method="GET",
                     path=f"{rc}/api/v5/orders/{order.id}" + _query(by="id"), event=event)
        t = log.call(at=t, provider="helpdeskeddy", method="GET", event=event,
                     path=f"{hde}/api/v2/users/" + _query(search=customer.email))
        t = log.call(at=t, provider="helpdeskeddy", method="GET", event=event,
                     path=f"{hde}/api/v2/tickets/" + _query(user_list=user.hid,
                                                            order_by="date_updated{desc}"))
        log.call(at=t, provider="helpdeskeddy", method="POST", event=event,
                 path=f"{hde}/api/v2/tickets/{target.hid}/comments/")

    # -- the dead event ----------------------------------------------------
    def dead_event(self, ticket: _Ticket) -> InboundEvent:
        """HDE did not answer while the portal read the new ticket; after
        MAX_ATTEMPTS attempts over about an hour the event went dead, with
        the reason the inbox writes. "Replay" in the sync logs runs the job
        now, against the emulator."""
        path = f"{self.hde_path}/api/v2/tickets/{ticket.hid}/"
        error = ApiTimeoutError("The vendor did not answer in time.", path=path,
                                provider="helpdeskeddy")
        at = ticket.opened + timedelta(seconds=1)
        attempt_at, waited = at, 0
        index = len(self.log.events)
        self.dead_attempts = []  # (number, started, outcome, error): the event page lists them
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.dead_attempts.append((
                attempt, attempt_at,
                AttemptOutcome.DEAD if attempt == MAX_ATTEMPTS else AttemptOutcome.RETRY,
                stored_text(error)))
            self.log.call(at=attempt_at, provider="helpdeskeddy", method="GET", path=path,
                          status=None, outcome=error.outcome, event=index, duration=10000,
                          error=stored_text(error))
            waited += backoff_seconds(attempt)
            attempt_at = at + timedelta(seconds=waited + 10 * attempt)
        last = at + timedelta(seconds=waited - backoff_seconds(MAX_ATTEMPTS) + 10 * MAX_ATTEMPTS)
        self.log.event(at=at, source=EventSource.HDE_WEBHOOK, key=f"new_ticket:{ticket.hid}",
                       event_type="new_ticket", payload={"ticket_id": ticket.hid,
                                                         "event": "new_ticket"},
                       state=EventState.DEAD, attempts=MAX_ATTEMPTS,
                       error=stored_text(error),
                       processed_after=(last - at).total_seconds())
        return self.log.events[index][0]

    # -- polls that found nothing, operators opening the card -----------------
    def background(self, tickets: list[_Ticket]) -> None:
        log, rng = self.log, self.rng
        polled = {at.replace(second=0) for at, _ in self.cursors}
        cursors = iter(self.cursors)
        cursor_at, cursor = next(cursors, (None, 0))
        since_id = 0
        minute = (self.now - timedelta(hours=POLL_HOURS)).replace(second=0)
        while minute < self.now - timedelta(minutes=1):
            while cursor_at is not None and cursor_at < minute:
                since_id = cursor
                cursor_at, cursor = next(cursors, (None, 0))
            if minute not in polled:
                log.call(at=minute.replace(second=3), provider="retailcrm", method="GET",
                         low=25, high=80, path=f"{self.rc_path}/api/v5/orders/history" + _query(
                             **{"filter[sinceId]": since_id, "limit": 100}))
            minute += timedelta(minutes=1)
        looks = []
        since = self.now - timedelta(days=LOG_DAYS)
        for ticket in tickets:
            if not ticket.processed or ticket.opened < since:
                continue
            outcome = ticket.context.status
            for look in range(rng.choice([1, 1, 2, 3])):
                at = ticket.opened + timedelta(minutes=rng.randint(2, 90) * (look + 1))
                if at >= self.now:
                    break
                looks.append((WidgetRequest(
                    shop=self.shop, request_id=f"{rng.getrandbits(64):016x}",
                    channel="page", duration_ms=rng.randint(15, 60) if look else
                    rng.randint(140, 900), cache_hit=bool(look), outcome=outcome), at))
        WidgetRequest.objects.bulk_create([row for row, _ in looks], batch_size=1000)
        _backdate(WidgetRequest, [(row.pk, at) for row, at in looks])
