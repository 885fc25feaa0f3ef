"""Imports from other trackers: MLflow's experiments, runs, params, tags and metrics.

Each run is written in its own transaction through the same rules as the API's:
params become properties (immutable facts), tags stay tags, every metric keeps its
steps and times, `mlflow.parentRunId` makes the run a child of its parent (imported
first), `mlflow.note.content` becomes the description. The MLflow run id is kept as
the property `mlflow.runId`, so importing the same store again skips what is here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F

from runs.importers.mlflow import MlflowRun
from runs.models import Property, Run, Tag, Workspace, run_search_text
from runs.services.metrics import MAX_POINTS_PER_BATCH, SeriesIn, metric_log_batch
from runs.services.properties import check_properties
from runs.services.runs import (
    _check_description,
    _description_html,
    _imported_times,
    run_create,
)
from runs.services.tags import MAX_VALUE, check_tags
from runs.services.workspaces import experiment_get_or_create
from runs.status import Status

SOURCE_ID = "mlflow.runId"
STATUSES = {
    "FINISHED": Status.COMPLETED,
    "FAILED": Status.FAILED,
    "KILLED": Status.CANCELED,
    "RUNNING": Status.RUNNING,
    "SCHEDULED": Status.QUEUED,
}
# Tags that become fields of the run rather than tags.
_FIELD_TAGS = {"mlflow.runName", "mlflow.parentRunId", "mlflow.note.content"}
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ImportResult:
    runs: int = 0
    points: int = 0
    skipped: int = 0
    experiments: set[str] = field(default_factory=set)


def experiment_name(name: str) -> str:
    """An MLflow experiment name as a studio one: '/Users/ann/churn' -> 'Users-ann-churn'."""
    clean = _NOT_A_NAME.sub("-", name).strip("-._")[:100]
    return clean or "Default"


def _clip(value: str) -> str:
    return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"


def _when(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


def _depth_order(runs: list[MlflowRun]) -> list[MlflowRun]:
    """Parents before their children (a run whose parent is not here counts as top-level)."""
    by_id = {r.run_id: r for r in runs}

    def depth(run: MlflowRun) -> int:
        seen, d = set(), 0
        while run.parent_id in by_id and run.parent_id not in seen:
            seen.add(run.run_id)
            run, d = by_id[run.parent_id], d + 1
        return d

    return sorted(runs, key=lambda r: (depth(r), r.start_ms or 0, r.run_id))


def mlflow_import(
    *,
    workspace: Workspace,
    user,
    runs: Iterable[MlflowRun],
    experiments: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import MLflow runs into `workspace` (those of `experiments` only, by MLflow name)."""
    wanted = [r for r in runs if experiments is None or r.experiment in experiments]
    done = dict(
        Property.objects.filter(
            key=SOURCE_ID, run__workspace=workspace, value__in=[r.run_id for r in wanted]
        ).values_list("value", "run_id")
    )
    result = ImportResult()
    for run in _depth_order(wanted):
        if run.run_id in done:
            result.skipped += 1
            continue
        parent_id = done.get(run.parent_id) if run.parent_id else None
        studio_run, points = _import_run(workspace, user, run, parent_id)
        done[run.run_id] = studio_run.pk
        result.runs += 1
        result.points += points
        result.experiments.add(studio_run.experiment.name)
        if progress is not None:
            progress(f"{run.run_id} -> {studio_run.pk} ({points:,} points)")
    return result


@transaction.atomic
def _import_run(
    workspace: Workspace, user, source: MlflowRun, parent_id: str | None
) -> tuple[Run, int]:
    status = STATUSES.get(source.status.upper(), Status.COMPLETED)
    times = [t for m in source.metrics.values() for t in (m.times[:1] + m.times[-1:])]
    started = _when(source.start_ms)
    if started is None and times:
        started = datetime.fromtimestamp(min(times), tz=UTC)
    started = started or datetime.now(tz=UTC)
    ended = None
    if status in (Status.COMPLETED, Status.FAILED, Status.CANCELED):
        ended = _when(source.end_ms) or (
            datetime.fromtimestamp(max(times), tz=UTC) if times else started
        )
        ended = max(ended, started)
    tags = {k: _clip(v) for k, v in source.tags.items() if k not in _FIELD_TAGS}
    properties = {k: _clip(v) for k, v in source.params.items()}
    properties[SOURCE_ID] = source.run_id
    description = _check_description(source.tags.get("mlflow.note.content", ""))
    display_name = source.name[:255]
    experiment = experiment_get_or_create(
        workspace=workspace, name=experiment_name(source.experiment)
    )
    if parent_id is None:
        run = run_create(
            experiment=experiment,
            user=user,
            display_name=display_name,
            run_status=status,
            description=description,
            tags=tags,
            properties=properties,
            started=started,
            ended=ended,
        )
    else:
        parent = Run.objects.select_related("experiment").get(pk=parent_id)
        times = _imported_times(status, started, ended)
        run = _create_child(parent, user, display_name, description, status, tags, times)
        props = check_properties(properties)
        Property.objects.bulk_create(Property(run=run, key=k, value=v) for k, v in props.items())
    points = 0
    for name, metric in source.metrics.items():
        metric = metric.in_order()
        for start in range(0, len(metric.steps), MAX_POINTS_PER_BATCH):
            end = start + MAX_POINTS_PER_BATCH
            part = SeriesIn(
                name=name,
                values=metric.values[start:end],
                steps=metric.steps[start:end],
                times=metric.times[start:end],
            )
            points += metric_log_batch(run=run, series=[part]).stored
    return run, points


def _create_child(
    parent: Run, user, display_name: str, description: str, status: str, tags: dict, times: dict
) -> Run:
    """The next child of `parent` (`<parent>_<n>`), dated as it ran elsewhere."""
    Run.objects.filter(pk=parent.pk).update(child_counter=F("child_counter") + 1)
    number = Run.objects.values_list("child_counter", flat=True).get(pk=parent.pk)
    run_id = f"{parent.pk}_{number}"
    clean = check_tags(tags)
    run = Run(
        id=run_id,
        workspace_id=parent.workspace_id,
        experiment_id=parent.experiment_id,
        parent=parent,
        root_id=parent.root_id,
        display_name=display_name,
        status=status,
        submitted_by=user,
        compute_target=parent.compute_target,
        description=description,
        description_html=_description_html(description, parent.workspace_id),
        search_text=run_search_text(
            run_id=run_id,
            display_name=display_name,
            description=description,
            experiment=parent.experiment.name,
            submitter=user.username if user is not None else None,
            tags=dict(sorted(clean.items())),
        ),
        **times,
    )
    run.save(force_insert=True)
    Tag.objects.bulk_create(Tag(run=run, key=k, value=v) for k, v in clean.items())
    return run
