"""Sync logs: read-only, filterable, scoped to the user's shops."""

from django.contrib import admin

from integration.admin.mixins import ReadOnlyAdminMixin, TenantScopedAdminMixin
from integration.models import ApiCall, InboundEvent, RateLimitState


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "shop", "provider", "method", "path", "status_code",
                    "outcome", "duration_ms", "interactive")
    list_filter = ("provider", "outcome", "status_code", "interactive", "created_at", "shop")
    search_fields = ("path", "error")
    date_hierarchy = "created_at"
    list_select_related = ("shop",)
    readonly_fields = [f.name for f in ApiCall._meta.fields]


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "shop", "source", "event_type", "source_key", "state",
                    "attempts", "next_attempt_at")
    list_filter = ("state", "source", "created_at", "shop")
    search_fields = ("source_key", "last_error")
    date_hierarchy = "created_at"
    list_select_related = ("shop",)
    readonly_fields = [f.name for f in InboundEvent._meta.fields]


@admin.register(RateLimitState)
class RateLimitStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Vendor accounts are shared by shops, so only superusers see them."""

    list_display = ("key", "banned_until", "remaining", "remaining_at", "updated_at")
    exclude = ("hits",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
