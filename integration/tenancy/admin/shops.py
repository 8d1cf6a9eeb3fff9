"""Shops with their connections, the page a shop admin lives on."""

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from integration.console.forms import WriteOnlySecretForm
from integration.console.mixins import TenantScopedAdminMixin, TenantScopedInlineMixin
from integration.models import (
    ConnectionStatus,
    HelpDeskEddyConnection,
    RetailCrmConnection,
    SecretKind,
    Shop,
    ShopSecret,
)
from integration.onboarding.admin import ShopProbeMixin
from integration.ops.admin.personal_data import ShopPersonalDataMixin
from integration.tenancy.admin.widget_access import ShopWidgetAccessMixin
from integration.tickets.admin import FieldMappingInline, ShopSettingsInline, WidgetFieldInline
from integration.vendors.errors import shown_text


def health_badge(connection) -> str:
    """Coloured by a class (static/console/console.css `.health-*`): the
    console's CSP allows no inline style attributes."""
    if connection is None:
        return format_html('<span class="health-none">{}</span>', _("not connected"))
    return format_html(
        '<span class="health-{}" title="{}">● {}</span>',
        connection.status if connection.status in ConnectionStatus.values else "unknown",
        shown_text(connection.last_error or ""),
        connection.get_status_display(),
    )


class ConnectionInlineBase(TenantScopedInlineMixin, admin.StackedInline):
    form = WriteOnlySecretForm
    extra = 1
    max_num = 1
    can_delete = True
    readonly_fields = ("status", "last_success_at", "last_error_at", "last_error_shown",
                       "consecutive_failures")

    def get_fields(self, request, obj=None):
        """Read-only users (viewers) would get every field rendered as text,
        the decrypted key included: they see the masked hint instead."""
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj):
            fields = ["key_hint" if name == "api_key" else name for name in fields]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "key_hint")

    @admin.display(description=_("last error"))
    def last_error_shown(self, connection):
        """Fixed words in the reader's language; a vendor's text as it came
        (already cut short when stored)."""
        return shown_text(connection.last_error or "") or "—"


class RetailCrmConnectionInline(ConnectionInlineBase):
    model = RetailCrmConnection
    fields = ("base_url", "api_key", "site_code", *ConnectionInlineBase.readonly_fields)


class HelpDeskEddyConnectionInline(ConnectionInlineBase):
    model = HelpDeskEddyConnection
    fields = ("base_url", "agent_email", "api_key", "hde_user_id",
              *ConnectionInlineBase.readonly_fields)
    readonly_fields = (*ConnectionInlineBase.readonly_fields, "hde_user_id")


class ShopSecretInline(TenantScopedInlineMixin, admin.TabularInline):
    """Secrets are listed by hint only; new ones come from the shop actions
    (webhook secrets) and the "Widget links and tokens" page (widget tokens),
    which show the plaintext once."""

    model = ShopSecret
    extra = 0
    fields = ("kind", "hint", "label", "created_at", "created_by", "last_used_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = _("Webhook secrets and widget tokens")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Shop)
class ShopAdmin(ShopProbeMixin, ShopWidgetAccessMixin, ShopPersonalDataMixin,
                TenantScopedAdminMixin, admin.ModelAdmin):
    shop_lookup = ""
    list_display = ("name", "agency", "active", "language", "retailcrm_health", "hde_health")
    # RelatedOnly: the filter lists only agencies present in the scoped
    # queryset, never other tenants' names.
    list_filter = ("active", "language", ("agency", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "agency__name")
    readonly_fields = ("public_id", "created_at")
    fields = ("agency", "name", "public_id", "active", "language", "currency", "timezone",
              "created_at")
    inlines = [RetailCrmConnectionInline, HelpDeskEddyConnectionInline, ShopSettingsInline,
               FieldMappingInline, WidgetFieldInline, ShopSecretInline]
    # Widget tokens are issued on the shop's "Widget links and tokens" page.
    actions = ["test_connections", "issue_hde_webhook_secret", "issue_retailcrm_trigger_secret"]
    list_select_related = ("agency", "retailcrm", "helpdeskeddy")

    @admin.display(description=_("RetailCRM"))
    def retailcrm_health(self, shop):
        return health_badge(getattr(shop, "retailcrm", None))

    @admin.display(description=_("HelpDeskEddy"))
    def hde_health(self, shop):
        return health_badge(getattr(shop, "helpdeskeddy", None))

    @admin.action(description=_("Test connections"), permissions=["view"])
    def test_connections(self, request, queryset):
        from integration.onboarding.connection_check import shop_connections_test

        for shop in queryset[:20]:
            for result in shop_connections_test(shop=shop):
                level = (messages.ERROR if not result.ok else
                         messages.WARNING if result.warning else messages.SUCCESS)
                self.message_user(request, f"{shop.name} · {result.provider}: {result.message}",
                                  level)

    def _issue(self, request, queryset, kind, replace):
        from django.conf import settings
        from django.urls import reverse

        from integration.tenancy.secrets import shop_secret_issue

        route = {SecretKind.HDE_WEBHOOK: "hook-hde", SecretKind.RETAILCRM_TRIGGER: "hook-retailcrm"}
        for shop in queryset[:20]:
            if not self._may_edit(request, shop):
                self.message_user(request, _("%(shop)s: you may not change this shop.")
                                  % {"shop": shop.name}, messages.ERROR)
                continue
            token = shop_secret_issue(shop=shop, kind=kind, replace=replace)
            where = ""
            if kind in route:
                where = settings.PORTAL_BASE_URL + reverse(route[kind], args=[shop.public_id])
            self.message_user(
                request,
                _("%(shop)s: %(kind)s (shown once, copy it now): %(token)s %(where)s")
                % {"shop": shop.name, "kind": SecretKind(kind).label, "token": token,
                   "where": where},
                messages.WARNING,
            )

    @admin.action(description=_("Issue a new HDE webhook secret (revokes the old one)"),
                  permissions=["change"])
    def issue_hde_webhook_secret(self, request, queryset):
        self._issue(request, queryset, SecretKind.HDE_WEBHOOK, replace=True)

    @admin.action(description=_("Issue a new RetailCRM trigger secret (revokes the old one)"),
                  permissions=["change"])
    def issue_retailcrm_trigger_secret(self, request, queryset):
        self._issue(request, queryset, SecretKind.RETAILCRM_TRIGGER, replace=True)
