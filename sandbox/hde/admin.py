"""Admin for the HDE emulator: limits, faults, counters and the dispatcher.

Superusers only in practice (agency roles get no sandbox permissions). The
same knobs are plain model fields, so tests set them through the ORM.
"""

from django.contrib import admin
from django.utils.html import format_html

from sandbox.hde.models import Account, Delivery, WebhookRule


class WebhookRuleInline(admin.TabularInline):
    model = WebhookRule
    extra = 0
    fields = ("name", "events", "method", "url", "body_format", "template", "username",
              "password", "active")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "rate_limit_enabled", "rate_limit_per_minute",
                    "banned_until", "requests_received", "limit_violations", "fault_kind",
                    "fault_next", "ticket_page")
    readonly_fields = ("requests_received", "limit_violations", "hits")
    fieldsets = (
        (None, {"fields": ("code", "name", "timezone")}),
        ("Rate limit", {"fields": (
            "rate_limit_enabled", "rate_limit_per_minute", "rate_window_seconds", "ban_seconds",
            "banned_until", "requests_received", "limit_violations", "hits")}),
        ("Fault injection", {"fields": ("fault_latency_ms", "fault_kind", "fault_next",
                                        "fault_path", "fault_sleep_seconds")}),
        ("Vendor behaviour (open questions, see sandbox/hde/README.md)",
         {"fields": ("behaviour",)}),
    )
    inlines = [WebhookRuleInline]

    @admin.display(description="ticket page")
    def ticket_page(self, obj):
        return format_html('<a href="/sandbox/hde/{}/tickets/">open</a>', obj.code)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "ticket_hid", "url", "state", "attempts",
                    "last_status", "next_attempt_at")
    list_filter = ("state", "event")
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False
