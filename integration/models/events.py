"""Inbound events: every webhook or polled change is stored before processing."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet


class EventState(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    DONE = "done", _("Done")
    IGNORED = "ignored", _("Ignored")
    PARKED = "parked", _("Parked: connection needs attention")
    DEAD = "dead", _("Dead: gave up")


class EventSource(models.TextChoices):
    HDE_WEBHOOK = "hde", _("HDE webhook")
    RETAILCRM_TRIGGER = "retailcrm", _("RetailCRM trigger")
    RETAILCRM_HISTORY = "retailcrm_history", _("RetailCRM order history")
    RECONCILE = "reconcile", _("Reconciliation")


class EventType(models.TextChoices):
    """What happened, as a person names it (the codes are the handlers')."""

    NEW_TICKET = "new_ticket", _("New ticket")
    NEW_REPLY = "new_reply", _("New reply")
    TICKET_CHANGED = "ticket_changed", _("Ticket changed")
    ORDER_CHANGED = "order_changed", _("Order changed")


class InboundEvent(models.Model):
    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="events", verbose_name=_("shop")
    )
    source = models.CharField(_("source"), max_length=20, choices=EventSource.choices)
    source_key = models.CharField(
        _("source key"), max_length=200,
        help_text=_("Identifies the delivery; a repeated delivery with the same key is a no-op."),
    )
    event_type = models.CharField(_("event type"), max_length=60, blank=True, default="",
                                  choices=EventType.choices)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=EventState.choices, default=EventState.PENDING,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("inbound event")
        verbose_name_plural = _("inbound events")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "source", "source_key"], name="event_shop_source_key_unique"
            )
        ]

    def __str__(self):
        """The admin's title for the event: what happened and where it
        stands, in words (never the delivery key or a state code)."""
        what = self.get_event_type_display() or self.get_source_display()
        return f"{what} · {self.get_state_display()}"


class AttemptOutcome(models.TextChoices):
    """How one processing try ended, as a person reads it."""

    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    IGNORED = "ignored", _("Ignored: nothing to do")
    RETRY = "retry", _("Failed, will retry")
    PARKED = "parked", _("Parked: connection needs attention")
    DEAD = "dead", _("Failed, gave up")
    INTERRUPTED = "interrupted", _("Interrupted: the worker stopped")


class EventAttempt(models.Model):
    """One processing try of an inbound event: when, how long, how it ended,
    the error and the number of vendor calls it made.

    The event itself keeps only its current state (`last_error` is the latest
    try's and a replay starts it over); this is the history a person reads
    to see why a ticket took three tries. Numbers run on across replays."""

    event = models.ForeignKey(InboundEvent, on_delete=models.CASCADE, related_name="attempt_log",
                              verbose_name=_("inbound event"))
    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="event_attempts", verbose_name=_("shop"))
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration, ms"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=AttemptOutcome.choices,
                               default=AttemptOutcome.RUNNING)
    error = models.TextField(_("error"), blank=True, default="")
    calls = models.PositiveIntegerField(_("vendor calls"), default=0)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("processing attempt")
        verbose_name_plural = _("processing attempts")
        ordering = ["event", "number"]
        constraints = [models.UniqueConstraint(fields=["event", "number"],
                                               name="event_attempt_number_unique")]

    def __str__(self):
        return f"{self.number} · {self.get_outcome_display()}"
