"""Observability: one ApiCall row per outbound vendor call."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet


class Provider(models.TextChoices):
    RETAILCRM = "retailcrm", "RetailCRM"
    HELPDESKEDDY = "helpdeskeddy", "HelpDeskEddy"


class CallOutcome(models.TextChoices):
    """How a call ended, as a person reads it (integration.vendors.errors
    sets the codes)."""

    OK = "ok", _("Success")
    TIMEOUT = "timeout", _("No answer in time")
    HOST_ERROR = "host_error", _("Host unreachable")
    REFUSED_BY_POLICY = "refused_by_policy", _("Refused by the outbound policy")
    SERVER_ERROR = "server_error", _("Vendor server error")
    UNEXPECTED = "unexpected", _("Unexpected answer")
    UNAUTHORIZED = "unauthorized", _("Key refused")
    ACCESS_DENIED = "access_denied", _("Access denied")
    NOT_FOUND = "not_found", _("Not found")
    VALIDATION = "validation", _("Refused as invalid")
    RATE_LIMITED = "rate_limited", _("Vendor rate limit")
    BANNED = "banned", _("Account blocked by the vendor")
    THROTTLED = "throttled", _("Held back by the portal's pacing")
    BUSY = "busy", _("Another worker was making the same change")
    ERROR = "error", _("Failed")


class ApiCall(models.Model):
    """What the portal asked a vendor, how it went and why. Never holds a key
    or a person's e-mail, phone or name: paths are stored with secrets
    blanked and personal values as keyed hashes (integration.vendors.
    call_log), and errors are redacted."""

    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="api_calls",
        verbose_name=_("shop"),
    )
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=40, default="ok",
                               choices=CallOutcome.choices)
    duration_ms = models.PositiveIntegerField(_("duration, ms"), default=0)
    error = models.TextField(_("error"), blank=True, default="")
    rate_limit_remaining = models.IntegerField(_("rate limit remaining"), null=True, blank=True)
    interactive = models.BooleanField(_("interactive"), default=False)
    event = models.ForeignKey(
        "integration.InboundEvent", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="api_calls", verbose_name=_("caused by event"),
    )
    request_id = models.CharField(_("widget request"), max_length=40, blank=True, default="")
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shop", "provider", "-created_at"])]

    def __str__(self):
        return f"{self.get_provider_display()} {self.method} {self.path} · " \
               f"{self.get_outcome_display()}"


class WidgetChannel(models.TextChoices):
    PAGE = "page", _("Card")
    API = "api", _("JSON API")


class WidgetOutcome(models.TextChoices):
    """How a card or API answer ended (the customer context's status)."""

    FOUND = "found", _("Customer found")
    SEVERAL = "several", _("Several customers: choice offered")
    UNKNOWN = "unknown", _("No customer found")
    UNAVAILABLE = "unavailable", _("RetailCRM unavailable")


class WidgetRequest(models.Model):
    """One operator look at the widget: how long it took, whether the cache
    answered, and how it ended (for the console's health view: widget p95)."""

    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="widget_requests",
        verbose_name=_("shop"),
    )
    request_id = models.CharField(_("request id"), max_length=40, db_index=True)
    channel = models.CharField(_("channel"), max_length=8, default="page",
                               choices=WidgetChannel.choices)
    duration_ms = models.PositiveIntegerField(_("duration, ms"))
    cache_hit = models.BooleanField(_("cache hit"), default=False)
    outcome = models.CharField(_("outcome"), max_length=20, choices=WidgetOutcome.choices)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("widget request")
        verbose_name_plural = _("widget requests")
        ordering = ["-created_at"]

    def __str__(self):
        return _("%(outcome)s in %(ms)d ms") % {"outcome": self.get_outcome_display(),
                                                  "ms": self.duration_ms}
