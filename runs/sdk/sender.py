"""Metric points: an in-memory buffer filled by `Run.log()`, sent in batches by a thread.

The training loop only appends a tuple to a deque (see `Run.log`). A background
thread takes what is waiting every `flush_interval` seconds (longer when many
runs of the process send: `sends_per_second` for them all), or sooner when
`flush_points` are waiting, and posts it as the API's columnar batches
(`{"key", "series": [{"name", "values", "steps", "times"}]}`).

Exactly once: every batch gets a random idempotency key when it is built, and
the very same bytes (same key) are sent again until the studio acknowledges
them, so a batch whose answer was lost is stored once. Connection errors, 408,
429 and 5xx are retried for as long as the process lives, with capped
exponential backoff and jitter; other 4xx answers are not retried: the error
is logged, and raised by the next `flush()`.

While the studio is away, points stay in memory up to `max_buffered_points`;
beyond that the oldest `spill_points` at a time are written to JSON files in a
temporary directory (`spill_dir`, default the system's temp dir) and read back,
in order, when the studio returns. Nothing is dropped, nothing is sent twice,
and each series reaches the studio in the order it was logged.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from runs.sdk.errors import StudioConnectionError, StudioError
from runs.sdk.http import RETRY_STATUSES, Backoff, Client

logger = logging.getLogger("runs.sdk")

JSON = {"Content-Type": "application/json"}
# The senders whose thread is running, for the process-wide pace (sends_per_second).
_running: set[MetricSender] = set()
# Seconds close() waits for the thread to end after the flush.
STOP_WAIT = 1.0


@dataclass
class SenderOptions:
    """How metric points are batched and sent (see the module docstring)."""

    flush_interval: float = 0.5
    flush_points: int = 10_000
    # Timed sends a second for all the runs of a process together: with many runs logging
    # at once, each waits longer than flush_interval (bigger batches, fewer requests).
    # flush() and flush_points still send at once.
    sends_per_second: float = 20.0
    # The API takes at most 200,000 points and 1,000 series per batch.
    batch_points: int = 100_000
    batch_series: int = 1_000
    max_buffered_points: int = 10_000_000
    spill_points: int = 1_000_000
    spill_dir: str | None = None
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.2, cap=5.0))


class Marker:
    """A flush request queued among the points: set once everything before it is stored."""

    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


class Batch:
    """One request's worth of points, serialised once, so a retry sends the same bytes."""

    __slots__ = ("key", "items", "body")

    def __init__(self, items: list[tuple], series_names: list[str]) -> None:
        self.key = uuid.uuid4().hex
        self.items = items
        columns: dict[str, tuple[list, list, list]] = {n: ([], [], []) for n in series_names}
        for name, value, step, when in items:
            values, steps, times = columns[name]
            values.append(value)
            steps.append(step)
            times.append(when)
        series = [
            {"name": n, "values": v, "steps": s, "times": t} for n, (v, s, t) in columns.items()
        ]
        # allow_nan: the API accepts NaN and Infinity, as Python's json writes them.
        self.body = json.dumps({"key": self.key, "series": series}, separators=(",", ":")).encode()


class MetricSender:
    """The buffer and the background thread of one run's metric points."""

    def __init__(self, client: Client, run_id: str, options: SenderOptions | None = None):
        self.client = client
        self.run_id = run_id
        self.options = options or SenderOptions()
        self.path = client.ws_path(f"/runs/{run_id}/metrics")
        # Appended to by Run.log() in the user's threads, popped here: deque ops are atomic.
        self.points: deque = deque()
        # Run.log() calls pressure() when the buffer reaches this length; 0 starts the thread.
        self.threshold = 0
        self.lock = threading.Lock()  # serialises taking points with spilling them
        self.wake = threading.Event()
        self.outbox: deque = deque()  # batches and markers, only touched by the thread
        self.loaded: deque = deque()  # points read back from the oldest spill file
        self.segments: deque = deque()  # spill files (path, count) and markers, oldest first
        self.spill_path: Path | None = None
        self.errors: list[StudioError] = []
        self.sent = 0  # points acknowledged by the studio
        self.failed = 0  # points refused by the studio (4xx), see errors
        self.thread: threading.Thread | None = None
        self.stopping = False
        self._start_lock = threading.Lock()

    # ---- the user's side ------------------------------------------------------------

    def pressure(self) -> None:
        """The buffer is long: start the thread if needed, wake it, spill if over the bound."""
        self.start()
        if len(self.points) >= self.options.max_buffered_points:
            with self.lock:
                self._spill()
        self.threshold = len(self.points) + self.options.flush_points
        self.wake.set()

    def start(self) -> None:
        with self._start_lock:
            if self.thread is None or not self.thread.is_alive():
                self.stopping = False
                self.thread = threading.Thread(
                    target=self._loop, name=f"studio-metrics-{self.run_id}", daemon=True
                )
                self.thread.start()

    def pending(self) -> int:
        """Points logged but not acknowledged yet (approximate while points are logged)."""
        waiting = sum(len(b.items) for b in list(self.outbox) if isinstance(b, Batch))
        spilled = sum(s[1] for s in list(self.segments) if isinstance(s, tuple))
        # Flush markers wait among the points: they are not points.
        buffered = sum(1 for p in list(self.points) if p.__class__ is not Marker)
        return buffered + len(self.loaded) + spilled + waiting

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every point logged before this call is stored (or refused: raised)."""
        marker = Marker()
        self.points.append(marker)
        self.start()
        self.wake.set()
        if not marker.event.wait(timeout):
            raise StudioConnectionError(
                f"run {self.run_id}: {self.pending():,} metric points not stored after "
                f"{timeout:g} s; they stay buffered and are retried in the background"
            )
        if self.errors:
            errors, self.errors = self.errors, []
            first = errors[0]
            raise type(first)(
                f"run {self.run_id}: {self.failed:,} metric points were refused: {first.message}",
                code=first.code,
                status=first.status,
            )

    def close(self, timeout: float | None = None) -> None:
        """Flush, then stop the thread and remove the spill directory.

        The thread ends once it finds the buffer empty; a training loop still logging
        (a cancel's callback ran beside it) keeps it busy, so the wait for it is short.
        """
        self.flush(timeout)
        self.stopping = True
        self.wake.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_WAIT if timeout is None else min(timeout, STOP_WAIT))
        if self.spill_path is not None and not self.segments:
            shutil.rmtree(self.spill_path, ignore_errors=True)
            self.spill_path = None
        self.threshold = 0

    # ---- spilling -------------------------------------------------------------------

    def _spill(self) -> None:
        """Move the oldest points of the buffer to files (the caller holds the lock)."""
        pop = self.points.popleft
        n = min(self.options.spill_points, len(self.points))
        chunk: list[tuple] = []
        for _ in range(n):
            item = pop()
            if item.__class__ is Marker:
                self._write_segment(chunk)
                chunk = []
                self.segments.append(item)
            else:
                chunk.append(item)
        self._write_segment(chunk)

    def _write_segment(self, chunk: list[tuple]) -> None:
        if not chunk:
            return
        if self.spill_path is None:
            self.spill_path = Path(
                tempfile.mkdtemp(prefix=f"studio-{self.run_id}-", dir=self.options.spill_dir)
            )
        path = self.spill_path / f"{uuid.uuid4().hex}.json"
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(chunk, fh, separators=(",", ":"))
        self.segments.append((path, len(chunk)))
        logger.warning(
            "run %s: %s metric points waiting for the studio; spilled %s to %s",
            self.run_id,
            f"{len(self.points) + len(chunk):,}",
            f"{len(chunk):,}",
            path,
        )

    # ---- the thread -----------------------------------------------------------------

    def interval(self) -> float:
        """Seconds between timed sends: flush_interval, longer when many runs send."""
        options = self.options
        return max(options.flush_interval, len(_running) / options.sends_per_second)

    def _loop(self) -> None:
        _running.add(self)
        try:
            while True:
                self.wake.wait(self.interval())
                self.wake.clear()
                try:
                    self._drain()
                except Exception:
                    # A bug here must not end the thread silently with points still waiting.
                    logger.exception("run %s: the metric sender failed; retrying", self.run_id)
                    self.wake.wait(self.options.backoff.cap)
                    continue
                # _drain returned: it just found the buffer empty.
                if self.stopping and not self.segments and not self.loaded:
                    return
        finally:
            _running.discard(self)

    def _drain(self) -> None:
        """Send everything waiting, oldest first, until the buffer is empty."""
        while True:
            if not self.outbox:
                with self.lock:
                    items = self._take()
                if not items:
                    self.threshold = self.options.flush_points
                    return
                self.outbox.extend(self._batches(items))
            entry = self.outbox[0]
            if entry.__class__ is Marker:
                self.outbox.popleft()
                entry.event.set()
                continue
            self._send(entry)

    def _take(self) -> list:
        """Up to batch_points items from the oldest source: read-back spill, spill files, buffer."""
        if not self.loaded and self.segments:
            segment = self.segments.popleft()
            if segment.__class__ is Marker:
                return [segment]
            path, _ = segment
            with open(path, encoding="utf-8") as fh:
                self.loaded = deque(tuple(p) for p in json.load(fh))
            os.unlink(path)
        source = self.loaded or self.points
        pop = source.popleft
        return [pop() for _ in range(min(len(source), self.options.batch_points))]

    def _batches(self, items: list) -> list:
        """Items -> batches (at most batch_series series each) and the markers between them."""
        out: list = []
        chunk: list[tuple] = []
        names: dict[str, None] = {}
        for item in items:
            if item.__class__ is Marker:
                if chunk:
                    out.append(Batch(chunk, list(names)))
                    chunk, names = [], {}
                out.append(item)
                continue
            name = item[0]
            if name not in names:
                if len(names) >= self.options.batch_series:
                    out.append(Batch(chunk, list(names)))
                    chunk, names = [], {}
                names[name] = None
            chunk.append(item)
        if chunk:
            out.append(Batch(chunk, list(names)))
        return out

    def _send(self, batch: Batch) -> None:
        """Post the batch until the studio answers it; retry on trouble with the same key."""
        attempt = 0
        while True:
            try:
                self.client.send("POST", self.path, data=batch.body, headers=JSON)
            except StudioError as exc:
                retriable = isinstance(exc, StudioConnectionError) or exc.status in RETRY_STATUSES
                if retriable:
                    delay = self.options.backoff.delay(attempt)
                    logger.info(
                        "run %s: sending %s metric points failed (%s); retrying in %.1f s",
                        self.run_id,
                        f"{len(batch.items):,}",
                        exc,
                        delay,
                    )
                    attempt += 1
                    # Not self.wake: a flush() must not turn the backoff into a busy loop.
                    threading.Event().wait(delay)
                    continue
                self.outbox.popleft()
                if exc.status == 413 and len(batch.items) > 1:
                    # Over the studio's size limit: nothing was stored, so two halves with
                    # new keys are safe.
                    half = len(batch.items) // 2
                    for part in reversed((batch.items[:half], batch.items[half:])):
                        names = list(dict.fromkeys(p[0] for p in part))
                        self.outbox.appendleft(Batch(part, names))
                    return
                logger.error(
                    "run %s: the studio refused %s metric points: %s",
                    self.run_id,
                    f"{len(batch.items):,}",
                    exc,
                )
                self.failed += len(batch.items)
                self.errors.append(exc)
                return
            self.outbox.popleft()
            self.sent += len(batch.items)
            return
