"""Submitted scripts end to end: the article's examples through the SDK, a real
`runworker` process executing them against the live studio and this test's database."""

from __future__ import annotations

import io
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from runs.file_content import open_run_file
from runs.models import ComputeTarget, MetricChunk, MetricText, RunEvent, RunFile
from runs.models import Run as RunModel
from runs.sdk import (
    Experiment,
    NotFoundError,
    Run,
    RunFailedError,
    ScriptRunConfig,
    Workspace,
)
from tests.factories import ExperimentFactory, RunFactory
from tests.workers import group_gone, runworker, wait_until

ARTICLE = Path(__file__).parent / "article"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def src(tmp_path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    write(
        folder,
        "hello.py",
        """
        import sys
        from runs.sdk import Run

        run = Run.get_context()
        run.log(name="message", value="Hello from run!")
        run.log("accuracy", 0.5)
        print("hello from", run.id, "args", sys.argv[1:])
        """,
    )
    return folder


@pytest.fixture
def worker(studio, tmp_path):
    with runworker(studio, tmp_path) as proc:
        yield proc


@pytest.fixture
def exp(ws) -> Experiment:
    return Experiment(workspace=ws, name="explore-runs")


def status_of(run_id: str) -> str:
    return RunModel.objects.values_list("status", flat=True).get(pk=run_id)


def log_of(run_id: str) -> str:
    rf = RunFile.objects.filter(run_id=run_id, path="user_logs/std_log.txt").first()
    if rf is None:
        return ""
    with open_run_file(rf) as fh:
        return fh.read().decode()


def test_a_submitted_script_runs_and_its_output_streams(exp, src, worker):
    config = ScriptRunConfig(source_directory=src, script="hello.py", arguments=["--lr", 0.1])
    run = exp.submit(config)
    assert run.get_status() in ("Queued", "Preparing", "Starting", "Running", "Completed")
    out = io.StringIO()

    details = run.wait_for_completion(show_output=True, stream=out)

    assert details["status"] == "Completed"
    assert f"hello from {run.id} args ['--lr', '0.1']" in out.getvalue()
    assert "Status: Completed" in out.getvalue()
    assert "user_logs/std_log.txt" in details["logFiles"]
    assert run.get_metrics() == {"accuracy": 0.5, "message": "Hello from run!"}
    moves = list(
        RunEvent.objects.filter(run_id=run.id, kind="status")
        .order_by("created", "id")
        .values_list("new", flat=True)
    )
    assert moves == ["Queued", "Preparing", "Starting", "Running", "Completed"]
    stored = RunModel.objects.get(pk=run.id)
    assert stored.worker.startswith("runworker@")
    # The script's token died with the run.
    assert stored.script_tokens.get().revoked_at is not None


def test_a_failing_script_fails_with_the_tail_of_its_traceback(exp, src, worker):
    write(src, "broken.py", "print('about to divide')\nprint(1 / 0)\n")
    run = exp.submit(ScriptRunConfig(source_directory=src, script="broken.py"))

    with pytest.raises(RunFailedError, match="ZeroDivisionError: division by zero"):
        run.wait_for_completion()

    stored = RunModel.objects.get(pk=run.id)
    assert stored.status == "Failed"
    assert stored.error_code == "ScriptFailed"
    assert stored.error_message == (
        "the script exited with status 1: ZeroDivisionError: division by zero"
    )
    tail = stored.error_details["logTail"]
    assert tail[0] == "about to divide"
    assert "Traceback (most recent call last):" in tail
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Failed"


def test_a_submitted_run_can_be_failed_or_cancelled_before_it_starts(exp, src):
    # No worker: the runs stay Queued (the article's local_run.fail() and cancel()).
    src_config = ScriptRunConfig(source_directory=src, script="hello.py")
    local_run = exp.submit(src_config)
    assert local_run.get_status() == "Queued"
    local_run.cancel()
    assert local_run.get_status() == "Canceled"
    local_run = exp.submit(src_config)
    local_run.fail()
    assert local_run.get_status() == "Failed"


def test_cancel_stops_the_whole_process_group_and_no_metric_comes_after(
    exp, src, worker, colleague_token, studio
):
    write(
        src,
        "loop.py",
        """
        import os, subprocess, time
        from runs.sdk import Run

        run = Run.get_context()
        subprocess.Popen(["sleep", "600"])  # a grandchild in the group
        print("group", os.getpgid(0), flush=True)
        step = 0
        while True:
            run.log("loss", 1.0 / (step + 1))
            step += 1
            time.sleep(0.02)
        """,
    )
    run = exp.submit(ScriptRunConfig(source_directory=src, script="loop.py"))
    found = wait_until(lambda: re.search(r"group (\d+)", log_of(run.id)), what="the script")
    pgid = int(found.group(1))
    wait_until(lambda: MetricChunk.objects.filter(run_id=run.id).exists(), what="metrics")

    colleague = Workspace(url=studio, token=colleague_token, name="team")
    colleague.get_run(run.id).cancel()

    wait_until(lambda: status_of(run.id) == "Canceled", timeout=10, what="Canceled")
    assert group_gone(pgid), "a process of the script's group survived the cancel"
    stored = RunModel.objects.get(pk=run.id)
    ended = stored.ended.timestamp()
    points = sum(c.count for c in MetricChunk.objects.filter(run=stored))
    assert points > 0
    times = [t for c in MetricChunk.objects.filter(run=stored) for t in _times(c)]
    # Every point was logged before the run ended: the group was gone before Canceled.
    assert max(times) <= ended


def _times(chunk: MetricChunk) -> list[float]:
    from runs.metrics_codec import decode_times

    return decode_times(chunk.times).tolist()


def test_parent_script_launches_three_children_on_a_compute_target(exp, src, worker, team, member):
    ComputeTarget.objects.create(workspace=team, name="gpu-cluster", executor="local")
    for name in ("parent.py", "child.py"):
        shutil.copy(ARTICLE / name, src / name)
    run = exp.submit(ScriptRunConfig(source_directory=src, script="parent.py"))

    assert run.wait_for_completion()["status"] == "Completed"

    children = run.get_children()
    assert len(children) == 3
    assert {c.get_status() for c in children} == {"Completed"}
    assert {c._doc["target"] for c in children} == {"gpu-cluster"}
    fruits = sorted(re.search(r"fruit (\w+)", log_of(c.id)).group(1) for c in children)
    assert fruits == ["Apple", "Banana", "Orange"]
    assert all(f"parent {run.id}" in log_of(c.id) for c in children)
    texts = MetricText.objects.filter(run_id=run.id)
    assert sorted(texts.filter(name="Status").values_list("value", flat=True)) == [
        "Launching Apple",
        "Launching Banana",
        "Launching Orange",
    ]
    assert texts.filter(name="MyMetric").count() == 3
    assert "all children done" in log_of(run.id)


def test_a_scripts_token_reaches_its_tree_and_nothing_else(exp, src, team, studio, tmp_path):
    other = RunFactory(experiment=ExperimentFactory(workspace=team, name="other"))
    write(
        src,
        "probe.py",
        """
        import sys
        from runs.sdk import NotFoundError, Run

        run = Run.get_context()
        ws = run.experiment.workspace
        child = run.child_run("made by the script")
        child.log("x", 1.0)
        child.complete()
        print("child", child.get_status())
        for run_id in [*sys.argv[1:], f"{run.id}_x_1_00000000"]:
            try:
                ws.get_run(run_id)
                print("reached", run_id)
            except NotFoundError:
                print("404", run_id)
        """,
    )
    run = exp.submit(ScriptRunConfig(source_directory=src, script="probe.py", arguments=[other.id]))
    # A run whose id starts with the script's run id, in another tree (an experiment named
    # `<run id>_x`): the spelling says descendant, the tree says no.
    lookalike = RunFactory(
        experiment=ExperimentFactory(workspace=team, name=f"{run.id}_x"),
        id=f"{run.id}_x_1_00000000",
    )

    with runworker(studio, tmp_path):
        assert run.wait_for_completion()["status"] == "Completed"

    log = log_of(run.id)
    assert "child Completed" in log
    assert f"404 {other.id}" in log
    assert f"404 {lookalike.id}" in log
    assert "reached" not in log


def test_hostile_snapshot_is_refused_on_the_run(exp, worker, ws, tmp_path):
    import tarfile

    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.py")
        data = b"print('escaped')\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    client = ws._client
    with open(archive, "rb") as fh:
        document = client.send(
            "POST",
            client.ws_path("/submit"),
            data={"spec": '{"experiment": "explore-runs", "script": "escape.py"}'},
            files={"snapshot": ("snapshot.tar.gz", fh, "application/gzip")},
        ).json()
    run = ws.get_run(document["runId"])

    details = run.wait_for_completion(raise_on_error=False)

    assert details["status"] == "Failed"
    assert details["error"] == {
        "code": "SnapshotRefused",
        "message": "entry '../escape.py' climbs out of the folder ('..')",
    }
    assert not (tmp_path / "worker-runs" / "escape.py").exists()


def test_the_worker_sweeps_runs_whose_heartbeat_stopped(studio, tmp_path, team):
    from datetime import timedelta

    from django.utils import timezone

    lost = RunFactory(
        experiment=ExperimentFactory(workspace=team),
        status="Running",
        heartbeat=timezone.now() - timedelta(minutes=5),
    )
    with runworker(studio, tmp_path, STUDIO_HEARTBEAT_TIMEOUT="60"):
        wait_until(lambda: status_of(lost.id) == "Failed", timeout=15, what="the sweep")
    lost.refresh_from_db()
    assert lost.error_code == "HeartbeatLost"


def test_get_context_outside_a_submitted_script_is_offline(studio_env):
    studio_env()
    assert Run.get_context().id == "OfflineRun"


def test_submitting_to_an_unknown_target_says_which_exist(exp, src):
    config = ScriptRunConfig(source_directory=src, script="hello.py", compute_target="nope")
    with pytest.raises(Exception, match="has no compute target 'nope'; it has local"):
        exp.submit(config)


def test_ws_compute_targets_has_local(ws, team):
    ComputeTarget.objects.create(workspace=team, name="gpu-cluster", executor="celery")
    targets = ws.compute_targets
    assert list(targets) == ["local", "gpu-cluster"]
    assert targets["gpu-cluster"].executor == "celery"
    with pytest.raises(NotFoundError):
        ws.get_run("nope_1_00000000")


def test_the_demos_submitted_run_executes_with_its_live_log(studio, tmp_path, settings):
    from runs.management.demo import demo_seed

    demo_seed(data_dir=tmp_path / "demo")
    submitted = RunModel.objects.get(status="Queued", script="train.py")
    RunModel.objects.filter(pk=submitted.pk).update(arguments=["--epochs", "2"])

    with runworker(studio, tmp_path):
        wait_until(lambda: status_of(submitted.pk) == "Completed", timeout=30, what="the demo run")

    log = log_of(submitted.pk)
    assert log.startswith("Loading MNIST")
    assert "step    1  loss" in log
    assert log.endswith("Done.\n")
    assert MetricText.objects.filter(run_id=submitted.pk, name="Status", value="Done").exists()


def test_a_script_that_ignores_sigterm_is_killed_after_the_grace(exp, src, worker):
    write(
        src,
        "stubborn.py",
        """
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("group", os.getpgid(0), flush=True)
        while True:
            time.sleep(0.05)
        """,
    )
    run = exp.submit(ScriptRunConfig(source_directory=src, script="stubborn.py"))
    found = wait_until(lambda: re.search(r"group (\d+)", log_of(run.id)), what="the script")
    run.cancel()
    # The workers of these tests wait STUDIO_CANCEL_GRACE=1 s before SIGKILL.
    assert run.wait_for_completion(raise_on_error=False, timeout=10)["status"] == "Canceled"
    assert group_gone(int(found.group(1)))
