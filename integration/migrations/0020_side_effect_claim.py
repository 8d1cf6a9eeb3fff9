"""A started side effect carries its writer's lease, so a concurrent caller
waits for the outcome instead of writing a second time (issue 19)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integration', '0019_widget_scope'),
    ]

    operations = [
        migrations.AddField(
            model_name='sideeffect',
            name='claimed_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
