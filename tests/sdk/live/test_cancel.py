"""Cancelling end to end: a colleague's cancel reaches the training loop within 2 s through
the heartbeat (KeyboardInterrupt or a callback), the run ends Canceled; an own cancel is final
at once and interrupts nothing; a cancel reaches the children."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from runs.models import Run as RunModel
from runs.sdk import Experiment, Run, Workspace
from runs.sdk.heartbeat import heartbeater

NOTICE_WITHIN = 2.0  # seconds: the contract for an executing run's process


@pytest.fixture
def exp(ws) -> Experiment:
    return Experiment(workspace=ws, name="cancel-me")


@pytest.fixture
def colleague(studio, colleague_token) -> Workspace:
    """Another member of the workspace, at another SDK."""
    return Workspace(url=studio, token=colleague_token, name="team")


def status_of(run: Run) -> str:
    return RunModel.objects.values_list("status", flat=True).get(pk=run.id)


def train_until(stop: Callable[[], bool], run: Run | None, limit: float) -> float | None:
    """A training loop in this (the main) thread: log a point to `run` (if any) every few ms
    until `stop()` or `limit` seconds. Returns the seconds after which a KeyboardInterrupt
    arrived, or None."""
    start = time.monotonic()
    step = 0
    try:
        while not stop() and time.monotonic() - start < limit:
            if run is not None:
                run.log("loss", 1.0 / (step + 1))
            step += 1
            threading.Event().wait(0.005)
    except KeyboardInterrupt:
        return time.monotonic() - start
    return None


def status_moves(run: Run) -> list[tuple[str, str]]:
    """The run's status changes as its activity recorded them, oldest first."""
    events = RunModel.objects.get(pk=run.id).events.filter(kind="status").order_by("created", "id")
    return [(e.old, e.new) for e in events]


def test_a_colleagues_cancel_interrupts_the_main_thread_and_the_run_ends_canceled(exp, colleague):
    run = exp.start_logging()
    child = run.child_run("eval")
    child.log("acc", 0.5)
    run.log("loss", 2.0)

    # The heartbeat may notice the cancel before the colleague's request has even returned:
    # the interrupt is caught wherever it lands from the cancel on.
    start = time.monotonic()
    try:
        colleague.get_run(run.id).cancel()
        train_until(lambda: False, run, limit=NOTICE_WITHIN + 3)
    except KeyboardInterrupt:
        pass
    after = time.monotonic() - start

    assert after < NOTICE_WITHIN, "no KeyboardInterrupt reached the training loop in time"
    # Exactly one interrupt for the whole tree: the loop (no longer logging to the ended
    # run) goes on until both are Canceled.
    both_canceled = lambda: status_of(run) == status_of(child) == "Canceled"  # noqa: E731
    assert train_until(both_canceled, None, limit=NOTICE_WITHIN + 3) is None
    # Requested by the colleague, then ended by this process.
    for r in (run, child):
        assert status_moves(r)[-2:] == [
            ("Running", "CancelRequested"),
            ("CancelRequested", "Canceled"),
        ]
    stored = RunModel.objects.get(pk=run.id)
    assert stored.latest_metrics.get(name="loss").count >= 1
    assert run not in heartbeater
    assert child not in heartbeater


def test_with_a_callback_the_callback_is_called_and_nothing_is_interrupted(exp, colleague):
    run = exp.start_logging()
    child = run.child_run()  # uses its parent's callback
    called: list[str] = []
    asked = threading.Event()

    def on_cancel(r: Run) -> None:
        called.append(r.id)
        asked.set()

    run.on_cancel(on_cancel)
    colleague.get_run(run.id).cancel()

    assert train_until(asked.is_set, run, limit=NOTICE_WITHIN) is None
    assert asked.is_set(), f"the callback was not called within {NOTICE_WITHIN} s"
    assert train_until(lambda: status_of(run) == status_of(child) == "Canceled", None, 5) is None
    assert status_of(run) == status_of(child) == "Canceled"
    assert run.id in called
    assert set(called) <= {run.id, child.id}


def test_an_own_cancel_is_final_at_once_reaches_the_children_and_interrupts_nothing(exp):
    run = exp.start_logging()
    children = run.create_children(count=2)
    grandchild = children[0].child_run()
    for r in (run, *children, grandchild):
        r.log("loss", 1.0)
    witness = exp.start_logging("still running")
    witness.flush()  # the studio knows it now, not a flush interval later

    run.cancel()

    assert status_of(run) == "Canceled"
    assert [status_of(r) for r in (*children, grandchild)] == ["Canceled"] * 3
    assert all(r not in heartbeater for r in (run, *children, grandchild))
    assert all(
        RunModel.objects.get(pk=r.id).latest_metrics.get(name="loss").value == 1.0
        for r in (run, *children, grandchild)
    )
    # Two more heartbeats of another run of this process: the heartbeat thread went round
    # while the cancelled runs were still known to it, and interrupted nothing.
    seen = RunModel.objects.get(pk=witness.id).heartbeat
    beats: list = []

    def two_more_beats() -> bool:
        now = RunModel.objects.get(pk=witness.id).heartbeat
        if now != (beats[-1] if beats else seen):
            beats.append(now)
        return len(beats) >= 2

    assert train_until(two_more_beats, witness, limit=5) is None
    assert len(beats) >= 2
    assert status_of(witness) == "Running"
    witness.complete()


def test_a_cancel_of_a_run_nobody_executes_is_final_at_once(exp, colleague):
    # A run created Queued (submitted, not picked up yet) through the API.
    client = colleague._client
    document = client.json(
        "POST", client.ws_path("/runs"), json_body={"experiment": "cancel-me", "status": "Queued"}
    )
    waiting = colleague.get_run(document["runId"])
    waiting.cancel()
    assert waiting.get_status() == "Canceled"


def test_a_cancel_of_an_executing_run_waits_for_its_process(exp, colleague):
    executing = exp.start_logging()
    executing.flush()  # before its id is handed to another process
    noticed = threading.Event()
    executing.on_cancel(lambda r: noticed.set())  # this process must not be interrupted
    seen_by_colleague = colleague.get_run(executing.id)

    seen_by_colleague.cancel()
    status = seen_by_colleague.get_status()
    assert status == "CancelRequested" or (noticed.is_set() and status == "Canceled")
    assert noticed.wait(NOTICE_WITHIN), f"the process did not notice within {NOTICE_WITHIN} s"
    assert train_until(lambda: status_of(executing) == "Canceled", None, 5) is None
