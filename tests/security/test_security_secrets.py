"""Secrets never leak: a test seeds every kind of key and token, drives the
portal through its paths (webhooks right and wrong, the ticket job, the
widget page and API, keys the vendors refuse, every admin page, error pages
with DEBUG off), and then scans everything it produced: log records (message,
arguments, extras, tracebacks), ApiCall and event rows, and every HTML page.

A secret counts as leaked if any 12 characters of it in a row show up: the
admin's masked hint (the last 4 characters) is allowed, anything longer is not.
"""

import base64
import logging

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib import admin
from django.db import connection
from django.urls import NoReverseMatch, reverse

from integration.models import (
    HelpDeskEddyConnection,
    RetailCrmConnection,
    SecretKind,
)
from integration.onboarding.shop_defaults import shop_defaults_apply
from integration.tenancy.secrets import shop_secret_issue
from integration.widget.links import widget_link_build

WINDOW = 12


class _Capture(logging.Handler):
    """Keeps everything a log record carries, as a log shipper would."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.texts = []

    def emit(self, record):
        formatter = logging.Formatter()
        parts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        self.texts.append("\n".join(parts))


@pytest.fixture
def captured_logs():
    handler = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def _windows(secret: str):
    return {secret[i:i + WINDOW] for i in range(max(1, len(secret) - WINDOW + 1))}


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, secret in secrets.items()
            if any(window in text for window in _windows(secret))]


def _rows_text() -> str:
    """Every row of every portal table (the emulators' own tables hold the
    vendor's copy of the keys by nature and are not ours to scan)."""
    chunks = []
    for model in apps.get_app_config("integration").get_models():
        if model in (RetailCrmConnection, HelpDeskEddyConnection):
            continue  # the encrypted key column is ciphertext by design (test_crypto)
        chunks += [repr(row) for row in model.objects.values()]
    return "\n".join(chunks)


@pytest.fixture
def seeded(demo_shop, settings, live_server, rc_emulator, hde_emulator):
    settings.PORTAL_BASE_URL = live_server.url
    shop_defaults_apply(shop=demo_shop, normal_priority_id=2, high_priority_id=1)
    secrets = {
        "retailcrm key": rc_emulator.demo["api_key"],
        "hde key": hde_emulator.demo["api_key"],
        "hde webhook secret": shop_secret_issue(shop=demo_shop, kind=SecretKind.HDE_WEBHOOK),
        "retailcrm trigger secret": shop_secret_issue(shop=demo_shop,
                                                      kind=SecretKind.RETAILCRM_TRIGGER),
        "widget token": demo_shop.widget_token,
        "SECRET_KEY": django_settings.SECRET_KEY,
        **{f"FIELD_ENCRYPTION_KEYS[{i}]": k
           for i, k in enumerate(django_settings.FIELD_ENCRYPTION_KEYS)},
    }
    return demo_shop, secrets


def _basic(secret):
    return "Basic " + base64.b64encode(f"hde:{secret}".encode()).decode()


def test_secrets_never_reach_logs_rows_pages_or_error_pages(seeded, client, admin_user,
                                                            captured_logs, settings):
    shop, secrets = seeded
    pages = []
    hook = reverse("hook-hde", args=[shop.public_id])

    # Webhooks: right, wrong, and a wrong secret that looks like a real one.
    guessed = secrets["hde webhook secret"][::-1]
    secrets["guessed secret"] = guessed
    for secret in (secrets["hde webhook secret"], guessed, secrets["widget token"]):
        response = client.post(hook, {"event": "new_ticket", "ticket_id": 3},
                               content_type="application/json",
                               HTTP_AUTHORIZATION=_basic(secret))
        pages.append(response.content.decode())
    client.post(reverse("hook-retailcrm", args=[shop.public_id]),
                {"order_id": 1, "status": "new", "secret": secrets["retailcrm trigger secret"]},
                content_type="application/json")

    # The widget API and page.
    api = reverse("api-context")
    for token in (secrets["widget token"], guessed):
        pages.append(client.get(api, {"email": "ivan.petrov@example.ru"},
                                HTTP_AUTHORIZATION=f"Bearer {token}").content.decode())
    link = widget_link_build(shop=shop, ticket_id=3).removeprefix(settings.PORTAL_BASE_URL)
    pages.append(client.get(link).content.decode())

    # Keys the vendors refuse: the refusal is logged and recorded, the key is not.
    secrets["refused retailcrm key"] = "wrong-" + secrets["retailcrm key"][::-1]
    secrets["refused hde key"] = "wrong-" + secrets["hde key"][::-1]
    rc, hde = shop.retailcrm, shop.helpdeskeddy
    rc.api_key, hde.api_key = secrets["refused retailcrm key"], secrets["refused hde key"]
    rc.save()
    hde.save()
    client.post(hook, {"event": "new_reply", "ticket_id": 3, "post_id": 99},
                content_type="application/json",
                HTTP_AUTHORIZATION=_basic(secrets["hde webhook secret"]))
    pages.append(client.get(api, {"email": "ivan.petrov@example.ru"},
                            HTTP_AUTHORIZATION=f"Bearer {secrets['widget token']}"
                            ).content.decode())

    # Every admin page a superuser can open: lists, and each row's change page.
    client.force_login(admin_user)
    for model, _model_admin in admin.site._registry.items():
        opts = model._meta
        try:
            listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        except NoReverseMatch:
            continue
        pages.append(listing.content.decode())
        if opts.app_label != "integration":
            continue
        for pk in model.objects.values_list("pk", flat=True)[:20]:
            try:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            except NoReverseMatch:
                break
            pages.append(client.get(url).content.decode())
    pages.append(client.get(reverse("admin:integration_shop_delete",
                                    args=[shop.pk])).content.decode())

    # Error pages with DEBUG off: a 404 that echoes nothing, and a 500 from a
    # key that cannot be decrypted.
    settings.DEBUG = False
    client.raise_request_exception = False
    pages.append(client.get(f"/widget/{shop.public_id}x/{secrets['widget token']}/"
                            ).content.decode())
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {RetailCrmConnection._meta.db_table} SET api_key = %s "
                       "WHERE id = %s", ["gAAAAAbroken", rc.pk])
    broken = client.get(reverse("admin:integration_shop_change", args=[shop.pk]))
    assert broken.status_code == 500
    pages.append(broken.content.decode())

    leaks = {
        "logs": _leaks("\n".join(captured_logs.texts), secrets),
        "database rows": _leaks(_rows_text(), secrets),
        "pages": _leaks("\n".join(pages), secrets),
    }
    leaked_logs = [t[:300] for t in captured_logs.texts if _leaks(t, secrets)]
    assert leaks == {"logs": [], "database rows": [], "pages": []}, leaked_logs
    # The scan saw what it claims to have seen.
    assert len(captured_logs.texts) > 20 and len(pages) > 30
    assert "Server Error (500)" in pages[-1]
