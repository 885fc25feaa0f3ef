"""Executing one claimed run: the run function every executor shares.

The snapshot is unpacked (runs.executors.snapshot), the script started in its
own process group with the snapshot as working directory, its stdout and stderr
streamed into the run's log as they come, and the studio asked every
`POLL` seconds whether the run is still wanted (which is also its heartbeat).
A CancelRequested run gets SIGTERM to the whole group, SIGKILL after `grace`
seconds, and ends Canceled once no process of the group is left. An exit status
of 0 completes the run, any other fails it with the output's last lines. The
studio is reached through a `Studio` port: the database (local worker) or the
JSON API (Celery workers elsewhere). No Django here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from runs.executors.snapshot import Limits, SnapshotRefused, unpack
from runs.text import printable

logger = logging.getLogger("runs.executors")

# Seconds between two questions to the studio (status, heartbeat) while the script runs:
# a cancel is noticed within this, well under the 2 s promised.
POLL = 0.5
# Output is sent at least this often while it flows (and at once when it starts).
LOG_FLUSH = 0.2
READ_BLOCK = 64 * 1024
TAIL_LINES = 30
# Never passed to a script: the worker's own secrets.
PRIVATE_ENV = frozenset(
    {"SECRET_KEY", "DATABASE_URL", "EMAIL_HOST_PASSWORD", "CELERY_BROKER_URL", "DEBUG"}
)
PROJECT_ROOT = str(Path(__file__).resolve().parents[2])

TERMINAL = frozenset({"Completed", "Failed", "Canceled"})
# Statuses that stop the script: a cancel asked for, or one the script made itself.
# (A script that completed or failed its own run is left to exit.)
STOP = frozenset({"CancelRequested", "Canceled"})
# Seconds the output may stay open after the script exited (a child holding it).
EXIT_OUTPUT_WAIT = 1.0


class Studio(Protocol):
    """What executing a run needs of the studio."""

    def move(self, status: str) -> str:
        """A lifecycle move (Starting, Running); returns the status now (maybe not that)."""

    def beat(self) -> str:
        """Heartbeat; returns the run's status (CancelRequested: stop)."""

    def append_log(self, data: bytes) -> None:
        """Append output to the run's std log."""

    def finish(self, status: str, error: dict | None = None) -> None:
        """End the run: Completed, Failed (with error) or Canceled (a no-op if it ended)."""


@dataclass
class Job:
    """A claimed run: what to execute and with which environment."""

    run_id: str
    script: str
    arguments: list[str]
    snapshot: Path  # the .tar.gz, downloaded or in storage
    env: dict[str, str] = field(default_factory=dict)  # STUDIO_* for the script's SDK


@dataclass
class Outcome:
    status: str
    exit_code: int | None = None
    error: dict | None = None


def script_env(job: Job) -> dict[str, str]:
    """The worker's environment without its secrets, plus the run's STUDIO_* variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in PRIVATE_ENV and not k.startswith(("STUDIO_", "DJANGO_"))
    }
    env.update(job.env)
    env["PYTHONUNBUFFERED"] = "1"
    paths = [PROJECT_ROOT, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def command(job: Job, folder: Path) -> list[str]:
    script = folder / job.script
    if not script.resolve().is_relative_to(folder.resolve()) or not script.is_file():
        raise SnapshotRefused(f"the snapshot has no script {job.script!r}")
    if script.suffix == ".py":
        return [sys.executable, "-u", job.script, *job.arguments]
    return [str(script), *job.arguments]


class Output:
    """Reads the script's output in a thread; the executing loop takes what came."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self.chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.tail: deque[bytes] = deque(maxlen=TAIL_LINES)
        self._partial = b""
        self.thread = threading.Thread(target=self._read, name="script-output", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        fd = self.pipe.fileno()
        try:
            while block := os.read(fd, READ_BLOCK):
                self.chunks.put(block)
        except OSError:
            pass
        finally:
            self.chunks.put(None)

    def take(self, wait: float) -> tuple[bytes, bool]:
        """What came within `wait` seconds (at least one piece if any), and whether it ended."""
        pieces: list[bytes] = []
        ended = False
        try:
            item = self.chunks.get(timeout=wait)
            while True:
                if item is None:
                    ended = True
                    break
                pieces.append(item)
                item = self.chunks.get_nowait()
        except queue.Empty:
            pass
        data = b"".join(pieces)
        self._remember(data)
        return data, ended

    def _remember(self, data: bytes) -> None:
        if not data:
            return
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-4096:]
        self.tail.extend(line[-1000:] for line in lines)

    def last_lines(self) -> list[str]:
        lines = [*self.tail, self._partial] if self._partial else list(self.tail)
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines][-TAIL_LINES:]


def stop_group(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the script's process group, SIGKILL after `grace` s; returns when the
    leader is reaped and the group is gone (or only unkillable processes are left)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and group_alive(proc):
        time.sleep(0.02)
    kill_group(proc)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL whatever is left of the group (the script's children too), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while group_alive(proc) and time.monotonic() < deadline:
        time.sleep(0.01)


def group_alive(proc: subprocess.Popen) -> bool:
    """Whether any process of the script's group is still there (reaping the leader)."""
    proc.poll()
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def failure(code: int, output: Output) -> dict:
    # Colours, progress bars' carriage returns and the like are no text to store.
    lines = [printable(line) for line in output.last_lines()]
    last = next((line for line in reversed(lines) if line.strip()), "")
    how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
    return {
        "code": "ScriptFailed",
        "message": f"the script {how}" + (f": {last.strip()[:500]}" if last else ""),
        "details": {"exitCode": code, "logTail": lines},
    }


def execute(
    job: Job,
    studio: Studio,
    workdir: Path,
    *,
    limits: Limits,
    grace: float,
    stopping: threading.Event | None = None,
) -> Outcome:
    """Run the claimed job to its end; the run ends Completed, Failed or Canceled.

    `stopping` set (the worker is shutting down) stops the script and fails the run
    with WorkerStopped."""
    folder = workdir / "snapshot"
    try:
        try:
            unpack(job.snapshot, folder, limits)
            argv = command(job, folder)
        except SnapshotRefused as exc:
            error = {"code": "SnapshotRefused", "message": str(exc)}
            studio.finish("Failed", error)
            return Outcome("Failed", error=error)
        if studio.move("Starting") in TERMINAL | {"CancelRequested"}:
            studio.finish("Canceled")
            return Outcome("Canceled")
        return _run(job, studio, argv, folder, grace, stopping or threading.Event())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(
    job: Job, studio: Studio, argv: list[str], folder: Path, grace: float, stopping: threading.Event
) -> Outcome:
    try:
        proc = subprocess.Popen(  # noqa: S603 - the run's own script, in its own group
            argv,
            cwd=folder,
            env=script_env(job),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        error = {"code": "ScriptFailed", "message": f"cannot start {argv[-1]!r}: {exc}"}
        studio.finish("Failed", error)
        return Outcome("Failed", error=error)
    output = Output(proc.stdout)
    try:
        status = studio.move("Running")
        next_beat = time.monotonic() + POLL
        ended = False
        exited_at = None
        while True:
            if status in STOP or stopping.is_set():
                stop_group(proc, grace)
                if not ended:
                    _drain(output, studio)
                if status in STOP:
                    studio.finish("Canceled")
                    return Outcome("Canceled", exit_code=proc.returncode)
                error = {"code": "WorkerStopped", "message": "the worker was stopped"}
                studio.finish("Failed", error)
                return Outcome("Failed", exit_code=proc.returncode, error=error)
            data, ended = output.take(LOG_FLUSH) if not ended else (b"", True)
            if data:
                studio.append_log(data)
            if proc.poll() is not None:
                exited_at = exited_at or time.monotonic()
                # Done once the output ends; a child still holding it open is not waited for.
                if ended or time.monotonic() - exited_at > EXIT_OUTPUT_WAIT:
                    break
            elif ended:
                time.sleep(0.02)
            if time.monotonic() >= next_beat:
                status = studio.beat()
                next_beat = time.monotonic() + POLL
        code = proc.returncode
        kill_group(proc)  # whatever the script left running in its group goes with it
        if not ended:
            _drain(output, studio)
        if code == 0:
            studio.finish("Completed")
            return Outcome("Completed", exit_code=0)
        error = failure(code, output)
        studio.finish("Failed", error)
        return Outcome("Failed", exit_code=code, error=error)
    finally:
        if proc.poll() is None or group_alive(proc):
            kill_group(proc)
        proc.stdout.close()


def _drain(output: Output, studio: Studio) -> None:
    """Send what the script wrote before it stopped."""
    data, _ = output.take(0.2)
    if data:
        studio.append_log(data)
