"""Database upkeep: the query planner's statistics kept current.

SQLite plans from statistics (`sqlite_stat1`) only once ANALYZE has written them;
without them it picks indexes by their shape, and a lookup by primary key could walk
a workspace's runs along another index. ANALYZE runs after migrations, after bulk
loads (seed_demo, import_mlflow), hourly in the worker (statistics_refresh, once the
runs table is past SMALL_TABLE) and, at most once per STUDIO_DB_OPTIMIZE_INTERVAL
seconds in each process, when a connection opens and the runs table has grown past
twice what the statistics saw. PostgreSQL's autovacuum analyses by itself; bulk
loads still ask for ANALYZE at once. PostgreSQL connections start with the
planner's parallel workers set (planner_settings).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

# Rows read per index by SQLite's ANALYZE: approximate statistics, in milliseconds
# even at a million runs (a full ANALYZE reads every index whole).
ANALYSIS_LIMIT = 1000
# Below this many runs every plan is fast: statistics are not worth keeping current.
SMALL_TABLE = 1000

_next_check: dict[str, float] = {}


def database_optimize(*, using: str = "default") -> None:
    """Refresh the planner's statistics for every table now."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA optimize")
        else:
            cursor.execute("ANALYZE")


def statistics_refresh(*, using: str = "default") -> bool:
    """SQLite: refresh the statistics now unless the runs table is small (every plan
    is fast then). PostgreSQL's autovacuum analyses by itself. Whether it ran."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        if _run_rows(cursor) < SMALL_TABLE:
            return False
    database_optimize(using=using)
    return True


def _run_rows(cursor) -> int:
    """About how many rows the runs table has (its largest rowid); 0 before migrations."""
    cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs_run'")
    if cursor.fetchone() is None:
        return 0
    cursor.execute("SELECT max(rowid) FROM runs_run")
    return cursor.fetchone()[0] or 0


def statistics_stale(*, using: str = "default") -> bool:
    """Whether SQLite's statistics miss the runs table or saw less than half of it."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        rows = _run_rows(cursor)
        if rows < SMALL_TABLE:
            return False
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return True
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'runs_run' LIMIT 1")
        row = cursor.fetchone()
    seen = int(row[0].split()[0]) if row else 0
    return rows > 2 * seen


def optimize_when_due(sender, connection, **kwargs) -> None:
    """On a new SQLite connection: ANALYZE when the statistics are stale, checked at
    most once per STUDIO_DB_OPTIMIZE_INTERVAL seconds in this process (0: never)."""
    interval = settings.STUDIO_DB_OPTIMIZE_INTERVAL
    if connection.vendor != "sqlite" or interval <= 0:
        return
    now = time.monotonic()
    if now < _next_check.get(connection.alias, 0.0):
        return
    _next_check[connection.alias] = now + interval
    try:
        if statistics_stale(using=connection.alias):
            started = time.perf_counter()
            database_optimize(using=connection.alias)
            log.info("ANALYZE: %.0f ms", (time.perf_counter() - started) * 1000)
    except Exception:  # a busy or read-only database: plans stay as they were
        log.warning("could not refresh the planner's statistics", exc_info=True)


def planner_settings(sender, connection, **kwargs) -> None:
    """On a new PostgreSQL connection: the planner's parallel workers as
    DATABASE_PARALLEL_WORKERS says (0 by default). The list's queries read a page's
    worth of rows through indexes; starting workers cost more than they saved (the
    tag count at 1,000,000 runs: 20 ms with two workers, 7 ms without)."""
    workers = settings.DATABASE_PARALLEL_WORKERS
    if connection.vendor != "postgresql" or workers < 0:
        return
    with connection.cursor() as cursor:
        # A whole number written in: SET takes no bound parameters.
        cursor.execute(f"SET max_parallel_workers_per_gather = {int(workers)}")


def optimize_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate: statistics for the tables as the migrations left them."""
    database_optimize(using=using)
