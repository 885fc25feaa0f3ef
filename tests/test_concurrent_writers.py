"""Parallel writers never see "database is locked" (SQLite: WAL, IMMEDIATE, busy timeout)."""

import threading

import pytest
from django.db import connection, connections

from runs import services
from runs.models import LatestMetric, MetricBatch, Tag
from runs.services import SeriesIn
from tests.factories import ExperimentFactory, RunFactory

WRITERS = 6
ROUNDS = 25


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_all_succeed(workspace):
    exp = ExperimentFactory(workspace=workspace)
    runs = [RunFactory(experiment=exp) for _ in range(WRITERS)]
    shared = RunFactory(experiment=exp)
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS + 1)

    def writer(i: int) -> None:
        try:
            start.wait()
            for n in range(ROUNDS):
                services.metric_log_batch(
                    run=runs[i], series=[SeriesIn("loss", [float(n)] * 10)], key=f"{i}-{n}"
                )
                # Every writer also touches one shared run: contended rows.
                services.run_set_tags(run=shared, tags={f"writer{i}": str(n)})
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def reader() -> None:
        try:
            start.wait()
            for _ in range(ROUNDS):
                list(LatestMetric.objects.filter(run__in=runs).values_list("value", flat=True))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    threads.append(threading.Thread(target=reader))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert MetricBatch.objects.count() == WRITERS * ROUNDS
    assert set(LatestMetric.objects.filter(run__in=runs).values_list("count", flat=True)) == {
        10 * ROUNDS
    }
    assert Tag.objects.filter(run=shared).count() == WRITERS


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 10_000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
