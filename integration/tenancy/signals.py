"""Keep role groups in step with memberships."""

from django.apps import apps as global_apps
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from integration.models import Membership
from integration.tenancy.roles import apply_membership_groups, sync_role_groups


@receiver([post_save, post_delete], sender=Membership)
def membership_changed(sender, instance, **kwargs):
    apply_membership_groups(instance.user)


def connect_post_migrate(app_config):
    post_migrate.connect(
        # Test cleanups (flush) send post_migrate without `apps`: the groups
        # must come back then too, or later tests' users lose their rights.
        lambda sender, apps=None, **kw: sync_role_groups(apps or global_apps),
        sender=app_config, weak=False, dispatch_uid="integration.sync_role_groups",
    )
