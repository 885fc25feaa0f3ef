"""One thread per process that heartbeats every run this process owns and notices cancels.

Each run has its own interval (`heartbeat_interval`, 1 s by default); runs of one
studio connection falling due together beat in one request (`POST
/w/<ws>/heartbeats`), so a sweep of a hundred runs costs a request a second. When the
studio answers `cancelRequested` (someone cancelled the run, or an ancestor of
it), the run's `on_cancel` callback is called, or else the main thread gets a
KeyboardInterrupt; the run is then marked Canceled (see `Run._cancel_requested`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Protocol

from runs.sdk.errors import AuthError, NotFoundError, StudioError

if TYPE_CHECKING:
    from runs.sdk.http import Client

logger = logging.getLogger("runs.sdk")

TERMINAL = frozenset({"Completed", "Failed", "Canceled"})
# The API's limit of runs in one POST /w/<ws>/heartbeats.
MAX_RUNS_PER_BEAT = 1000
# Seconds the thread waits, with no run left, for the next one (a sweep's next trial)
# before it ends.
IDLE_EXIT = 5.0


class Beating(Protocol):
    """What the heartbeater needs of a run (runs.sdk.workspace.Run)."""

    id: str
    heartbeat_interval: float
    _client: Client

    def _cancel_requested(self) -> None: ...


class Heartbeater:
    """Heartbeats for the runs this process owns, each on its own schedule."""

    def __init__(self) -> None:
        self._due: dict[Beating, float] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, run: Beating) -> None:
        with self._cond:
            # The first beat one interval on: creating the run stamped its heartbeat, and a
            # run shorter than that (a sweep's small trial) costs no request for it.
            self._due[run] = time.monotonic() + run.heartbeat_interval
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="studio-heartbeat", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def remove(self, run: Beating) -> None:
        with self._cond:
            self._due.pop(run, None)
            self._cond.notify()

    def __contains__(self, run: Beating) -> bool:
        with self._cond:
            return run in self._due

    def _loop(self) -> None:
        clients: set[Client] = set()
        idle_since: float | None = None
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if not self._due:
                        idle_since = now if idle_since is None else idle_since
                        if now - idle_since < IDLE_EXIT:
                            self._cond.wait(IDLE_EXIT - (now - idle_since))
                            continue
                        # No run left for a while: the thread ends (add() starts another),
                        # and keeps no connection open to the studio.
                        self._thread = None
                        for client in clients:
                            client.close_session()
                        return
                    idle_since = None
                    due = [r for r, t in self._due.items() if t <= now]
                    if due:
                        break
                    self._cond.wait(min(self._due.values()) - now)
                # Runs due within an interval beat now too (once a little early): a sweep's
                # runs fall into step, and then one request a round beats them all.
                soon = now + min(r.heartbeat_interval for r in due)
                due = [r for r, t in self._due.items() if t <= soon]
                for run in due:
                    self._due[run] = now + run.heartbeat_interval
            by_client: dict[Client, list[Beating]] = {}
            for run in due:
                by_client.setdefault(run._client, []).append(run)
            clients.update(by_client)
            for runs in by_client.values():
                if len(runs) == 1:
                    self._beat(runs[0])
                else:
                    for start in range(0, len(runs), MAX_RUNS_PER_BEAT):
                        self._beat_many(runs[start : start + MAX_RUNS_PER_BEAT])

    def _beat(self, run: Beating) -> None:
        path = run._client.ws_path(f"/runs/{run.id}/heartbeat")
        try:
            answer = _answer(run._client.send("POST", path, timeout=_timeout([run])))
        except (NotFoundError, AuthError) as exc:
            logger.warning("run %s: heartbeats stop: %s", run.id, exc)
            self.remove(run)
            return
        except StudioError as exc:
            logger.info("run %s: heartbeat failed (%s); trying again", run.id, exc)
            return
        self._answered(run, answer)

    def _beat_many(self, runs: list[Beating]) -> None:
        """One request for runs sharing a studio connection (POST /w/<ws>/heartbeats)."""
        client = runs[0]._client
        body = {"runIds": [r.id for r in runs]}
        try:
            answer = _answer(
                client.send(
                    "POST", client.ws_path("/heartbeats"), json_body=body, timeout=_timeout(runs)
                )
            )
        except AuthError as exc:
            logger.warning("runs %s: heartbeats stop: %s", ", ".join(r.id for r in runs), exc)
            for run in runs:
                self.remove(run)
            return
        except NotFoundError:
            # A studio without the endpoint: each run on its own.
            for run in runs:
                self._beat(run)
            return
        except StudioError as exc:
            logger.info("heartbeat of %d runs failed (%s); trying again", len(runs), exc)
            return
        found = answer.get("runs")
        if not isinstance(found, dict):
            logger.info("heartbeat of %d runs: not a heartbeat's answer; trying again", len(runs))
            return
        for run in runs:
            if run.id in found:
                self._answered(run, found[run.id])
            else:
                logger.warning("run %s: heartbeats stop: it is not in the studio", run.id)
                self.remove(run)

    def _answered(self, run: Beating, answer: dict) -> None:
        if run not in self:
            # Ended by this process while the beat was on its way: nothing to say.
            return
        if answer.get("cancelRequested"):
            self.remove(run)
            run._cancel_requested()
        elif answer.get("status") in TERMINAL:
            # Ended elsewhere: by this process (a cancel of an ancestor it owns), or in the
            # studio after a cancel this process already acknowledged. Nothing to interrupt.
            logger.warning("run %s is %s: heartbeats stop", run.id, answer["status"])
            self.remove(run)


def _answer(response) -> dict:
    """The heartbeat's JSON object; StudioError for anything else (a proxy's page, say),
    which the heartbeater counts as a failed beat and tries again: never a dead thread."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise StudioError(
            f"not a heartbeat's answer (HTTP {response.status_code})", status=response.status_code
        )
    return answer


def _timeout(runs: list[Beating]) -> float:
    """A short timeout: a hung request must not delay noticing a cancel for long."""
    return max(2.0, min(r.heartbeat_interval for r in runs) * 2)


heartbeater = Heartbeater()
