"""Tables of the HelpDeskEddy emulator.

Ids that the API exposes (`hid`) are numbered per account, like a real HDE
system where every company has its own ticket 1, so the seed is deterministic
and two accounts never leak into each other. Django's own primary keys stay
internal.

Knobs a test or the demo may turn live on `Account` and are plain ORM fields:
the rate limit and ban (docs/vendors/helpdeskeddy.md §4), fault injection, and the counters that
prove what the emulator received.
"""

from django.db import models

from sandbox.hde.behaviour import BOARD, validate_behaviour


class Account(models.Model):
    """One HDE system (`<code>.helpdeskeddy.com` in real life)."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    # Reference §2: dates carry no zone; they are the HDE system's local time.
    timezone = models.CharField(max_length=64, default="Europe/Moscow")
    # Reference §4: 300 requests per minute for the whole account, all keys.
    rate_limit_enabled = models.BooleanField(default=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=300)
    # The window the limit is counted over; 60 s on a real HDE, tests shrink it.
    rate_window_seconds = models.FloatField(default=60.0)
    # Reference §4: exceeding the limit bans the whole API for 20 minutes.
    ban_seconds = models.FloatField(default=1200.0)
    banned_until = models.DateTimeField(null=True, blank=True)
    # Send times (epoch seconds) inside the current window, updated atomically.
    hits = models.JSONField(default=list, blank=True)
    requests_received = models.PositiveIntegerField(default=0)
    limit_violations = models.PositiveIntegerField(default=0)
    # Fault injection (see sandbox.hde.faults): applies to the next N requests.
    fault_latency_ms = models.PositiveIntegerField(default=0)
    fault_kind = models.CharField(
        max_length=20, blank=True, default="",
        help_text="500, 503, 429, timeout, slow_body, malformed_json or html",
    )
    fault_next = models.PositiveIntegerField(
        default=0, help_text="How many of the next API requests get `fault_kind`."
    )
    fault_path = models.CharField(
        max_length=200, blank=True, default="",
        help_text="Only API requests whose path (after /api/v2/) starts with this take the "
                  "queued fault, e.g. `users/` for the user records only; empty: every request.",
    )
    fault_sleep_seconds = models.FloatField(
        default=5.0, help_text="How long `timeout` and `slow_body` faults stall."
    )
    # Answers to the vendor's open questions, only those that differ from
    # the default (`sandbox.hde.behaviour.BOARD` lists them).
    behaviour = models.JSONField(default=dict, blank=True, validators=[validate_behaviour],
                                 help_text="Switches of sandbox.hde.behaviour, e.g. "
                                           '{"tags_on_update": "refuse"}.')

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def switch(self, name: str) -> str:
        """This account's answer to one open question (see BOARD)."""
        return BOARD.value(self.behaviour, name)


class IdSequence(models.Model):
    """The last API id handed out per account and kind (`ticket`, `message`,
    `user`); see `sandbox.numbering`."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind"],
                                               name="hde_sequence_unique")]

    def __str__(self):
        return f"{self.kind} ≤ {self.last} ({self.account_id})"


class AccountOwned(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    hid = models.PositiveIntegerField("id in the HDE API")

    class Meta:
        abstract = True
        ordering = ["hid"]


class Department(AccountOwned):
    name = models.JSONField(default=dict)

    class Meta(AccountOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "hid"], name="hde_dep_hid")]

    def __str__(self):
        return f"{self.hid} {self.name}"


class Priority(AccountOwned):
    name = models.JSONField(default=dict)
    # Only for the ticket page's colour; the API never exposes an order.
    color = models.CharField(max_length=7, default="#888888")

    class Meta(AccountOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "hid"], name="hde_prio_hid")]

    def __str__(self):
        return f"{self.hid} {self.name}"


class TicketType(AccountOwned):
    # hid 0 is a valid type ("no type", docs/vendors/helpdeskeddy.md §8).
    name = models.JSONField(default=dict)

    class Meta(AccountOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "hid"], name="hde_type_hid")]

    def __str__(self):
        return f"{self.hid} {self.name}"


class Status(models.Model):
    """Statuses have string ids (`open`, `process`, `closed`, custom slugs)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    slug = models.CharField(max_length=40)
    name = models.JSONField(default=dict)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["account", "slug"], name="hde_status_slug")]

    def __str__(self):
        return f"{self.slug} {self.name}"


class CustomField(AccountOwned):
    name = models.JSONField(default=dict)
    field_type = models.CharField(max_length=20, default="text")

    class Meta(AccountOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "hid"], name="hde_cf_hid")]

    def __str__(self):
        return f"{self.hid} {self.name}"


class CustomFieldOption(models.Model):
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="options")
    hid = models.PositiveIntegerField()
    pid = models.PositiveIntegerField(default=0)
    name = models.JSONField(default=dict)

    class Meta:
        ordering = ["hid"]

    def __str__(self):
        return f"{self.hid} {self.name}"


class HdeUser(AccountOwned):
    """A contact: client (`group_type=user`) or agent (`staff`).

    HDE requires an e-mail for every user (docs/vendors/helpdeskeddy.md §7). A contact known
    only by phone gets a placeholder address `<digits>@phone.invalid`
    (RFC 2606 reserves `.invalid`), with the phone in `phone`.
    """

    STAFF, CLIENT = "staff", "user"
    name = models.CharField(max_length=200)
    lastname = models.CharField(max_length=200, blank=True, default="")
    email = models.CharField(max_length=254)
    phone = models.CharField(max_length=60, blank=True, default="")
    organization = models.CharField(max_length=200, blank=True, default="")
    group_type = models.CharField(max_length=10, default=CLIENT)
    api_key = models.CharField(max_length=80, blank=True, default="")
    status = models.CharField(max_length=20, default="active")
    date_created = models.DateTimeField()
    date_updated = models.DateTimeField()

    class Meta(AccountOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "hid"], name="hde_user_hid")]

    def __str__(self):
        return f"{self.name} {self.lastname} <{self.email}>".strip()

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.lastname}".strip()


class Ticket(AccountOwned):
    unique_id = models.CharField(max_length=20)
    title = models.CharField(max_length=500)
    source = models.CharField(max_length=20, default="email")
    status_id = models.CharField(max_length=40, default="open")
    priority_id = models.PositiveIntegerField(default=2)
    type_id = models.PositiveIntegerField(default=0)
    department_id = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(
        HdeUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(HdeUser, on_delete=models.PROTECT, related_name="tickets")
    # {"<field hid>": value} as written by the API (docs/vendors/helpdeskeddy.md §9.3).
    custom_fields = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    sla_date = models.CharField(max_length=20, blank=True, default="")
    date_created = models.DateTimeField()
    date_updated = models.DateTimeField()

    class Meta(AccountOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "hid"], name="hde_ticket_hid")]

    def __str__(self):
        return f"#{self.hid} {self.title}"


class Message(AccountOwned):
    """A public post (`/posts/`) or an internal comment (`/comments/`)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    is_comment = models.BooleanField(default=False)
    user = models.ForeignKey(HdeUser, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    date_created = models.DateTimeField()

    class Meta(AccountOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "hid"], name="hde_msg_hid")]

    def __str__(self):
        return f"{'comment' if self.is_comment else 'post'} {self.hid}"


class Event(models.TextChoices):
    """Dispatcher required conditions (docs/vendors/helpdeskeddy.md §11.1)."""

    NEW_TICKET = "new_ticket", "Новая заявка"
    TICKET_CHANGED = "ticket_changed", "Изменения в заявке"
    NEW_REPLY = "new_reply", "Новый ответ в заявке"
    NEW_COMMENT = "new_comment", "Новый комментарий в заявке"


class WebhookRule(models.Model):
    """A dispatcher rule with the "Send webhook" action (docs/vendors/helpdeskeddy.md §11.2)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    events = models.JSONField(default=list, help_text="Any of new_ticket, ticket_changed, "
                              "new_reply, new_comment (OR).")
    method = models.CharField(max_length=8, default="POST")
    url = models.CharField(max_length=1000)
    body_format = models.CharField(max_length=10, default="json")  # json | form
    template = models.TextField(blank=True, default="")
    username = models.CharField(max_length=200, blank=True, default="")
    password = models.CharField(max_length=200, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.name


class Delivery(models.Model):
    """One queued webhook call; `pump()` sends it and retries on failure."""

    QUEUED, SENT, FAILED = "queued", "sent", "failed"
    rule = models.ForeignKey(WebhookRule, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20)
    ticket_hid = models.PositiveIntegerField()
    method = models.CharField(max_length=8)
    url = models.CharField(max_length=2000)
    body = models.TextField(blank=True, default="")
    content_type = models.CharField(max_length=60)
    state = models.CharField(max_length=10, default=QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.event} #{self.ticket_hid} → {self.url} ({self.state})"
