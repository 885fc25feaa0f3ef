"""Reads of runs, scoped to a workspace."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from runs.list_state import DEFAULT_SORT
from runs.models import (
    Experiment,
    LatestMetric,
    Property,
    Run,
    RunFile,
    Tag,
    Workspace,
)
from runs.selectors.list_sql import order_by
from runs.selectors.rows import Statement, Table

RUN_DOCUMENT_PREFETCH = (
    Prefetch("tags", queryset=Tag.objects.order_by("key")),
    Prefetch("properties", queryset=Property.objects.order_by("key")),
    Prefetch("latest_metrics", queryset=LatestMetric.objects.order_by("name")),
)


# A run by its key in its workspace: the read of every per-run API call, written once
# (selectors.rows). The full run comes with its experiment and submitter; the lean one
# has its id, workspace and root only.
_RUN, _EXPERIMENT, _SUBMITTER, _PARENT = (
    Table(Run, "r"),
    Table(Experiment, "e"),
    Table(get_user_model(), "u"),
    Table(Run, "p"),
)
_LEAN_RUN = Table(Run, "r", only=("id", "workspace_id", "root_id"))


def _run_sql(q, *, full: bool, parent: bool = False) -> str:
    """The run `%s` of the workspace `%s`; `full`: with its experiment and submitter;
    `parent`: and its parent run."""
    tables = (_RUN, _EXPERIMENT, _SUBMITTER) if full else (_LEAN_RUN,)
    joins = ""
    if full:
        joins = (
            f" INNER JOIN {q(_EXPERIMENT.name)} e ON e.{q('id')} = r.{q('experiment_id')}"
            f" LEFT OUTER JOIN {q(_SUBMITTER.name)} u ON u.{q('id')} = r.{q('submitted_by_id')}"
        )
    if parent:
        tables += (_PARENT,)
        joins += f" LEFT OUTER JOIN {q(_PARENT.name)} p ON p.{q('id')} = r.{q('parent_id')}"
    # Names from the models, quoted; the values are parameters.
    return (
        f"SELECT {', '.join(t.columns(q) for t in tables)} FROM {q(Run._meta.db_table)} r"  # noqa: S608
        f"{joins} WHERE r.{q('id')} = %s AND r.{q('workspace_id')} = %s"
    )


_FULL_RUN = Statement([_RUN, _EXPERIMENT, _SUBMITTER], lambda q: _run_sql(q, full=True))
_WITH_PARENT = Statement(
    [_RUN, _EXPERIMENT, _SUBMITTER, _PARENT], lambda q: _run_sql(q, full=True, parent=True)
)
_LEAN = Statement([_LEAN_RUN], lambda q: _run_sql(q, full=False))


def run_get(
    *,
    workspace: Workspace,
    run_id: str,
    for_document: bool = False,
    lean: bool = False,
    with_parent: bool = False,
) -> Run:
    """The run `run_id` of the workspace, or Http404.

    `lean`: only its id, workspace and root, for writes that need no more (metric batches).
    `with_parent`: its parent run too (the run page).
    """
    statement = _LEAN if lean else _WITH_PARENT if with_parent else _FULL_RUN
    rows = statement.rows([run_id, workspace.pk])
    if not rows:
        raise Http404("No such run.")
    run = rows[0][0]
    if not lean:
        run.experiment, run.submitted_by = rows[0][1], rows[0][2]
    if with_parent:
        run.parent = rows[0][3]
    run.workspace = workspace
    if for_document:
        run.document_parts = run_document_parts(run_id=run.pk)
    return run


_WITH_TAGS_SQL = (
    'SELECT "r"."root_id", "t"."key", "t"."value" FROM "runs_run" "r"'
    ' LEFT OUTER JOIN "runs_tag" "t" ON "t"."run_id" = "r"."id"'
    ' WHERE "r"."id" = %s AND "r"."workspace_id" = %s'
)


def run_with_tags(*, workspace: Workspace, run_id: str) -> tuple[Run, dict[str, str | None]] | None:
    """The run `run_id` of the workspace (its id, workspace and root, as run_get's
    lean run) and its tags, in one query; None if it is not there. A tag change reads
    both inside its transaction (services.run_set_tags' `current`)."""
    with connection.cursor() as cursor:
        cursor.execute(_WITH_TAGS_SQL, [run_id, workspace.pk])
        rows = cursor.fetchall()
    if not rows:
        return None
    run = Run.from_db(
        connection.alias, ["id", "workspace_id", "root_id"], [run_id, workspace.pk, rows[0][0]]
    )
    run.workspace = workspace
    return run, {key: value for _, key, value in rows if key is not None}


@dataclass(frozen=True)
class DocumentParts:
    """What a run document lists beside the run's row, each by key."""

    tags: dict[str, str | None]
    properties: dict[str, str]
    # A text series' last text, a numeric series' last value (NaN as None).
    metrics: dict[str, float | str | None]


# One query instead of three prefetches (each read through its (run, key) unique index):
# a run document is the answer of most per-run API calls.
# The NULLs are typed: PostgreSQL matches a UNION's column types branch by branch.
_PARTS_SQL = (
    'SELECT 0, "key", "value", CAST(NULL AS REAL) FROM "runs_tag" WHERE "run_id" = %s'
    ' UNION ALL SELECT 1, "key", "value", CAST(NULL AS REAL) FROM "runs_property"'
    ' WHERE "run_id" = %s'
    ' UNION ALL SELECT 2, "name", "text", "value" FROM "runs_latestmetric"'
    ' WHERE "run_id" = %s'
    " ORDER BY 1, 2"
)


def run_document_parts(*, run_id: str) -> DocumentParts:
    """The run's tags, properties and latest metric values (text series' text, NaN as
    None), by key."""
    parts: tuple[dict, dict, dict] = ({}, {}, {})
    with connection.cursor() as cursor:
        cursor.execute(_PARTS_SQL, [run_id, run_id, run_id])
        for kind, key, text, number in cursor.fetchall():
            if kind < 2 or text is not None:
                parts[kind][key] = text
            else:
                parts[kind][key] = None if number is None or math.isnan(number) else number
    return DocumentParts(tags=parts[0], properties=parts[1], metrics=parts[2])


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
    sort: str = DEFAULT_SORT,
) -> QuerySet[Run]:
    """Runs filtered as the API and the SDK ask, in the order `sort` (a key the run
    list's page sorts by, already checked; newest first by default).

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
    qs = qs.select_related("workspace", "experiment", "submitted_by").prefetch_related(
        *RUN_DOCUMENT_PREFETCH
    )
    return order_by(qs, sort)


def runs_for_documents(*, workspace: Workspace, ids: list[str]) -> list[Run]:
    """The runs `ids` of the workspace, loaded for documents, in the order of `ids`."""
    qs = (
        Run.objects.filter(workspace=workspace, pk__in=ids)
        .select_related("experiment", "submitted_by")
        .prefetch_related(*RUN_DOCUMENT_PREFETCH)
        .order_by()
    )
    by_id = {r.pk: r for r in qs}
    for run in by_id.values():
        run.workspace = workspace
    return [by_id[i] for i in ids if i in by_id]


def runs_for_series(*, workspace: Workspace, ids: list[str]) -> list[Run]:
    """The runs `ids` of the workspace found, with what a chart line shows (id, name)."""
    return list(
        Run.objects.filter(workspace=workspace, pk__in=ids)
        .only("id", "display_name", "workspace_id", "root_id")
        .order_by()
    )


def runs_lean(*, workspace: Workspace, ids: list[str]) -> dict[str, Run]:
    """The runs `ids` of the workspace found, by id, with their id, workspace and root only."""
    qs = Run.objects.filter(workspace=workspace, pk__in=ids).only("id", "workspace_id", "root_id")
    return {r.pk: r for r in qs}


def run_latest_metrics(*, run: Run) -> list[LatestMetric]:
    """The last point of each of the run's metrics, by name."""
    return list(LatestMetric.objects.filter(run=run).order_by("name"))


def metric_kind(*, run: Run, name: str) -> str | None:
    """ "number" or "text": what the run's series `name` holds; None if never logged."""
    found = LatestMetric.objects.filter(run=run, name=name).order_by()
    for text in found.values_list("text", flat=True)[:1]:
        return "number" if text is None else "text"
    return None


def run_files(*, run: Run) -> list[RunFile]:
    """The run's files, logs first, then by path."""
    return list(RunFile.objects.filter(run=run).order_by("kind", "path"))
