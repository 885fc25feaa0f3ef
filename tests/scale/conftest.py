"""The tests here refresh SQLite's planner statistics: each leaves them as it found them.

ANALYZE inside a test's transaction is rolled back in the table, but the connection
keeps the statistics it loaded; the next test on it would plan with them.
"""

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _planner_statistics_restored(db):
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        exists = cursor.fetchone() is not None
        saved = (
            cursor.execute("SELECT tbl, idx, stat FROM sqlite_stat1").fetchall() if exists else []
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is not None:
            cursor.execute("DELETE FROM sqlite_stat1")
            cursor.executemany(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, %s, %s)", saved
            )
        cursor.execute("ANALYZE sqlite_schema")  # reloads the statistics into the connection
