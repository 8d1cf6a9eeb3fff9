"""Sync logs: read-only, filterable, scoped to the user's shops."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from integration.admin.mixins import ReadOnlyAdminMixin, TenantScopedAdminMixin
from integration.models import ApiCall, InboundEvent, RateLimitState


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "shop", "provider", "method", "path", "status_code",
                    "outcome", "duration_ms", "interactive")
    list_filter = ("provider", "outcome", "status_code", "interactive", "created_at",
                   ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("path", "error")
    date_hierarchy = "created_at"
    list_select_related = ("shop",)
    readonly_fields = [f.name for f in ApiCall._meta.fields]


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "shop", "source", "event_type", "source_key", "state",
                    "attempts", "next_attempt_at")
    list_filter = ("state", "source", "created_at", ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("source_key", "last_error")
    date_hierarchy = "created_at"
    list_select_related = ("shop",)
    readonly_fields = [f.name for f in InboundEvent._meta.fields]
    actions = ["replay"]

    @admin.action(description=_("Replay dead, parked or ignored events"), permissions=["replay"])
    def replay(self, request, queryset):
        from integration.services.inbox import inbound_events_replay

        count = inbound_events_replay(queryset=queryset)
        self.message_user(request, _("%(n)d events queued again.") % {"n": count},
                          messages.SUCCESS)

    def has_replay_permission(self, request):
        """Replaying changes state, so it needs the role that edits shops,
        checked against every selected event's agency."""
        from integration.access import can_edit_agency_data, shops_for_user

        agencies = shops_for_user(request.user).values_list("agency_id", flat=True).distinct()
        return any(can_edit_agency_data(request.user, agency) for agency in agencies)


@admin.register(RateLimitState)
class RateLimitStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Vendor accounts are shared by shops, so only superusers see them."""

    list_display = ("key", "banned_until", "remaining", "remaining_at", "updated_at")
    exclude = ("hits",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
