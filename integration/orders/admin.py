"""Order watch per shop: switches, problem statuses, the cursor, "Poll now";
and the read-only local order copies."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integration.analytics.reports import product_names_of
from integration.console.mixins import ReadOnlyAdminMixin, TenantScopedAdminMixin
from integration.console.time_zone import shop_time
from integration.core.formatting import money, shop_datetime_zoned, status_shown
from integration.models import LocalOrder, OrderWatch
from integration.orders.choices import (
    chosen_status_label,
    chosen_status_names,
    proactive_department_choices,
    problem_status_choices,
    problem_statuses_in_force,
    status_names,
)
from integration.vendors.errors import shown_text


class OrderWatchForm(forms.ModelForm):
    problem_statuses = forms.MultipleChoiceField(
        label=_("Problem statuses"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("An order entering one of these gets a proactive ticket (once per order "
                    "and status). A status just created in RetailCRM appears here within a "
                    "minute."))

    class Meta:
        model = OrderWatch
        fields = ("shop", "enabled", "proactive_tickets", "notify_customer", "problem_statuses",
                  "hde_department_id")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        shop = self.instance.shop if self.instance.pk else None
        choices, error = problem_status_choices(shop) if shop else ([], "")
        self.offered = dict(choices)
        chosen = problem_statuses_in_force(self.instance, self.offered)
        # A chosen status RetailCRM no longer lists stays visible (and
        # removable), by the name it had; while RetailCRM can't be read,
        # nobody knows, so it is not said to be gone.
        choices += [(code, chosen_status_label(self.instance, code, gone=not error))
                    for code in chosen if code not in self.offered]
        field = self.fields["problem_statuses"]
        field.choices = choices
        self.initial["problem_statuses"] = chosen
        if error:
            field.help_text = error
        elif not shop:
            field.help_text = _("Save first: the statuses come from the shop's RetailCRM.")
        departments = proactive_department_choices(shop)
        if departments and "hde_department_id" in self.fields:
            self.fields["hde_department_id"] = forms.TypedChoiceField(
                label=_("HDE department for proactive tickets"), required=False, coerce=int,
                empty_value=None, choices=[("", _("HDE default")), *departments])

    def clean_problem_statuses(self):
        chosen = list(self.cleaned_data.get("problem_statuses") or [])
        self.instance.problem_status_names = chosen_status_names(
            self.offered, chosen, self.instance.problem_status_names or {})
        return chosen


@admin.register(OrderWatch)
class OrderWatchAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    form = OrderWatchForm
    # The history cursor stays on the page (under "Polling"), not in the list:
    # a number nobody acts on.
    list_display = ("shop", "enabled", "proactive_tickets", "notify_customer",
                    "last_poll", "last_poll_records", "poll_health")
    list_filter = ("enabled", "proactive_tickets")
    list_select_related = ("shop",)
    # In words: RetailCRM's history cursor (a record id) and the poll's lease
    # (a timestamp) mean nothing to a shop admin; "watching since" and "a
    # poll is running now" say what they stand for.
    readonly_fields = ("watching_since", "poll_running", "last_poll", "last_success",
                       "last_poll_records", "last_error_words")
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

    @admin.display(description=_("last poll"), ordering="last_poll_at")
    def last_poll(self, watch):
        """In the shop's zone, the zone written after it (one list, many shops)."""
        return shop_time(watch.last_poll_at, watch.shop)

    @admin.display(description=_("watching since"))
    def watching_since(self, watch):
        """When the watch started reading RetailCRM's history (changes before
        it are not replayed)."""
        if watch.started_at is None:
            return _("not started yet: the first poll starts from that moment")
        return shop_time(watch.started_at, watch.shop)

    @admin.display(description=_("poll running now"))
    def poll_running(self, watch):
        """In words: Django's red cross for "no" read as an error."""
        from django.utils import timezone

        running = watch.lease_until is not None and watch.lease_until > timezone.now()
        return _("yes") if running else _("no")

    @admin.display(description=_("last successful poll"), ordering="last_success_at")
    def last_success(self, watch):
        return shop_time(watch.last_success_at, watch.shop)

    @admin.display(description=_("last error"))
    def last_error_words(self, watch):
        """Stored as fixed words (or the vendor's own), read in the reader's language."""
        return shown_text(watch.last_error) if watch.last_error else "—"

    @admin.display(description=_("health"))
    def poll_health(self, watch):
        if watch.last_error:
            return _("failing: %(error)s") % {"error": shown_text(watch.last_error)[:120]}
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
        if not queued:
            self.message_user(request, _("Nothing was queued: you may only poll the shops "
                                         "you edit."), messages.WARNING)
            return
        self.message_user(request, ngettext("Queued a poll for %(n)d shop.",
                                            "Queued a poll for %(n)d shops.", queued)
                          % {"n": queued}, messages.SUCCESS)


@admin.register(LocalOrder)
class LocalOrderAdmin(ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("number", "shop", "status_in_words", "total_shown", "created", "synced")
    list_filter = (("shop", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("number",)
    list_select_related = ("shop",)
    # The detail page in words: the status by name, the sum in the shop's
    # currency, the products by name (codes and ids stay in the database).
    fields = ("number", "shop", "status_in_words", "total_shown", "products", "created", "synced")
    readonly_fields = fields

    def get_list_display(self, request):
        # Status names are read once per shop per page, not once per row.
        self._status_names = {}
        return super().get_list_display(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._status_names = {}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("status"), ordering="status")
    def status_in_words(self, order):
        """RetailCRM's name of the status; while RetailCRM can't be read, or
        once the status has left its book, the name it had when the order
        was read; "unnamed status" when nothing ever named it (never the
        code)."""
        names = getattr(self, "_status_names", {})
        if order.shop_id not in names:
            names[order.shop_id] = status_names(order.shop)
        if order.status not in names[order.shop_id] and (order.shop_id, "again") not in names:
            # A status created after the books were cached: read them again,
            # once per shop on this page.
            names[(order.shop_id, "again")] = True
            names[order.shop_id] = status_names(order.shop, naming={order.status})
        if not order.status:
            return "—"
        return status_shown(names[order.shop_id].get(order.status) or order.status_name)

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, order):
        """In the shop's zone, the zone written (one list holds several shops)."""
        return shop_datetime_zoned(order.created_at, order.shop.timezone) or "—"

    @admin.display(description=_("read from RetailCRM at"), ordering="synced_at")
    def synced(self, order):
        return shop_datetime_zoned(order.synced_at, order.shop.timezone) or "—"

    @admin.display(description=_("total"), ordering="total")
    def total_shown(self, order):
        return money(order.total, order.currency or order.shop.currency)

    @admin.display(description=_("products"))
    def products(self, order):
        names = product_names_of(shop=order.shop, product_ids=order.product_ids or [])
        unnamed = str(_("unnamed product"))
        shown = [names.get(str(pid)) or unnamed for pid in order.product_ids or []]
        return ", ".join(shown) or "—"
