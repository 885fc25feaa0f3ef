"""One thread per process that heartbeats every run this process owns and notices cancels.

Each run has its own interval (`heartbeat_interval`, 1 s by default). When the
studio answers `cancelRequested` (someone cancelled the run, or an ancestor of
it), the run's `on_cancel` callback is called, or else the main thread gets a
KeyboardInterrupt; the run is then marked Canceled (see `Run._cancel_requested`).
"""

from __future__ import annotations

import _thread
import logging
import signal
import threading
import time
from typing import TYPE_CHECKING

from runs.sdk.errors import AuthError, NotFoundError, StudioError

if TYPE_CHECKING:
    from runs.sdk.run import Run

logger = logging.getLogger("runs.sdk")

TERMINAL = frozenset({"Completed", "Failed", "Canceled"})


def interrupt_main() -> None:
    """Raise KeyboardInterrupt in the main thread, waking it from a sleep or a blocking call.

    A real SIGINT aimed at the main thread interrupts blocking system calls;
    `_thread.interrupt_main()` only sets a flag the main thread sees at its next
    bytecode. The signal is sent only when Python handles SIGINT (it would kill
    the process if SIGINT had its default action).
    """
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    else:
        _thread.interrupt_main()


class Heartbeater:
    """Heartbeats for the runs this process owns, each on its own schedule."""

    def __init__(self) -> None:
        self._due: dict[Run, float] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, run: Run) -> None:
        with self._cond:
            self._due[run] = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="studio-heartbeat", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def remove(self, run: Run) -> None:
        with self._cond:
            self._due.pop(run, None)
            self._cond.notify()

    def __contains__(self, run: Run) -> bool:
        with self._cond:
            return run in self._due

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    due = [r for r, t in self._due.items() if t <= now]
                    if due:
                        break
                    wait = min(self._due.values(), default=now + 60) - now
                    self._cond.wait(wait)
                for run in due:
                    self._due[run] = now + run.heartbeat_interval
            for run in due:
                self._beat(run)

    def _beat(self, run: Run) -> None:
        path = run._client.ws_path(f"/runs/{run.id}/heartbeat")
        # A short timeout: a hung request must not delay noticing a cancel for long.
        timeout = max(2.0, run.heartbeat_interval * 2)
        try:
            answer = run._client.send("POST", path, timeout=timeout).json()
        except (NotFoundError, AuthError) as exc:
            logger.warning("run %s: heartbeats stop: %s", run.id, exc)
            self.remove(run)
            return
        except StudioError as exc:
            logger.info("run %s: heartbeat failed (%s); trying again", run.id, exc)
            return
        if answer.get("cancelRequested"):
            self.remove(run)
            run._cancel_requested()
        elif answer.get("status") in TERMINAL:
            # Ended elsewhere: by this process (a cancel of an ancestor it owns), or in the
            # studio after a cancel this process already acknowledged. Nothing to interrupt.
            logger.warning("run %s is %s: heartbeats stop", run.id, answer["status"])
            self.remove(run)


heartbeater = Heartbeater()
