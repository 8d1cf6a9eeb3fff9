"""Order watch: the per-shop poller state and the compact local order record.

`OrderWatch` is the switchboard and the cursor of one shop's RetailCRM
`orders/history` poll (reference retailcrm-api.md §12). `LocalOrder` is the
portal's own compact copy of each order it has seen change: enough for the
console's analytics (who ordered what, when, for how much, where it stands)
without asking RetailCRM, and small enough to keep for every order.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet

# What a new watch treats as a problem when the account has it (§10: the
# code of the stock "Проблема с доставкой" status).
DEFAULT_PROBLEM_STATUS = "delivery-problem"


class OrderWatch(models.Model):
    shop = models.OneToOneField(
        "integration.Shop", on_delete=models.CASCADE, related_name="order_watch",
        verbose_name=_("shop"),
    )
    enabled = models.BooleanField(
        _("follow order changes"), default=True,
        help_text=_("Poll RetailCRM's order history every minute (triggers work either way)."))
    # The last history id whose records are stored as inbound events; None
    # until the first poll, which starts from "now" instead of replaying years.
    since_id = models.PositiveBigIntegerField(_("history read up to record"), null=True,
                                              blank=True)
    started_at = models.DateTimeField(_("watching since"), null=True, blank=True)
    last_poll_at = models.DateTimeField(_("last poll"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful poll"), null=True, blank=True)
    last_poll_records = models.PositiveIntegerField(_("records in the last poll"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    # Polls in a row that ended without moving the cursor while RetailCRM
    # said more history follows, or failed (docs/vendors/open-questions.md
    # a few in a row show on the shop's health.
    polls_without_progress = models.PositiveIntegerField(_("polls without progress"),
                                                         default=0)
    # A poll holds the shop with one conditional UPDATE of this column; the
    # exact value is also the holder's token (see services.order_watch).
    lease_until = models.DateTimeField(_("poll lease until"), null=True, blank=True)
    # Set by the fan-out when it queues a poll, cleared when the poll takes
    # the lease: a shop whose poll still waits in the queue is not queued
    # again, so a queue that falls behind never grows (bench/scale.py).
    queued_at = models.DateTimeField(_("poll queued at"), null=True, blank=True)
    # RetailCRM status codes. None: not chosen yet, so the first poll picks
    # DEFAULT_PROBLEM_STATUS if the account has it; [] means "none".
    problem_statuses = models.JSONField(_("problem statuses"), null=True, blank=True)
    # RetailCRM's names of the chosen statuses (code → name) as they were
    # when chosen: the form names them while RetailCRM cannot be read and
    # after one has left RetailCRM's book, instead of showing its code.
    problem_status_names = models.JSONField(_("problem status names"), default=dict, blank=True)
    proactive_tickets = models.BooleanField(
        _("open proactive tickets"), default=True,
        help_text=_("On a problem status: a ticket in HelpDeskEddy, or an internal comment on "
                    "the customer's open ticket."))
    notify_customer = models.BooleanField(
        _("notify the customer"), default=False,
        help_text=_("Also send the customer a public reply. Off: only staff see the ticket."))
    hde_department_id = models.PositiveIntegerField(
        _("HDE department for proactive tickets"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("order watch")
        verbose_name_plural = _("order watch")

    def __str__(self):
        return str(self.shop)


class LocalOrder(models.Model):
    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="local_orders",
        verbose_name=_("shop"),
    )
    order_id = models.PositiveBigIntegerField(_("RetailCRM order id"))
    customer_id = models.PositiveBigIntegerField(_("RetailCRM customer id"), null=True,
                                                 blank=True)
    number = models.CharField(_("number"), max_length=40, blank=True, default="")
    created_at = models.DateTimeField(_("created"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=60, blank=True, default="")
    status_group = models.CharField(_("status group"), max_length=60, blank=True, default="")
    # RetailCRM's name of the status when the order was read: what the
    # admin shows while RetailCRM cannot be read, and after the status left
    # RetailCRM's book (never the code).
    status_name = models.CharField(_("status name"), max_length=255, blank=True, default="")
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    product_ids = models.JSONField(_("product ids"), default=list, blank=True)
    # When this copy was read from RetailCRM: an older read never overwrites
    # a newer one, whatever order the events are processed in.
    synced_at = models.DateTimeField(_("read from RetailCRM at"))
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders (local copy)")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "order_id"], name="local_order_unique")
        ]
        indexes = [
            models.Index(fields=["shop", "customer_id"], name="local_order_customer"),
            models.Index(fields=["shop", "status_group"], name="local_order_group"),
        ]

    def __str__(self):
        return self.number or f"#{self.order_id}"


class ProductName(models.Model):
    """What the shop calls a product (an offer, as RetailCRM sells them):
    the name of the offer id that `LocalOrder.product_ids` holds, as the
    newest order read from RetailCRM wrote it. The analytics name products
    with it instead of showing ids; one row per offer, so naming the top
    products of a report is one query."""

    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="product_names",
        verbose_name=_("shop"),
    )
    product_id = models.CharField(_("RetailCRM offer id"), max_length=40)
    name = models.CharField(_("name"), max_length=255)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("product name")
        verbose_name_plural = _("product names")
        constraints = [
            models.UniqueConstraint(fields=["shop", "product_id"], name="product_name_unique")
        ]

    def __str__(self):
        return self.name
