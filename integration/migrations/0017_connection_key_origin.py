"""Bind every stored API key to the origin it is used with today.

Existing keys were entered for their current URL as far as anyone can tell,
so they keep working; from now on a changed origin needs the key again
(integration.models.connections.ConnectionBase). User-info is taken out of
stored URLs (`https://user:pass@host` → `https://host`): credentials never
belong there (they ended up in headers such as the widget's
frame-ancestors), and the clients now refuse such a URL."""

from urllib.parse import urlsplit

from django.db import migrations, models

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> str:
    # A frozen copy of integration.core.outbound_policy.origin_of.
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


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def bind_existing(apps, schema_editor):
    for name in ("RetailCrmConnection", "HelpDeskEddyConnection"):
        model = apps.get_model("integration", name)
        for pk, url in model.objects.values_list("pk", "base_url").iterator():
            model.objects.filter(pk=pk).update(key_origin=_origin(url),
                                               base_url=_without_userinfo(url))


class Migration(migrations.Migration):

    dependencies = [
        ('integration', '0016_extension_tokens'),
    ]

    operations = [
        migrations.AddField(
            model_name='helpdeskeddyconnection',
            name='key_origin',
            field=models.CharField(blank=True, default='', editable=False, help_text='The address the stored key was entered for; it is sent nowhere else.', max_length=300, verbose_name='key entered for'),
        ),
        migrations.AddField(
            model_name='retailcrmconnection',
            name='key_origin',
            field=models.CharField(blank=True, default='', editable=False, help_text='The address the stored key was entered for; it is sent nowhere else.', max_length=300, verbose_name='key entered for'),
        ),
        migrations.RunPython(bind_existing, migrations.RunPython.noop),
    ]
