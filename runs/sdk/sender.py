"""Metric points: an in-memory buffer per run filled by `Run.log()`, sent by one thread.

The training loop only appends a tuple to its run's deque (see `Run.log`). One
background thread per studio connection (`Dispatcher`, shared by every run of a
`Workspace`) takes what is waiting in all of them every `flush_interval` seconds,
or sooner when a run has `flush_points` waiting, and posts it in one request: the
API's columnar batch (`{"key", "series": [{"name", "values", "steps", "times"}]}`)
when one run has points, the multi-run batch (`POST /w/<ws>/metrics`, `{"key",
"runs": [{"runId", "series"}]}`, stored all or nothing) when several do. A sweep
of a hundred runs then costs the studio a request a round, not a hundred, and the
training process one sender thread, not a hundred.

Exactly once: every request gets a random idempotency key when it is built, and
the very same bytes (same key) are sent again until the studio acknowledges
them, so a request whose answer was lost is stored once. Connection errors, 408,
429 and 5xx are retried for as long as the process lives, with capped
exponential backoff and jitter. A multi-run request the studio refuses otherwise
stored nothing: it is sent again run by run, so each run's refusal is its own.
Other 4xx answers are not retried: the error is logged, and raised by the run's
next `flush()`.

While the studio is away, points stay in memory up to `max_buffered_points` a
run; beyond that the oldest `spill_points` at a time are written to JSON files in
a temporary directory (`spill_dir`, default the system's temp dir) and read back,
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
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runs.sdk.errors import StudioConnectionError, StudioError
from runs.sdk.http import RETRY_STATUSES, Backoff, Client, wait_before_retry

logger = logging.getLogger("runs.sdk")

JSON = {"Content-Type": "application/json"}
# Seconds close() waits for the sender thread to let go of the run after the flush.
STOP_WAIT = 1.0
# The API's limit of runs in one multi-run batch.
MAX_RUNS_PER_REQUEST = 1000
# Seconds the thread waits, with no run left, for the next one (a sweep's next trial)
# before it ends: a process logging small runs one after another keeps one thread.
IDLE_EXIT = 5.0


@dataclass
class SenderOptions:
    """How metric points are batched and sent (see the module docstring)."""

    flush_interval: float = 0.5
    flush_points: int = 10_000
    # The API takes at most 200,000 points in a request and 1,000 series a run.
    batch_points: int = 100_000
    batch_series: int = 1_000
    max_buffered_points: int = 10_000_000
    spill_points: int = 1_000_000
    spill_dir: str | None = None
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.2, cap=5.0))


class Keyed:
    """Points to be sent again under the idempotency key they were first sent with."""

    __slots__ = ("key", "items")

    def __init__(self, key: str, items: list[tuple]) -> None:
        self.key = key
        self.items = items


class Marker:
    """A flush request queued among the points: set once everything before it is stored."""

    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


def columns(items: list[tuple]) -> list[dict]:
    """Points (name, value, step, time) -> the API's series, one per name, in logged order."""
    by_name: dict[str, tuple[list, list, list]] = {}
    for name, value, step, when in items:
        cols = by_name.get(name)
        if cols is None:
            cols = by_name[name] = ([], [], [])
        cols[0].append(value)
        cols[1].append(step)
        cols[2].append(when)
    return [{"name": n, "values": v, "steps": s, "times": t} for n, (v, s, t) in by_name.items()]


class Part:
    """One run's points in a request."""

    __slots__ = ("sender", "items")

    def __init__(self, sender: MetricSender, items: list[tuple]) -> None:
        self.sender = sender
        self.items = items


class Request:
    """One request's worth of points, serialised once, so a retry sends the same bytes.

    One part goes to the run's own endpoint; several to the multi-run one.
    """

    __slots__ = ("key", "parts", "path", "body")

    def __init__(self, client: Client, parts: list[Part], key: str | None = None) -> None:
        self.key = key or uuid.uuid4().hex
        self.parts = parts
        if len(parts) == 1:
            self.path = parts[0].sender.path
            document = {"key": self.key, "series": columns(parts[0].items)}
        else:
            self.path = client.ws_path("/metrics")
            runs = [{"runId": p.sender.run_id, "series": columns(p.items)} for p in parts]
            document = {"key": self.key, "runs": runs}
        # allow_nan: the API accepts NaN and Infinity, as Python's json writes them.
        self.body = json.dumps(document, separators=(",", ":")).encode()

    @property
    def points(self) -> int:
        return sum(len(p.items) for p in self.parts)

    def describe(self) -> str:
        if len(self.parts) == 1:
            return f"run {self.parts[0].sender.run_id}: {self.points:,} metric points"
        return f"{self.points:,} metric points of {len(self.parts)} runs"


class MetricSender:
    """The buffer of one run's metric points; its connection's Dispatcher sends them."""

    def __init__(self, client: Client, run_id: str, options: SenderOptions | None = None):
        self.client = client
        self.run_id = run_id
        self.options = options or SenderOptions()
        self.path = client.ws_path(f"/runs/{run_id}/metrics")
        self.dispatcher = dispatcher_for(client)
        # Appended to by Run.log() in the user's threads, popped by the dispatcher: deque
        # ops are atomic.
        self.points: deque = deque()
        # Run.log() calls pressure() when the buffer reaches this length; 0 starts sending.
        self.threshold = 0
        self.lock = threading.Lock()  # serialises taking points with spilling them
        self.loaded: deque = deque()  # points read back from the oldest spill file
        # Spill files (path, count), flush markers and Keyed resends, oldest first.
        self.segments: deque = deque()
        self.spill_path: Path | None = None
        self.errors: list[StudioError] = []
        self.sent = 0  # points acknowledged by the studio
        self.failed = 0  # points refused by the studio (4xx), see errors
        self.inflight = 0  # points taken by the dispatcher, not answered yet
        # Set by close(): the dispatcher lets go of the run once it finds nothing left.
        self.closing = False
        self.released = threading.Event()
        # A run the studio does not know yet: called (by the dispatcher) before its points
        # are sent, to create it; and the studio's refusal to create it, raised by log().
        # Until `create_by` (monotonic) only the run's own calls create it: its end may
        # then carry the create, its points and the completion in one request.
        self.prepare: Callable[[], object] | None = None
        self.create_by = 0.0
        self.refusal: StudioError | None = None

    # ---- the user's side ------------------------------------------------------------

    @property
    def thread(self) -> threading.Thread | None:
        """The thread sending this run's points, while it does."""
        return self.dispatcher.thread if self.dispatcher.serves(self) else None

    @property
    def wake(self) -> threading.Event:
        return self.dispatcher.wake

    def pressure(self) -> None:
        """The buffer is long: start sending if needed, wake the sender, spill if over the bound.

        The first point only starts the sender: it goes with the next round.
        """
        if self.refusal is not None:
            raise self.refusal
        self.start()
        waiting = len(self.points)
        if waiting >= self.options.max_buffered_points:
            with self.lock:
                self._spill()
        self.threshold = len(self.points) + self.options.flush_points
        if waiting >= self.options.flush_points:
            self.dispatcher.wake.set()

    def start(self) -> None:
        self.closing = False
        self.released.clear()
        self.dispatcher.add(self)

    def pending(self) -> int:
        """Points logged but not acknowledged yet (approximate while points are logged)."""
        spilled = sum(
            s[1] if isinstance(s, tuple) else len(s.items)
            for s in list(self.segments)
            if s.__class__ is not Marker
        )
        # Flush markers wait among the points: they are not points.
        buffered = sum(1 for p in list(self.points) if p.__class__ is not Marker)
        return buffered + len(self.loaded) + spilled + self.inflight

    def idle(self) -> bool:
        """Nothing waits to be sent or answered (points may still be logged meanwhile)."""
        return not self.points and not self.loaded and not self.segments and not self.inflight

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every point logged before this call is stored (or refused: raised)."""
        marker = Marker()
        self.points.append(marker)
        self.start()
        self.dispatcher.wake.set()
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
        """Flush, then let the sender thread go of this run and remove the spill directory.

        The thread lets go once it finds the buffer empty; a training loop still logging
        (a cancel's callback ran beside it) keeps the run served, so the wait is short.
        """
        if not self.idle() or self.errors:
            self.flush(timeout)
        self.closing = True
        released = self.dispatcher.release(self)
        self.dispatcher.wake.set()
        if not released and threading.current_thread() is not self.dispatcher.thread:
            self.released.wait(STOP_WAIT if timeout is None else min(timeout, STOP_WAIT))
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

    # ---- the dispatcher's side --------------------------------------------------------

    def take(self, limit: int) -> list:
        """Up to `limit` items from the oldest source: read-back spill, spill files, buffer."""
        with self.lock:
            if not self.loaded and self.segments:
                segment = self.segments.popleft()
                if segment.__class__ is Marker:
                    return [segment]
                if segment.__class__ is Keyed:
                    self.inflight += len(segment.items)
                    return [segment]
                path, _ = segment
                with open(path, encoding="utf-8") as fh:
                    self.loaded = deque(tuple(p) for p in json.load(fh))
                os.unlink(path)
            source = self.loaded or self.points
            pop = source.popleft
            items = [pop() for _ in range(min(len(source), limit))]
            # Counted under the lock, so hand_over() never sees them neither buffered nor
            # in flight.
            self.inflight += sum(1 for i in items if i.__class__ is not Marker)
            return items

    def hand_over(self) -> list[tuple] | None:
        """Every buffered point, taken from the sender to go with the run's end (one
        request for both), or None when the end must wait for a flush instead: points
        in flight, spilled or past one request's limits, a flush() waiting among them,
        or earlier points refused (the flush raises that).
        """
        with self.lock:
            if self.inflight or self.loaded or self.segments or self.errors:
                return None
            n = len(self.points)
            if n > self.options.batch_points:
                return None
            pop = self.points.popleft
            items = [pop() for _ in range(n)]
            if any(i.__class__ is Marker for i in items) or (
                len({i[0] for i in items}) > self.options.batch_series
            ):
                # Back where they were (Run.log() appends at the other end meanwhile).
                self.points.extendleft(reversed(items))
                return None
            return items

    def give_back(self, items: list[tuple], key: str) -> None:
        """Handed-over points whose request may not have been stored: first in line again,
        sent under the same idempotency `key`, so they are stored once either way."""
        with self.lock:
            self.segments.appendleft(Keyed(key, items))
        self.start()
        self.dispatcher.wake.set()

    def split(self, items: list[tuple]) -> list[list[tuple]]:
        """Points -> consecutive parts of at most batch_series series each."""
        parts: list[list[tuple]] = []
        chunk: list[tuple] = []
        names: set[str] = set()
        limit = self.options.batch_series
        for item in items:
            name = item[0]
            if name not in names:
                if len(names) >= limit:
                    parts.append(chunk)
                    chunk, names = [], set()
                names.add(name)
            chunk.append(item)
        if chunk:
            parts.append(chunk)
        return parts


class Dispatcher:
    """The one thread that sends the metric points of every run sharing a Client.

    It runs while some run has points to send (or has not been closed), and ends
    IDLE_EXIT seconds after the last one unless another comes; the next point logged
    then starts it again.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.senders: list[MetricSender] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.outbox: deque = deque()  # requests and markers, only touched by the thread
        self.turn = 0  # which run goes first in a round: each in turn

    def add(self, sender: MetricSender) -> None:
        with self.lock:
            if sender not in self.senders:
                self.senders.append(sender)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._loop, name="studio-metrics", daemon=True
                )
                self.thread.start()

    def serves(self, sender: MetricSender) -> bool:
        with self.lock:
            return sender in self.senders

    def interval(self) -> float:
        with self.lock:
            return min((s.options.flush_interval for s in self.senders), default=0.5)

    def _loop(self) -> None:
        idle_since: float | None = None
        while True:
            self.wake.wait(self.interval())
            self.wake.clear()
            try:
                self._drain()
            except Exception:
                # A bug here must not end the thread silently with points still waiting.
                logger.exception("the metric sender failed; retrying")
                with self.lock:
                    caps = [s.options.backoff.cap for s in self.senders]
                self.wake.wait(max(caps, default=1.0))
                continue
            # _drain returned: it just found every buffer empty.
            with self.lock:
                self._release()
                if self.senders:
                    idle_since = None
                    continue
                now = time.monotonic()
                idle_since = now if idle_since is None else idle_since
                if now - idle_since < IDLE_EXIT:
                    continue
                self.thread = None
                break
        # No run left for a while: no connection kept open to the studio either.
        self.client.close_session()

    def release(self, sender: MetricSender) -> bool:
        """Let go of a closed run at once if it has nothing left to send."""
        with self.lock:
            self._release()
            if sender not in self.senders:
                sender.released.set()
            return sender.released.is_set()

    def _release(self) -> None:
        """Let go of the closed runs with nothing left to send (the caller holds the lock)."""
        for sender in [s for s in self.senders if s.closing and s.idle()]:
            self.senders.remove(sender)
            sender.released.set()

    def _drain(self) -> None:
        """Send everything waiting, oldest first, until every buffer is empty."""
        while True:
            if not self.outbox:
                self._fill()
                if not self.outbox:
                    return
            entry = self.outbox[0]
            if entry.__class__ is Marker:
                self.outbox.popleft()
                entry.event.set()
                continue
            self._send(entry)

    def _fill(self) -> None:
        """One round: points of every run (up to batch_points in all) as requests, then the
        flush markers taken with them (set once those requests are answered)."""
        with self.lock:
            # Between rounds, so a closed run is let go while others keep logging.
            self._release()
            senders = list(self.senders)
        if not senders:
            return
        now = time.monotonic()
        self._create([s for s in senders if s.prepare is not None and now >= s.create_by])
        # Runs still to be created, and young: left to their own calls for now.
        senders = [s for s in senders if s.prepare is None or now >= s.create_by]
        if not senders:
            return
        first = self.turn % len(senders)
        self.turn += 1
        senders = senders[first:] + senders[:first]
        room = min(s.options.batch_points for s in senders)
        parts: list[Part] = []
        markers: list[Marker] = []
        for sender in senders:
            if room <= 0:
                break
            items = sender.take(room)
            if items and items[0].__class__ is Keyed:
                keyed = items[0]
                self.outbox.append(Request(self.client, [Part(sender, keyed.items)], keyed.key))
                continue
            points = [i for i in items if i.__class__ is not Marker]
            markers += [i for i in items if i.__class__ is Marker]
            if not points:
                continue
            room -= len(points)
            parts += [Part(sender, chunk) for chunk in sender.split(points)]
        request: list[Part] = []
        for part in parts:
            if len(request) >= MAX_RUNS_PER_REQUEST or any(
                p.sender is part.sender for p in request
            ):
                self.outbox.append(Request(self.client, request))
                request = []
            request.append(part)
        if request:
            self.outbox.append(Request(self.client, request))
        self.outbox.extend(markers)

    @staticmethod
    def _create(senders: list[MetricSender]) -> None:
        """Create the runs the studio does not know yet, points or not, a round after they
        started (a refusal is the run's: see RunBase._create; a lost connection is
        tried again by their points' request or the next round)."""
        for sender in senders:
            prepare = sender.prepare  # None once the run's own call created it meanwhile
            if prepare is not None and sender.refusal is None:
                try:
                    prepare()
                except StudioError as exc:
                    logger.info("run %s: not created yet: %s", sender.run_id, exc)

    def _send(self, request: Request) -> None:
        """Post the request until the studio answers it; retry on trouble with the same key."""
        attempt = 0
        while True:
            try:
                for part in request.parts:
                    prepare = part.sender.prepare
                    if prepare is not None:
                        prepare()
                self.client.send("POST", request.path, data=request.body, headers=JSON)
            except StudioError as exc:
                retriable = isinstance(exc, StudioConnectionError) or exc.status in RETRY_STATUSES
                if retriable:
                    backoff = request.parts[0].sender.options.backoff
                    delay = wait_before_retry(backoff, attempt, exc)
                    logger.info(
                        "%s: sending failed (%s); retrying in %.1f s",
                        request.describe(),
                        exc,
                        delay,
                    )
                    attempt += 1
                    # Not self.wake: a flush() must not turn the backoff into a busy loop.
                    threading.Event().wait(delay)
                    continue
                self.outbox.popleft()
                self._refused(request, exc)
                return
            self.outbox.popleft()
            for part in request.parts:
                part.sender.sent += len(part.items)
                part.sender.inflight -= len(part.items)
            return

    def _refused(self, request: Request, exc: StudioError) -> None:
        """A refused request stored nothing: resend it in smaller pieces, or give up on it."""
        if len(request.parts) > 1:
            # Run by run (new keys), so each run's refusal, if any, is its own.
            for part in reversed(request.parts):
                self.outbox.appendleft(Request(self.client, [part]))
            return
        part = request.parts[0]
        sender = part.sender
        if exc.status == 413 and len(part.items) > 1:
            # Over the studio's size limit: two halves with new keys are safe.
            half = len(part.items) // 2
            for items in (part.items[half:], part.items[:half]):
                self.outbox.appendleft(Request(self.client, [Part(sender, items)]))
            return
        logger.error("the studio refused %s: %s", request.describe(), exc)
        sender.failed += len(part.items)
        sender.inflight -= len(part.items)
        sender.errors.append(exc)


_dispatchers_lock = threading.Lock()


def dispatcher_for(client: Client) -> Dispatcher:
    """The sender thread's state of a studio connection: one per Client, kept on it."""
    with _dispatchers_lock:
        dispatcher = getattr(client, "_dispatcher", None)
        if dispatcher is None:
            dispatcher = client._dispatcher = Dispatcher(client)
        return dispatcher


def create_pending(client: Client) -> None:
    """Tell the studio now of the runs this process started on `client` that it has not
    heard of yet (before a listing, so that a process finds its own runs). Runs it
    refused stay out: their own calls say why."""
    dispatcher = getattr(client, "_dispatcher", None)
    if dispatcher is None:
        return
    with dispatcher.lock:
        senders = [s for s in dispatcher.senders if s.prepare is not None]
    for sender in senders:
        prepare = sender.prepare
        if prepare is not None and sender.refusal is None:
            try:
                prepare()
            except StudioConnectionError:
                raise
            except StudioError:
                pass  # kept on the run (RunBase._create)
