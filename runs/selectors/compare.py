"""Reads for comparing runs: the runs side by side, their values, and metric series for charts."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Prefetch, Q, QuerySet

from runs import downsample
from runs.models import LatestMetric, MetricChunk, MetricText, Property, Run, Tag, Workspace
from runs.spreadsheet import safe_cell

if TYPE_CHECKING:
    import numpy as np

MAX_COMPARE_RUNS = 100
SEARCH_LIMIT = 20


@dataclass
class CompareRuns:
    runs: list[Run]
    # Requested ids that are not runs of this workspace (unknown, or another workspace's).
    missing: list[str]


def compare_runs(*, workspace: Workspace, ids: list[str], detail: bool = True) -> CompareRuns:
    """The runs `ids` of the workspace in the order asked, and the ids it does not have.

    With `detail`, tags, properties and latest metrics come prefetched: four
    queries whatever the number of runs. Without, one query for id, name and status.
    """
    qs = Run.objects.filter(workspace=workspace, pk__in=ids)
    if detail:
        qs = qs.select_related("experiment").prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("key")),
            Prefetch("properties", queryset=Property.objects.order_by("key")),
            Prefetch("latest_metrics", queryset=LatestMetric.objects.order_by("name")),
        )
    else:
        qs = qs.only("id", "display_name", "status")
    by_id = {r.pk: r for r in qs}
    return CompareRuns(
        runs=[by_id[i] for i in ids if i in by_id],
        missing=[i for i in ids if i not in by_id],
    )


# -- the side-by-side table -------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    present: bool
    # What the table shows and the CSV writes; `raw` is what is compared.
    text: str = ""
    raw: object = None


ABSENT = Cell(present=False)


@dataclass
class CompareRow:
    section: str  # "tags" | "properties" | "metrics"
    key: str
    cells: list[Cell]
    differs: bool

    @property
    def field(self) -> str:
        """The row's name in the filter language: tags.quality, metrics.loss."""
        return f"{self.section}.{self.key}"


@dataclass
class CompareSection:
    name: str
    title: str
    rows: list[CompareRow]

    @property
    def differing(self) -> int:
        return sum(1 for r in self.rows if r.differs)


def format_number(value: float | None) -> str:
    """A metric value for a table cell: six significant digits, NaN spelled out."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude < 1e-4 or magnitude >= 1e9:
        return f"{value:.4e}"
    return f"{value:.6g}"


def _tag_cell(tag: Tag) -> Cell:
    # A key-only tag is present without a value: shown as a check mark.
    if tag.value is None:
        return Cell(present=True, text="✓", raw=None)
    return Cell(present=True, text=tag.value, raw=tag.value)


def _metric_cell(metric: LatestMetric) -> Cell:
    if metric.text is not None:
        return Cell(present=True, text=metric.text, raw=metric.text)
    raw = metric.value if metric.value is not None else math.nan
    return Cell(present=True, text=format_number(metric.value), raw=raw)


def _same(a: Cell, b: Cell) -> bool:
    if a.present != b.present:
        return False
    if isinstance(a.raw, float) and isinstance(b.raw, float) and math.isnan(a.raw):
        return math.isnan(b.raw)
    return a.raw == b.raw and a.text == b.text


def compare_table(*, runs: list[Run]) -> list[CompareSection]:
    """Rows for tags, properties and latest metrics: the union of keys, one cell per run.

    A row differs when any two runs disagree, absence included. Uses the
    prefetched relations of `compare_runs`: no queries.
    """
    sections = []
    for name, title, relation, cell in (
        ("tags", "Tags", "tags", _tag_cell),
        ("properties", "Properties", "properties", lambda p: Cell(True, p.value, p.value)),
        ("metrics", "Latest metrics", "latest_metrics", _metric_cell),
    ):
        per_run = []
        for run in runs:
            items = getattr(run, relation).all()
            per_run.append(
                {
                    getattr(item, "name" if relation == "latest_metrics" else "key"): item
                    for item in items
                }
            )
        keys = sorted(set().union(*per_run), key=lambda k: (k.lower(), k)) if per_run else []
        rows = []
        for key in keys:
            cells = [cell(values[key]) if key in values else ABSENT for values in per_run]
            differs = any(not _same(cells[0], c) for c in cells[1:])
            rows.append(CompareRow(section=name, key=key, cells=cells, differs=differs))
        sections.append(CompareSection(name=name, title=title, rows=rows))
    return sections


def compare_csv_rows(*, runs: list[Run], sections: list[CompareSection]) -> Iterator[list[str]]:
    """The table as CSV rows: a header of run ids, the run fields, then one row per key
    (text a spreadsheet would run as a formula neutralised, runs.spreadsheet)."""
    yield ["field", *[r.pk for r in runs]]
    yield ["displayName", *[safe_cell(r.display_name) for r in runs]]
    yield ["experiment", *[r.experiment.name for r in runs]]
    yield ["status", *[r.status for r in runs]]
    for section in sections:
        for row in section.rows:
            yield [safe_cell(row.field), *[_csv_value(c) for c in row.cells]]


def _csv_value(cell: Cell) -> str:
    if not cell.present:
        return ""
    if isinstance(cell.raw, float):
        return "NaN" if math.isnan(cell.raw) else repr(cell.raw)
    # A key-only tag: present, without a value. Text a spreadsheet would run: neutralised.
    return "(set)" if cell.raw is None else safe_cell(str(cell.raw))


# -- values for bar, scatter and parallel-coordinates charts ----------------------------


def numeric(text: str) -> float | None:
    """A property value as a finite number, or None when it is not one."""
    try:
        value = float(text.strip())
    except (ValueError, AttributeError):
        return None
    return value if math.isfinite(value) else None


def compare_values(*, runs: list[Run]) -> list[dict]:
    """Per run: its latest metrics and numeric properties, for the value charts.

    {runId, displayName, status, metrics: {name: value|null}, properties: {key: number}}.
    Non-numeric properties are left out (charts place runs on numeric axes).
    """
    out = []
    for run in runs:
        props = {}
        for p in run.properties.all():
            value = numeric(p.value)
            if value is not None:
                props[p.key] = value
        out.append(
            {
                "runId": run.pk,
                "displayName": run.display_name or run.pk,
                "status": run.status,
                "metrics": {
                    m.name: (m.value if m.value is not None and math.isfinite(m.value) else None)
                    for m in run.latest_metrics.all()
                },
                "properties": props,
            }
        )
    return out


@dataclass
class ChartFields:
    metrics: list[str]
    properties: list[str]
    # The metric a line chart starts with: the longest series (most points over the runs).
    longest: str = ""


def compare_fields(*, runs: list[Run], values: list[dict]) -> ChartFields:
    """Metric names and numeric property keys present on any of the runs, for chart pickers.

    Uses the prefetched latest metrics of `compare_runs`: no queries.
    """
    metrics = sorted({name for v in values for name in v["metrics"]}, key=str.lower)
    properties = sorted({key for v in values for key in v["properties"]}, key=str.lower)
    points: dict[str, int] = {}
    for run in runs:
        for m in run.latest_metrics.all():
            points[m.name] = points.get(m.name, 0) + m.count
    longest = min(points, key=lambda name: (-points[name], name.lower(), name), default="")
    return ChartFields(metrics=metrics, properties=properties, longest=longest)


# -- metric series ----------------------------------------------------------------------


def compare_series(
    *,
    runs: list[Run],
    name: str,
    max_points: int = downsample.DEFAULT_MAX_POINTS,
    start_step: int | None = None,
    end_step: int | None = None,
) -> list[dict]:
    """One metric of each run, downsampled to at most `max_points` points a run.

    [{runId, displayName, steps, values, total}] in the order of `runs`; `total` is
    the number of points before downsampling. Values stay floats, NaN included.
    Every run's chunks come from one query, in (run, seq) order along the unique index.
    """
    from runs import metrics_codec as codec  # numpy on first use (runs.downsample says why)

    chunks = MetricChunk.objects.filter(run_id__in=[r.pk for r in runs], name=name)
    if start_step is not None:
        chunks = chunks.filter(last_step__gte=start_step)
    if end_step is not None:
        chunks = chunks.filter(first_step__lte=end_step)
    rows = chunks.order_by("run_id", "seq").values_list("run_id", "steps", "values")
    # Each run is downsampled as soon as its chunks are read: one run's points are in
    # memory at a time, and the allocator reuses their buffers from run to run.
    lines = {}
    for run_id, group in itertools.groupby(rows.iterator(chunk_size=500), key=lambda r: r[0]):
        parts = list(group)
        # One read of the joined bytes, in place: no Python loop per chunk or per point.
        steps = _joined(codec.decode_ints, [p[1] for p in parts])
        values = _joined(codec.decode_floats, [p[2] for p in parts])
        if start_step is not None or end_step is not None:
            steps, values = _in_range(steps, values, start_step, end_step)
        lines[run_id] = (*downsample.minmax(steps, values, max_points), len(steps))
    out = []
    for run in runs:
        steps, values, total = lines.get(run.pk, ([], [], 0))
        out.append(
            {
                "runId": run.pk,
                "displayName": run.display_name or run.pk,
                "steps": steps,
                "values": values,
                "total": total,
            }
        )
    return out


def _joined(decode, blobs: list) -> np.ndarray:
    """The items of a series' chunks (runs.metrics_codec), as one array."""
    import numpy as np  # on first use (runs.downsample says why)

    if len(blobs) == 1:
        return decode(blobs[0])
    return np.concatenate([decode(b) for b in blobs])


def _in_range(
    steps: np.ndarray, values: np.ndarray, start: int | None, end: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The points whose step is within start..end (both included, either open)."""
    import numpy as np

    keep = np.ones(len(steps), dtype=bool)
    if start is not None:
        keep &= steps >= start
    if end is not None:
        keep &= steps <= end
    return steps[keep], values[keep]


def metric_chunks(*, run: Run, name: str) -> Iterator[tuple[list, list, list]]:
    """Every point of one series in logged order, a chunk at a time (for streaming):
    (steps, values, times) lists, times in unix seconds."""
    from runs import metrics_codec as codec  # numpy on first use (runs.downsample says why)

    chunks = (
        MetricChunk.objects.filter(run=run, name=name)
        .order_by("seq")
        .values_list("steps", "values", "times")
    )
    for steps, values, times in chunks.iterator(chunk_size=50):
        yield (
            codec.decode_ints(steps).tolist(),
            codec.decode_floats(values).tolist(),
            codec.decode_times(times).tolist(),
        )


def text_points(*, run: Run, name: str) -> Iterator[tuple[int, str, float]]:
    """Every point of one text series in logged order: (step, value, unix seconds);
    booleans as "true" and "false"."""
    rows = MetricText.objects.filter(run=run, name=name).order_by("id")
    return rows.values_list("step", "value", "time").iterator(chunk_size=2000)


def compare_search(
    *, workspace: Workspace, text: str, exclude: list[str], limit: int = SEARCH_LIMIT
) -> QuerySet[Run]:
    """Runs to add to a comparison: id, display name or experiment containing `text`.

    Newest first, children included, the runs already compared left out.
    """
    qs = Run.objects.filter(workspace=workspace).exclude(pk__in=exclude)
    text = text.strip()
    if text:
        qs = qs.filter(
            Q(pk__icontains=text)
            | Q(display_name__icontains=text)
            | Q(experiment__name__icontains=text)
        )
    return (
        qs.select_related("experiment")
        .only("id", "display_name", "status", "created", "experiment__name")
        .order_by("-created", "-id")[:limit]
    )
