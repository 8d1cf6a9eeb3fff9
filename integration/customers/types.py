"""The customer context: what an operator (and the rules) know about the
person behind a ticket. Plain dataclasses, JSON-serialisable with
`dataclasses.asdict`, so the same object feeds the widget API, the widget
page, the cache and the priority rules."""

from dataclasses import dataclass, field


class OrderGroup:
    """The widget's three buckets, from RetailCRM status groups."""

    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass
class OrderItem:
    name: str
    quantity: float
    price: float
    product_id: int | None = None


@dataclass
class Delivery:
    type_name: str = ""
    date: str = ""  # ISO date, shop timezone
    address: str = ""
    track_number: str = ""


@dataclass
class OrderSummary:
    id: int
    number: str
    status_code: str
    status_name: str
    status_group: str  # RetailCRM group code: new, approval, ..., delivery, complete, cancel
    bucket: str  # OrderGroup
    created_at: str  # ISO datetime with offset
    total: float
    currency: str = "RUB"
    items: list[OrderItem] = field(default_factory=list)
    delivery: Delivery = field(default_factory=Delivery)
    payment_state: str = ""  # paid / partially_paid / not_paid
    overdue: bool = False
    url: str = ""


@dataclass
class Manager:
    id: int
    name: str
    email: str = ""
    phone: str = ""
    position: str = ""


@dataclass
class CustomerProfile:
    id: int
    name: str
    first_name: str = ""  # what a reply greets the customer by
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    vip: bool = False
    bad: bool = False
    segments: list[str] = field(default_factory=list)  # codes
    segment_names: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    created_at: str = ""
    site: str = ""
    personal_discount: float = 0
    cumulative_discount: float = 0
    custom_fields: dict = field(default_factory=dict)
    orders_count: int = 0
    total_sum: float = 0
    average_sum: float = 0
    last_order_at: str = ""
    manager_id: int | None = None
    url: str = ""


@dataclass
class Candidate:
    """One of several customers matching the ticket, for the chooser."""

    id: int
    name: str
    email: str = ""
    phone: str = ""
    site: str = ""
    orders_count: int = 0


@dataclass
class HistoryEntry:
    kind: str  # note / task / ticket
    at: str
    text: str
    author: str = ""
    done: bool | None = None
    url: str = ""


@dataclass
class TicketInfo:
    """What the rules may look at on the HDE side."""

    id: int
    subject: str = ""
    body: str = ""
    department_id: int | None = None
    type_id: int | None = None
    channel: str = ""
    status: str = ""
    user_id: int | None = None
    email: str = ""
    phone: str = ""
    name: str = ""  # the requester as HDE names them (the card's "create customer" form)
    created_at: str = ""  # ISO; a card opened before the portal heard of the ticket waits
    # Why the requester's HDE user record could not be read (a stored error
    # text, integration.vendors.errors.stored_text) when the ticket's e-mail
    # was enough to go on: the phone is unknown, the rest works.
    requester_error: str = ""


class ContextStatus:
    FOUND = "found"
    UNKNOWN = "unknown"
    SEVERAL = "several"
    UNAVAILABLE = "unavailable"


@dataclass
class CustomerContext:
    status: str
    customer: CustomerProfile | None = None
    orders: list[OrderSummary] = field(default_factory=list)
    orders_total_count: int = 0
    orders_page: int = 1
    pinned_order_number: str = ""
    manager: Manager | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    matched_by: str = ""  # email / phone / order_number / remembered / id
    fetched_at: str = ""
    cache_age_seconds: int | None = None
    notice: str = ""  # partial failure, stale data, ...
    # False for the first paint (customers.context, parts="first"): profile
    # and orders found so far; notes, history, the manager and orders
    # placed under another e-mail follow in the second step.
    complete: bool = True
