"""Reply templates an operator inserts from the widget, and the record of
what was sent.

A template is plain text with `{{ group.name }}` variables filled from the
customer context (see `integration.replies.service`). Its conditions only
decide what the widget offers first: an operator may still send a template
whose conditions do not hold, but never one whose variables are empty.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet
from integration.models.tenancy import Language


class ReplyTemplate(models.Model):
    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="reply_templates", verbose_name=_("shop"))
    name = models.CharField(_("name"), max_length=120)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices,
                                default=Language.RU)
    body = models.TextField(
        _("text"),
        help_text=_("Plain text. Variables such as {{ order.number }} are filled in for the "
                    "ticket's customer; the list is below."))
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    # Conditions: all that are set must hold for the widget to suggest it.
    order_required = models.BooleanField(
        _("only when there is an order"), default=False,
        help_text=_("The order named in the ticket, or the customer's newest active order."))
    order_status_groups = models.CharField(
        _("only when the order is in status groups"), max_length=200, blank=True, default="",
        help_text=_("RetailCRM status group codes, comma-separated: new, approval, assembling, "
                    "delivery, complete, cancel."))
    vip_only = models.BooleanField(_("only for VIP customers"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["shop", "language", "position", "pk"]

    def __str__(self):
        return self.name

    @property
    def status_groups(self) -> list[str]:
        return [code.strip() for code in self.order_status_groups.split(",") if code.strip()]

    @property
    def has_conditions(self) -> bool:
        return bool(self.order_required or self.status_groups or self.vip_only)


class ReplyKind(models.TextChoices):
    POST = "post", _("Public reply")
    COMMENT = "comment", _("Internal comment")


class SentReply(models.Model):
    """One template sent to an HDE ticket, keyed like its side effect so a
    double submit records (and sends) it once."""

    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="sent_replies", verbose_name=_("shop"))
    ticket = models.ForeignKey("integration.TicketRecord", on_delete=models.CASCADE,
                               related_name="sent_replies", verbose_name=_("ticket"))
    template = models.ForeignKey(ReplyTemplate, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+", verbose_name=_("template"))
    template_name = models.CharField(_("template"), max_length=120)
    kind = models.CharField(_("sent as"), max_length=8, choices=ReplyKind.choices)
    order_number = models.CharField(_("order"), max_length=40, blank=True, default="")
    text = models.TextField(_("text"))
    hde_message_id = models.CharField(_("HDE post/comment id"), max_length=40, blank=True,
                                      default="")
    key = models.CharField(max_length=200)
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("sent reply")
        verbose_name_plural = _("sent replies")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="sent_reply_shop_key_unique")
        ]

    def __str__(self):
        return f"{self.template_name} → #{self.ticket.ticket_id}"
