"""Background sending of metric points: batched, retried, idempotent, in order.

`log()` only appends a tuple to a list under a lock (about a microsecond). A
thread takes what is waiting every `interval` seconds (sooner when `batch_size`
points wait), groups it by run into the API's columnar batches, and sends each
with a fresh idempotency key that is kept for every retry of that batch: a
batch whose answer was lost is resent and stored once. While the server is
away the points stay in memory, in order, and go out when it is back; none is
dropped. Past `max_buffered` waiting points, `log()` blocks until the backlog
drains (back-pressure rather than unbounded memory).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict

from runs.sdk.errors import ServerUnavailable, StudioError
from runs.sdk.http import Http, backoff

log = logging.getLogger("runs.sdk")


class MetricSender:
    """One sending thread for every run of a workspace connection."""

    def __init__(
        self,
        http: Http,
        workspace: str,
        *,
        interval: float = 0.5,
        batch_size: int = 50_000,
        max_buffered: int = 10_000_000,
    ):
        self.http = http
        self.workspace = workspace
        self.interval = interval
        self.batch_size = batch_size
        self.max_buffered = max_buffered
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._points: list[tuple] = []  # (run_id, name, step, value, time)
        self._in_flight = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._errors: dict[str, StudioError] = {}
        self._closed = False

    # -- the training loop's side ------------------------------------------------------

    def add(self, run_id: str, name: str, step: int, value: float) -> None:
        """Queue one point (the hot path)."""
        with self._lock:
            self._points.append((run_id, name, step, value, time.time()))
            waiting = len(self._points)
        if waiting >= self.batch_size:
            self._wake.set()
            if waiting >= self.max_buffered:
                self._wait_below(self.max_buffered // 2)
        if self._thread is None:
            self._start()

    def add_many(self, run_id: str, name: str, steps: list[int], values: list[float]) -> None:
        """Queue several points of one series."""
        now = time.time()
        with self._lock:
            self._points.extend(
                (run_id, name, s, v, now) for s, v in zip(steps, values, strict=True)
            )
        self._wake.set()
        if self._thread is None:
            self._start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is stored; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        with self._lock:
            while self._points or self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(remaining if remaining is not None else 0.5)
                self._wake.set()
        return True

    def raise_for(self, run_id: str) -> None:
        """Raise the error that made a batch of this run impossible to store, once."""
        error = self._errors.pop(run_id, None)
        if error is not None:
            raise error

    def pending(self) -> int:
        with self._lock:
            return len(self._points) + self._in_flight

    def close(self, timeout: float | None = 30.0) -> None:
        """Send what is queued (up to `timeout`), then stop the thread."""
        self.flush(timeout)
        self._closed = True
        self._wake.set()

    # -- the thread ----------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="studio-metrics", daemon=True)
            self._thread.start()

    def _wait_below(self, limit: int) -> None:
        with self._lock:
            while len(self._points) > limit:
                self._changed.wait(1.0)

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            while True:
                with self._lock:
                    batch = self._points[: self.batch_size]
                    del self._points[: self.batch_size]
                    self._in_flight = len(batch)
                if not batch:
                    break
                self._send(batch)
                with self._lock:
                    self._in_flight = 0
                    self._changed.notify_all()
            with self._lock:
                self._changed.notify_all()

    def _send(self, batch: list[tuple]) -> None:
        by_run: dict[str, dict[str, tuple[list, list, list]]] = defaultdict(dict)
        for run_id, name, step, value, when in batch:
            series = by_run[run_id].get(name)
            if series is None:
                series = by_run[run_id][name] = ([], [], [])
            series[0].append(step)
            series[1].append(value)
            series[2].append(when)
        for run_id, series in by_run.items():
            body = {
                "key": uuid.uuid4().hex,
                "series": [
                    {"name": name, "steps": s, "values": v, "times": t}
                    for name, (s, v, t) in series.items()
                ],
            }
            self._post(run_id, body)

    def _post(self, run_id: str, body: dict) -> None:
        """Send until stored (the same key every time); keep a non-retryable error."""
        path = f"/w/{self.workspace}/runs/{run_id}/metrics"
        attempt = 0
        while True:
            attempt += 1
            try:
                self.http.request("POST", path, json=body, retries=0)
                return
            except ServerUnavailable:
                # The server is away or failing: keep the batch and try again later.
                time.sleep(backoff(attempt, cap=5.0))
            except StudioError as exc:
                log.error("metrics for run %s were refused: %s", run_id, exc)
                self._errors[run_id] = exc
                return
