"""Parallel writers never see "database is locked" (SQLite: WAL, IMMEDIATE, busy timeout)."""

import functools
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from runs import services
from runs.models import LatestMetric, MetricBatch, Run, Tag
from runs.services import SeriesIn
from tests.factories import ExperimentFactory, RunFactory

WRITERS = 6
ROUNDS = 25


def run_together(*bodies: Callable[[], None]) -> None:
    """Run each body in its own thread, all starting at once; raise what any raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(bodies))

    def thread(body: Callable[[], None]) -> None:
        try:
            start.wait()
            body()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=thread, args=(body,)) for body in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_all_succeed(workspace):
    exp = ExperimentFactory(workspace=workspace)
    runs = [RunFactory(experiment=exp) for _ in range(WRITERS)]
    shared = RunFactory(experiment=exp)

    def writer(i: int) -> None:
        for n in range(ROUNDS):
            services.metric_log_batch(
                run=runs[i], series=[SeriesIn("loss", [float(n)] * 10)], key=f"{i}-{n}"
            )
            # Every writer also touches one shared run: contended rows.
            services.run_set_tags(run=shared, tags={f"writer{i}": str(n)})

    def reader() -> None:
        for _ in range(ROUNDS):
            list(LatestMetric.objects.filter(run__in=runs).values_list("value", flat=True))

    run_together(*(functools.partial(writer, i) for i in range(WRITERS)), reader)
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

    def batches(order: list) -> None:
        for n in range(ROUNDS):
            series = [SeriesIn("loss", [float(n)] * 5)]
            services.metric_log_batches(batches=[(r, series) for r in order], key="")

    def heartbeats() -> None:
        ids = [r.pk for r in reversed(runs)]
        for _ in range(ROUNDS * 2):
            services.runs_heartbeat(workspace=workspace, run_ids=ids)

    def cancels() -> None:
        for root in reversed(roots):
            services.run_cancel(run=root)

    run_together(
        functools.partial(batches, runs),
        functools.partial(batches, runs[::-1]),
        heartbeats,
        cancels,
    )
    counts = set(LatestMetric.objects.filter(run__in=runs).values_list("count", flat=True))
    assert counts == {2 * 5 * ROUNDS}
    statuses = Run.objects.filter(pk__in=[r.pk for r in runs]).values_list("status", flat=True)
    assert set(statuses) == {"CancelRequested"}


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 10_000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
