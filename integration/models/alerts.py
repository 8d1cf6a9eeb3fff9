"""Alert state per (shop, condition): when it began and when we last wrote.

Why a table and not the cache: "at most one message per condition per shop
per hour" must hold across every worker process, so the decision to send is a
conditional UPDATE on this row (only one process can move `last_sent_at`),
never a cache get-then-set. The same rows feed the admin banner.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet


class AlertCondition(models.TextChoices):
    KEY_REFUSED = "key_refused", _("API key refused")
    HDE_BAN = "hde_ban", _("HelpDeskEddy ban")
    DEAD_EVENTS = "dead_events", _("Events gave up (dead)")
    BACKLOG_HIGH = "backlog_high", _("Backlog stays high")


class AlertState(models.Model):
    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="alert_states",
        verbose_name=_("shop"),
    )
    condition = models.CharField(_("condition"), max_length=20, choices=AlertCondition.choices)
    # Set while the condition holds (first seen), cleared when it ends.
    active_since = models.DateTimeField(_("active since"), null=True, blank=True)
    detail = models.TextField(_("detail"), blank=True, default="")
    last_sent_at = models.DateTimeField(_("last e-mail"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert state")
        verbose_name_plural = _("alert states")
        constraints = [
            models.UniqueConstraint(fields=["shop", "condition"],
                                    name="alert_shop_condition_unique")
        ]

    def __str__(self):
        return f"{self.shop_id}: {self.condition}"
