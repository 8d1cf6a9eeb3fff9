"""Who may see and change what. The one definition of tenant visibility.

Every admin queryset, API view and job goes through these functions; nothing
else filters by agency on its own.
"""

from django.core.exceptions import ValidationError
from django.http import Http404

from integration.models import Agency, Membership, Role, Shop

EDIT_ROLES = {Role.OWNER, Role.ADMIN}


def agencies_for_user(user):
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    if user.is_superuser:
        return Agency.objects.all()
    return Agency.objects.filter(memberships__user=user)


def shops_for_user(user):
    """Shops a user may see: all for a superuser, else those of their agencies."""
    if not user.is_authenticated or not user.is_active:
        return Shop.objects.none()
    if user.is_superuser:
        return Shop.objects.all()
    return Shop.objects.filter(agency__in=agencies_for_user(user))


def role_in_agency(user, agency_id) -> str | None:
    if user.is_superuser:
        return Role.OWNER
    return (
        Membership.objects.filter(user=user, agency_id=agency_id)
        .values_list("role", flat=True)
        .first()
    )


def can_edit_agency_data(user, agency_id) -> bool:
    return role_in_agency(user, agency_id) in EDIT_ROLES


def can_manage_members(user, agency_id) -> bool:
    return role_in_agency(user, agency_id) == Role.OWNER


def get_shop_for_user_or_404(user, public_id) -> Shop:
    """Another tenant's shop answers 404, exactly like a missing one."""
    try:
        return shops_for_user(user).get(public_id=public_id)
    except (Shop.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such shop.") from None
