"""The Celery executor: a real Celery worker on a Redis broker serves a compute target's
queue, talking to the studio through its JSON API only (no database in its environment)."""

from __future__ import annotations

import os
import re
import sys
import textwrap
import uuid

import pytest
import redis

from runs.models import ComputeTarget, Worker
from runs.models import Run as RunModel
from runs.sdk import Experiment, NotFoundError, ScriptRunConfig
from tests.workers import ROOT, group_gone, process, wait_until

BROKER = os.environ["CELERY_BROKER_URL"]


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason=f"no Redis at {BROKER}")


@pytest.fixture
def queue(team) -> str:
    name = f"gpu-{uuid.uuid4().hex[:8]}"
    ComputeTarget.objects.create(workspace=team, name=name, executor="celery")
    return name


@pytest.fixture
def celery_worker(studio, token, queue, tmp_path):
    # Only what a machine elsewhere would have: the broker, the studio's URL and a token.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STUDIO_", "DATABASE_", "DJANGO_", "PYTEST"))
    }
    env.update(
        CELERY_BROKER_URL=BROKER,
        STUDIO_URL=studio,
        STUDIO_TOKEN=token,
        STUDIO_WORKSPACE="team",
        STUDIO_WORKER_DIR=str(tmp_path),
        STUDIO_CANCEL_GRACE="1",
        SECRET_KEY="celery-worker-tests-only",
        STUDIO_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(ROOT),
    )
    argv = [
        sys.executable, "-m", "celery", "-A", "studio", "worker", "-Q", queue,
        "-P", "threads", "-c", "2", "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
    ]  # fmt: skip
    with process(argv, env, tmp_path / "celery.log") as proc:
        # Ready once it told the studio which queue it serves.
        wait_until(
            lambda: (
                any(queue in w.targets for w in Worker.objects.filter(executor="celery"))
                or proc.poll() is not None
            ),
            timeout=60,
            what="the Celery worker",
        )
        assert proc.poll() is None, (tmp_path / "celery.log").read_text()
        yield proc


def write(folder, name, text):
    (folder / name).write_text(textwrap.dedent(text))


def test_a_celery_worker_runs_a_script_and_honours_cancel(ws, queue, celery_worker, tmp_path, team):
    src = tmp_path / "src"
    src.mkdir()
    write(
        src,
        "hello.py",
        """
        from runs.sdk import Run
        run = Run.get_context()
        run.log("message", "Hello from a Celery worker")
        print("hello from", run.id)
        """,
    )
    write(
        src,
        "loop.py",
        """
        import os, time
        from runs.sdk import Run
        run = Run.get_context()
        print("group", os.getpgid(0), flush=True)
        while True:
            run.log("loss", 0.5)
            time.sleep(0.05)
        """,
    )
    exp = Experiment(workspace=ws, name="remote")

    run = exp.submit(ScriptRunConfig(source_directory=src, script="hello.py", compute_target=queue))
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.get_metrics() == {"message": "Hello from a Celery worker"}
    stored = RunModel.objects.get(pk=run.id)
    assert stored.worker.startswith("celery@")
    assert stored.compute_target == queue

    looping = exp.submit(
        ScriptRunConfig(source_directory=src, script="loop.py", compute_target=queue)
    )
    found = wait_until(
        lambda: re.search(r"group (\d+)", _log(looping)), timeout=30, what="the loop to start"
    )
    looping.cancel()
    details = looping.wait_for_completion(raise_on_error=False, timeout=15)
    assert details["status"] == "Canceled"
    assert group_gone(int(found.group(1)))

    targets = {
        t["name"]: t
        for t in ws._client.json("GET", ws._client.ws_path("/compute-targets"))["computeTargets"]
    }
    assert [w["name"] for w in targets[queue]["workers"]][0].startswith("celery@")


def _log(run) -> str:
    try:
        return run._client.request(
            "GET", run._path("/files/content"), params={"name": "user_logs/std_log.txt"}
        ).text
    except NotFoundError:
        return ""
