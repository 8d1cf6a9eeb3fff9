"""What a widget link may show and do: the customers in its scope and the
forms the server handed out.

A signed link names one ticket, never a customer: which customers that
ticket's card may show is decided here, on the server, from what the
portal itself found (the requester's lookup chain, an operator's search
inside the shop's stores, a customer the card created). A form of the card
is good for one submission of one action on one customer, because the
nonce it carries was issued with the page and is spent on use.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet


class ScopeReason(models.TextChoices):
    REQUESTER = "requester", _("the ticket's requester")
    CANDIDATE = "candidate", _("one of several matches for the requester")
    SEARCH = "search", _("found by the operator's search")
    CREATED = "created", _("created from the card")


class WidgetScope(models.Model):
    """One customer a ticket's card may show (and act on)."""

    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="widget_scopes", verbose_name=_("shop"))
    ticket_id = models.PositiveBigIntegerField(_("HDE ticket id"))
    customer_id = models.PositiveBigIntegerField(_("RetailCRM customer id"))
    reason = models.CharField(_("why"), max_length=12, choices=ScopeReason.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer in a card's scope")
        verbose_name_plural = _("customers in cards' scope")
        constraints = [models.UniqueConstraint(fields=["shop", "ticket_id", "customer_id"],
                                               name="widget_scope_unique")]

    def __str__(self):
        return f"#{self.ticket_id} → {self.customer_id} ({self.reason})"


class WidgetNonce(models.Model):
    """A form served with a card page: spent by its one submission. Only a
    hash is kept, so the table cannot be replayed from a database copy."""

    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="widget_nonces")
    ticket_id = models.PositiveBigIntegerField()
    action = models.CharField(max_length=20)
    customer_id = models.PositiveBigIntegerField(null=True, blank=True)
    value_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("widget form")
        verbose_name_plural = _("widget forms")

    def __str__(self):
        return f"#{self.ticket_id} {self.action}"
