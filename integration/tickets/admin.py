"""Automation settings, field mappings and priority rules, with pickers
filled from the shop's HDE account, a dry run over recent tickets and a
"try with e-mail" explainer."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from integration.console.mixins import TenantScopedAdminMixin, TenantScopedInlineMixin
from integration.console.review import ReviewMarkMixin
from integration.models import (
    FieldMapping,
    PriorityRule,
    RuleCondition,
    ShopSettings,
    WidgetField,
)
from integration.tenancy.access import shops_for_user, shops_with_personal_data
from integration.tickets.rules_preview import rules_dry_run, rules_try_email
from integration.vendors.helpdeskeddy_choices import hde_choices_get

PICKED = {
    "normal_priority_id": "priorities", "high_priority_id": "priorities",
    "set_priority_id": "priorities", "crm_card_field_id": "custom_fields",
    "hde_field_id": "custom_fields", "set_field_id": "custom_fields",
}


def with_hde_pickers(form_class, shop):
    """A form class whose HDE id fields are dropdowns of names when the
    shop's HDE lists can be read, and plain numbers (with the reason) when
    they cannot."""
    if shop is None:
        return form_class
    choices = hde_choices_get(shop=shop)

    class PickerForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for name, source in PICKED.items():
                if name not in self.fields:
                    continue
                original = self.fields[name]
                if not choices.available:
                    original.help_text = choices.error
                    continue
                options = [("", "—")] + [(str(i), label)
                                         for i, label in getattr(choices, source)]
                self.fields[name] = forms.TypedChoiceField(
                    choices=options, coerce=int, empty_value=None, required=original.required,
                    label=original.label, help_text=original.help_text)

    return PickerForm


class ShopSettingsInline(TenantScopedInlineMixin, admin.StackedInline):
    model = ShopSettings
    can_delete = False
    extra = 1
    max_num = 1
    exclude = ("widget_link_salt",)
    verbose_name_plural = _("Automation settings")

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
    """Conditions are reached only through their (scoped) rule."""

    model = RuleCondition
    extra = 1
    fields = ("field", "operator", "value")


class ShopPickForm(forms.Form):
    shop = forms.ModelChoiceField(queryset=None, label=_("Shop"))
    limit = forms.IntegerField(label=_("Last tickets"), min_value=1, max_value=200, initial=20,
                               required=False)
    email = forms.EmailField(label=_("Customer e-mail"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Both screens read real customers: only shops whose personal data
        # the user may read (owners and admins; integration.tenancy.access).
        self.fields["shop"].queryset = shops_with_personal_data(user)


@admin.register(PriorityRule)
class PriorityRuleAdmin(ReviewMarkMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    review_kind = "rules"
    list_display = ("name", "shop", "position", "active", "match", "set_priority_id", "add_tags",
                    "stop")
    list_editable = ("position", "active")
    list_filter = (("shop", admin.RelatedOnlyFieldListFilter), "active")
    search_fields = ("name",)
    inlines = [RuleConditionInline]
    fields = ("shop", "position", "name", "active", "match", "set_priority_id", "add_tags",
              "set_field_id", "set_field_value", "stop")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return with_hde_pickers(form, obj.shop if obj else None)

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

    def dry_run_view(self, request):
        """What the rules would do to the shop's last N tickets (no writes)."""
        self._customer_screen_allowed(request)
        form = ShopPickForm(request.GET or None, user=request.user)
        rows = None
        if request.GET and form.is_valid():
            rows = rules_dry_run(shop=form.cleaned_data["shop"],
                                 limit=form.cleaned_data["limit"] or 20)
        return render(request, "admin/integration/priorityrule/dry_run.html", {
            **self.admin_site.each_context(request), "title": _("Dry run of priority rules"),
            "form": form, "rows": rows, "opts": self.model._meta})

    def try_email_view(self, request):
        """The decision for one customer, and why: each rule, each condition."""
        self._customer_screen_allowed(request)
        form = ShopPickForm(request.GET or None, user=request.user)
        result = None
        if request.GET and form.is_valid():
            if not form.cleaned_data["email"]:
                messages.error(request, _("Type a customer e-mail."))
            else:
                result = rules_try_email(shop=form.cleaned_data["shop"],
                                         email=form.cleaned_data["email"])
        return render(request, "admin/integration/priorityrule/try_email.html", {
            **self.admin_site.each_context(request), "title": _("Try the rules with an e-mail"),
            "form": form, "result": result, "opts": self.model._meta})
