"""Keep role groups in step with memberships."""

from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from integration.models import Membership
from integration.roles import apply_membership_groups, sync_role_groups


@receiver([post_save, post_delete], sender=Membership)
def membership_changed(sender, instance, **kwargs):
    apply_membership_groups(instance.user)


def connect_post_migrate(app_config):
    post_migrate.connect(
        lambda sender, apps=None, **kw: sync_role_groups(apps) if apps else None,
        sender=app_config, weak=False, dispatch_uid="integration.sync_role_groups",
    )
