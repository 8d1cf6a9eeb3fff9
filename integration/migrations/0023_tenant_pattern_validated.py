"""The order number pattern is checked for catastrophic backtracking when
saved (integration.core.tenant_regex)."""

import integration.core.tenant_regex
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integration', '0022_invitations'),
    ]

    operations = [
        migrations.AlterField(
            model_name='shopsettings',
            name='order_number_pattern',
            field=models.CharField(default='\\b(\\d{3,10}[A-Za-zА-Яа-я]{0,3})\\b', help_text='Regular expression that finds an order number in a ticket subject/body.', max_length=200, validators=[integration.core.tenant_regex.validate_tenant_pattern], verbose_name='order number pattern'),
        ),
    ]
