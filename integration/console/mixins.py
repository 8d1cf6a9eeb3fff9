"""Tenant scoping for every admin that shows shop-owned rows.

Four choke points, all here: the queryset, foreign-key choices, saving, and
object permissions (the user's role in the object's agency). A test walks
the admin registry and fails if a model with a `shop` field is registered
without this mixin.
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError

from integration.tenancy.access import (
    agencies_for_user,
    can_edit_agency_data,
    shops_for_user,
)
from integration.tenancy.time_zones import zone_or_none


def agency_id_of(obj):
    """The agency an admin object belongs to (Shop, shop-owned row, Agency)."""
    if obj is None:
        return None
    if hasattr(obj, "agency_id"):
        return obj.agency_id
    if hasattr(obj, "shop"):
        return obj.shop.agency_id
    return obj.pk  # an Agency


class TenantScopedAdminMixin:
    # Path from the admin's model to Shop; "" when the model *is* Shop.
    shop_lookup = "shop"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        shops = shops_for_user(request.user)
        if self.shop_lookup == "":
            return qs.filter(pk__in=shops.values("pk"))
        return qs.filter(**{f"{self.shop_lookup}__in": shops})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model_name = db_field.related_model._meta.label_lower
        if model_name == "integration.shop":
            kwargs["queryset"] = shops_for_user(request.user)
        elif model_name == "integration.agency":
            kwargs["queryset"] = agencies_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _may_edit(self, request, obj) -> bool:
        if obj is None:
            return True
        return can_edit_agency_data(request.user, agency_id_of(obj))

    def has_view_permission(self, request, obj=None):
        if not super().has_view_permission(request, obj):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def shop_zone_of(self, request, object_id):
        """The zone of the shop an object page belongs to, for the console's
        time-zone middleware (integration.console.time_zone). None: no such
        object for this user, whose page then answers as it always does."""
        field = "timezone" if self.shop_lookup == "" else f"{self.shop_lookup}__timezone"
        try:
            name = self.get_queryset(request).filter(pk=unquote(object_id)).values_list(
                field, flat=True).first()
        except (ValueError, ValidationError):
            return None
        return zone_or_none(name)

    def log_change(self, request, obj, message):
        """A save that changed nothing leaves no History entry: Django would
        write "No fields changed.", which tells a reader nothing."""
        if message == []:
            return None
        return super().log_change(request, obj, message)

    def save_model(self, request, obj, form, change):
        agency_id = agency_id_of(obj)
        if not request.user.is_superuser and not can_edit_agency_data(request.user, agency_id):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


class TenantScopedInlineMixin:
    """Inlines are scoped through their parent, but FK choices still leak
    other tenants' rows unless restricted here."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model._meta.label_lower == "integration.shop":
            kwargs["queryset"] = shops_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or can_edit_agency_data(request.user, agency_id_of(obj))
        )

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and (
            obj is None or can_edit_agency_data(request.user, agency_id_of(obj))
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or can_edit_agency_data(request.user, agency_id_of(obj))
        )


class ReadOnlyAdminMixin:
    """Log screens: the portal writes them, people only read."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
