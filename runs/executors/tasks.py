"""The Celery side: `runs.execute` runs a submitted run on this machine, talking to the
studio only through its JSON API (runs.executors.api); workers report themselves to it.

Environment: STUDIO_URL, STUDIO_TOKEN (a contributor of the workspaces served),
STUDIO_WORKSPACE (where this worker's presence is shown), STUDIO_WORKER_DIR (scratch
space, default the system's temporary folder), STUDIO_CANCEL_GRACE (seconds).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
from pathlib import Path

from celery.signals import worker_ready, worker_shutdown

from runs.executors.api import ApiStudio
from runs.executors.process import execute
from runs.executors.snapshot import Limits
from runs.sdk.errors import StudioError
from runs.sdk.http import Client
from studio.celery import app

logger = logging.getLogger("runs.executors")

# How often a worker tells the studio it is alive (the studio counts the last minute).
PRESENCE_EVERY = 20.0
_stop = threading.Event()


def _client(workspace: str) -> Client:
    url, token = os.environ.get("STUDIO_URL"), os.environ.get("STUDIO_TOKEN")
    if not url or not token:
        raise RuntimeError("a Celery worker needs STUDIO_URL and STUDIO_TOKEN to reach the studio")
    return Client(url, token, workspace)


def worker_name() -> str:
    return f"celery@{socket.gethostname()}:{os.getpid()}"


@app.task(name="runs.execute", acks_late=True)
def execute_run(workspace: str, run_id: str) -> str:
    """Claim the run, execute it here, end it; returns its final status."""
    studio = ApiStudio(_client(workspace), run_id)
    workdir = Path(
        tempfile.mkdtemp(prefix=f"run-{run_id[:40]}-", dir=os.environ.get("STUDIO_WORKER_DIR"))
    )
    job = studio.claim(worker_name(), workdir)
    if job is None:
        logger.info("run %s: taken or cancelled already", run_id)
        return "NotClaimed"
    outcome = execute(
        job,
        studio,
        workdir,
        limits=Limits(),
        grace=float(os.environ.get("STUDIO_CANCEL_GRACE", "2")),
    )
    return outcome.status


def _report_presence(queues: list[str]) -> None:
    workspace = os.environ.get("STUDIO_WORKSPACE")
    if not workspace:
        logger.warning("STUDIO_WORKSPACE is not set: the studio will not list this worker")
        return
    body = {"name": worker_name(), "targets": queues}
    while not _stop.is_set():
        try:
            client = _client(workspace)
            client.json("POST", client.ws_path("/workers"), json_body=body, timeout=5.0)
        except (StudioError, RuntimeError) as exc:
            logger.warning("cannot report this worker to the studio: %s", exc)
        _stop.wait(PRESENCE_EVERY)


@worker_ready.connect
def _start_presence(sender=None, **kwargs) -> None:
    queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values())
    threading.Thread(
        target=_report_presence, args=(queues,), name="studio-presence", daemon=True
    ).start()


@worker_shutdown.connect
def _stop_presence(**kwargs) -> None:
    _stop.set()
