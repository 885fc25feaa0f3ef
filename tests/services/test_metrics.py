"""Metric ingestion: chunks, steps, latest values, idempotency."""

import math

import pytest

from runs import services
from runs.models import LatestMetric, MetricChunk
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
