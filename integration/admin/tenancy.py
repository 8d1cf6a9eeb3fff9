"""Agencies and memberships: owners manage who works on their shops."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integration.access import agencies_for_user, can_manage_members
from integration.models import Agency, Membership


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("name", "shop_count", "created_at")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=agencies_for_user(request.user))

    @admin.display(description=_("shops"))
    def shop_count(self, agency):
        return agency.shops.count()

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or can_manage_members(request.user, obj.pk)
        )

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "agency", "role", "created_at")
    list_filter = ("role", "agency")
    search_fields = ("user__username", "user__email", "agency__name")
    autocomplete_fields = ()

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
            .filter(agency__in=agencies_for_user(request.user))
            .select_related("user", "agency")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            kwargs["queryset"] = agencies_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _owner_of(self, request, obj):
        return obj is None or can_manage_members(request.user, obj.agency_id)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owner_of(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owner_of(request, obj)

    def save_model(self, request, obj, form, change):
        from django.core.exceptions import PermissionDenied

        if not can_manage_members(request.user, obj.agency_id):
            raise PermissionDenied
        super().save_model(request, obj, form, change)
