"""Create the agency role groups with their model permissions.

`integration.tenancy.roles.sync_role_groups` also runs after every migrate, so models
added by later migrations get their permissions in the groups too.
"""

from django.db import migrations


def create_role_groups(apps, schema_editor):
    from integration.tenancy.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
