"""The run list's rows: the page's trees, their runs, tags and children summaries.

Rows are plain objects (`RunRow` holding a `ListedRun`, not model instances:
building those took longer than reading them), read with plain SQL. What a
row says in the page (durations, numbers, words) is the presentation's
(runs.views.run_table); here are its values.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Concat, Substr

from runs.lifecycle import LIFECYCLE, TERMINAL
from runs.list_state import Column, ListState
from runs.models import Experiment, LatestMetric, Property, Run, Tag, Workspace
from runs.selectors.list_conditions import RunCondition, match_q
from runs.selectors.list_sql import marks, order_by, ordered, qn, select, table

MAX_CHILDREN_SHOWN = 200


@dataclass
class ChildSummary:
    """A run's direct children: how many, by status; and how many runs are below it."""

    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    descendants: int = 0

    @property
    def status_counts(self) -> list[tuple[str, int]]:
        """(status, count) in lifecycle order, non-zero only."""
        return [(s, self.by_status[s]) for s in LIFECYCLE if self.by_status.get(s)]


class TagValue(NamedTuple):
    """A tag as the list draws it (a key-only tag has the value None)."""

    key: str
    value: str | None

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


@dataclass
class RunRow:
    run: Run | ListedRun
    depth: int = 0
    matches: bool = True
    ancestors: tuple[str, ...] = ()
    summary: ChildSummary | None = None
    # The row's children follow it in the list (revealed by a condition).
    expanded: bool = False
    tags: list[TagValue] = field(default_factory=list)
    # Metric, property and tag columns: {column key: value, None where the run has none}.
    values: dict[str, Any] = field(default_factory=dict)
    # The row as HTML (its `<tr>`, or its live cells), set by the view (RowRenderer).
    html: str = ""

    @property
    def active(self) -> bool:
        return self.run.status not in TERMINAL


ROW_FIELDS = (
    "id",
    "workspace_id",
    "experiment_id",
    "parent_id",
    "root_id",
    "display_name",
    "status",
    "submitted_by_id",
    "compute_target",
    "created",
    "started",
    "ended",
)
DESCRIPTION_HEAD = 1000
DATETIME_FIELDS = ("created", "started", "ended")


def _runs_for_rows(qs: QuerySet[Run], columns: list[Column] = ()) -> QuerySet[Run]:
    """The runs with what their rows draw: the experiment's name and the submitter's
    username as `experiment_name` and `submitter_name` (no model objects for them);
    metric and property columns as `column_value_<i>` (a small subquery each, instead
    of a query each)."""
    values = {}
    for i, col in enumerate(columns):
        if col.kind == "metric":
            rows = LatestMetric.objects.filter(run=OuterRef("pk"), name=col.name)
            # A text series' last value (a number's is in `value`).
            values[f"column_text_{i}"] = Subquery(rows.values("text")[:1])
        elif col.kind == "property":
            rows = Property.objects.filter(run=OuterRef("pk"), key=col.name)
        else:
            continue
        values[f"column_value_{i}"] = Subquery(rows.values("value")[:1])
    return qs.only(*ROW_FIELDS).annotate(
        experiment_name=F("experiment__name"),
        submitter_name=F("submitted_by__username"),
        description_head=Substr("description", 1, DESCRIPTION_HEAD),
        **values,
    )


_ROW_DATETIMES = tuple(i for i, name in enumerate(ROW_FIELDS) if name in DATETIME_FIELDS)


class ListedRun:
    """A run as its list row draws it: ROW_FIELDS and the annotations of _runs_for_rows,
    as attributes (and `pk`, `duration` as on Run). Not a model instance: building
    those took longer than reading the rows."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values

    @property
    def pk(self) -> str:
        return self.id

    duration = Run.duration


def _rows_by_id(ids: list[str], columns: list[Column]) -> list[ListedRun]:
    """The runs `ids` as _runs_for_rows has them (in no order), from one plain query:
    through the ORM, building the query and the runs took ~3 ms of a page's rows."""
    connection = connections[Run.objects.db]
    outputs = [f"r.{qn(name)}" for name in ROW_FIELDS]
    outputs += [f"e.{qn('name')}", f"u.{qn('username')}", f"SUBSTR(r.{qn('description')}, 1, %s)"]
    params: list = [DESCRIPTION_HEAD]
    names = ["experiment_name", "submitter_name", "description_head"]
    for i, col in enumerate(columns):
        if col.kind == "metric":
            model, key = LatestMetric, "name"
        elif col.kind == "property":
            model, key = Property, "key"
        else:
            continue
        outputs.append(
            f"(SELECT v.{qn('value')} FROM {table(model)} v "  # noqa: S608
            f"WHERE v.{qn('run_id')} = r.{qn('id')} AND v.{qn(key)} = %s LIMIT 1)"
        )
        params.append(col.name)
        names.append(f"column_value_{i}")
        if model is LatestMetric:
            # A text series' last value (a number's is in `value`).
            outputs.append(
                f"(SELECT v.{qn('text')} FROM {table(model)} v "  # noqa: S608
                f"WHERE v.{qn('run_id')} = r.{qn('id')} AND v.{qn(key)} = %s LIMIT 1)"
            )
            params.append(col.name)
            names.append(f"column_text_{i}")
    user = table(get_user_model())
    sql = (
        f"SELECT {', '.join(outputs)} FROM {table(Run)} r "  # noqa: S608
        f"INNER JOIN {table(Experiment)} e ON r.{qn('experiment_id')} = e.{qn('id')} "
        f"LEFT OUTER JOIN {user} u ON r.{qn('submitted_by_id')} = u.{qn('id')} "
        f"WHERE r.{qn('id')} IN ({marks(ids)})"
    )
    tz = connection.timezone if settings.USE_TZ else None
    names = [*ROW_FIELDS, *names]
    runs = []
    for values in select(sql, [*params, *ids]):
        fields = list(values)
        for i in _ROW_DATETIMES:
            fields[i] = _datetime(fields[i], tz)
        runs.append(ListedRun(dict(zip(names, fields, strict=True))))
    return runs


def _datetime(value: Any, tz) -> datetime | None:
    """A datetime column read with plain SQL, as the ORM gives it (aware in `tz`)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and tz is not None and value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def tree_rows(
    *, state: ListState, root_ids: list[str], condition: RunCondition | None
) -> list[RunRow]:
    """The page's roots in order, each followed by its revealed (matching) descendants.

    Without a condition: the roots. With one, a root without descendants is listed
    because it matches; under the roots with descendants, the runs that match are
    found (one query), and the rows are those, their ancestors (ids nest: a
    child's id is its parent's plus `_<n>`) and the roots.
    """
    if not root_ids:
        return []
    groups = _child_groups(root_ids)
    shown, matching = set(root_ids), None
    with_kids = [pk for pk in root_ids if pk in groups]
    if condition is not None and with_kids:
        # The condition tested on the trees' runs (found by root), in the list's
        # order, which the rows then keep.
        tested, tested_params = condition.on(Run._meta.db_table, tested_only=True)
        found = ordered(
            state.sort,
            ("pk", "root_id"),
            f"{table(Run)}.{qn('root_id')} IN ({marks(with_kids)}) AND {tested}",
            [*with_kids, *tested_params],
        )
        rank: dict[str, int] = {}
        for pk, root_id in found:
            rank[pk] = len(rank)
            shown.update(_ancestors(pk, root_id))
        matching = set(rank)
        shown |= matching
    if matching is None or shown <= matching | set(root_ids):
        # Ids only (no workspace condition): they come from the workspace, and SQLite
        # would otherwise walk the workspace index instead of looking the ids up.
        runs = _rows_by_id(list(shown), state.columns)
        if matching:
            runs.sort(key=lambda r: rank.get(r.pk, -1))  # children in list order
    else:
        # Runs shown only to place a deeper match: the list's order from the database.
        qs = order_by(Run.objects.filter(pk__in=shown), state.sort)
        runs = list(_runs_for_rows(qs, state.columns))
    by_parent: dict[str | None, list[Run]] = defaultdict(list)
    for run in runs:
        by_parent[run.parent_id].append(run)
    position = {pk: i for i, pk in enumerate(root_ids)}
    top = sorted(by_parent.get(None, []), key=lambda r: position.get(r.pk, 0))
    rows: list[RunRow] = []

    def walk(run: Run, depth: int, ancestors: tuple[str, ...]) -> None:
        kids = by_parent.get(run.pk, [])
        # Without descendants a listed root matches; with them, `matching` says.
        matches = run.pk in matching if matching is not None and run.root_id in groups else True
        rows.append(
            RunRow(run=run, depth=depth, matches=matches, ancestors=ancestors, expanded=bool(kids))
        )
        for kid in kids:
            walk(kid, depth + 1, (*ancestors, run.pk))

    for run in top:
        walk(run, 0, ())
    _decorate(rows, state, groups=groups)
    return rows


def _ancestors(run_id: str, root_id: str) -> list[str]:
    """The ids above a run, from its root down (ids nest: `<parent>_<n>`)."""
    chain = [root_id]
    for step in run_id[len(root_id) + 1 :].split("_")[:-1]:
        chain.append(f"{chain[-1]}_{step}")
    return chain if run_id != root_id else []


def _decorate(rows: list[RunRow], state: ListState, *, groups: dict) -> None:
    """Tags (one query), children summaries (from `groups`) and the cells of every column."""
    if not rows:
        return
    tags: dict[str, list[TagValue]] = defaultdict(list)
    run_ids = [r.run.pk for r in rows]
    for run_id, key, value in select(
        f"SELECT {qn('run_id')}, {qn('key')}, {qn('value')} FROM {table(Tag)} "  # noqa: S608
        f"WHERE {qn('run_id')} IN ({marks(run_ids)}) ORDER BY {qn('key')}",
        run_ids,
    ):
        tags[run_id].append(TagValue(key, value))
    summaries = _child_summaries(groups, [r.run.pk for r in rows])
    for row in rows:
        row.tags = tags.get(row.run.pk, [])
        row.summary = summaries.get(row.run.pk)
    _values(rows, state.columns)


def _values(rows: list[RunRow], columns: list[Column]) -> None:
    """Each row's values of metric, property and tag columns, from the run's
    `column_value_<i>` annotations (metrics, properties; `column_text_<i>` for a text
    series) and its tags."""
    annotated = [(i, c) for i, c in enumerate(columns) if c.kind in ("metric", "property")]
    tagged = [c for c in columns if c.kind == "tag"]
    for row in rows:
        values = {}
        for i, col in annotated:
            value = getattr(row.run, f"column_value_{i}", None)
            if value is None and col.kind == "metric":
                value = getattr(row.run, f"column_text_{i}", None)
            values[col.key] = value
        for col in tagged:
            values[col.key] = next((t.value or "" for t in row.tags if t.key == col.name), None)
        row.values = values


def _child_groups(root_ids: list[str]) -> dict[str, dict[str, int]]:
    """{parent id: {status: children}} under the roots, from one query grouped by
    (parent, status): small even under a sweep of thousands of children."""
    roots = list(dict.fromkeys(root_ids))
    rows = select(
        f"SELECT {qn('parent_id')}, {qn('status')}, COUNT(*) FROM {table(Run)} "  # noqa: S608
        f"WHERE {qn('parent_id')} IS NOT NULL AND {qn('root_id')} IN ({marks(roots)}) "
        f"GROUP BY {qn('parent_id')}, {qn('status')}",
        roots,
    )
    per_parent: dict[str, dict[str, int]] = defaultdict(dict)
    for parent_id, run_status, n in rows:
        per_parent[parent_id][run_status] = n
    return per_parent


def _child_summaries(
    per_parent: dict[str, dict[str, int]], run_ids: list[str]
) -> dict[str, ChildSummary]:
    """Each run's direct children by status, and its descendants summed up the tree,
    from _child_groups (ids nest: a child's id is its parent's id plus `_<n>`)."""
    out: dict[str, ChildSummary] = {}
    for run_id in run_ids:
        prefix = f"{run_id}_"
        summary = ChildSummary()
        for parent_id, counts in per_parent.items():
            if parent_id == run_id:
                summary.by_status = dict(counts)
                summary.total = sum(counts.values())
                summary.descendants += summary.total
            elif parent_id.startswith(prefix):
                summary.descendants += sum(counts.values())
        if summary.total:
            out[run_id] = summary
    return out


@dataclass
class ChildRows:
    """The direct children of a run as the list shows them under it."""

    rows: list[RunRow]
    # Children shown or shown so far (at most MAX_CHILDREN_SHOWN are drawn).
    total: int
    # Children the list's conditions leave out (none match, nor hold a match).
    hidden_by_filter: int
    # Where the rows go in the tree: their depth, and the ids above them.
    depth: int
    ancestors: tuple[str, ...]


def run_children_rows(*, workspace: Workspace, state: ListState, parent: Run) -> ChildRows:
    """Direct children of `parent` in the list's order (those that match or hold a
    match when a condition is set), at most MAX_CHILDREN_SHOWN; how many there are, and
    how many the conditions leave out."""
    children = Run.objects.filter(workspace=workspace, parent=parent)
    qs = children
    if state.filtering:
        cond = match_q(state)
        below = Run.objects.filter(
            root_id=OuterRef("root_id"),
            parent__isnull=False,
            id__startswith=Concat(OuterRef("id"), Value("_")),
        ).filter(cond)
        qs = qs.annotate(is_match=ExpressionWrapper(cond, output_field=BooleanField())).filter(
            Q(is_match=True) | Q(Exists(below))
        )
    qs = order_by(qs, state.sort).annotate(total=Window(Count("pk")))
    runs = list(_runs_for_rows(qs, state.columns)[:MAX_CHILDREN_SHOWN])
    total = runs[0].total if runs else 0
    hidden = children.count() - total if state.filtering else 0
    steps = parent.id[len(parent.root_id) + 1 :].split("_") if parent.parent_id else []
    chain = [parent.root_id]
    for step in steps:
        chain.append(f"{chain[-1]}_{step}")
    depth = len(chain)
    rows = [
        RunRow(
            run=run,
            depth=depth,
            matches=bool(getattr(run, "is_match", True)),
            ancestors=tuple(chain),
        )
        for run in runs
    ]
    _decorate(rows, state, groups=_child_groups([parent.root_id]))
    return ChildRows(rows, total, hidden, depth, tuple(chain))


def run_list_live(*, workspace: Workspace, state: ListState, run_ids: list[str]) -> list[RunRow]:
    """Fresh rows of runs on screen, for polling their status, duration and metrics."""
    qs = Run.objects.filter(workspace=workspace, pk__in=run_ids)
    rows = [RunRow(run=run) for run in _runs_for_rows(qs, state.columns)]
    _values(rows, state.columns)
    return rows
