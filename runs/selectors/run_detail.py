"""Reads for the run detail page: the run with everything around it, logs, chart series."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.http import Http404

from runs import downsample
from runs.file_content import open_run_file
from runs.models import (
    LatestMetric,
    Membership,
    MetricText,
    Property,
    Run,
    RunEvent,
    RunFile,
    Tag,
    Workspace,
    one_or_none,
)
from runs.selectors.compare import compare_series
from runs.selectors.rows import Statement, Table
from runs.selectors.runs import run_get
from runs.status import TERMINAL

# The page shows at most this many descendants and events; the rest is counted.
MAX_TREE_NODES = 500
MAX_EVENTS = 100
# Charts drawn on the page (the table lists every metric).
MAX_CHARTS = 48
# Values of text series the page shows, each (newest first), and in all.
TEXT_VALUES_EACH = 20
TEXT_VALUES_ALL = 400
LOG_TAIL_BYTES = 64 * 1024
LOG_CHUNK_BYTES = 256 * 1024


@dataclass
class TreeNode:
    run: Run
    children: list[TreeNode] = field(default_factory=list)
    depth: int = 0


@dataclass
class RunTree:
    nodes: list[TreeNode]
    total: int
    active: int
    truncated: bool


@dataclass
class RunEvents:
    events: list[RunEvent]
    more: bool


@dataclass
class RunDetail:
    run: Run
    tags: list[Tag]
    properties: list[Property]
    latest_metrics: list[LatestMetric]
    log_files: list[RunFile]
    output_files: list[RunFile]
    snapshot: RunFile | None
    tree: RunTree
    events: RunEvents


def run_for_detail(*, workspace: Workspace, run_id: str) -> Run:
    """The run with its experiment, submitter and parent, or Http404 (also for other workspaces)."""
    run = Run.objects.filter(workspace=workspace, pk=run_id).select_related(
        "experiment", "submitted_by", "parent"
    )
    run = one_or_none(run)
    if run is None:
        raise Http404("No such run.")
    return run


# What hangs off the run on its page, read by statements written once (selectors.rows):
# the ORM spent more time building them than the database answering them.
def _of_run(model, order: tuple[str, ...]) -> Statement:
    """A model's rows of the run `%s`, in `order` (columns)."""
    table = Table(model, "x")

    def write(q) -> str:
        by = ", ".join(f"x.{q(column)}" for column in order)
        return (
            f"SELECT {table.columns(q)} FROM {q(table.name)} x"  # noqa: S608
            f" WHERE x.{q('run_id')} = %s ORDER BY {by}"
        )

    return Statement([table], write)


_TAGS = _of_run(Tag, ("key",))
_PROPERTIES = _of_run(Property, ("key",))
_LATEST = _of_run(LatestMetric, ("name",))
_FILES = _of_run(RunFile, ("kind", "path"))


def run_detail(*, workspace: Workspace, run_id: str) -> RunDetail:
    """Everything the page shows, in a bounded number of queries.

    The run (with experiment, submitter, parent), tags, properties, latest
    metrics, files, the descendants (one query, the tree built here) and the
    newest events with their actors.
    """
    run = run_get(workspace=workspace, run_id=run_id, with_parent=True)
    files = [row[0] for row in _FILES.rows([run.pk])]
    return RunDetail(
        run=run,
        tags=[row[0] for row in _TAGS.rows([run.pk])],
        properties=[row[0] for row in _PROPERTIES.rows([run.pk])],
        latest_metrics=[row[0] for row in _LATEST.rows([run.pk])],
        log_files=[f for f in files if f.kind == RunFile.Kind.LOG],
        output_files=[f for f in files if f.kind == RunFile.Kind.OUTPUT],
        snapshot=next((f for f in files if f.kind == RunFile.Kind.SNAPSHOT), None),
        tree=run_tree(run=run),
        events=run_events(run=run),
    )


def run_text_values(*, run: Run, names: list[str]) -> dict[str, list[MetricText]]:
    """The newest values of the run's text series `names`, newest first (one query)."""
    if not names:
        return {}
    rows = MetricText.objects.filter(run=run, name__in=names).order_by("-id")[:TEXT_VALUES_ALL]
    out: dict[str, list[MetricText]] = {name: [] for name in names}
    for row in rows.only("name", "step", "time", "value", "is_bool"):
        if len(out[row.name]) < TEXT_VALUES_EACH:
            out[row.name].append(row)
    return out


def run_tags(*, run: Run) -> list[Tag]:
    """The run's tags by key."""
    return list(Tag.objects.filter(run=run).order_by("key"))


def run_tree(*, run: Run, limit: int = MAX_TREE_NODES) -> RunTree:
    """The run's descendants as a tree (oldest first), at most `limit` of them.

    One query for the nodes; a second one counts the rest only when the tree
    is cut at `limit`.
    """
    rows = list(
        run.descendants()
        .only("id", "parent_id", "status", "display_name", "created")
        .order_by("created", "id")[: limit + 1]
    )
    truncated = len(rows) > limit
    rows = rows[:limit]
    nodes = {r.pk: TreeNode(run=r) for r in rows}
    top: list[TreeNode] = []
    for r in rows:
        node = nodes[r.pk]
        parent = nodes.get(r.parent_id)
        if parent is None:
            top.append(node)
        else:
            parent.children.append(node)
    _set_depth(top, 0)
    if truncated:
        descendants = run.descendants()
        total = descendants.count()
        active = descendants.exclude(status__in=TERMINAL).count()
    else:
        total = len(rows)
        active = sum(1 for r in rows if r.status not in TERMINAL)
    return RunTree(nodes=top, total=total, active=active, truncated=truncated)


def _set_depth(nodes: list[TreeNode], depth: int) -> None:
    stack = [(n, depth) for n in nodes]
    while stack:
        node, d = stack.pop()
        node.depth = d
        stack.extend((c, d + 1) for c in node.children)


def run_active_descendant_count(*, run: Run) -> int:
    """How many descendants a cancel of `run` would also reach."""
    return run.descendants().exclude(status__in=TERMINAL).count()


_EVENT, _ACTOR = Table(RunEvent, "v"), Table(get_user_model(), "a")
_EVENTS = Statement(
    [_EVENT, _ACTOR],
    lambda q: (
        f"SELECT {_EVENT.columns(q)}, {_ACTOR.columns(q)} FROM {q(_EVENT.name)} v"  # noqa: S608
        f" LEFT OUTER JOIN {q(_ACTOR.name)} a ON a.{q('id')} = v.{q('actor_id')}"
        f" WHERE v.{q('run_id')} = %s ORDER BY v.{q('created')} DESC, v.{q('id')} DESC LIMIT %s"
    ),
)


def run_events(*, run: Run, limit: int = MAX_EVENTS) -> RunEvents:
    """The run's activity, newest first, with the actors."""
    events = []
    for event, actor in _EVENTS.rows([run.pk, limit + 1]):
        event.actor = actor
        events.append(event)
    return RunEvents(events=events[:limit], more=len(events) > limit)


def run_log_files(*, run: Run) -> list[RunFile]:
    """The run's logs, by path."""
    return list(RunFile.objects.filter(run=run, kind=RunFile.Kind.LOG).order_by("path"))


def run_snapshot(*, run: Run) -> RunFile | None:
    """The source snapshot of a submitted run, if any."""
    return RunFile.objects.filter(run=run, kind=RunFile.Kind.SNAPSHOT).first()


def run_file_get(*, run: Run, path: str | None = None, file_id: int | None = None) -> RunFile:
    """One of the run's files by path or id, or Http404."""
    qs = RunFile.objects.filter(run=run)
    qs = qs.filter(path=path) if path is not None else qs.filter(pk=file_id)
    rf = one_or_none(qs)
    if rf is None:
        raise Http404("No such file.")
    return rf


@dataclass
class LogChunk:
    text: str
    start: int
    end: int
    # Whether the chunk reaches the end of what is stored now.
    at_end: bool
    # Whether bytes before `start` were left out (the page shows a tail).
    skipped: bool


def run_log_tail(*, run_file: RunFile, max_bytes: int = LOG_TAIL_BYTES) -> LogChunk:
    """The last `max_bytes` of a log, starting at a line boundary when one is near."""
    with open_run_file(run_file) as fh:
        fh.seek(0, 2)
        size = fh.tell()
        start = max(0, size - max_bytes)
        fh.seek(start)
        data = fh.read(max_bytes)
    if start > 0:
        newline = data.find(b"\n")
        if 0 <= newline < len(data) - 1:
            start += newline + 1
            data = data[newline + 1 :]
        else:
            data, cut = _from_char_boundary(data)
            start += cut
    data = _to_char_boundary(data)
    return LogChunk(
        text=data.decode("utf-8", "replace"),
        start=start,
        end=start + len(data),
        at_end=True,
        skipped=start > 0,
    )


def run_log_chunk(*, run_file: RunFile, offset: int, max_bytes: int = LOG_CHUNK_BYTES) -> LogChunk:
    """The bytes of a log from `offset` on, at most `max_bytes`, cut at a character boundary."""
    with open_run_file(run_file) as fh:
        fh.seek(0, 2)
        size = fh.tell()
        # A log replaced by a shorter one: start again from its beginning.
        offset = 0 if offset > size else offset
        fh.seek(offset)
        data = fh.read(max_bytes)
    # At the end even when a partial character is held back: it may never be completed.
    at_end = offset + len(data) >= size
    data = _to_char_boundary(data)
    return LogChunk(
        text=data.decode("utf-8", "replace"),
        start=offset,
        end=offset + len(data),
        at_end=at_end,
        skipped=False,
    )


def _to_char_boundary(data: bytes) -> bytes:
    """Drop a trailing partial UTF-8 sequence; the next read picks it up whole."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= need else data[:-back]
    return data


def _from_char_boundary(data: bytes) -> tuple[bytes, int]:
    """Skip leading UTF-8 continuation bytes of a tail cut mid-character."""
    cut = 0
    while cut < min(3, len(data)) and 0x80 <= data[cut] < 0xC0:
        cut += 1
    return data[cut:], cut


def run_chart_series(
    *, run: Run, names: list[str] | None = None, max_points: int = downsample.DEFAULT_MAX_POINTS
) -> dict[str, dict[str, list]]:
    """{name: {"steps", "values"}} for the run's metrics (at most MAX_CHARTS), downsampled.

    Non-finite values become None, which charts draw as gaps.
    """
    known = (
        LatestMetric.objects.filter(run=run, text__isnull=True)
        .order_by("name")
        .values_list("name", flat=True)
    )
    if names:
        known = known.filter(name__in=names)
    out = {}
    for name in list(known[:MAX_CHARTS]):
        # The compare charts' reader: the chunks read in place, downsampled by numpy.
        line = compare_series(runs=[run], name=name, max_points=max_points)[0]
        out[name] = {
            "steps": line["steps"],
            "values": [v if math.isfinite(v) else None for v in line["values"]],
        }
    return out


def workspace_members(*, workspace: Workspace) -> list[Membership]:
    """The workspace's memberships with their users, owners first, then by name."""
    rank = {"owner": 0, "contributor": 1, "reader": 2}
    qs = Membership.objects.filter(workspace=workspace).select_related("user")
    return sorted(qs, key=lambda m: (rank.get(m.role, 3), m.user.get_username().lower(), m.pk))
