"""SQLite's planner statistics are refreshed when the runs outgrow them."""

import pytest
from django.db import connection

from runs.models import Experiment
from runs.services import maintenance
from tests.scale.bulk import insert_runs

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL's autovacuum keeps its statistics"
)


def seen_runs() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'runs_run' LIMIT 1")
        row = cursor.fetchone()
    return int(row[0].split()[0]) if row else 0


@pytest.fixture
def grown(workspace, settings, monkeypatch):
    """3,000 runs the statistics have not seen, and a check due now."""
    settings.STUDIO_DB_OPTIMIZE_INTERVAL = 600
    monkeypatch.setattr(maintenance, "_next_check", {})
    insert_runs(Experiment.objects.create(workspace=workspace, name="bulk"), 3000)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1")
    return workspace


def test_a_new_connection_analyzes_stale_statistics_once_per_interval(grown):
    assert maintenance.statistics_stale()
    maintenance.optimize_when_due(sender=None, connection=connection)
    assert seen_runs() >= 3000
    assert not maintenance.statistics_stale()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1")
    # Checked at most once per interval: the next connection does nothing.
    maintenance.optimize_when_due(sender=None, connection=connection)
    assert seen_runs() == 0


def test_interval_zero_never_analyzes(grown, settings):
    settings.STUDIO_DB_OPTIMIZE_INTERVAL = 0
    maintenance.optimize_when_due(sender=None, connection=connection)
    assert seen_runs() == 0


def test_a_few_runs_need_no_statistics(workspace):
    assert not maintenance.statistics_stale()


def test_the_worker_refreshes_the_statistics_hourly(grown):
    from runs.executors import local

    assert ("planner statistics", 3600.0, maintenance.statistics_refresh) in local.DUTIES
    assert maintenance.statistics_refresh()
    assert seen_runs() >= 3000


def test_the_worker_leaves_a_small_database_alone(workspace):
    insert_runs(Experiment.objects.create(workspace=workspace, name="few"), 10)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1")
    assert not maintenance.statistics_refresh()
    assert seen_runs() == 0
