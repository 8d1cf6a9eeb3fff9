"""TicketLedger becomes TicketRecord ("ledger" meant two things: this per-ticket
record and the side-effect record). The support-analytics proxy is dropped and
recreated around the rename because RenameModel does not move a proxy's base
in the migration state (the table itself is only renamed)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('integration', '0014_field_labels'),
    ]

    operations = [
        migrations.DeleteModel(name='SupportAnalytics'),
        migrations.RenameModel(
            old_name='TicketLedger',
            new_name='TicketRecord',
        ),
        migrations.AlterModelOptions(
            name='ticketrecord',
            options={'ordering': ['-created_at'], 'verbose_name': 'ticket', 'verbose_name_plural': 'tickets'},
        ),
        migrations.CreateModel(
            name='SupportAnalytics',
            fields=[],
            options={
                'verbose_name': 'support analytics',
                'verbose_name_plural': 'support analytics',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('integration.ticketrecord',),
        ),
    ]
