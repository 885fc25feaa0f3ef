"""Text metrics from the SDK and the CLI: the article's `run.log(name="message", value=...)`."""

from __future__ import annotations

import json

import pytest

from runs.sdk import Experiment, OfflineRun
from runs.sdk.cli import main


def test_strings_and_booleans_are_logged_and_read_back(ws, studio_env, capsys):
    exp = Experiment(workspace=ws, name="explore-runs")
    with exp.start_logging() as notebook_run:
        notebook_run.log(name="message", value="Hello from run!")
        notebook_run.log("converged", False)
        notebook_run.log("converged", True)
        notebook_run.log("loss", 0.5)
        with pytest.raises(TypeError, match="metric 'loss' holds numbers: it cannot take text"):
            notebook_run.log("loss", "low")
        with pytest.raises(TypeError, match="metric 'message' holds text"):
            notebook_run.log("message", 1.0)
        assert notebook_run.get_metrics() == {
            "converged": [False, True],
            "loss": 0.5,
            "message": "Hello from run!",
        }
    assert notebook_run.get_details()["metrics"]["message"] == "Hello from run!"

    studio_env()
    condition = "metrics.message = 'Hello from run!'"
    argv = ["run", "list", "-e", "explore-runs", "--filter", condition, "--query", "[].runId"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == [notebook_run.id]
    assert main(["run", "show", "-r", notebook_run.id, "--query", "metrics.message"]) == 0
    assert json.loads(capsys.readouterr().out) == "Hello from run!"


def test_an_offline_run_keeps_text_too():
    run = OfflineRun(stream=open("/dev/null", "w"))  # noqa: SIM115
    run.log("message", "Hello from run!")
    run.log("flag", True)
    assert run.get_metrics() == {"message": "Hello from run!", "flag": True}
