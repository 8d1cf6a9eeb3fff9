"""API keys are encrypted at rest, rotate cleanly and fail loudly."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from integration.core import crypto
from integration.models import RetailCrmConnection

PLAINTEXT = "rcrm-secret-key-0123456789"


def _raw_key(conn_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM integration_retailcrmconnection WHERE id = %s",
                       [conn_id])
        return cursor.fetchone()[0]


@pytest.fixture
def stored_connection(make_agency, make_shop):
    shop = make_shop(make_agency("Crypto agency"))
    return RetailCrmConnection.objects.create(shop=shop, base_url="https://x.retailcrm.ru",
                                              api_key=PLAINTEXT)


@pytest.mark.django_db
def test_database_row_holds_no_plaintext(stored_connection):
    raw = _raw_key(stored_connection.pk)
    assert PLAINTEXT not in raw
    assert raw.startswith(crypto.PREFIX)
    assert RetailCrmConnection.objects.get(pk=stored_connection.pk).api_key == PLAINTEXT


@pytest.mark.django_db
def test_rotation_keeps_keys_readable(stored_connection, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    before = _raw_key(stored_connection.pk)
    call_command("rotate_encryption_keys")
    after = _raw_key(stored_connection.pk)
    assert after != before
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # old key removed after rotation
    assert RetailCrmConnection.objects.get(pk=stored_connection.pk).api_key == PLAINTEXT


@pytest.mark.django_db
def test_wrong_key_raises_a_clear_error(stored_connection, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.CredentialDecryptionError, match="rotate_encryption_keys"):
        RetailCrmConnection.objects.get(pk=stored_connection.pk)


def test_key_hint_masks_all_but_last_four():
    conn = RetailCrmConnection(api_key=PLAINTEXT)
    assert conn.key_hint == "••••6789"
    assert PLAINTEXT[:-4] not in conn.key_hint
