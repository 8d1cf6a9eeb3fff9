"""Turning client results into the `CustomerContext` the widget shows.

Pure functions (no network except `previous_tickets`), so the shapes are easy
to test and the context service stays about timing and caching.
"""

from dataclasses import asdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integration.customers.types import (
    ContextStatus,
    CustomerContext,
    CustomerProfile,
    Delivery,
    HistoryEntry,
    Manager,
    OrderGroup,
    OrderItem,
    OrderSummary,
)
from integration.vendors.errors import (
    OUTCOME_WORDS,
    TIMED_OUT,
    ApiError,
    clause,
    people_text,
    shown_text,
)

FINISHED_GROUPS = {"complete": OrderGroup.COMPLETED, "cancel": OrderGroup.CANCELLED}
PAID_STATUSES = {"paid", "completed", "succeeded"}
# Translated when the notice is worded (context.py), in the language of the request.
PART_LABELS = {"notes": gettext_noop("notes"), "refs": gettext_noop("status names and managers"),
               "pinned": gettext_noop("the order named in the ticket"),
               "tickets": gettext_noop("previous HDE tickets"),
               "active": gettext_noop("older active orders")}


def full_name(customer) -> str:
    parts = [customer.last_name, customer.first_name, customer.patronymic]
    return " ".join(p for p in parts if p) or customer.email or f"#{customer.id}"


def _iso(value, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = value.replace(tzinfo=tz)
        return value.astimezone(tz).isoformat()
    return value.isoformat()


def customers_of_orders(client, orders) -> list:
    """Orders embed the customer (§11.3); parse it from there instead of
    another round-trip. The embedded record may be only part of the customer
    (docs/vendors/open-questions.md R-8): `customer_whole` tells, and the
    context reads a partial one by id."""
    from integration.vendors import retailcrm_parsing as parsing

    customers = []
    for order in orders:
        raw = (order.raw or {}).get("customer") or {}
        if raw.get("id"):
            customers.append(parsing.parse_customer(raw, client.tz))
    return customers


# Keys a whole customer record carries (§8.3) and a stub embedded in an
# order may lack: a name, and the aggregates the card and the rules read.
NAME_KEYS = ("firstName", "lastName")
PROFILE_KEYS = ("ordersCount", "vip")


def customer_whole(customer) -> bool:
    """Whether a customer parsed from an order's embedded record carries the
    profile (a name and the order aggregates), or is a stub (`id`, perhaps
    `email`: R-8) that must be read by id before anyone relies on it: a
    stub reads as a nameless non-VIP with no orders. Same rule as the
    contract probe's (integration.vendors.probe `order_customer`)."""
    raw = customer.raw or {}
    return any(k in raw for k in NAME_KEYS) and any(k in raw for k in PROFILE_KEYS)


def previous_tickets(shop, hde_user_id, interactive, clients: list | None = None) -> list:
    """The customer's other HDE tickets, open ones first. `clients`
    receives the HDE client, so that a caller whose deadline passed can
    tell what HDE answered (`BaseClient.last_failure`)."""
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    client = HelpDeskEddyClient.for_connection(shop.helpdeskeddy, interactive=interactive)
    if clients is not None:
        clients.append(client)
    return client.user_tickets(int(hde_user_id))


def parts_notice(late: list[str], failed: list[tuple[str, str]]) -> str:
    """What the card could not show, and why: parts still loading at the
    deadline, and parts that failed with the reason in words."""
    sentences = [_("Could not load: %(part)s (%(error)s).") % {
        "part": _(label), "error": clause(error)} for label, error in failed]
    if late:
        sentences.insert(0, _("Not loaded in time: %(parts)s. Refresh the card in a minute.")
                         % {"parts": ", ".join(_(label) for label in late)})
    return " ".join(sentences)


def _payment_state(order, payment_statuses=None) -> str:
    """Paid when the account's payment-status book says the payments'
    statuses complete a payment (`paymentComplete`); without the book, the
    usual codes."""
    if payment_statuses:
        complete = {code for code, status in payment_statuses.items() if status["complete"]}
    else:
        complete = PAID_STATUSES
    paid = sum(p.amount for p in order.payments if p.status in complete)
    if order.total_summ and paid >= order.total_summ:
        return "paid"
    return "partially_paid" if paid > 0 else "not_paid"


def _delivery(order, tz, delivery_types=None) -> Delivery:
    """The delivery type by the account's name for it ("Самовывоз"), with
    the carrier's service when there is one; never the bare code a person
    cannot read (an unknown code shows no type rather than "self-delivery")."""
    raw = (order.raw or {}).get("delivery") or {}
    service = (raw.get("service") or {}).get("name") or ""
    data = raw.get("data") or {}
    type_name = (delivery_types or {}).get(order.delivery_code, "")
    if service and service != type_name:
        type_name = f"{type_name} ({service})" if type_name else service
    return Delivery(
        type_name=type_name,
        date=order.delivery_date.isoformat() if order.delivery_date else "",
        address=order.delivery_address,
        track_number=str(data.get("trackNumber") or ""),
    )


def order_summary(order, *, statuses, crm_url, tz, today: date,
                  books: dict | None = None) -> OrderSummary:
    """`books`: the references (`context.references_get`) whose delivery and
    payment books name what the order only codes."""
    books = books or {}
    status = statuses.get(order.status)
    group = status.group if status else ""
    bucket = FINISHED_GROUPS.get(group, OrderGroup.ACTIVE)
    items = []
    for index, item in enumerate(order.items):
        raw_items = (order.raw or {}).get("items") or []
        offer = (raw_items[index].get("offer") or {}) if index < len(raw_items) else {}
        items.append(OrderItem(name=item.name, quantity=item.quantity, price=item.price,
                               product_id=offer.get("id")))
    overdue = bool(order.delivery_date and order.delivery_date < today
                   and bucket == OrderGroup.ACTIVE)
    return OrderSummary(
        id=order.id, number=order.number, status_code=order.status,
        # Empty when the book does not name the status: never the code
        # (`formatting.status_shown` words it; a reply needing it is greyed).
        status_name=status.name if status else "", status_group=group, bucket=bucket,
        created_at=_iso(order.created_at, tz), total=order.total_summ, currency=order.currency,
        items=items, delivery=_delivery(order, tz, books.get("delivery_types")),
        payment_state=_payment_state(order, books.get("payment_statuses")),
        overdue=overdue, url=f"{crm_url}/orders/{order.id}/edit",
    )


def _manager(users, manager_id) -> Manager | None:
    for user in users or []:
        if user.id == manager_id:
            name = " ".join(p for p in (user.first_name, user.last_name) if p)
            return Manager(id=user.id, name=name or user.email, email=user.email,
                           phone=user.phone, position=user.position)
    return None


def build(*, shop, crm_url, customer, orders_page, pinned, notes, tickets, refs,
          today: date) -> CustomerContext:
    tz = ZoneInfo(shop.timezone)
    statuses = refs.get("statuses") or {}
    orders = [order_summary(o, statuses=statuses, crm_url=crm_url, tz=tz, today=today,
                            books=refs) for o in orders_page.items]
    for order in pinned:
        if all(o.id != order.id for o in orders):
            orders.append(order_summary(order, statuses=statuses, crm_url=crm_url, tz=tz,
                                        today=today, books=refs))
    profile = CustomerProfile(
        id=customer.id, name=full_name(customer), first_name=customer.first_name or "",
        emails=[customer.email] if customer.email else [], phones=list(customer.phones),
        vip=customer.vip, bad=customer.bad, segments=_segment_codes(customer),
        segment_names=_segment_names(customer), tags=list(customer.tags),
        created_at=_iso(customer.created_at, tz), site=customer.site,
        personal_discount=float((customer.raw or {}).get("personalDiscount") or 0),
        cumulative_discount=float((customer.raw or {}).get("cumulativeDiscount") or 0),
        custom_fields=dict(customer.custom_fields), orders_count=customer.orders_count,
        total_sum=customer.total_summ, average_sum=customer.average_summ,
        last_order_at=orders[0].created_at if orders and orders_page.current_page == 1 else "",
        manager_id=customer.manager_id, url=f"{crm_url}/customers/{customer.id}",
    )
    history = [HistoryEntry(kind="note", at=_iso(n.created_at, tz), text=n.text)
               for n in (notes.items if notes else [])]
    for ticket in tickets or []:
        history.append(HistoryEntry(
            kind="ticket", at=_iso(getattr(ticket, "date_created", None), tz),
            text=f"#{getattr(ticket, 'unique_id', '') or ticket.id} {ticket.title}",
            done=getattr(ticket, "status_id", "") == "closed"))
    history.sort(key=lambda entry: entry.at, reverse=True)
    context = CustomerContext(
        status=ContextStatus.FOUND, customer=profile, orders=orders,
        orders_total_count=orders_page.total_count, orders_page=orders_page.current_page,
        manager=_manager(refs.get("users"), customer.manager_id), history=history,
    )
    if notes is None:
        context.notice = _("Notes could not be loaded.")
    return context


def _segment_codes(customer) -> list[str]:
    """Rules match segment *codes*, which stay put when a segment is renamed."""
    raw = (customer.raw or {}).get("segments") or []
    return [s.get("code", "") for s in raw if isinstance(s, dict) and s.get("code")]


def _segment_names(customer) -> list[str]:
    raw = (customer.raw or {}).get("segments") or []
    return [s.get("name") or s.get("code", "") for s in raw if isinstance(s, dict)]


def pin_order(context: CustomerContext) -> CustomerContext:
    """The order named in the ticket goes first; the rest stay newest first."""
    number = context.pinned_order_number
    if number:
        context.orders.sort(key=lambda order: order.number != number)
    return context


def from_cache(data: dict) -> CustomerContext:
    """Rebuild dataclasses from the cached dict and note the cache age."""
    data = dict(data)
    customer = data.pop("customer")
    manager = data.pop("manager")
    orders = data.pop("orders")
    history = data.pop("history")
    candidates = data.pop("candidates")
    context = CustomerContext(**data)
    context.customer = CustomerProfile(**customer) if customer else None
    context.manager = Manager(**manager) if manager else None
    context.history = [HistoryEntry(**entry) for entry in history]
    context.orders = []
    for order in orders:
        order = dict(order)
        items = [OrderItem(**item) for item in order.pop("items")]
        delivery = Delivery(**order.pop("delivery"))
        context.orders.append(OrderSummary(**order, items=items, delivery=delivery))
    from integration.customers.types import Candidate

    context.candidates = [Candidate(**c) for c in candidates]
    if context.fetched_at:
        age = timezone.now() - datetime.fromisoformat(context.fetched_at)
        context.cache_age_seconds = max(0, int(age.total_seconds()))
    return context


def unavailable_notice(error: Exception, *, failure: str = "") -> str:
    """Why the card has nothing to show, in a sentence: fixed words for the
    network, the policy, a server error or a rate limit, a vendor's own text
    only cut short (`people_text`). `failure`: the client's last failed
    attempt (`BaseClient.last_failure`)."""
    return _("RetailCRM is unavailable right now: %(error)s. Try refreshing in a minute.") % {
        "error": clause(_reason(error, failure))}


def stale_notice(context: CustomerContext, error: Exception, *, failure: str = "") -> str:
    """Why the card shows what it read last; the card says how long ago
    beside the data (`cache_age_seconds`), so the notice does not repeat a
    rounded age ("0 min ago")."""
    return _("RetailCRM is unavailable right now: %(error)s. The card shows what it read "
             "last.") % {"error": clause(_reason(error, failure))}


def _reason(error: Exception, failure: str) -> str:
    """The error in words. The card's own deadline (a TimeoutError, whose
    text is not for people) can pass while the client is still waiting out
    a rate limit or retrying a server error: its last failed attempt then
    says what RetailCRM answered, rather than "timed out" for an answer
    that came."""
    if isinstance(error, ApiError):
        return people_text(error)
    return shown_text(OUTCOME_WORDS.get(failure, TIMED_OUT))


def as_dict(context: CustomerContext) -> dict:
    return asdict(context)
