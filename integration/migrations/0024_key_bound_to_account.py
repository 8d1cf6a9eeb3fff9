"""A stored key is bound to the whole account address it was entered for
(origin and path), not only to the origin: two accounts on one host are two
places (integration.models.connections.ConnectionBase)."""

from urllib.parse import urlsplit

from django.db import migrations, models

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> str:
    # Frozen copies of integration.core.outbound_policy.origin_of and
    # account_url as they are today.
    parts = urlsplit((url or "").strip())
    try:
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return ""
    if not host or not port:
        return ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}:{port}"


def _account(url: str) -> str:
    return _origin(url) + urlsplit((url or "").strip()).path.rstrip("/")


def widen_bindings(apps, schema_editor):
    """A key bound to its URL's origin is bound to that URL's account; a key
    bound elsewhere (its URL moved without it) stays unusable."""
    for name in ("RetailCrmConnection", "HelpDeskEddyConnection"):
        model = apps.get_model("integration", name)
        for pk, url, bound in model.objects.values_list("pk", "base_url",
                                                        "key_origin").iterator():
            if bound and bound == _origin(url):
                model.objects.filter(pk=pk).update(key_origin=_account(url))


class Migration(migrations.Migration):

    dependencies = [
        ('integration', '0023_tenant_pattern_validated'),
    ]

    operations = [
        migrations.AlterField(
            model_name='helpdeskeddyconnection',
            name='key_origin',
            field=models.CharField(blank=True, default='', editable=False, help_text='The address the stored key was entered for; it is sent nowhere else.', max_length=320, verbose_name='key entered for'),
        ),
        migrations.AlterField(
            model_name='retailcrmconnection',
            name='key_origin',
            field=models.CharField(blank=True, default='', editable=False, help_text='The address the stored key was entered for; it is sent nowhere else.', max_length=320, verbose_name='key entered for'),
        ),
        migrations.RunPython(widen_bindings, migrations.RunPython.noop),
    ]
