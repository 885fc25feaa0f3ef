"""Real studio processes for the crash and concurrency tests: `manage.py runserver`
on the test's database, on a port of its own, killed and started again at will."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import requests

from tests.workers import ROOT, server_env, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Studio:
    """One `manage.py runserver` process; `kill()` is SIGKILL, `start()` starts it anew."""

    def __init__(self, tmp_path: Path, name: str = "web", port: int | None = None, **env: str):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = name
        self.log = tmp_path / f"{name}.log"
        self.env = server_env(self.url, tmp_path, **env)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        argv = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - the project's own command
                argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self.answers, timeout=60, what=f"{self.name} to answer on {self.url}")

    def answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
        try:
            return requests.get(f"{self.url}/api/workspaces", timeout=2).status_code == 401
        except requests.RequestException:
            return False

    def kill(self) -> None:
        """SIGKILL: no request finishes, no transaction commits that had not."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def studio(tmp_path: Path, name: str = "web", **env: str) -> Iterator[Studio]:
    server = Studio(tmp_path, name, **env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
