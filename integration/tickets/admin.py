"""Automation settings, field mappings and priority rules, with pickers
filled from the shop's HDE account, a dry run over recent tickets and a
"try with e-mail" explainer."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.console.mixins import TenantScopedAdminMixin, TenantScopedInlineMixin
from integration.console.review import ReviewMarkMixin
from integration.customers.choices import retailcrm_choices_get
from integration.models import (
    FieldMapping,
    PriorityRule,
    RuleCondition,
    ShopSettings,
    WidgetField,
)
from integration.tenancy.access import shops_for_user, shops_with_personal_data
from integration.tickets.condition_form import condition_form_for
from integration.tickets.rules_preview import rules_dry_run, rules_try_email
from integration.tickets.rules_text import rule_names_get, trace_lines
from integration.vendors.helpdeskeddy_choices import hde_choices_get

# Form fields holding a vendor's id, and the list of names offered instead:
# (vendor, list). The RetailCRM lists are read only for forms that have
# such a field (the rules page needs none).
PICKED = {
    "normal_priority_id": ("hde", "priorities"), "high_priority_id": ("hde", "priorities"),
    "set_priority_id": ("hde", "priorities"), "crm_card_field_id": ("hde", "custom_fields"),
    "hde_field_id": ("hde", "custom_fields"), "set_field_id": ("hde", "custom_fields"),
    "fallback_manager_id": ("retailcrm", "managers"),
}
# Labels for picked fields whose stored label speaks of an id.
PICKED_LABELS = {"fallback_manager_id": _("Fallback RetailCRM manager")}


def with_hde_pickers(form_class, shop):
    """A form class whose vendor id fields are dropdowns of names when the
    shop's lists can be read (HDE's priorities and fields, RetailCRM's
    managers), and plain numbers (with the reason) when they cannot."""
    if shop is None:
        return form_class
    readers = {"hde": lambda shop: hde_choices_get(shop=shop, picking=True),
               "retailcrm": lambda shop: retailcrm_choices_get(shop=shop, picking=True)}
    lists = {}  # read on first use, once for all forms of the formset

    def choices_of(vendor):
        if vendor not in lists:
            lists[vendor] = readers[vendor](shop=shop)
        return lists[vendor]

    class PickerForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for name in [name for name in PICKED if name in self.fields]:
                vendor, source = PICKED[name]
                choices, original = choices_of(vendor), self.fields[name]
                if not choices.available:
                    original.help_text = choices.error
                    continue
                options = [("", "—")] + [(str(i), label) for i, label in getattr(choices, source)]
                current = self.initial.get(name)
                if current not in (None, "") and not choices.name_of(source, current):
                    # Gone from the vendor's list (deleted, deactivated): say
                    # so rather than silently emptying the field on save.
                    options.append((str(current), gettext("(no longer in the list)")))
                self.fields[name] = forms.TypedChoiceField(
                    choices=options, coerce=int, empty_value=None, required=original.required,
                    label=PICKED_LABELS.get(name, original.label), help_text=original.help_text)

    return PickerForm


class ShopSettingsInline(TenantScopedInlineMixin, admin.StackedInline):
    """What a shop admin decides, with the internals (the order number
    pattern, the cache lifetime, the reconciliation cursor, the store code
    for new customers) folded under "Advanced"."""

    model = ShopSettings
    can_delete = False
    extra = 1
    max_num = 1
    verbose_name_plural = _("Automation settings")
    fieldsets = (
        (None, {"fields": ("normal_priority_id", "high_priority_id", "crm_card_field_id",
                           "create_unknown_customers", "note_on_ticket",
                           "task_for_orders_in_delivery", "fallback_manager_id",
                           "closing_note", "widget_link_days")}),
        (_("Advanced"), {"classes": ("collapse",),
                         "fields": ("order_number_pattern", "context_ttl_seconds",
                                    "customer_site_code", "reconciled_until")}),
    )

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = with_hde_pickers(self.form, obj)
        return super().get_formset(request, obj, **kwargs)


class FieldMappingInline(TenantScopedInlineMixin, admin.TabularInline):
    model = FieldMapping
    extra = 0
    fields = ("position", "value", "hde_field_id")
    verbose_name_plural = _("RetailCRM values copied into HDE ticket fields")

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = with_hde_pickers(self.form, obj)
        return super().get_formset(request, obj, **kwargs)


class WidgetFieldInline(TenantScopedInlineMixin, admin.TabularInline):
    model = WidgetField
    extra = 0
    fields = ("position", "value", "custom_field_code", "label")
    verbose_name_plural = _("Widget profile: fields, labels and order (empty: the default)")


class RuleConditionInline(admin.TabularInline):
    """Conditions are reached only through their (scoped) rule. Operators
    follow the field; statuses, groups, departments and types are picked by
    name (integration.tickets.condition_form)."""

    model = RuleCondition
    extra = 1
    fields = ("field", "operator", "value")

    def get_formset(self, request, obj=None, **kwargs):
        shop = self.admin_site._registry[PriorityRule].rule_shop(request, obj)
        names = rule_names_get(shop=shop, picking=True) if shop is not None else None
        kwargs["form"] = condition_form_for(names)
        return super().get_formset(request, obj, **kwargs)


class ShopChoiceForm(forms.Form):
    shop = forms.ModelChoiceField(queryset=None, label=_("Shop"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Both screens read real customers: only shops whose personal data
        # the user may read (owners and admins; integration.tenancy.access).
        self.fields["shop"].queryset = shops_with_personal_data(user)


class DryRunForm(ShopChoiceForm):
    limit = forms.IntegerField(label=_("Last tickets"), min_value=1, max_value=200, initial=20,
                               required=False)


class TryEmailForm(ShopChoiceForm):
    email = forms.EmailField(label=_("Customer e-mail"))


@admin.register(PriorityRule)
class PriorityRuleAdmin(ReviewMarkMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    review_kind = "rules"
    list_display = ("name", "shop", "position", "active", "match", "priority_shown", "add_tags",
                    "stop")
    list_editable = ("position", "active")
    list_filter = (("shop", admin.RelatedOnlyFieldListFilter), "active")
    search_fields = ("name",)
    inlines = [RuleConditionInline]
    fields = ("shop", "position", "name", "active", "match", "set_priority_id", "add_tags",
              "set_field_id", "set_field_value", "stop")

    class Media:
        js = ("console/rules.js",)

    @admin.display(description=_("set HDE priority"), ordering="set_priority_id")
    def priority_shown(self, rule):
        """The priority's name in HDE (the list is cached an hour)."""
        if rule.set_priority_id is None:
            return "—"
        return rule_names_get(shop=rule.shop, retailcrm=False).priority(rule.set_priority_id)

    def rule_shop(self, request, obj):
        """The shop whose lists the form offers: the rule's own; for a new
        rule, the one chosen (`?shop=`, sent when the choice changes, or the
        filter of the list the "Add" button was pressed on) or the user's
        only shop. Without one, a new rule offered bare id boxes."""
        if obj is not None:
            return obj.shop
        shops = shops_for_user(request.user)
        filters = QueryDict(request.GET.get("_changelist_filters", ""))
        wanted = (request.POST.get("shop") or request.GET.get("shop")
                  or filters.get("shop__id__exact") or "")
        if wanted.isdigit():
            return shops.filter(pk=int(wanted)).first()
        return shops.first() if shops.count() == 1 else None

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        shop = self.rule_shop(request, None)
        if shop is not None:
            initial["shop"] = shop.pk
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return with_hde_pickers(form, self.rule_shop(request, obj))

    def get_urls(self):
        extra = [
            path("dry-run/", self.admin_site.admin_view(self.dry_run_view),
                 name="integration_priorityrule_dry_run"),
            path("try-email/", self.admin_site.admin_view(self.try_email_view),
                 name="integration_priorityrule_try_email"),
        ]
        return extra + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra = {"can_try_rules": shops_with_personal_data(request.user).exists(),
                 **(extra_context or {})}
        return super().changelist_view(request, extra)

    def _customer_screen_allowed(self, request):
        """The dry run names each recent ticket's customer and "try with
        e-mail" looks one up: not for viewers."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if shops_for_user(request.user).exists() and \
                not shops_with_personal_data(request.user).exists():
            raise PermissionDenied  # a viewer (only): nothing here is for them

    def _single_shop_initial(self, request):
        shops = shops_with_personal_data(request.user)
        return {"shop": shops.first()} if shops.count() == 1 else {}

    def dry_run_view(self, request):
        """What the rules would do to the shop's last N tickets (no writes),
        those that would change first, each linked to its HDE page."""
        self._customer_screen_allowed(request)
        form = DryRunForm(request.GET or None, user=request.user,
                          initial=self._single_shop_initial(request))
        rows = names = None
        if request.GET and form.is_valid():
            shop = form.cleaned_data["shop"]
            rows = rules_dry_run(shop=shop, limit=form.cleaned_data["limit"] or 20)
            names = rule_names_get(shop=shop, retailcrm=False)
            for row in rows:
                row.current_name = names.priority(row.current_priority)
                row.decision_name = names.priority(row.decision.priority_id)
        return render(request, "admin/integration/priorityrule/dry_run.html", {
            **self.admin_site.each_context(request), "title": _("Dry run of priority rules"),
            "form": form, "rows": rows, "names": names, "opts": self.model._meta})

    def try_email_view(self, request):
        """The decision for one customer, and why: each rule, each condition,
        each fact as a person reads it."""
        self._customer_screen_allowed(request)
        form = TryEmailForm(request.GET or None, user=request.user,
                            initial=self._single_shop_initial(request))
        context = {"result": None}
        if request.GET and form.is_valid():
            shop = form.cleaned_data["shop"]
            result = rules_try_email(shop=shop, email=form.cleaned_data["email"])
            names = rule_names_get(shop=shop)
            context = {"result": result, "names": names,
                       "lines": trace_lines(result.decision, names),
                       "priority_name": names.priority(result.decision.priority_id)}
        return render(request, "admin/integration/priorityrule/try_email.html", {
            **self.admin_site.each_context(request), "title": _("Try the rules with an e-mail"),
            "form": form, "opts": self.model._meta, **context})
