from django.core.management.base import BaseCommand
from django.db import connection, transaction

from integration.core import crypto
from integration.models import HelpDeskEddyConnection, RetailCrmConnection

ENCRYPTED_COLUMNS = [(RetailCrmConnection, "api_key"), (HelpDeskEddyConnection, "api_key")]


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential under the newest FIELD_ENCRYPTION_KEYS entry. "
        "Run after adding a new key at the front; then remove the old key."
    )

    def handle(self, *args, **options):
        total = 0
        # Works on the raw ciphertext column: going through the model field
        # would decrypt and re-encrypt with a new IV but also hide which rows
        # no key can read. A row that no key decrypts fails the whole run.
        with transaction.atomic(), connection.cursor() as cursor:
            for model, column in ENCRYPTED_COLUMNS:
                table = connection.ops.quote_name(model._meta.db_table)
                col = connection.ops.quote_name(column)
                cursor.execute(f"SELECT id, {col} FROM {table}")
                for pk, stored in cursor.fetchall():
                    if not stored:
                        continue
                    cursor.execute(
                        f"UPDATE {table} SET {col} = %s WHERE id = %s", [crypto.rotate(stored), pk]
                    )
                    total += 1
        self.stdout.write(f"{total} credentials re-encrypted under the newest key.")
