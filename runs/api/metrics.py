"""Metrics: columnar batches in (the ingest hot path), latest values and series out."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Query, Router

from runs import selectors, services
from runs.api.auth import member_run, member_workspace, token_of
from runs.api.documents import finite_or_none
from runs.api.errors import ERRORS, ApiError
from runs.api.schemas import (
    LatestMetricOut,
    MetricBatchesIn,
    MetricBatchIn,
    MetricBatchOut,
    MetricsOut,
    RunSeriesOut,
    RunsSeriesOut,
    RunsSeriesQuery,
    SeriesBody,
    SeriesOut,
    SeriesQuery,
)

# Runs in one multi-run series request (the compare page's limit).
MAX_SERIES_RUNS = selectors.MAX_COMPARE_RUNS

router = Router(tags=["metrics"], by_alias=True)


def series_in(series: list[SeriesBody]) -> list[services.SeriesIn]:
    """A batch's series as the metric services take them: the columns as pydantic
    built them, no object per point."""
    return [
        services.SeriesIn(name=s.name, values=s.values, steps=s.steps, times=s.times)
        for s in series
    ]


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
    result = services.metric_log_batch(run=run, series=series_in(body.series), key=body.key)
    return MetricBatchOut(stored=result.stored, duplicate=result.duplicate)


@router.post(
    "/w/{ws}/metrics",
    response={200: MetricBatchOut, **ERRORS},
    url_name="metric-batches",
)
def metric_batches(request: HttpRequest, ws: str, body: MetricBatchesIn) -> MetricBatchOut:
    """Store the points of several runs in one request: all of them, or none.

    A process logging a sweep sends one request a round instead of one a run. Any run
    not found (or out of a run-scoped token's reach) is a 404 naming it, and nothing is
    stored; a key stored before for these runs stores nothing.
    """
    workspace = member_workspace(request, ws, write=True)
    token = token_of(request)
    wanted = [r.run_id for r in body.runs]
    found = {
        run_id: run
        for run_id, run in selectors.runs_lean(workspace=workspace, ids=wanted).items()
        if token.allows_run(run)
    }
    missing = [i for i in dict.fromkeys(wanted) if i not in found]
    if missing:
        shown = ", ".join(repr(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        noun = "run" if len(missing) == 1 else "runs"
        raise Http404(f"{noun} {shown} not found in workspace {ws!r}")
    batches = [(found[r.run_id], series_in(r.series)) for r in body.runs]
    result = services.metric_log_batches(batches=batches, key=body.key)
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
                value=m.text if m.text is not None else finite_or_none(m.value),
                kind="number" if m.text is None else "text",
                step=m.step,
                time=m.time.timestamp(),
                count=m.count,
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
    _, run = member_run(request, ws, run_id, lean=True)
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
    series = services.metric_series(
        run=run, name=params.name, start_step=params.start_step, end_step=params.end_step
    )
    # No numeric points: a text series, a metric the run never logged (404), or none
    # in the step range.
    if not series["steps"]:
        kind = selectors.metric_kind(run=run, name=params.name)
        if kind is None:
            raise Http404(f"run {run.id} has no metric {params.name!r}")
        if kind == "text":
            texts = services.text_series(
                run=run, name=params.name, start_step=params.start_step, end_step=params.end_step
            )
            return SeriesOut(name=params.name, **texts)
    return SeriesOut(
        name=params.name,
        steps=series["steps"],
        values=[finite_or_none(v) for v in series["values"]],
        times=series["times"],
    )


@router.get(
    "/w/{ws}/metrics/series",
    response={200: RunsSeriesOut, **ERRORS},
    url_name="metric-series-many",
)
def metric_series_many(
    request: HttpRequest, ws: str, params: Query[RunsSeriesQuery]
) -> RunsSeriesOut:
    """One metric of several runs for a chart, each run downsampled on the server to at
    most `maxPoints` points (each bucket's minimum and maximum, the ends kept)."""
    workspace = member_workspace(request, ws)
    token = token_of(request)
    wanted = list(dict.fromkeys(i.strip() for i in params.runs.split(",") if i.strip()))
    if not wanted:
        raise ApiError(400, "BadRequest", "runs: give at least one run id")
    if len(wanted) > MAX_SERIES_RUNS:
        raise ApiError(
            400, "BadRequest", f"runs: {len(wanted)} run ids; the limit is {MAX_SERIES_RUNS}"
        )
    if (
        params.start_step is not None
        and params.end_step is not None
        and params.start_step > params.end_step
    ):
        raise ApiError(
            400, "BadRequest", f"startStep {params.start_step} is after endStep {params.end_step}"
        )
    found = {
        r.pk: r
        for r in selectors.runs_for_series(workspace=workspace, ids=wanted)
        if token.allows_run(r)
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(repr(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        noun = "run" if len(missing) == 1 else "runs"
        raise Http404(f"{noun} {shown} not found in workspace {ws!r}")
    lines = selectors.compare_series(
        runs=[found[i] for i in wanted],
        name=params.name,
        max_points=params.max_points,
        start_step=params.start_step,
        end_step=params.end_step,
    )
    return RunsSeriesOut(
        name=params.name,
        series=[
            RunSeriesOut(
                run_id=line["runId"],
                display_name=line["displayName"],
                steps=line["steps"],
                values=[finite_or_none(v) for v in line["values"]],
                total=line["total"],
            )
            for line in lines
        ],
    )
