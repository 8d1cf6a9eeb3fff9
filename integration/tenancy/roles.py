"""Agency roles as Django groups with model permissions.

Groups carry the *model* permissions (what the admin shows at all); the
scoping mixin adds the *object* check (the role in the object's agency), so a
user who owns agency A but only views agency B cannot change B's shops.
"""

from django.apps import apps as global_apps

from integration.models.tenancy import Role
from integration.tenancy.access import role_edits_data, role_manages_members

GROUP_NAMES = {
    Role.OWNER: "Agency owner",
    Role.ADMIN: "Agency admin",
    Role.VIEWER: "Agency viewer",
}
# Read-only everywhere: logs and vendor state are written by the portal only.
# Events are evidence: replayed (a role check of its own), never edited or
# deleted by hand; retention and shop deletion remove them.
READ_ONLY_MODELS = {"apicall", "ratelimitstate", "authfailure", "ticketrecord", "sideeffect",
                    "inboundevent", "eventattempt", "widgetrequest", "localorder",
                    "productname"}
OWNER_ONLY_MODELS = {"agency", "membership", "invitation"}


def _codenames_for(role: str, model_names: list[str]) -> set[str]:
    codenames = set()
    for model in model_names:
        codenames.add(f"view_{model}")
        if model in READ_ONLY_MODELS:
            continue
        # Who edits what is the access module's rule (tenancy/access.py).
        if role_edits_data(role) and (model not in OWNER_ONLY_MODELS
                                      or role_manages_members(role)):
            codenames.update({f"add_{model}", f"change_{model}", f"delete_{model}"})
    # No auth.User rights for anyone: Django's user admin is not tenant
    # scoped; owners invite colleagues through the scoped invite view.
    return codenames


def sync_role_groups(apps=global_apps, **kwargs) -> None:
    """Create/refresh the three role groups. Idempotent; runs after migrate so
    models added later get their permissions too."""
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for app_label in ("integration", "auth"):
        create_permissions(global_apps.get_app_config(app_label), verbosity=0, apps=apps)
    model_names = [
        model._meta.model_name
        for model in apps.get_app_config("integration").get_models()
    ]
    for role, group_name in GROUP_NAMES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = _codenames_for(role, model_names)
        perms = Permission.objects.filter(
            content_type__app_label__in=["integration", "auth"], codename__in=wanted
        )
        group.permissions.set(perms)


def apply_membership_groups(user) -> None:
    """Put a user in the groups of all their roles and make them staff."""
    from django.contrib.auth.models import Group

    roles = set(user.memberships.values_list("role", flat=True))
    wanted = [GROUP_NAMES[Role(role)] for role in roles]
    role_groups = Group.objects.filter(name__in=GROUP_NAMES.values())
    user.groups.remove(*role_groups.exclude(name__in=wanted))
    user.groups.add(*role_groups.filter(name__in=wanted))
    if roles and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
