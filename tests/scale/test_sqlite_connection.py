"""SQLite connections open with the settings' pragmas (studio.settings._SQLITE_OPTIONS)."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's pragmas"),
]


def pragma(name: str):
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


def test_a_connection_caches_at_most_16_mb_of_pages():
    # KiB; a gthread worker holds a connection a thread, each with its own cache.
    assert pragma("cache_size") == -16000


def test_a_connection_writes_ahead_and_waits_for_the_write_lock():
    assert pragma("journal_mode") == "wal"
    assert pragma("busy_timeout") == 30000
