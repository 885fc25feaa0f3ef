"""Parallel writers never see "database is locked" (SQLite: WAL, IMMEDIATE, busy timeout)."""

import threading

import pytest
from django.db import connection, connections

from runs import services
from runs.models import LatestMetric, MetricBatch, Run, Tag
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


@pytest.mark.django_db(transaction=True)
def test_multi_run_batches_heartbeats_and_cancels_do_not_deadlock(workspace):
    """A sweep's batches and heartbeats (runs in any order) beside cancels of its trees:
    each writer locks runs in id order, so they queue (PostgreSQL used to detect
    deadlocks here: batches lock runs at commit, heartbeats in their plan's order)."""
    exp = ExperimentFactory(workspace=workspace)
    roots = [RunFactory(experiment=exp) for _ in range(4)]
    children = [RunFactory(experiment=exp, parent=r) for r in roots for _ in range(3)]
    runs = roots + children
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def batches(order: list) -> None:
        try:
            start.wait()
            for n in range(ROUNDS):
                series = [SeriesIn("loss", [float(n)] * 5)]
                services.metric_log_batches(batches=[(r, series) for r in order], key="")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def heartbeats() -> None:
        try:
            start.wait()
            ids = [r.pk for r in reversed(runs)]
            for _ in range(ROUNDS * 2):
                services.runs_heartbeat(workspace=workspace, run_ids=ids)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def cancels() -> None:
        try:
            start.wait()
            for root in reversed(roots):
                services.run_cancel(run=root)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=batches, args=(runs,)),
        threading.Thread(target=batches, args=(runs[::-1],)),
        threading.Thread(target=heartbeats),
        threading.Thread(target=cancels),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    counts = set(LatestMetric.objects.filter(run__in=runs).values_list("count", flat=True))
    assert counts == {2 * 5 * ROUNDS}
    assert set(
        Run.objects.filter(pk__in=[r.pk for r in runs]).values_list("status", flat=True)
    ) == {"CancelRequested"}


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 10_000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
