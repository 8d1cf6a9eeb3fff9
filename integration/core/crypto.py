"""Symmetric encryption of stored credentials (MultiFernet).

Keys come from FIELD_ENCRYPTION_KEYS, newest first, independent of SECRET_KEY:
the newest key encrypts, every key decrypts, and `rotate()` re-encrypts under
the newest one. A value that no key can decrypt raises instead of returning
ciphertext, so a misconfigured key is a clear error, never a vendor 401.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "fernet:v1:"


class CredentialDecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold url-safe base64 32-byte keys "
            "(generate one with Fernet.generate_key())."
        ) from exc


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return PREFIX + _fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise CredentialDecryptionError("Stored value is not an encrypted credential.")
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise CredentialDecryptionError(
            "A stored credential cannot be decrypted with FIELD_ENCRYPTION_KEYS: "
            "a key was removed before `manage.py rotate_encryption_keys` ran."
        ) from exc


def rotate(stored: str) -> str:
    """Re-encrypt a stored value under the newest key."""
    if not stored.startswith(PREFIX):
        raise CredentialDecryptionError("Stored value is not an encrypted credential.")
    try:
        return PREFIX + _fernet().rotate(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise CredentialDecryptionError(
            "Credential cannot be rotated: no key decrypts it."
        ) from exc
