"""Tables of the RetailCRM emulator.

Entities are stored the way the API returns them: one JSON document per row
(`doc`, camelCase, omitted-not-null like the vendor) plus the few indexed
columns the endpoints filter and sort on. That keeps the emulator's answers
byte-for-byte the shapes of the reference (docs/retailcrm-api.md §8–§13)
and lets the seed bulk-insert 10,000 orders in seconds.

`crm_id` is the vendor's internal id, numbered per account (the database
primary key is ours and never leaves the emulator).
"""

from django.db import IntegrityError, models, transaction
from django.db.models import Max


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
    slow_body_ms = models.PositiveIntegerField(default=3000)

    class Meta:
        verbose_name = "RetailCRM emulator account"

    def __str__(self):
        return self.code

    def site_codes(self) -> list[str]:
        return list((self.references or {}).get("sites", {}))


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

    @classmethod
    def next_crm_id(cls, account) -> int:
        """Next vendor id for this account. Callers run inside the write
        transaction (SQLite IMMEDIATE serialises writers; the unique
        constraint catches a race elsewhere)."""
        current = cls.objects.filter(account=account).aggregate(top=Max("crm_id"))["top"]
        return (current or 0) + 1

    @classmethod
    def create_numbered(cls, account, build_doc, **fields):
        """Create a row under the next id. Two requests served at once (several
        web processes on PostgreSQL) can read the same maximum; the loser of
        the unique constraint takes the next number instead of answering 500,
        as the real API never does."""
        for _attempt in range(50):
            crm_id = cls.next_crm_id(account)
            try:
                with transaction.atomic():
                    return cls.objects.create(account=account, crm_id=crm_id,
                                              doc=build_doc(crm_id), **fields)
            except IntegrityError:
                continue
        raise IntegrityError(f"no free {cls.__name__} id for account {account.pk}")


class User(AccountOwned):
    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "crm_id"], name="rc_user_unique")
        ]

    def __str__(self):
        return f"user {self.crm_id} ({self.account_id})"


class Customer(AccountOwned):
    external_id = models.CharField(max_length=100, blank=True, default="")
    site = models.CharField(max_length=100)
    email = models.CharField(max_length=200, blank=True, default="", db_index=True)
    # Lower-cased names plus the digits of every phone: what `filter[name]`
    # searches (§8.1: it matches names *and* phones).
    search_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "crm_id"], name="rc_customer_unique")
        ]
        indexes = [models.Index(fields=["account", "site", "external_id"])]

    def __str__(self):
        return f"customer {self.crm_id} ({self.site})"


class Order(AccountOwned):
    customer_crm_id = models.PositiveIntegerField(null=True)
    number = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100, blank=True, default="")
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
        ]

    def __str__(self):
        return f"order {self.number}"


class Note(AccountOwned):
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
