"""At interpreter exit the SDK sends what is still buffered, within one time budget for all."""

from __future__ import annotations

import logging
import weakref

from runs.sdk import Experiment, Run
from runs.sdk import run_metrics as sdk_run
from runs.sdk.sender import MetricSender


def test_exit_flush_shares_one_budget_across_runs(monkeypatch, caplog, fake_ws, fake):
    monkeypatch.setattr(sdk_run, "live_runs", weakref.WeakSet())
    monkeypatch.setattr(sdk_run, "EXIT_FLUSH_TIMEOUT", 0.3)
    waits: list[float] = []
    flush = MetricSender.flush

    def recording_flush(self, timeout=None):
        waits.append(timeout)
        return flush(self, timeout)

    monkeypatch.setattr(MetricSender, "flush", recording_flush)
    fake.script("POST", r"/metrics$", *[(503, {})] * 100_000)  # the studio is unwell
    runs = [Run(Experiment(workspace=fake_ws, name="e"), f"e_{n}") for n in range(3)]
    for run in runs:
        run.log("loss", 1.0)

    with caplog.at_level(logging.ERROR, logger="runs.sdk"):
        sdk_run._flush_at_exit()

    assert len(waits) == 3
    assert sum(waits) <= 0.3
    lost = [r.getMessage() for r in caplog.records if "lost at exit" in r.getMessage()]
    assert sorted(m.split(":")[0] for m in lost) == [f"run e_{n}" for n in range(3)]
    assert all("1 metric points not stored" in m for m in lost)
    # The points stay buffered: they arrive once the studio recovers.
    with fake.lock:
        fake.scripted.clear()
    for run in runs:
        run._sender.close()
    assert {run_id: s["loss"] for run_id, s in fake.points.items()} == {
        f"e_{n}": [(0, 1.0)] for n in range(3)
    }


def test_nothing_to_send_at_exit_sends_nothing(monkeypatch):
    monkeypatch.setattr(sdk_run, "live_runs", weakref.WeakSet())
    called: list[object] = []
    monkeypatch.setattr(MetricSender, "flush", lambda self, timeout=None: called.append(self))
    sdk_run._flush_at_exit()
    assert called == []


def test_a_run_nothing_was_sent_about_is_created_at_exit(monkeypatch, fake_ws, fake):
    monkeypatch.setattr(sdk_run, "live_runs", weakref.WeakSet())
    run = Experiment(workspace=fake_ws, name="e").start_logging("quick")
    assert not fake.requests
    sdk_run._flush_at_exit()
    # Unfinished, it is Running in the studio, as a run created at once would have been.
    (create,) = fake.sent("POST", r"/runs$")
    assert create.json["runId"] == run.id
    assert "complete" not in create.json
    assert fake.runs[run.id]["status"] == "Running"
