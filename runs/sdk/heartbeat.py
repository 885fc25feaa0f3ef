"""Heartbeats for the runs this process started, and what to do when one is canceled."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING

from runs.sdk.errors import StudioError
from runs.sdk.http import Http

if TYPE_CHECKING:
    from runs.sdk.run import Run

log = logging.getLogger("runs.sdk")


class Heartbeat:
    """One thread that tells the server every `interval` seconds that our runs are alive.

    When an answer says a cancel was requested, the run's `_on_cancel_requested`
    is called (it interrupts the main thread or calls the user's callback, then
    marks the run Canceled).
    """

    def __init__(self, http: Http, workspace: str, *, interval: float = 1.0):
        self.http = http
        self.workspace = workspace
        self.interval = interval
        self._runs: weakref.WeakValueDictionary[str, Run] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, run: Run) -> None:
        with self._lock:
            self._runs[run.id] = run
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="studio-heartbeat", daemon=True
                )
                self._thread.start()

    def forget(self, run: Run) -> None:
        with self._lock:
            self._runs.pop(run.id, None)

    def beat_once(self) -> None:
        """One round of heartbeats (the thread calls this every `interval`)."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            try:
                answer = self.http.post(f"/w/{self.workspace}/runs/{run.id}/heartbeat", retries=0)
            except StudioError as exc:
                log.debug("heartbeat of %s failed: %s", run.id, exc)
                continue
            if answer.get("cancelRequested"):
                self.forget(run)
                threading.Thread(
                    target=run._on_cancel_requested, name="studio-cancel", daemon=True
                ).start()
            elif answer.get("status") in ("Completed", "Failed", "Canceled"):
                self.forget(run)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat_once()

    def stop(self) -> None:
        self._stop.set()
