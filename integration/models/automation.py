"""Per-shop automation: switches, priority rules, and the ticket records.

The record is the portal's memory of every HDE ticket it handled (which
customer, which order, which priority and why, which side effects are done);
side effects carry idempotency keys recorded *before* the vendor call, so a
retry after a crash looks the result up instead of doing it twice.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet
from integration.core.tenant_regex import validate_tenant_pattern


class ShopSettings(models.Model):
    shop = models.OneToOneField(
        "integration.Shop", on_delete=models.CASCADE, related_name="settings",
        verbose_name=_("shop"),
    )
    # Priorities: HDE ids are per account and not ordered by severity.
    normal_priority_id = models.PositiveIntegerField(
        _("HDE 'normal' priority"), null=True, blank=True)
    high_priority_id = models.PositiveIntegerField(_("HDE 'high' priority"), null=True, blank=True)
    crm_card_field_id = models.PositiveIntegerField(
        _("HDE custom field for the CRM card link"), null=True, blank=True,
        help_text=_("A text field; the portal writes the signed widget link into it."),
    )
    # Reverse flow switches.
    create_unknown_customers = models.BooleanField(
        _("create unknown senders as RetailCRM customers"), default=False)
    note_on_ticket = models.BooleanField(_("note on the RetailCRM customer per ticket"),
                                         default=True)
    task_for_orders_in_delivery = models.BooleanField(
        _("task for the manager when a customer with an order in delivery writes"), default=True)
    closing_note = models.BooleanField(_("note when the ticket is closed"), default=True)
    fallback_manager_id = models.PositiveIntegerField(
        _("fallback RetailCRM manager id"), null=True, blank=True,
        help_text=_("Task performer when the customer has no responsible manager."))
    customer_site_code = models.CharField(
        _("site for new customers"), max_length=100, blank=True, default="")
    # Widget and context.
    order_number_pattern = models.CharField(
        _("order number pattern"), max_length=200, default=r"\b(\d{3,10}[A-Za-zА-Яа-я]{0,3})\b",
        help_text=_("Regular expression that finds an order number in a ticket subject/body."),
        validators=[validate_tenant_pattern],
    )
    context_ttl_seconds = models.PositiveIntegerField(_("context cache TTL, s"), default=60)
    widget_link_days = models.PositiveIntegerField(_("widget link validity, days"), default=30)
    # Part of every link's signature: "Revoke all widget links" on the shop
    # page replaces it (integration.widget.links), never a form field.
    widget_link_salt = models.CharField(max_length=32, blank=True, default="", editable=False)
    # Reconciliation: tickets created up to this moment have been checked
    # against the inbox (HDE gives up retrying a webhook after a day).
    reconciled_until = models.DateTimeField(_("tickets reconciled until"), null=True,
                                            blank=True)
    # The getting-started checklist (integration.onboarding.checklist): when
    # a person last said they reviewed the shop's priority rules and reply
    # templates ("Mark as reviewed", or saving one of them).
    rules_reviewed_at = models.DateTimeField(_("priority rules reviewed"), null=True,
                                             blank=True, editable=False)
    templates_reviewed_at = models.DateTimeField(_("reply templates reviewed"), null=True,
                                                 blank=True, editable=False)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("automation settings")
        verbose_name_plural = _("automation settings")

    def __str__(self):
        return str(self.shop)

    @classmethod
    def of(cls, shop) -> "ShopSettings":
        """The shop's settings, created with defaults on first use. Goes
        through the one-to-one accessor, so a shop object that already loaded
        them (the widget page asks several times) costs no further query."""
        try:
            return shop.settings
        except cls.DoesNotExist:
            settings, _ = cls.objects.get_or_create(shop=shop)
            shop.settings = settings
            return settings


class MatchMode(models.TextChoices):
    ALL = "all", _("all conditions hold")
    ANY = "any", _("any condition holds")


class PriorityRule(models.Model):
    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="priority_rules",
        verbose_name=_("shop"),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    match = models.CharField(_("match when"), max_length=3, choices=MatchMode.choices,
                             default=MatchMode.ALL)
    set_priority_id = models.PositiveIntegerField(_("set HDE priority"), null=True, blank=True)
    add_tags = models.CharField(_("add tags"), max_length=300, blank=True, default="",
                                help_text=_("Comma-separated."))
    set_field_id = models.PositiveIntegerField(_("set HDE custom field"), null=True, blank=True)
    set_field_value = models.CharField(_("to value"), max_length=300, blank=True, default="")
    stop = models.BooleanField(_("stop here"), default=False,
                               help_text=_("Later rules are not evaluated when this one matches."))

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("priority rule")
        verbose_name_plural = _("priority rules")
        ordering = ["shop", "position", "pk"]

    def __str__(self):
        return self.name


class ConditionField(models.TextChoices):
    CUSTOMER_UNKNOWN = "customer_unknown", _("customer is unknown")
    VIP = "vip", _("customer is VIP")
    BAD = "bad", _("customer is flagged bad")
    SEGMENT = "segment", _("customer segment (code)")
    TAG = "tag", _("customer tag")
    ORDERS_COUNT = "orders_count", _("orders count")
    TOTAL_SUM = "total_sum", _("total spent")
    AVERAGE_SUM = "average_sum", _("average order")
    DAYS_SINCE_LAST_ORDER = "days_since_last_order", _("days since last order")
    CUSTOMER_FIELD = "customer_field", _("customer custom field (code=value)")
    ORDER_IN_GROUP = "order_in_group", _("has an order in status group (code)")
    ORDER_IN_STATUS = "order_in_status", _("has an order in status (code)")
    OVERDUE_ORDER = "overdue_order", _("has an overdue order")
    TICKET_ORDER_STATUS = "ticket_order_status", _("order named in the ticket: status (code)")
    TICKET_ORDER_TOTAL = "ticket_order_total", _("order named in the ticket: total")
    DEPARTMENT = "department", _("ticket department (HDE id)")
    TICKET_TYPE = "ticket_type", _("ticket type (HDE id)")
    SUBJECT = "subject", _("ticket subject contains (comma-separated words)")
    CHANNEL = "channel", _("ticket channel (source)")


class Operator(models.TextChoices):
    IS_TRUE = "true", _("is true")
    IS_FALSE = "false", _("is false")
    EQ = "eq", _("equals")
    NEQ = "neq", _("does not equal")
    GTE = "gte", _("at least")
    LTE = "lte", _("at most")
    CONTAINS = "contains", _("contains any of")
    NOT_CONTAINS = "not_contains", _("contains none of")


class RuleCondition(models.Model):
    rule = models.ForeignKey(PriorityRule, on_delete=models.CASCADE, related_name="conditions")
    field = models.CharField(_("field"), max_length=40, choices=ConditionField.choices)
    operator = models.CharField(_("operator"), max_length=12, choices=Operator.choices,
                                default=Operator.IS_TRUE)
    value = models.CharField(_("value"), max_length=300, blank=True, default="")

    class Meta:
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")

    def __str__(self):
        return f"{self.get_field_display()} {self.get_operator_display()} {self.value}".strip()


class TicketRecord(models.Model):
    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="tickets",
        verbose_name=_("shop"),
    )
    ticket_id = models.PositiveBigIntegerField(_("HDE ticket id"))
    unique_id = models.CharField(_("ticket number"), max_length=40, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=300, blank=True, default="")
    hde_user_id = models.PositiveBigIntegerField(_("HDE requester id"), null=True, blank=True)
    customer_id = models.PositiveBigIntegerField(_("RetailCRM customer id"), null=True,
                                                 blank=True)
    customer_created = models.BooleanField(_("customer created by the portal"), default=False)
    order_number = models.CharField(_("linked order"), max_length=40, blank=True, default="")
    priority_id = models.PositiveIntegerField(_("priority set"), null=True, blank=True)
    priority_rule = models.CharField(_("by rule"), max_length=200, blank=True, default="")
    status = models.CharField(_("HDE status"), max_length=40, blank=True, default="")
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    last_portal_update_at = models.DateTimeField(null=True, blank=True)
    # HDE's `date_updated` right after the portal's own PUT: a "ticket changed"
    # webhook carrying this time reflects our write and is ignored (loop guard).
    portal_update_marker = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "ticket_id"], name="ledger_shop_ticket_unique")
        ]

    def __str__(self):
        return f"#{self.unique_id or self.ticket_id}"


class SideEffectState(models.TextChoices):
    STARTED = "started", _("Started")
    DONE = "done", _("Done")


class SideEffect(models.Model):
    """One write to a vendor, keyed (shop, key) e.g. `ticket:42:rcrm_note`.

    `claimed_until` is the lease of whoever is performing a `started` write:
    while it lies in the future another caller waits for the outcome instead
    of writing too; once it passes (the writer died) the next caller takes
    over and looks at the vendor first (`integration.core.side_effects`).
    """

    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="side_effects", verbose_name=_("shop"))
    key = models.CharField(_("key"), max_length=200)
    state = models.CharField(_("state"), max_length=8, choices=SideEffectState.choices,
                             default=SideEffectState.STARTED)
    result = models.CharField(_("result"), max_length=200, blank=True, default="")
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("vendor write")
        verbose_name_plural = _("vendor writes")
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="side_effect_shop_key_unique")
        ]

    def __str__(self):
        return f"{self.key} ({self.state})"


class MappedValue(models.TextChoices):
    CRM_CARD = "crm_card", _("Link to the customer card (signed widget link)")
    CUSTOMER_ID = "customer_id", _("RetailCRM customer id")
    CUSTOMER_NAME = "customer_name", _("Customer name")
    ORDERS_COUNT = "orders_count", _("Orders count")
    TOTAL_SUM = "total_sum", _("Total spent")
    AVERAGE_SUM = "average_sum", _("Average order")
    LAST_ORDER_STATUS = "last_order_status", _("Newest order: status")
    LAST_ORDER_NUMBER = "last_order_number", _("Newest order: number")
    MANAGER = "manager", _("Responsible manager")
    VIP = "vip", _("VIP (1/0)")
    SEGMENTS = "segments", _("Segments")


class FieldMapping(models.Model):
    """Which RetailCRM value goes into which HDE ticket custom field (written
    by the ticket job in the same PUT as the priority)."""

    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="field_mappings", verbose_name=_("shop"))
    value = models.CharField(_("RetailCRM value"), max_length=30, choices=MappedValue.choices)
    hde_field_id = models.PositiveIntegerField(_("HDE custom field"))
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("field mapping")
        verbose_name_plural = _("field mappings")
        ordering = ["shop", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["shop", "hde_field_id"],
                                               name="mapping_shop_field_unique")]

    def __str__(self):
        """The row's title, in words (the HDE field is picked by name on the
        row itself; its id is nobody's name for it)."""
        return _("%(value)s → HDE field") % {"value": self.get_value_display()}


class ProfileValue(models.TextChoices):
    EMAILS = "emails", _("E-mail")
    PHONES = "phones", _("Phone")
    ORDERS_COUNT = "orders_count", _("Orders")
    TOTAL_SUM = "total_sum", _("Spent")
    AVERAGE_SUM = "average_sum", _("Average order")
    CUSTOMER_SINCE = "customer_since", _("Customer since")
    DISCOUNT = "discount", _("Discount")
    SITE = "site", _("Store")
    CUSTOM_FIELD = "custom_field", _("Customer custom field")


class WidgetField(models.Model):
    """What the widget's customer profile shows, in which order and under
    which label; without rows a shop gets the default profile."""

    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="widget_fields", verbose_name=_("shop"))
    value = models.CharField(_("value"), max_length=20, choices=ProfileValue.choices)
    custom_field_code = models.CharField(
        _("RetailCRM custom field code"), max_length=100, blank=True, default="",
        help_text=_("For a customer custom field: its code in RetailCRM."))
    label = models.CharField(_("label"), max_length=100, blank=True, default="",
                             help_text=_("Blank: the standard label."))
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("widget profile field")
        verbose_name_plural = _("widget profile fields")
        ordering = ["shop", "position", "pk"]

    def __str__(self):
        return self.label or self.get_value_display()
