"""Take personal data out of call-log rows written before the call log
hashed it (integration.vendors.call_log): e-mails, phones and names in the
stored query (`customers?filter[email]=…`) become keyed hashes, and the same
values in the row's error text too. Rows without a query or an "@" are left
alone; the rest is rewritten in batches."""

from django.db import migrations
from django.db.models import Q

BATCH = 1000


def scrub_existing(apps, schema_editor):
    from integration.vendors.call_log import ALL_KEPT_PARAMS, scrub_text, scrub_url

    ApiCall = apps.get_model("integration", "ApiCall")
    rows = ApiCall.objects.filter(Q(path__contains="?") | Q(path__contains="@")
                                  | Q(path__contains="%40")).only("pk", "path", "error")
    changed = []
    for call in rows.iterator(chunk_size=BATCH):
        path, removed = scrub_url(call.path, ALL_KEPT_PARAMS)
        error = scrub_text(call.error, removed)
        if (path, error) != (call.path, call.error):
            call.path, call.error = path[:500], error
            changed.append(call)
        if len(changed) >= BATCH:
            ApiCall.objects.bulk_update(changed, ["path", "error"])
            changed = []
    if changed:
        ApiCall.objects.bulk_update(changed, ["path", "error"])


class Migration(migrations.Migration):

    dependencies = [
        ("integration", "0017_connection_key_origin"),
    ]

    operations = [
        migrations.RunPython(scrub_existing, migrations.RunPython.noop),
    ]
