"""A script started where SIGINT is ignored (`python train.py &` from a script, `nohup`)
still stops when its run is cancelled: the SDK's interrupt does not rely on SIGINT. And
a script that exits the moment it is interrupted still leaves its run Canceled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import contextmanager

from runs.models import Run as RunModel
from runs.sdk import Workspace
from tests.workers import ROOT, wait_until

SCRIPT = """
    import signal, sys, time
    from runs.sdk import Experiment, Workspace

    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN, "SIGINT should be ignored here"
    ws = Workspace.from_config(heartbeat_interval=0.2)
    run = Experiment(workspace=ws, name="background").start_logging()
    print(run.id, flush=True)
    try:
        step = 0
        while True:
            run.log("loss", 1.0 / (step + 1))
            step += 1
            time.sleep(0.05)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(3)
"""


@contextmanager
def logging_script(source: str, tmp_path, studio: str, token: str, **popen):
    """The script running (its first line, the run id, read), then killed if still alive."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(source))
    env = {
        **os.environ,
        "STUDIO_URL": studio,
        "STUDIO_TOKEN": token,
        "STUDIO_WORKSPACE": "team",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        **popen,
    )
    try:
        run_id = proc.stdout.readline().strip()
        wait_until(
            lambda: RunModel.objects.filter(pk=run_id, latest_metrics__name="loss").exists(),
            what="the script to log",
        )
        yield proc, run_id
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_script_with_sigint_ignored_is_stopped_by_a_cancel(
    studio, token, colleague_token, tmp_path
):
    # As a non-interactive shell starts `python train.py &`: SIGINT ignored.
    ignored = {"preexec_fn": lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    with logging_script(SCRIPT, tmp_path, studio, token, **ignored) as (proc, run_id):
        Workspace(url=studio, token=colleague_token, name="team").get_run(run_id).cancel()

        assert proc.wait(timeout=10) == 3, "the script kept running after the cancel"
        assert "interrupted" in proc.stdout.read()
        wait_until(lambda: RunModel.objects.get(pk=run_id).status == "Canceled", what="Canceled")


SLOW_AFTER_INTERRUPT = """
    import sys, time
    from runs.sdk import Experiment, Workspace
    from runs.sdk import run_lifecycle

    interrupt = run_lifecycle.interrupt_main

    def interrupt_then_dawdle():
        # The main thread is interrupted and exits at once, while the thread that
        # interrupted it is still busy: the run must be marked Canceled all the same.
        interrupt()
        time.sleep(1)

    run_lifecycle.interrupt_main = interrupt_then_dawdle
    ws = Workspace.from_config(heartbeat_interval=0.2)
    run = Experiment(workspace=ws, name="background").start_logging()
    print(run.id, flush=True)
    try:
        while True:
            run.log("loss", 0.5)
            time.sleep(0.05)
    except KeyboardInterrupt:
        sys.exit(3)
"""


def test_a_script_that_exits_at_once_when_interrupted_still_ends_canceled(
    studio, token, colleague_token, tmp_path
):
    with logging_script(SLOW_AFTER_INTERRUPT, tmp_path, studio, token) as (proc, run_id):
        Workspace(url=studio, token=colleague_token, name="team").get_run(run_id).cancel()

        assert proc.wait(timeout=10) == 3
        # Once the process is gone, nothing else would end the run.
        assert RunModel.objects.get(pk=run_id).status == "Canceled"
