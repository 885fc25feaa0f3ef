"""Metric ingestion: chunks, steps, latest values, idempotency."""

import math

import pytest
from django.db import transaction

from runs import services
from runs.exceptions import Conflict, ValidationFailed
from runs.models import LatestMetric, MetricBatch, MetricChunk
from runs.services import SeriesIn
from tests.factories import RunFactory

pytestmark = pytest.mark.django_db


def test_points_fill_chunks_of_a_thousand_and_read_back_in_order():
    run = RunFactory()
    services.metric_log_batch(run=run, series=[SeriesIn("loss", [float(i) for i in range(1500)])])
    services.metric_log_batch(
        run=run, series=[SeriesIn("loss", [float(i) for i in range(1500, 2100)])]
    )
    chunks = list(MetricChunk.objects.filter(run=run, name="loss").values_list("seq", "count"))
    assert chunks == [(0, 1000), (1, 1000), (2, 100)]
    series = services.metric_series(run=run, name="loss")
    assert series["steps"] == list(range(2100))
    assert series["values"] == [float(i) for i in range(2100)]


def test_steps_continue_from_the_last_logged_step():
    run = RunFactory()
    services.metric_log_batch(run=run, series=[SeriesIn("acc", [0.1, 0.2], steps=[10, 20])])
    services.metric_log_batch(run=run, series=[SeriesIn("acc", [0.3])])
    assert services.metric_series(run=run, name="acc")["steps"] == [10, 20, 21]
    latest = LatestMetric.objects.get(run=run, name="acc")
    assert (latest.value, latest.step, latest.count) == (0.3, 21, 3)


def test_a_batch_sent_twice_is_stored_once():
    run = RunFactory()
    batch = [SeriesIn("loss", [1.0, 2.0])]
    first = services.metric_log_batch(run=run, series=batch, key="k1")
    again = services.metric_log_batch(run=run, series=batch, key="k1")
    assert (first.stored, first.duplicate) == (2, False)
    assert (again.stored, again.duplicate) == (0, True)
    assert services.metric_series(run=run, name="loss")["values"] == [1.0, 2.0]


def test_nan_is_kept_in_the_series_and_latest_is_null():
    run = RunFactory()
    services.metric_log_batch(run=run, series=[SeriesIn("loss", [1.0, math.nan])])
    values = services.metric_series(run=run, name="loss")["values"]
    assert values[0] == 1.0
    assert math.isnan(values[1])
    assert LatestMetric.objects.get(run=run).value is None


def test_step_range_reads_only_matching_points():
    run = RunFactory()
    services.metric_log_batch(run=run, series=[SeriesIn("x", [float(i) for i in range(3000)])])
    got = services.metric_series(run=run, name="x", start_step=1500, end_step=1502)
    assert got["steps"] == [1500, 1501, 1502]


def test_a_refused_batch_leaves_the_callers_transaction_as_it_was():
    """No savepoint is taken: the refusal comes before anything is written, so a caller's
    transaction goes on (here: numbers sent to a text series)."""
    run = RunFactory()
    services.metric_log_batch(run=run, series=[SeriesIn("note", ["warm-up"])])
    with transaction.atomic():
        with pytest.raises(ValidationFailed, match="holds text: it cannot take numbers"):
            services.metric_log_batch(
                run=run, series=[SeriesIn("acc", [0.5]), SeriesIn("note", [1.0])], key="k"
            )
        # still usable, and the refused batch wrote nothing, not even its key
        services.metric_log_batch(run=run, series=[SeriesIn("acc", [0.7])], key="k")
    assert services.metric_series(run=run, name="acc")["values"] == [0.7]


def test_a_refused_run_of_a_multi_run_batch_stores_no_run():
    first, second = RunFactory(), RunFactory()
    services.metric_log_batch(run=second, series=[SeriesIn("note", ["text"])])
    batches = [(first, [SeriesIn("acc", [0.5])]), (second, [SeriesIn("note", [2.0])])]
    with pytest.raises(ValidationFailed, match="'note' holds text"):
        services.metric_log_batches(batches=batches, key="k")
    assert not LatestMetric.objects.filter(run=first).exists()
    assert not MetricBatch.objects.filter(key="k").exists()


def test_a_key_stored_before_for_some_of_the_runs_only_is_a_conflict():
    """A retry carries the same runs; a key reused for other runs stores nothing."""
    first, second = RunFactory(), RunFactory()
    services.metric_log_batch(run=first, series=[SeriesIn("acc", [0.5])], key="k")
    batches = [(first, [SeriesIn("acc", [0.6])]), (second, [SeriesIn("acc", [0.6])])]
    with pytest.raises(Conflict, match="used before for 1 of these 2 runs only"):
        services.metric_log_batches(batches=batches, key="k")
    assert list(MetricBatch.objects.filter(key="k").values_list("run_id", flat=True)) == [first.pk]
    assert not LatestMetric.objects.filter(run=second).exists()
    again = services.metric_log_batches(batches=batches, key="k2")
    assert (again.stored, again.duplicate) == (2, False)
