"""Model field that stores text encrypted with `integration.core.crypto`."""

from django.db import models

from integration.core import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted at rest. Reads raise `CredentialDecryptionError` on a bad
    key rather than returning ciphertext. Not queryable, by design."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
