"""Tables of the RetailCRM emulator.

Entities are stored the way the API returns them: one JSON document per row
(`doc`, camelCase, omitted-not-null like the vendor) plus the few indexed
columns the endpoints filter and sort on. That keeps the emulator's answers
byte-for-byte the shapes of the reference (docs/retailcrm-api.md §8–§13)
and lets the seed bulk-insert 10,000 orders in seconds.

`crm_id` is the vendor's internal id, numbered per account (the database
primary key is ours and never leaves the emulator).
"""

from django.db import models, transaction

from sandbox.numbering import allocate
from sandbox.retailcrm.behaviour import BOARD, validate_behaviour


class Fault(models.TextChoices):
    NONE = "", "none"
    RATE_LIMIT_503 = "503", "503 rate-limit HTML page (like nginx)"
    TOO_MANY_429 = "429", "429 Too Many Requests with Retry-After"
    SERVER_ERROR_500 = "500", "500 JSON error"
    BAD_GATEWAY_HTML = "502", "502 Bad Gateway HTML page"
    SLOW_BODY = "slow", "headers at once, body after slow_body_ms"
    MALFORMED_JSON = "malformed", "200 with truncated JSON"
    HTML_PAGE = "html", "200 with an HTML page instead of JSON"


class Account(models.Model):
    """One RetailCRM account (`https://<code>.retailcrm.ru`), with its
    reference books, rate limit and fault-injection knobs."""

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=200, default="")
    timezone = models.CharField(max_length=64, default="Europe/Moscow")
    # Reference books exactly as the API returns them: {"statuses": {code: {...}},
    # "statusGroups": {...}, "sites": {...}} (objects keyed by code, §10).
    references = models.JSONField(default=dict, blank=True)
    # Real limit: 10 requests/second (§6). 0 switches the limiter off.
    rate_limit_rps = models.PositiveIntegerField(default=10)
    # Fault injection, set through the ORM, `POST .../_faults`, or per request
    # with the `X-Sandbox-Fault` / `X-Sandbox-Latency-Ms` headers.
    latency_ms = models.PositiveIntegerField(default=0)
    fault = models.CharField(max_length=10, choices=Fault.choices, default="", blank=True)
    # >0: only the next N requests get the fault (a burst), then it clears;
    # 0: every request gets it until reset.
    fault_burst = models.PositiveIntegerField(default=0)
    # >0: that many requests pass untouched before the fault starts, so a
    # test puts a fault at an exact point of a flow (never by wall clock).
    fault_after = models.PositiveIntegerField(default=0)
    slow_body_ms = models.PositiveIntegerField(default=3000)
    # Answers to the vendor's open questions, only those that differ from
    # the default (`sandbox.retailcrm.behaviour.BOARD` lists them).
    behaviour = models.JSONField(default=dict, blank=True,
                                 validators=[validate_behaviour])

    class Meta:
        verbose_name = "RetailCRM emulator account"

    def __str__(self):
        return self.code

    def site_codes(self) -> list[str]:
        return list((self.references or {}).get("sites", {}))

    def switch(self, name: str) -> str:
        """This account's answer to one open question (see BOARD)."""
        return BOARD.value(self.behaviour, name)


class IdSequence(models.Model):
    """The last vendor id handed out per account and kind (`customer`,
    `order`, `note`, `task`, `history:order`, `history:customer`); see
    `sandbox.numbering`."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind"],
                                               name="rc_sequence_unique")]

    def __str__(self):
        return f"{self.kind} ≤ {self.last} ({self.account_id})"


class ApiKey(models.Model):
    """An API key with its scopes and store access (§2)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=100, unique=True)
    scopes = models.JSONField(default=list)
    # Empty list: access_full (every site of the account).
    sites = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    def __str__(self):
        return f"{self.account.code}: ••••{self.key[-4:]}"

    def visible_sites(self) -> list[str]:
        return list(self.sites) if self.sites else self.account.site_codes()


class AccountOwned(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    crm_id = models.PositiveIntegerField()
    doc = models.JSONField(default=dict)

    class Meta:
        abstract = True

    # The counter kind of this model (see IdSequence) and the first id.
    sequence_kind = ""
    first_crm_id = 1

    @classmethod
    def allocate_crm_ids(cls, account, count: int = 1) -> int:
        """Reserve `count` ids for new rows of this kind; returns the first.
        The counter row stays locked until the caller's transaction ends,
        so concurrent creates never collide (see sandbox.numbering)."""
        return allocate(IdSequence, account=account, kind=cls.sequence_kind,
                        rows=cls.objects.filter(account=account), field="crm_id",
                        count=count, floor=cls.first_crm_id - 1)

    @classmethod
    def create_numbered(cls, account, build_doc, **fields):
        """Create a row under the next id; `build_doc(crm_id)` makes its doc."""
        with transaction.atomic():
            crm_id = cls.allocate_crm_ids(account)
            return cls.objects.create(account=account, crm_id=crm_id, doc=build_doc(crm_id),
                                      **fields)


class User(AccountOwned):
    sequence_kind = "user"
    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "crm_id"], name="rc_user_unique")
        ]

    def __str__(self):
        return f"user {self.crm_id} ({self.account_id})"


class Customer(AccountOwned):
    sequence_kind = "customer"
    external_id = models.CharField(max_length=100, blank=True, default="")
    site = models.CharField(max_length=100)
    email = models.CharField(max_length=200, blank=True, default="", db_index=True)
    # Lower-cased names plus the digits of every phone: what `filter[name]`
    # searches (§8.1: it matches names *and* phones).
    search_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "crm_id"], name="rc_customer_unique"),
            # RetailCRM refuses a second customer with one externalId in a
            # store, concurrent creates included (a check before the insert
            # alone let two racing creates through).
            models.UniqueConstraint(fields=["account", "site", "external_id"],
                                    condition=~models.Q(external_id=""),
                                    name="rc_customer_external_unique"),
        ]
        indexes = [models.Index(fields=["account", "site", "external_id"])]

    def __str__(self):
        return f"customer {self.crm_id} ({self.site})"


class Order(AccountOwned):
    sequence_kind = "order"
    first_crm_id = 1001  # as the seed numbers them
    customer_crm_id = models.PositiveIntegerField(null=True)
    number = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100, blank=True, default="")
    # The order's own e-mail, lower-cased (as customers keep theirs): what
    # `filter[email]` on orders reads without unpacking every order's JSON.
    email = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=60)
    site = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "crm_id"], name="rc_order_unique")
        ]
        indexes = [
            models.Index(fields=["account", "customer_crm_id", "-created_at"]),
            models.Index(fields=["account", "number"]),
            models.Index(fields=["account", "status"]),
            # Cover the card's lists (filter[email]; filter[customerId], with
            # extendedStatus) with the store filter and the list's order: an
            # order's large document precedes its other columns, so reading
            # rows to filter or count them costs every document's pages.
            models.Index(fields=["account", "email", "site", "created_at", "crm_id"]),
            models.Index(fields=["account", "customer_crm_id", "site", "status", "created_at",
                                 "crm_id"]),
        ]

    def __str__(self):
        return f"order {self.number}"


class Note(AccountOwned):
    sequence_kind = "note"
    customer_crm_id = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "crm_id"], name="rc_note_unique")
        ]
        indexes = [models.Index(fields=["account", "customer_crm_id"])]

    def __str__(self):
        return f"note {self.crm_id} on customer {self.customer_crm_id}"


class Task(AccountOwned):
    sequence_kind = "task"
    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "crm_id"], name="rc_task_unique")
        ]

    def __str__(self):
        return f"task {self.crm_id}"


class HistoryRecord(AccountOwned):
    """One change of an order or a customer (§12). `crm_id` is the history
    id the client pages with `filter[sinceId]`; `api_key` is the key that
    made the change, so `apiKey.current` can be computed per caller."""

    entity = models.CharField(max_length=10)  # "order" | "customer"
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "entity", "crm_id"],
                                    name="rc_history_unique")
        ]

    def __str__(self):
        return f"{self.entity} history {self.crm_id}"

    @classmethod
    def allocate_crm_ids(cls, account, count: int = 1, *, entity: str) -> int:
        """History ids ascend per account and entity (§12)."""
        return allocate(IdSequence, account=account, kind=f"history:{entity}",
                        rows=cls.objects.filter(account=account, entity=entity),
                        field="crm_id", count=count)


class TriggerEvent(models.TextChoices):
    """The trigger events the emulator fires (Automation → Triggers, §15.1)."""

    ORDER_CREATED = "order_created", "order created"
    ORDER_STATUS_CHANGED = "order_status_changed", "order changed: status changed"
    ORDER_CHANGED = "order_changed", "order changed (any field)"


class TriggerEncoding(models.TextChoices):
    """Where the action's parameters travel (§15.1: admin-defined; receivers
    in the wild accept each of these)."""

    QUERY = "query", "query string"
    FORM = "form", "form body (x-www-form-urlencoded)"
    JSON = "json", "JSON body"


class Trigger(models.Model):
    """A trigger with the "Send HTTP request" action («Отправить HTTP-запрос»,
    §15.1): on its event, the account sends `method url` with `params`
    (name → template such as `{{ order.id }}`) encoded as `encoding`, plus
    `headers` (name → template). A shared secret goes wherever the admin
    typed it: a header (`X-Webhook-Secret`) or a parameter (`secret`).
    See sandbox.retailcrm.triggers."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=200)
    event = models.CharField(max_length=30, choices=TriggerEvent.choices,
                             default=TriggerEvent.ORDER_STATUS_CHANGED)
    method = models.CharField(max_length=8, default="POST")
    url = models.CharField(max_length=1000)
    encoding = models.CharField(max_length=10, choices=TriggerEncoding.choices,
                                default=TriggerEncoding.FORM)
    params = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.name


class TriggerDelivery(models.Model):
    """One HTTP request a trigger made or will make; `triggers.pump()` sends
    queued ones. The rendered request is stored, so a test can read exactly
    what "RetailCRM" sent."""

    QUEUED, SENT, FAILED = "queued", "sent", "failed"
    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="deliveries")
    order_crm_id = models.PositiveIntegerField()
    method = models.CharField(max_length=8)
    url = models.CharField(max_length=2000)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True, default="")
    content_type = models.CharField(max_length=60, blank=True, default="")
    state = models.CharField(max_length=10, default=QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.trigger} → {self.url} ({self.state})"
