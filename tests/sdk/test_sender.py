"""Metric batching against a fake studio: columns, keys reused on retry, limits, spilling."""

from __future__ import annotations

import math
import os
import threading

import pytest

from runs.sdk import BadRequestError, Experiment, Run, StudioConnectionError
from runs.sdk import sender as sdk_sender
from tests.sdk.conftest import quick_options, wait_for
from tests.sdk.fake import DROP, LOSE


@pytest.fixture
def run(fake_ws) -> Run:
    # Not owned: no heartbeats, so the fake only sees metric requests.
    return Run(Experiment(workspace=fake_ws, name="exp"), "exp_1")


def _ran(run: Run, **options) -> Run:
    """The same run with other sender options."""
    return Run(run.experiment, run.id, options=quick_options(**options))


def test_points_go_as_columns_with_steps_per_metric(run, fake):
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.log("acc", 1)
    run.log("loss", 0.125, step=10)
    run.log("loss", 0.0625)
    run.flush()

    bodies = [b.json for b in fake.batches()]
    series = {}
    for body in bodies:
        for s in body["series"]:
            entry = series.setdefault(s["name"], {"values": [], "steps": [], "times": []})
            for column in ("values", "steps", "times"):
                entry[column] += s[column]
    assert series["loss"]["values"] == [0.5, 0.25, 0.125, 0.0625]
    assert series["loss"]["steps"] == [0, 1, 10, 11]
    assert series["acc"] == {"values": [1.0], "steps": [0], "times": series["acc"]["times"]}
    assert all(t > 1.7e9 for t in series["loss"]["times"])
    assert all(b["key"] for b in bodies)
    assert fake.points["exp_1"]["loss"] == [(0, 0.5), (1, 0.25), (10, 0.125), (11, 0.0625)]


def test_nan_and_infinity_are_sent_as_json_literals(run, fake):
    run.log("odd", float("nan"))
    run.log("odd", float("inf"))
    run.flush()
    body = fake.batches()[0].body
    assert b"NaN" in body
    assert b"Infinity" in body
    values = [v for _, v in fake.points["exp_1"]["odd"]]
    assert math.isnan(values[0])
    assert values[1] == math.inf


@pytest.mark.parametrize(
    ("name", "value", "step", "error"),
    [
        ("", 1.0, None, ValueError),
        ("   ", 1.0, None, ValueError),
        ("a\nb", 1.0, None, ValueError),
        ("x" * 256, 1.0, None, ValueError),
        (3, 1.0, None, TypeError),
        ("loss", b"0.5", None, TypeError),
        ("loss", [0.5], None, TypeError),
        ("loss", None, None, TypeError),
        ("loss", 1.0, 1.5, TypeError),
        ("loss", 1.0, "3", TypeError),
    ],
)
def test_bad_points_are_refused_in_the_callers_thread(run, fake, name, value, step, error):
    with pytest.raises(error):
        run.log(name, value, step=step)
    run.flush()
    assert fake.points == {}


def test_log_list_and_log_row(run, fake):
    run.log_list("curve", [3, 2, 1])
    run.log_row("eval", acc=0.9, loss=0.3)
    run.log_row("eval", acc=0.95, loss=0.2)
    run.log_row("", top=1)
    run.flush()
    points = fake.points["exp_1"]
    assert points["curve"] == [(0, 3.0), (1, 2.0), (2, 1.0)]
    assert points["eval/acc"] == [(0, 0.9), (1, 0.95)]
    assert points["eval/loss"] == [(0, 0.3), (1, 0.2)]
    assert points["top"] == [(0, 1.0)]
    with pytest.raises(ValueError, match="at least one column"):
        run.log_row("eval")


def test_a_batch_is_resent_with_the_same_key_after_server_errors(run, fake):
    fake.script("POST", r"/metrics$", (503, {}), (500, {}), (429, {}), (408, {}))
    for i in range(5):
        run.log("loss", i)
    run.flush()
    sent = fake.batches()
    assert len(sent) == 5
    assert len({r.json["key"] for r in sent}) == 1
    assert len({r.body for r in sent}) == 1
    assert fake.points["exp_1"]["loss"] == [(i, float(i)) for i in range(5)]


def test_a_lost_answer_is_resent_with_the_same_key_and_stored_once(run, fake):
    fake.script("POST", r"/metrics$", LOSE, LOSE)
    run.log("loss", 1.0)
    run.log("loss", 2.0)
    run.flush()
    sent = fake.batches()
    assert len(sent) == 3
    assert len({r.json["key"] for r in sent}) == 1
    assert fake.points["exp_1"]["loss"] == [(0, 1.0), (1, 2.0)]


def test_a_dropped_connection_is_retried(run, fake):
    fake.script("POST", r"/metrics$", DROP)
    run.log("loss", 1.0)
    run.flush()
    assert len(fake.batches()) == 2
    assert fake.points["exp_1"]["loss"] == [(0, 1.0)]


def test_each_batch_gets_its_own_key(run, fake):
    run.log("a", 1)
    run.flush()
    run.log("a", 2)
    run.flush()
    keys = [r.json["key"] for r in fake.batches()]
    assert len(keys) == 2
    assert len(set(keys)) == 2


def test_a_4xx_is_not_retried_and_flush_raises_it(run, fake):
    fake.script(
        "POST", r"/metrics$", (400, {"error": {"code": "BadRequest", "message": "bad column"}})
    )
    run.log("loss", 1.0)
    with pytest.raises(BadRequestError, match="bad column") as raised:
        run.flush()
    assert raised.value.code == "BadRequest"
    assert raised.value.status == 400
    assert len(fake.batches()) == 1
    # Later points still go.
    run.log("loss", 2.0)
    run.flush()
    assert fake.points["exp_1"]["loss"] == [(1, 2.0)]


def test_a_413_splits_the_batch_in_halves(run, fake):
    fake.script("POST", r"/metrics$", (413, {"error": {"code": "PayloadTooLarge", "message": "x"}}))
    for i in range(10):
        run.log("loss", i)
    run.flush()
    sizes = [sum(len(s["values"]) for s in r.json["series"]) for r in fake.batches()]
    assert sizes == [10, 5, 5]
    assert fake.points["exp_1"]["loss"] == [(i, float(i)) for i in range(10)]


def test_batches_stay_under_the_point_and_series_limits(run, fake):
    run = _ran(run, batch_points=100, batch_series=3)
    for i in range(250):
        run.log("loss", i)
    for n in range(7):
        run.log(f"m{n}", n)
    run.flush()
    bodies = [r.json for r in fake.batches()]
    assert all(sum(len(s["values"]) for s in b["series"]) <= 100 for b in bodies)
    assert all(len(b["series"]) <= 3 for b in bodies)
    assert fake.points["exp_1"]["loss"] == [(i, float(i)) for i in range(250)]
    assert sorted(fake.points["exp_1"]) == ["loss"] + [f"m{n}" for n in range(7)]


def test_reaching_flush_points_wakes_the_sender_before_the_interval(run, fake):
    run = Run(
        run.experiment,
        run.id,
        options=quick_options(flush_interval=3600, flush_points=10),
    )
    for i in range(25):
        run.log("loss", i)
    wait_for(lambda: len(fake.points.get("exp_1", {}).get("loss", [])) >= 20, what="a batch")


def test_points_wait_in_memory_while_the_studio_is_away(run, fake, tmp_path):
    fake.script("POST", r"/metrics$", *[(503, {})] * 5)
    for i in range(100):
        run.log("loss", i)
    run.flush()
    assert fake.points["exp_1"]["loss"] == [(i, float(i)) for i in range(100)]
    assert list(tmp_path.iterdir()) == []  # nothing spilled under the bound


def test_over_the_bound_points_spill_to_files_and_arrive_in_order_once(run, fake, tmp_path):
    fake.script("POST", r"/metrics$", *[DROP] * 15)
    run = _ran(
        run,
        spill_dir=str(tmp_path),
        flush_points=10,
        max_buffered_points=50,
        spill_points=20,
        batch_points=15,
    )
    for i in range(300):
        run.log("loss", i)
        if i == 150:
            run.log("acc", 0.5)
    spilled = [p for d in tmp_path.iterdir() for p in d.iterdir()]
    assert spilled, "the buffer over its bound spills to files"
    run._sender.close()
    assert fake.points["exp_1"]["loss"] == [(i, float(i)) for i in range(300)]
    assert fake.points["exp_1"]["acc"] == [(0, 0.5)]
    assert list(tmp_path.iterdir()) == []  # spill files and their directory are gone


def test_runs_one_after_another_keep_one_sender_thread(fake_ws, fake):
    """A sweep's small runs: the thread waits IDLE_EXIT for the next run before it ends."""
    threads = set()
    for n in range(3):
        run = Run(Experiment(workspace=fake_ws, name="exp"), f"exp_{n}")
        run.log("loss", float(n))
        threads.add(run._sender.thread)
        run._sender.close()
    assert len(threads) == 1
    assert [fake.points[f"exp_{n}"]["loss"] for n in range(3)] == [
        [(0, float(n))] for n in range(3)
    ]


def test_flush_with_a_timeout_raises_and_keeps_the_points(run, fake):
    fake.script("POST", r"/metrics$", *[(503, {})] * 1000)
    run.log("loss", 1.0)
    with pytest.raises(StudioConnectionError, match="1 metric points not stored"):
        run.flush(timeout=0.2)
    with fake.lock:
        fake.scripted.clear()
    run.flush()
    assert fake.points["exp_1"]["loss"] == [(0, 1.0)]


def test_the_sender_thread_starts_on_first_point_and_stops_after_close(run, fake, monkeypatch):
    monkeypatch.setattr(sdk_sender, "IDLE_EXIT", 0.2)
    assert run._sender.thread is None
    run.log("loss", 1.0)
    thread = run._sender.thread
    assert thread.is_alive()
    run._sender.close()
    assert run._sender.thread is None
    thread.join(5)
    assert not thread.is_alive(), "the thread ends a while after its last run"
    # Logging again after close starts it again.
    run.log("loss", 2.0)
    run.flush()
    assert fake.points["exp_1"]["loss"] == [(0, 1.0), (1, 2.0)]


# ---- many runs: one thread, one request a round ----------------------------------------


def _sweep(fake_ws, n: int, **options) -> list[Run]:
    exp = Experiment(workspace=fake_ws, name="sweep")
    return [Run(exp, f"sweep_{i}", options=quick_options(**options)) for i in range(n)]


def test_the_runs_of_a_workspace_share_one_thread_and_one_request(fake_ws, fake):
    runs = _sweep(fake_ws, 20, flush_interval=3600)
    for step in range(50):
        for run in runs:
            run.log("loss", step / 10)
    assert len({run._sender.thread for run in runs}) == 1
    runs[0].flush()  # one round sends every run's points, not only the flushed one's
    requests = fake.sent("POST", r"/metrics$")
    assert [r.path for r in requests] == ["/api/w/team/metrics"]
    body = requests[0].json
    assert [entry["runId"] for entry in body["runs"]] == [f"sweep_{i}" for i in range(20)]
    assert body["key"]
    for i in range(20):
        assert fake.points[f"sweep_{i}"]["loss"] == [(s, s / 10) for s in range(50)]


def test_a_round_stays_under_the_point_limit_and_every_run_takes_its_turn(fake_ws, fake):
    runs = _sweep(fake_ws, 3, flush_interval=3600, batch_points=100)
    for step in range(120):
        for run in runs:
            run.log("loss", step)
    for run in runs:
        run.flush()
    requests = fake.sent("POST", r"/metrics$")
    bodies = [r.json for r in requests]
    sizes = [
        sum(len(s["values"]) for entry in b.get("runs", [b]) for s in entry["series"])
        for b in bodies
    ]
    assert max(sizes) <= 100
    assert sum(sizes) == 360
    firsts = [
        r.json["runs"][0]["runId"] if "runs" in r.json else r.path.split("/")[-2] for r in requests
    ]
    assert len(set(firsts)) == 3, f"each run goes first in turn: {firsts}"
    for run in runs:
        assert fake.points[run.id]["loss"] == [(s, float(s)) for s in range(120)]


def test_a_refused_multi_run_request_is_resent_run_by_run(fake_ws, fake):
    runs = _sweep(fake_ws, 3, flush_interval=3600)
    fake.script(
        "POST",
        r"/w/team/metrics$",
        (404, {"error": {"code": "NotFound", "message": "run 'sweep_1' not found"}}),
    )
    fake.script(
        "POST", r"/sweep_1/metrics$", (400, {"error": {"code": "BadRequest", "message": "bad"}})
    )
    for run in runs:
        run.log("loss", 1.0)
    with pytest.raises(BadRequestError, match="bad"):
        runs[1].flush()
    runs[0].flush()
    runs[2].flush()
    assert sorted(fake.points) == ["sweep_0", "sweep_2"]
    assert runs[1]._sender.failed == 1
    assert runs[0]._sender.sent == runs[2]._sender.sent == 1
    keys = [r.json["key"] for r in fake.batches()]
    assert len(set(keys)) == len(keys) == 4


def test_a_multi_run_request_is_resent_with_the_same_key_and_stored_once(fake_ws, fake):
    runs = _sweep(fake_ws, 2, flush_interval=3600)
    fake.script("POST", r"/w/team/metrics$", LOSE, (503, {}), DROP)
    for run in runs:
        run.log("loss", 1.0)
        run.log("loss", 2.0)
    runs[0].flush()
    runs[1].flush()
    sent = fake.batches()
    assert len(sent) == 4
    assert len({r.body for r in sent}) == 1
    assert {run_id: s["loss"] for run_id, s in fake.points.items()} == {
        "sweep_0": [(0, 1.0), (1, 2.0)],
        "sweep_1": [(0, 1.0), (1, 2.0)],
    }


def test_a_closed_run_is_let_go_while_others_keep_logging(fake_ws, fake):
    quiet, busy = _sweep(fake_ws, 2)
    quiet.log("loss", 1.0)
    busy.log("loss", 1.0)
    thread = busy._sender.thread
    stop = threading.Event()

    def keep_logging() -> None:
        while not stop.is_set():
            busy.log("loss", 1.0)

    logger = threading.Thread(target=keep_logging)
    logger.start()
    try:
        quiet._sender.close()
        assert quiet._sender.released.is_set(), "close() let go of the run, not its timeout"
        assert quiet._sender.thread is None
        assert busy._sender.thread is thread
    finally:
        stop.set()
        logger.join()
    busy._sender.close()
    assert fake.points["sweep_0"]["loss"] == [(0, 1.0)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_sends_its_points_to_the_parents_run(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="exp").start_logging("parent")
    run.log("loss", 1.0)
    run.flush()  # the parent's sender thread runs, and holds a connection
    pid = os.fork()
    if pid == 0:  # a multiprocessing worker's life: log, flush, os._exit
        code = 1
        try:
            run.log("worker/loss", 0.5)
            run.flush(timeout=10)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    run.log("loss", 0.25)
    run.complete()
    assert fake.points[run.id] == {"loss": [(0, 1.0), (1, 0.25)], "worker/loss": [(0, 0.5)]}
