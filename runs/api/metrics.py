"""Metrics: columnar batches in (the ingest hot path), latest values and series out."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Query, Router

from runs import selectors, services
from runs.api.auth import member_run
from runs.api.documents import finite_or_none
from runs.api.errors import ERRORS, ApiError
from runs.api.schemas import (
    LatestMetricOut,
    MetricBatchIn,
    MetricBatchOut,
    MetricsOut,
    SeriesOut,
    SeriesQuery,
)

router = Router(tags=["metrics"], by_alias=True)


@router.post(
    "/w/{ws}/runs/{run_id}/metrics",
    response={200: MetricBatchOut, **ERRORS},
    url_name="metric-batch",
)
def metric_batch(request: HttpRequest, ws: str, run_id: str, body: MetricBatchIn) -> MetricBatchOut:
    """Store a batch of points; a batch whose key was stored before stores nothing.

    The columns reach the service as the lists pydantic built: no object per point.
    """
    _, run = member_run(request, ws, run_id, write=True, lean=True)
    series = [
        services.SeriesIn(name=s.name, values=s.values, steps=s.steps, times=s.times)
        for s in body.series
    ]
    result = services.metric_log_batch(run=run, series=series, key=body.key)
    return MetricBatchOut(stored=result.stored, duplicate=result.duplicate)


@router.get(
    "/w/{ws}/runs/{run_id}/metrics", response={200: MetricsOut, **ERRORS}, url_name="metric-list"
)
def metric_list(request: HttpRequest, ws: str, run_id: str) -> MetricsOut:
    """The last point of each of the run's metrics."""
    _, run = member_run(request, ws, run_id)
    return MetricsOut(
        metrics={
            m.name: LatestMetricOut(
                value=finite_or_none(m.value), step=m.step, time=m.time.timestamp(), count=m.count
            )
            for m in selectors.run_latest_metrics(run=run)
        }
    )


@router.get(
    "/w/{ws}/runs/{run_id}/metrics/series",
    response={200: SeriesOut, **ERRORS},
    url_name="metric-series",
)
def metric_series(
    request: HttpRequest, ws: str, run_id: str, params: Query[SeriesQuery]
) -> SeriesOut:
    """The points of one metric in logged order, optionally between two steps."""
    _, run = member_run(request, ws, run_id)
    if (
        params.start_step is not None
        and params.end_step is not None
        and params.start_step > params.end_step
    ):
        raise ApiError(
            400,
            "BadRequest",
            f"startStep {params.start_step} is after endStep {params.end_step}",
        )
    if not any(m.name == params.name for m in selectors.run_latest_metrics(run=run)):
        raise Http404(f"run {run.id} has no metric {params.name!r}")
    series = services.metric_series(
        run=run, name=params.name, start_step=params.start_step, end_step=params.end_step
    )
    return SeriesOut(
        name=params.name,
        steps=series["steps"],
        values=[finite_or_none(v) for v in series["values"]],
        times=series["times"],
    )
