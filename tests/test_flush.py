"""What the test flush keeps (tests/conftest.py `_flush_keeps_what_migrate_made`)
is what `post_migrate` would make again: no receiver is missed, and no row
differs, so skipping the signal changes nothing a test can see."""

import weakref

from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.models.signals import post_migrate

from tests.conftest import KEPT_BY_FLUSH


def _rows() -> dict[str, list[tuple]]:
    with connection.cursor() as cursor:
        rows = {}
        for table in sorted(KEPT_BY_FLUSH):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows[table] = sorted(cursor.fetchall())
        return rows


def test_post_migrate_makes_nothing_but_the_kept_tables_rows():
    receivers = set()
    for entry in post_migrate.receivers:
        lookup, receiver = entry[0], entry[1]
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        receivers.add(lookup[0] if isinstance(lookup[0], str) else receiver.__module__)
    assert receivers == {"django.contrib.auth.management.create_permissions",
                         "django.contrib.contenttypes.management",
                         "integration.sync_role_groups"}


def test_after_a_flush_the_kept_rows_are_what_post_migrate_makes(transactional_db,
                                                                 make_agency, make_member):
    make_member(make_agency("Flush agency"))  # a user in a role group, flushed after
    before = _rows()
    assert before["auth_group"] and before["auth_permission"] and before["django_content_type"]
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert _rows() == before
