"""Reads of runs, scoped to a workspace."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from runs.models import LatestMetric, Property, Run, RunFile, Tag, Workspace

RUN_DOCUMENT_PREFETCH = (
    Prefetch("tags", queryset=Tag.objects.order_by("key")),
    Prefetch("properties", queryset=Property.objects.order_by("key")),
    Prefetch("latest_metrics", queryset=LatestMetric.objects.order_by("name")),
)


def run_get(
    *, workspace: Workspace, run_id: str, for_document: bool = False, lean: bool = False
) -> Run:
    """The run `run_id` of the workspace, or Http404.

    `lean`: only its id, workspace and root, for writes that need no more (metric batches).
    """
    if lean:
        qs = Run.objects.filter(workspace=workspace).only("id", "workspace_id", "root_id")
    else:
        qs = Run.objects.filter(workspace=workspace).select_related(
            "workspace", "experiment", "submitted_by"
        )
    if for_document:
        qs = qs.prefetch_related(*RUN_DOCUMENT_PREFETCH)
    run = qs.filter(pk=run_id).first()
    if run is None:
        raise Http404("No such run.")
    return run


def run_search(
    *,
    workspace: Workspace,
    experiment: str | None = None,
    statuses: list[str] | None = None,
    tags: dict[str, str | None] | None = None,
    properties: dict[str, str | None] | None = None,
    parent: Run | None = None,
    recursive: bool = False,
    include_children: bool = False,
    condition: Q | None = None,
    within: Run | None = None,
) -> QuerySet[Run]:
    """Runs newest first, filtered as the API and the SDK ask.

    A tag or property given with the value None must only exist. Without
    `parent`, only top-level runs unless `include_children`. `condition` is a
    parsed filter (runs.query.to_q); `within` limits the runs to that run and
    its descendants (a run-scoped token).
    """
    qs = Run.objects.filter(workspace=workspace)
    if within is not None:
        qs = qs.filter(Q(pk=within.pk) | Q(root_id=within.root_id, id__startswith=f"{within.id}_"))
    if condition is not None:
        qs = qs.filter(condition)
    if experiment:
        qs = qs.filter(experiment__name=experiment)
    if parent is not None:
        if recursive:
            qs = qs.filter(root_id=parent.root_id, id__startswith=f"{parent.id}_")
        else:
            qs = qs.filter(parent=parent)
    elif not include_children:
        qs = qs.filter(parent__isnull=True)
    if statuses:
        qs = qs.filter(status__in=statuses)
    for key, value in (tags or {}).items():
        cond = Q(key=key) if value is None else Q(key=key, value=value)
        qs = qs.filter(pk__in=Tag.objects.filter(cond).values("run_id"))
    for key, value in (properties or {}).items():
        cond = Q(key=key) if value is None else Q(key=key, value=value)
        qs = qs.filter(pk__in=Property.objects.filter(cond).values("run_id"))
    return (
        qs.select_related("workspace", "experiment", "submitted_by")
        .prefetch_related(*RUN_DOCUMENT_PREFETCH)
        .order_by("-created", "-id")
    )


def runs_for_documents(*, workspace: Workspace, ids: list[str]) -> list[Run]:
    """The runs `ids` of the workspace, loaded for documents, in the order of `ids`."""
    qs = (
        Run.objects.filter(workspace=workspace, pk__in=ids)
        .select_related("workspace", "experiment", "submitted_by")
        .prefetch_related(*RUN_DOCUMENT_PREFETCH)
    )
    by_id = {r.pk: r for r in qs}
    return [by_id[i] for i in ids if i in by_id]


def runs_lean(*, workspace: Workspace, ids: list[str]) -> dict[str, Run]:
    """The runs `ids` of the workspace found, by id, with their id, workspace and root only."""
    qs = Run.objects.filter(workspace=workspace, pk__in=ids).only("id", "workspace_id", "root_id")
    return {r.pk: r for r in qs}


def run_latest_metrics(*, run: Run) -> list[LatestMetric]:
    """The last point of each of the run's metrics, by name."""
    return list(LatestMetric.objects.filter(run=run).order_by("name"))


def run_files(*, run: Run) -> list[RunFile]:
    """The run's files, logs first, then by path."""
    return list(RunFile.objects.filter(run=run).order_by("kind", "path"))
