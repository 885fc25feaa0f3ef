"""The SDK against the real studio through a failing proxy; cancels by another user; the CLI."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from runs import services
from runs.models import MetricBatch
from runs.models import Run as RunModel
from runs.sdk import Backoff, Experiment, NotFoundError, Workspace
from runs.sdk.cli import main
from tests.sdk.conftest import quick_options, wait_for
from tests.sdk.proxy import Proxy

ROOT = Path(__file__).resolve().parents[3]
QUICK = Backoff(base=0.02, cap=0.1)


@pytest.fixture
def proxy(live_server, transactional_db) -> Iterator[Proxy]:
    url = urlsplit(live_server.url)
    proxy = Proxy((url.hostname, url.port))
    yield proxy
    proxy.close()


def _ws(url: str, token: str) -> Workspace:
    return Workspace(url, token, "team", options=quick_options(), backoff=QUICK, retries=3)


def _series(run_id: str, name: str) -> list[tuple[int, float]]:
    series = services.metric_series(run=RunModel.objects.get(pk=run_id), name=name)
    return list(zip(series["steps"], series["values"], strict=True))


def _status(run_id: str) -> str:
    return RunModel.objects.values_list("status", flat=True).get(pk=run_id)


def test_every_point_arrives_once_while_the_studio_comes_and_goes(proxy, token, caplog):
    """Lost answers, cut connections and a studio that is away: no point lost or doubled."""
    caplog.set_level(logging.INFO, logger="runs.sdk")
    exp = Experiment(workspace=_ws(proxy.url, token), name="flaky")
    run = exp.start_logging(heartbeat_interval=0.2)
    expected = []

    def log(n: int) -> None:
        for _ in range(n):
            step = len(expected)
            run.log("loss", step * 0.5)
            expected.append((step, step * 0.5))

    log(1000)
    run.flush()
    # The studio stores batches but their answers never come back: resent, stored once.
    proxy.lose(3, "/metrics")
    log(1000)
    run.flush()
    assert proxy.lost == 3
    # Connections accepted, then cut.
    proxy.drop(3)
    log(1000)
    run.flush()
    # Away: refused, while the training goes on logging.
    proxy.down()
    log(1000)
    wait_for(
        lambda: sum("retrying" in r.getMessage() for r in caplog.records) >= 8,
        what="the SDK retrying while the studio is away",
    )
    log(1000)
    proxy.up()
    run.complete()

    assert _series(run.id, "loss") == expected
    batches = MetricBatch.objects.filter(run_id=run.id)
    assert sum(b.points for b in batches) == len(expected)
    assert _status(run.id) == "Completed"


def test_a_sweep_sends_its_runs_together_and_every_point_arrives_once(proxy, token):
    """Several runs' points in one request, answers lost and connections cut: once each."""
    exp = Experiment(workspace=_ws(proxy.url, token), name="sweep")
    runs = [exp.start_logging(f"sweep {i}", heartbeat_interval=0.2) for i in range(5)]

    def log(steps: range) -> None:
        for step in steps:
            for i, run in enumerate(runs):
                run.log("loss", step + i / 10)

    log(range(0, 500))
    runs[0].flush()
    proxy.lose(2, "/w/team/metrics")
    log(range(500, 1000))
    runs[0].flush()
    assert proxy.lost == 2
    # Connections accepted, then cut.
    proxy.drop(3)
    log(range(1000, 1500))
    for run in runs:
        run.complete()

    for i, run in enumerate(runs):
        assert _series(run.id, "loss") == [(s, s + i / 10) for s in range(1500)]
        assert _status(run.id) == "Completed"
    # The runs went together: a key shared by several runs' batches.
    keys = list(
        MetricBatch.objects.filter(run__experiment__name="sweep").values_list("key", flat=True)
    )
    assert len(keys) > len(set(keys))


def test_a_cancel_from_someone_else_interrupts_the_training_loop(studio, token, colleague_token):
    # A script started from a shell has Python's SIGINT handler; a test runner may not.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    exp = Experiment(workspace=_ws(studio, token), name="long")
    interrupted = False
    try:
        with exp.start_logging(heartbeat_interval=0.2) as run:
            run.log("loss", 1.0)
            run.flush()  # the studio knows the run before a colleague looks for it
            _ws(studio, colleague_token).get_run(run.id).cancel()
            assert _status(run.id) == "CancelRequested"
            pause = threading.Event()
            for step in range(20_000):  # bounded: about 20 s at most
                run.log("loss", 1 / (step + 1))
                pause.wait(0.001)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGINT, previous)
    assert interrupted, "no KeyboardInterrupt reached the training loop"
    wait_for(lambda: _status(run.id) == "Canceled", what="the run to be Canceled")
    # Every point logged before the interrupt is stored, once.
    steps = [step for step, _ in _series(run.id, "loss")]
    assert steps == list(range(len(steps)))


def test_a_cancel_calls_the_registered_callback_instead(studio, token, colleague_token):
    exp = Experiment(workspace=_ws(studio, token), name="long")
    run = exp.start_logging(heartbeat_interval=0.2)
    stop = threading.Event()
    run.on_cancel(lambda r: stop.set())
    child = run.child_run("part")
    _ws(studio, colleague_token).get_run(run.id).cancel()
    assert stop.wait(10), "the callback was not called"
    wait_for(lambda: _status(run.id) == "Canceled", what="the run to be Canceled")
    wait_for(lambda: _status(child.id) == "Canceled", what="the child to be Canceled")


def test_own_cancel_is_final_at_once(studio, token):
    run = Experiment(workspace=_ws(studio, token), name="e").start_logging(heartbeat_interval=0.2)
    child = run.child_run()
    run.cancel()
    assert _status(run.id) == "Canceled"
    assert _status(child.id) == "Canceled"


def test_an_unknown_run_is_not_found(studio, token):
    with pytest.raises(NotFoundError, match="nope"):
        _ws(studio, token).get_run("nope")


# ---- the CLI against the live studio ---------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, object, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_cli_commands_print_the_api_documents(studio, token, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("STUDIO_URL", "STUDIO_TOKEN", "STUDIO_WORKSPACE"):
        monkeypatch.delenv(var, raising=False)
    assert _cli(capsys, "folder", "attach", "-w", "team", "--url", studio, "--token", token)[0] == 0
    exp = Experiment(workspace=Workspace.from_config(), name="cli")
    run = exp.start_logging("one")
    run.complete()
    second = exp.start_logging("two")
    second.flush()  # the CLI is another client: it sees the runs the studio knows

    code, listed, _ = _cli(capsys, "run", "list", "--experiment-name", "cli")
    assert code == 0
    assert [d["runId"] for d in listed] == [second.id, run.id]
    assert set(listed[0]) >= {"runId", "status", "tags", "properties", "metrics", "url"}

    code, out, _ = _cli(
        capsys,
        "run", "update", "-r", run.id,
        "--add-tag", "quality=fantastic run", "--add-tag", "flagged",
        "--description", "Looks *good*",
    )  # fmt: skip
    assert code == 0
    assert out["tags"] == {"quality": "fantastic run", "flagged": None}
    assert out["description"] == "Looks *good*"

    code, ids, _ = _cli(
        capsys, "run", "list", "-e", "cli", "--tag", "quality=fantastic run", "--query", "[].runId"
    )
    assert ids == [run.id]
    code, ids, _ = _cli(capsys, "run", "list", "-e", "cli", "--filter", "status = 'Running'",
                        "--query", "[].runId")  # fmt: skip
    assert ids == [second.id]
    assert _cli(capsys, "run", "show", "-r", run.id, "--query", "status")[1] == "Completed"
    code, out, _ = _cli(capsys, "run", "cancel", "-r", second.id)
    assert out["status"] == "CancelRequested"
    second.cancel()
    code, out, _ = _cli(capsys, "experiment", "list", "--query", "[].[name, runCount]")
    assert out == [["cli", 2]]

    code, out, err = _cli(capsys, "run", "show", "-r", "missing")
    assert (code, out) == (1, None)
    assert err.count("\n") == 1
    assert err.startswith("studio: error: 404 NotFound:")
    code, out, err = _cli(capsys, "run", "list", "-e", "cli", "--filter", "status =")
    assert code == 1
    assert "400 BadFilter" in err


def test_python_dash_m_is_the_studio_command(studio, token, tmp_path):
    env = {"STUDIO_URL": studio, "STUDIO_TOKEN": token, "STUDIO_WORKSPACE": "team"}
    env["PATH"] = "/usr/bin:/bin"
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "runs.sdk", "experiment", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
