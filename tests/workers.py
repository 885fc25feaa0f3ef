"""Real worker processes for the tests: `manage.py runworker` and a Celery worker, started
against this test's database and live studio, stopped (their whole group) at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The test database as a DATABASE_URL, for processes started by a test."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def server_env(studio_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a studio process needs to share this test's database, files and address."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "PYTEST", "DJANGO_"))
    }
    env.update(
        DATABASE_URL=database_url(),
        CONN_MAX_AGE="0",
        SECRET_KEY="tests-only-secret-key-not-for-production",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        STUDIO_BASE_URL=studio_url,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        STUDIO_DATA_DIR=str(tmp_path / "worker-data"),
        STUDIO_WORKER_DIR=str(tmp_path / "worker-runs"),
        STUDIO_CANCEL_GRACE="1",
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A process in its own group, its output in `log`; its whole group stopped at the end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - the project's own commands
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def runworker(studio_url: str, tmp_path: Path, *args: str, name: str = "worker", **env: str):
    """`manage.py runworker ARGS` against the test's database (a context manager)."""
    argv = [sys.executable, "manage.py", "runworker", *args]
    return process(argv, server_env(studio_url, tmp_path, **env), tmp_path / f"{name}.log")


def wait_until(check: Callable[[], object], timeout: float = 30.0, what: str = "it") -> object:
    """Poll `check` until it is truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False
