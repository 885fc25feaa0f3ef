"""The local worker (`manage.py runworker`): claims Queued runs of local targets and
executes each in a thread, and runs the studio's periodic duties.

Concurrency: `concurrency` top-level runs at once. Child runs get a slot beyond it
(up to CHILD_SLOTS_PER_SLOT times as many): a parent script that submits children and
waits for them holds its slot while they run, and must not starve them of one.

Duties: callables run every few seconds in the worker's loop, each on its own
interval (the stale-run sweep, the alert notifications, SQLite's planner statistics;
add to DUTIES for more).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connections

from runs import services
from runs.executors.database import DatabaseStudio, job_for
from runs.executors.process import execute
from runs.executors.snapshot import Limits
from runs.models import LOCAL_TARGET, ComputeTarget
from runs.services.maintenance import statistics_refresh

logger = logging.getLogger("runs.executors")

# How often an idle worker looks for Queued runs: a submitted script starts within this.
IDLE_POLL = 0.2
CHILD_SLOTS_PER_SLOT = 8
# How often the worker says it is alive (the compute targets page counts the last minute).
PRESENCE_EVERY = 15.0


@dataclass
class Duty:
    """A periodic duty of the worker: `call()` every `every` seconds."""

    name: str
    every: float
    call: Callable[[], object]
    due: float = 0.0


def sweep_stale_runs() -> list[str]:
    """Fail (HeartbeatLost) executing runs whose heartbeat is older than the timeout."""
    failed = services.runs_fail_stale(timeout=timedelta(seconds=settings.STUDIO_HEARTBEAT_TIMEOUT))
    for run_id in failed:
        logger.warning(
            "run %s: no heartbeat for %gs: Failed", run_id, settings.STUDIO_HEARTBEAT_TIMEOUT
        )
    return failed


def send_notifications() -> object:
    """Deliver the alert notifications that are due (runs.notifications.sender)."""
    from runs.notifications.sender import notifications_tick

    return notifications_tick()


# The studio's periodic duties, run by every local worker (each is safe to run twice, or
# in two workers at once). SQLite's planner statistics: at the worker's start, then
# hourly, once the runs are many enough for plans to matter (ANALYZE reads at most
# 1,000 rows an index: milliseconds at a million runs).
DUTIES: list[tuple[str, float, Callable[[], object]]] = [
    ("stale runs", 5.0, sweep_stale_runs),
    ("notifications", 2.0, send_notifications),
    ("planner statistics", 3600.0, statistics_refresh),
]


@dataclass
class LocalWorker:
    targets: list[str] | None = None  # None: every target with the local executor
    concurrency: int = 2
    name: str = field(default_factory=lambda: f"runworker@{socket.gethostname()}:{os.getpid()}")
    workdir: Path = field(default_factory=lambda: Path(settings.STUDIO_WORKER_DIR))
    duties: list[Duty] = field(
        default_factory=lambda: [Duty(name, every, call) for name, every, call in DUTIES]
    )

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.running: dict[str, tuple[threading.Thread, bool]] = {}  # run id -> (thread, child)
        self.lock = threading.Lock()
        self.limits = Limits(
            max_files=settings.STUDIO_SNAPSHOT_MAX_FILES,
            max_bytes=settings.STUDIO_SNAPSHOT_MAX_BYTES,
            max_ratio=settings.STUDIO_SNAPSHOT_MAX_RATIO,
        )
        self.next_presence = 0.0

    def serve(self) -> None:
        """Until stop is set: duties, presence, claims. Running scripts are stopped at the end."""
        logger.info("%s serving %s", self.name, ", ".join(self.targets or ["every local target"]))
        try:
            while not self.stop.is_set():
                self.run_duties()
                self.report_presence()
                claimed = self.claim()
                close_old_connections()
                if not claimed:
                    self.stop.wait(IDLE_POLL)
        finally:
            self.wait_for_runs()
            connections.close_all()

    def run_duties(self) -> None:
        now = time.monotonic()
        for duty in self.duties:
            if now < duty.due:
                continue
            duty.due = now + duty.every
            try:
                duty.call()
            except Exception:
                logger.exception(
                    "worker duty %r failed; it runs again in %gs", duty.name, duty.every
                )

    def report_presence(self) -> None:
        now = time.monotonic()
        if now < self.next_presence:
            return
        self.next_presence = now + PRESENCE_EVERY
        served = self.targets or [
            LOCAL_TARGET,
            *ComputeTarget.objects.filter(executor=ComputeTarget.Executor.LOCAL)
            .values_list("name", flat=True)
            .distinct(),
        ]
        services.worker_seen(name=self.name, executor="local", targets=sorted(set(served)))

    def slots(self) -> tuple[int, int]:
        """Free (top-level, child) slots."""
        with self.lock:
            for run_id, (thread, _) in list(self.running.items()):
                if not thread.is_alive():
                    del self.running[run_id]
            top = sum(1 for _, child in self.running.values() if not child)
            children = sum(1 for _, child in self.running.values() if child)
        return self.concurrency - top, self.concurrency * CHILD_SLOTS_PER_SLOT - children

    def claim(self) -> bool:
        """Take one Queued run if a slot is free; whether one was taken."""
        top, children = self.slots()
        if top <= 0 and children <= 0:
            return False
        claimed = services.run_claim_next(
            worker=self.name, targets=self.targets, children_only=top <= 0
        )
        if claimed is None:
            return False
        run, token = claimed
        is_child = run.parent_id is not None
        thread = threading.Thread(
            target=self.execute, args=(run, token), name=f"run-{run.pk}", daemon=True
        )
        with self.lock:
            self.running[run.pk] = (thread, is_child)
        thread.start()
        return True

    def execute(self, run, token: str) -> None:
        try:
            workdir = Path(tempfile.mkdtemp(prefix="run-", dir=self._workdir()))
            job = job_for(run, token, workdir)
            outcome = execute(
                job,
                DatabaseStudio(run),
                workdir,
                limits=self.limits,
                grace=settings.STUDIO_CANCEL_GRACE,
                stopping=self.stop,
            )
            logger.info("run %s: %s", run.pk, outcome.status)
        except Exception as exc:
            logger.exception("run %s: the worker failed", run.pk)
            services.run_finish(
                run=run, to="Failed", error={"code": "WorkerError", "message": str(exc)[:1000]}
            )
        finally:
            connections.close_all()

    def _workdir(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self.workdir

    def wait_for_runs(self) -> None:
        """Stopping: each run's loop sees the worker go, stops its script, fails the run."""
        with self.lock:
            threads = [t for t, _ in self.running.values()]
        for thread in threads:
            thread.join()
