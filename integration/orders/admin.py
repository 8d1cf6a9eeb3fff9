"""Order watch per shop: switches, problem statuses, the cursor, "Poll now";
and the read-only local order copies."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from integration.console.mixins import ReadOnlyAdminMixin, TenantScopedAdminMixin
from integration.models import LocalOrder, OrderWatch
from integration.vendors.errors import ApiError


def status_choices(shop) -> tuple[list[tuple[str, str]], str]:
    """The shop's RetailCRM statuses as (code, "Name (code)"), from the
    hour-long cache; an unreachable RetailCRM gives the error instead."""
    from integration.orders.watch import order_statuses_get
    from integration.vendors.retailcrm import RetailCrmClient

    connection = getattr(shop, "retailcrm", None) if shop else None
    if connection is None:
        return [], str(_("RetailCRM is not connected for this shop."))
    try:
        statuses = order_statuses_get(RetailCrmClient.for_connection(connection,
                                                                     interactive=True))
    except ApiError as error:
        return [], str(_("RetailCRM statuses are unavailable: %(error)s") % {"error": error})
    ordered = sorted(statuses.values(), key=lambda s: (s.ordering, s.code))
    return [(s.code, f"{s.name} ({s.code})") for s in ordered if s.active], ""


def department_choices(shop) -> list[tuple[str, str]]:
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    connection = getattr(shop, "helpdeskeddy", None) if shop else None
    if connection is None:
        return []
    try:
        refs = HelpDeskEddyClient.for_connection(connection, interactive=True).departments()
    except ApiError:
        return []
    return [(str(ref.id), ref.name) for ref in refs]


class OrderWatchForm(forms.ModelForm):
    problem_statuses = forms.MultipleChoiceField(
        label=_("Problem statuses"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("An order entering one of these gets a proactive ticket (once per order "
                    "and status)."))

    class Meta:
        model = OrderWatch
        fields = ("shop", "enabled", "proactive_tickets", "notify_customer", "problem_statuses",
                  "hde_department_id")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        shop = self.instance.shop if self.instance.pk else None
        choices, error = status_choices(shop) if shop else ([], "")
        chosen = list(self.instance.problem_statuses or [])
        known = {code for code, _label in choices}
        # A chosen status RetailCRM no longer lists stays visible (and removable).
        gone = _("not in RetailCRM")  # outside the f-string so makemessages finds it
        choices += [(code, f"{code} ({gone})") for code in chosen if code not in known]
        field = self.fields["problem_statuses"]
        field.choices = choices
        self.initial.setdefault("problem_statuses", chosen)
        if error:
            field.help_text = error
        elif not shop:
            field.help_text = _("Save first: the statuses come from the shop's RetailCRM.")
        departments = department_choices(shop)
        if departments and "hde_department_id" in self.fields:
            self.fields["hde_department_id"] = forms.TypedChoiceField(
                label=_("HDE department for proactive tickets"), required=False, coerce=int,
                empty_value=None, choices=[("", _("HDE default")), *departments])

    def clean_problem_statuses(self):
        return list(self.cleaned_data.get("problem_statuses") or [])


@admin.register(OrderWatch)
class OrderWatchAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    form = OrderWatchForm
    list_display = ("shop", "enabled", "proactive_tickets", "notify_customer", "since_id",
                    "last_poll_at", "last_poll_records", "poll_health")
    list_filter = ("enabled", "proactive_tickets")
    list_select_related = ("shop",)
    readonly_fields = ("since_id", "started_at", "last_poll_at", "last_success_at",
                       "last_poll_records", "last_error", "lease_until")
    actions = ["poll_now"]

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ("shop", "enabled", "proactive_tickets", "notify_customer",
                               "problem_statuses", "hde_department_id")}),
            (_("Polling"), {"fields": self.readonly_fields}),
        ]

    def get_readonly_fields(self, request, obj=None):
        # The shop of an existing watch never changes (one watch per shop).
        return (*self.readonly_fields, "shop") if obj else self.readonly_fields

    @admin.display(description=_("health"))
    def poll_health(self, watch):
        if watch.last_error:
            return _("failing: %(error)s") % {"error": watch.last_error[:120]}
        if watch.since_id is None:
            return _("not started")
        return _("ok")

    @admin.action(description=_("Poll now"), permissions=["change"])
    def poll_now(self, request, queryset):
        """Queued, not run here: a catch-up can take minutes and the queue
        holds the shop's lease like any scheduled poll."""
        from integration.orders.watch import order_watch_enqueue

        queued = 0
        for watch in queryset.select_related("shop")[:50]:
            if not self._may_edit(request, watch):
                continue
            order_watch_enqueue(shop_id=watch.shop_id)
            queued += 1
        self.message_user(request, _("Queued a poll for %(n)d shop(s).") % {"n": queued},
                          messages.SUCCESS)


@admin.register(LocalOrder)
class LocalOrderAdmin(ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("number", "shop", "customer_id", "status", "status_group", "total",
                    "currency", "created_at", "synced_at")
    list_filter = ("status_group", ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("number",)
    list_select_related = ("shop",)
