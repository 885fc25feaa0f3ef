"""Metric ingestion: batches of points packed into chunks, latest values kept beside."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.db import connection, transaction
from django.db.models import Q

from runs.exceptions import Conflict, PayloadTooLarge, ValidationFailed
from runs.models import LatestMetric, MetricBatch, MetricChunk, MetricText, Run
from runs.selectors.rows import Statement, Table
from runs.services.tags import check_key
from runs.text import check_text
from runs.writes import Insert, Update, row_lock

MAX_POINTS_PER_BATCH = 200_000
MAX_SERIES_PER_BATCH = 1_000
# Runs in one multi-run batch (metric_log_batches).
MAX_RUNS_PER_BATCH = 1_000
CHUNK = MetricChunk.CHUNK_POINTS
# Up to this many series' latest values are updated one statement each, beyond in bulk.
FEW_SERIES = 8
# The longest text value of a text series (`run.log("message", "Hello from run!")`).
MAX_TEXT_VALUE = 4096


@dataclass
class SeriesIn:
    """Points of one metric in a batch; steps and times may be omitted.

    `values` are numbers, or text (strings and booleans) for a text series: one
    series holds one kind, and keeps it.
    """

    name: str
    values: list[float] | list[str | bool]
    steps: list[int] | None = None
    times: list[float] | None = None

    @property
    def is_text(self) -> bool:
        return bool(self.values) and isinstance(self.values[0], str | bool)


@dataclass
class BatchResult:
    stored: int
    duplicate: bool


def _validate(series: list[SeriesIn]) -> int:
    if len(series) > MAX_SERIES_PER_BATCH:
        raise PayloadTooLarge(
            f"{len(series)} series in one batch; the limit is {MAX_SERIES_PER_BATCH}"
        )
    total = 0
    for s in series:
        check_key("metric", s.name)
        n = len(s.values)
        for label, column in (("steps", s.steps), ("times", s.times)):
            if column is not None and len(column) != n:
                raise ValidationFailed(f"metric {s.name!r}: {len(column)} {label} for {n} values")
        if s.is_text:
            _check_text(s)
        total += n
    if total > MAX_POINTS_PER_BATCH:
        raise PayloadTooLarge(
            f"{total:,} points in one batch; the limit is {MAX_POINTS_PER_BATCH:,}"
        )
    return total


def _check_text(s: SeriesIn) -> None:
    for value in s.values:
        if not isinstance(value, str | bool):
            raise ValidationFailed(
                f"metric {s.name!r} mixes text and numbers in one batch: a series holds one kind"
            )
        if isinstance(value, str):
            if len(value) > MAX_TEXT_VALUE:
                raise ValidationFailed(
                    f"metric {s.name!r}: a text value is {len(value):,} characters; "
                    f"the limit is {MAX_TEXT_VALUE:,}"
                )
            check_text(value, what=f"metric {s.name!r}: a text value", lines=True)


@dataclass
class _Points:
    steps: list[int]
    values: list[float]
    times: list[float]


def metric_log_batch(*, run: Run, series: list[SeriesIn], key: str = "") -> BatchResult:
    """Store a batch of points; a batch whose idempotency `key` was stored before is skipped.

    Points without steps continue their series from its last step. Everything is
    checked before anything is written, so within a caller's transaction no savepoint
    is taken (two statements less), and a refusal leaves that transaction as it was.
    """
    total = _validate(series)
    with transaction.atomic(savepoint=False):
        _lock([run])
        latest, kinds, refused = _known(run, series)
        if refused is None:
            if key and not _claim_key([run], key, total):
                return BatchResult(stored=0, duplicate=True)
            _store(run, series, latest, kinds)
    if refused is not None:
        raise refused
    return BatchResult(stored=total, duplicate=False)


def metric_log_batches(*, batches: list[tuple[Run, list[SeriesIn]]], key: str = "") -> BatchResult:
    """Store the points of several runs at once (all or none): one request for a sweep.

    `batches` pairs each run (once) with its series; the limits of one batch apply to
    the points of them all, the series limit to each run. A `key` stored before for
    these runs makes the whole call a no-op.
    """
    if len(batches) > MAX_RUNS_PER_BATCH:
        raise PayloadTooLarge(
            f"{len(batches)} runs in one batch; the limit is {MAX_RUNS_PER_BATCH}"
        )
    seen: set[str] = set()
    total = 0
    for run, series in batches:
        if run.pk in seen:
            raise ValidationFailed(f"run {run.pk} appears twice in one batch")
        seen.add(run.pk)
        total += _validate(series)
    if total > MAX_POINTS_PER_BATCH:
        raise PayloadTooLarge(
            f"{total:,} points in one batch; the limit is {MAX_POINTS_PER_BATCH:,}"
        )
    batches = sorted(batches, key=lambda b: b[0].pk)
    runs = [run for run, _ in batches]
    with transaction.atomic(savepoint=False):
        _lock(runs)
        refused = _key_reuse(runs, key) if key else None
        known = []
        for run, series in batches:
            if refused is not None:
                break
            latest, kinds, refused = _known(run, series)
            known.append((run, series, latest, kinds))
        if refused is None:
            if key and not _claim_key(runs, key, total):
                return BatchResult(stored=0, duplicate=True)
            for run, series, latest, kinds in known:
                _store(run, series, latest, kinds)
    if refused is not None:
        raise refused
    return BatchResult(stored=total, duplicate=False)


_CLAIM_BATCH = Insert(MetricBatch, skip_conflicts=True)
_INSERT_CHUNK = Insert(MetricChunk)
_UPDATE_CHUNK = Update(
    MetricChunk, ("count", "first_step", "last_step", "steps", "values", "times")
)
_INSERT_LATEST = Insert(LatestMetric)
_UPDATE_LATEST = Update(LatestMetric, ("value", "step", "time", "count"))
_LATEST = Table(LatestMetric, "lm")


@lru_cache(maxsize=32)
def _latest_statement(names: int) -> Statement:
    """The latest values of a run's series with any of `names` names."""
    marks = ", ".join(["%s"] * names)
    return Statement(
        [_LATEST],
        lambda q: (
            f"SELECT {_LATEST.columns(q)} FROM {q(_LATEST.name)} {q('lm')} "  # noqa: S608 - names
            f"WHERE {q('lm')}.{q('run_id')} = %s AND {q('lm')}.{q('name')} IN ({marks})"
        ),
    )


def _latest(run: Run, names: set[str]) -> dict[str, LatestMetric]:
    rows = _latest_statement(len(names)).rows([run.pk, *sorted(names)])
    return {lm.name: lm for (lm,) in rows}


def _lock(runs: list[Run]) -> None:
    """Lock the runs (PostgreSQL; SQLite's IMMEDIATE transactions already serialise
    writers) so two batches for one run cannot both append after the same last chunk.

    FOR NO KEY UPDATE, in id order, as every writer of several runs locks them:
    concurrent writers queue instead of deadlocking.
    """
    if not connection.features.has_select_for_update:
        return
    q = connection.ops.quote_name
    ids = sorted(run.pk for run in runs)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('id')} FROM {q(Run._meta.db_table)} "  # noqa: S608 - names
            f"WHERE {q('id')} IN ({', '.join(['%s'] * len(ids))}) "
            f"ORDER BY {q('id')}{row_lock(connection)}",
            ids,
        )


def _key_reuse(runs: list[Run], key: str) -> Conflict | None:
    """The refusal of a key recorded before for some of these runs only (returned: nothing
    is written yet). A retry carries the same runs; this batch is another one."""
    seen = MetricBatch.objects.filter(key=key[:100], run__in=runs).count()
    if 0 < seen < len(runs):
        return Conflict(
            f"the batch key {key[:100]!r} was used before for {seen} of these {len(runs)} "
            "runs only: send this batch under a new key"
        )
    return None


def _claim_key(runs: list[Run], key: str, total: int) -> bool:
    """Record the idempotency key for each run; False when it was recorded before.

    ON CONFLICT DO NOTHING: a key seen before costs no error, so no savepoint.
    """
    claims = [MetricBatch(run=run, key=key[:100], points=total) for run in runs]
    written = _CLAIM_BATCH.save(claims)
    if 0 < written < len(claims):
        # Two batches of overlapping runs under one key at once (_key_reuse saw neither).
        raise Conflict(f"the batch key {key[:100]!r} is being used for other runs at once")
    return written == len(claims)


def _known(
    run: Run, series: list[SeriesIn]
) -> tuple[dict[str, LatestMetric], dict[str, bool], ValidationFailed | None]:
    """The run's latest values of these series, whether each series holds text, and the
    refusal (returned: nothing is written yet) of numbers sent to a text series or of
    text sent to a series of numbers."""
    names = {s.name for s in series if s.values}
    latest = _latest(run, names) if names else {}
    kinds: dict[str, bool] = {}
    for s in series:
        if not s.values:
            continue
        stored = latest.get(s.name)
        is_text = kinds.setdefault(s.name, s.is_text if stored is None else stored.text is not None)
        if s.is_text != is_text:
            had, got = ("text", "numbers") if is_text else ("numbers", "text")
            refusal = ValidationFailed(f"metric {s.name!r} holds {had}: it cannot take {got}")
            return latest, kinds, refusal
    return latest, kinds, None


def _store(
    run: Run,
    series: list[SeriesIn],
    latest: dict[str, LatestMetric],
    kinds: dict[str, bool],
) -> None:
    """Append the series' points to the run's chunks and move its latest values (`latest`
    and `kinds` from _known)."""
    text_series = [s for s in series if s.values and kinds[s.name]]
    if text_series:
        _store_text(run, text_series, latest)
    points: dict[str, _Points] = {}
    now = time.time()
    for s in series:
        if not s.values or kinds[s.name]:
            continue
        p = points.setdefault(s.name, _Points([], [], []))
        if s.steps is None:
            last = p.steps[-1] if p.steps else (latest[s.name].step if s.name in latest else -1)
            p.steps.extend(range(last + 1, last + 1 + len(s.values)))
        else:
            p.steps.extend(int(x) for x in s.steps)
        p.values.extend(float(x) for x in s.values)
        p.times.extend(s.times if s.times is not None else [now] * len(s.values))
    new_chunks: list[MetricChunk] = []
    new_latest: list[LatestMetric] = []
    last_chunks = _last_chunks(run, {name: latest.get(name) for name in points})
    for name, p in points.items():
        new_chunks += _append(run, name, last_chunks.get(name), p.steps, p.values, p.times)
        value, step = _finite(p.values[-1]), p.steps[-1]
        when = datetime.fromtimestamp(p.times[-1], tz=UTC)
        lm = latest.get(name)
        if lm is None:
            new_latest.append(
                LatestMetric(
                    run=run, name=name, value=value, step=step, time=when, count=len(p.steps)
                )
            )
        else:
            lm.value, lm.step, lm.time, lm.count = value, step, when, lm.count + len(p.steps)
    _INSERT_CHUNK.save(new_chunks)
    _INSERT_LATEST.save(new_latest)
    changed = [lm for lm in latest.values() if lm.name in points]
    if len(changed) > FEW_SERIES:
        LatestMetric.objects.bulk_update(changed, ["value", "step", "time", "count"])
    else:
        # A batch usually carries a few series: plain UPDATEs by primary key cost a fraction
        # of bulk_update's CASE WHEN statement (the ingest hot path, bench/ingest.py).
        for lm in changed:
            _UPDATE_LATEST.save(lm)


def _store_text(run: Run, series: list[SeriesIn], latest: dict[str, LatestMetric]) -> None:
    """Text points are rows (MetricText); the series' latest text goes to LatestMetric.text."""
    now = time.time()
    rows: list[MetricText] = []
    last: dict[str, MetricText] = {}
    counts: dict[str, int] = {}
    for s in series:
        prev = last.get(s.name)
        step = prev.step if prev else (latest[s.name].step if s.name in latest else -1)
        for i, value in enumerate(s.values):
            step = int(s.steps[i]) if s.steps is not None else step + 1
            row = MetricText(
                run=run,
                name=s.name,
                step=step,
                time=s.times[i] if s.times is not None else now,
                value=("true" if value else "false") if isinstance(value, bool) else value,
                is_bool=isinstance(value, bool),
            )
            rows.append(row)
            last[s.name] = row
        counts[s.name] = counts.get(s.name, 0) + len(s.values)
    MetricText.objects.bulk_create(rows)
    for name, row in last.items():
        when = datetime.fromtimestamp(row.time, tz=UTC)
        lm = latest.get(name)
        if lm is None:
            LatestMetric.objects.create(
                run=run,
                name=name,
                value=None,
                text=row.value,
                step=row.step,
                time=when,
                count=counts[name],
            )
        else:
            lm.count += counts[name]
            LatestMetric.objects.filter(pk=lm.pk).update(
                text=row.value, step=row.step, time=when, count=lm.count
            )


def text_series(
    *, run: Run, name: str, start_step: int | None = None, end_step: int | None = None
) -> dict[str, list]:
    """The points of one text series in logged order, optionally between two steps
    (both included): {"steps", "values", "times"}."""
    rows = MetricText.objects.filter(run=run, name=name).order_by("id")
    if start_step is not None:
        rows = rows.filter(step__gte=start_step)
    if end_step is not None:
        rows = rows.filter(step__lte=end_step)
    steps, values, times = [], [], []
    for row in rows.only("step", "time", "value", "is_bool"):
        steps.append(row.step)
        values.append(row.typed_value)
        times.append(row.time)
    return {"steps": steps, "values": values, "times": times}


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def _last_chunks(run: Run, latest: dict[str, LatestMetric | None]) -> dict[str, MetricChunk]:
    """The last chunk of each series that has points, in one query.

    Chunks are filled to CHUNK points before the next one starts, so a series of
    `count` points ends in chunk (count - 1) // CHUNK: a lookup on the unique
    (run, name, seq) index. A series without latest value has no chunk yet.
    """
    wanted = {name: (lm.count - 1) // CHUNK for name, lm in latest.items() if lm and lm.count}
    if not wanted:
        return {}
    cond = Q()
    for name, seq in wanted.items():
        cond |= Q(name=name, seq=seq)
    found = {c.name: c for c in MetricChunk.objects.filter(cond, run=run).order_by()}
    for name in wanted.keys() - found.keys():
        # Chunks written some other way (an import): the series' highest seq.
        last = MetricChunk.objects.filter(run=run, name=name).order_by("-seq")[:1]
        found.update({c.name: c for c in last})
    return found


def _append(run, name, last, steps, values, times) -> list[MetricChunk]:
    """Fill the series' last chunk up to CHUNK points, then cut new chunks."""
    # numpy on first use (runs.downsample says why): the worker writes no points.
    import numpy as np

    from runs import metrics_codec as codec

    steps = np.asarray(steps, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    i = 0
    seq = 0
    if last is not None:
        seq = last.seq + 1
        room = CHUNK - last.count
        if room > 0:
            i = min(room, len(steps))
            s = np.concatenate([codec.decode_ints(last.steps), steps[:i]])
            v = np.concatenate([codec.decode_floats(last.values), values[:i]])
            t = np.concatenate([codec.decode_times(last.times), times[:i]])
            last.count = len(s)
            last.first_step = min(last.first_step, int(steps[:i].min()))
            last.last_step = max(last.last_step, int(steps[:i].max()))
            last.steps = codec.encode_ints(s)
            last.values = codec.encode_floats(v)
            last.times = codec.encode_times(t)
            _UPDATE_CHUNK.save(last)
    chunks = []
    while i < len(steps):
        j = min(i + CHUNK, len(steps))
        part = steps[i:j]
        chunks.append(
            MetricChunk(
                run=run,
                name=name,
                seq=seq,
                count=j - i,
                first_step=int(part.min()),
                last_step=int(part.max()),
                steps=codec.encode_ints(part),
                values=codec.encode_floats(values[i:j]),
                times=codec.encode_times(times[i:j]),
            )
        )
        seq += 1
        i = j
    return chunks


def metric_series(
    *, run: Run, name: str, start_step: int | None = None, end_step: int | None = None
) -> dict[str, list]:
    """The points of one series in logged order: {"steps", "values", "times"}."""
    import numpy as np

    from runs import metrics_codec as codec

    chunks = MetricChunk.objects.filter(run=run, name=name).order_by("seq")
    if start_step is not None:
        chunks = chunks.filter(last_step__gte=start_step)
    if end_step is not None:
        chunks = chunks.filter(first_step__lte=end_step)
    parts = [
        (codec.decode_ints(c.steps), codec.decode_floats(c.values), codec.decode_times(c.times))
        for c in chunks.only("steps", "values", "times")
    ]
    if not parts:
        return {"steps": [], "values": [], "times": []}
    steps, values, times = (np.concatenate(column) for column in zip(*parts, strict=True))
    if start_step is not None or end_step is not None:
        keep = np.ones(len(steps), dtype=bool)
        if start_step is not None:
            keep &= steps >= start_step
        if end_step is not None:
            keep &= steps <= end_step
        steps, values, times = steps[keep], values[keep], times[keep]
    return {"steps": steps.tolist(), "values": values.tolist(), "times": times.tolist()}
