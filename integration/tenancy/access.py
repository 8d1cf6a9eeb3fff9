"""Who may see and change what. The one definition of tenant visibility.

Every admin queryset, API view and job goes through these functions; nothing
else filters by agency on its own.

Roles in an agency:
- owner: everything an admin may, plus colleagues (invitations, roles);
- admin: configures the agency's shops (connections, rules, templates,
  order watch), replays events, revokes widget links and issues or revokes
  widget API tokens;
- viewer: reads, and reads no customer's personal data.

Personal data, for this rule, is what identifies or describes a person: a
name, an e-mail, a phone, an address, what they wrote (ticket subjects) or
were sent (reply texts), and anything looked up live about a customer in
RetailCRM. Ids (ticket, customer, order ids), order numbers, statuses,
totals and counts are not: they are how the logs and the analytics explain
what the portal did.

So a viewer may read the shops' configuration (never a key or a secret),
connection health, rules, reply templates as written, order watch, the
dashboards and analytics, and the logs as records of what happened, with
contact details masked and ticket subjects and sent texts hidden. A viewer
may not: export a customer's stored data, preview a reply template for a
customer, try the rules with an e-mail, run the rules' dry run (it names
each recent ticket's customer), or see the personal data in a log's detail.
Owners and admins may (`can_read_personal_data`); every screen asks it here.

The widget is outside these roles: it is for the operators who hold a
ticket's signed link (inside HDE), and a link shows that ticket's customers
only (integration.widget.scope); a widget API token stands for its whole
shop, inside the shop's RetailCRM store.
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


def agencies_owned_by(user):
    """Agencies whose members the user manages: those they own (all of them
    for a superuser)."""
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    if user.is_superuser:
        return Agency.objects.all()
    return Agency.objects.filter(memberships__user=user, memberships__role=Role.OWNER)


def agencies_editable_by(user):
    """Agencies whose shops the user configures: owner or admin there (all
    of them for a superuser)."""
    if not user.is_authenticated or not user.is_active:
        return Agency.objects.none()
    if user.is_superuser:
        return Agency.objects.all()
    return Agency.objects.filter(pk__in=Membership.objects.filter(
        user=user, role__in=EDIT_ROLES).values("agency_id"))


def agency_editor_ids(agency_id):
    """The users who configure an agency's shops (its owners and admins):
    whom the portal tells when a shop needs a person."""
    return Membership.objects.filter(agency_id=agency_id, role__in=EDIT_ROLES).values("user_id")


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


def can_read_personal_data(user, agency_id) -> bool:
    """Owners and admins of the agency (see the module docstring)."""
    return role_in_agency(user, agency_id) in EDIT_ROLES


def shops_editable_by(user):
    """Shops whose agency the user may change (owner or admin there)."""
    shops = shops_for_user(user)
    if not user.is_authenticated or user.is_superuser:
        return shops
    agencies = Membership.objects.filter(user=user, role__in=EDIT_ROLES).values("agency_id")
    return shops.filter(agency_id__in=agencies)


def shops_with_personal_data(user):
    """Shops whose customers' personal data the user may read: the same
    shops they may edit (owner or admin)."""
    return shops_editable_by(user)


MEMBER_MANAGER_ROLES = {Role.OWNER}


def role_edits_data(role) -> bool:
    """Whether a role changes an agency's shops and settings."""
    return role in EDIT_ROLES


def role_manages_members(role) -> bool:
    """Whether a role invites, changes and removes the agency's members."""
    return role in MEMBER_MANAGER_ROLES


def can_manage_members(user, agency_id) -> bool:
    return role_manages_members(role_in_agency(user, agency_id))


def get_shop_for_user_or_404(user, public_id) -> Shop:
    """Another tenant's shop answers 404, exactly like a missing one."""
    try:
        return shops_for_user(user).get(public_id=public_id)
    except (Shop.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such shop.") from None
