"""The HTTP layer and the run's calls against a fake studio: errors, retries, lifecycle."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from runs.sdk import (
    AuthError,
    Backoff,
    BadRequestError,
    ConflictError,
    Experiment,
    ForbiddenError,
    NotFoundError,
    OfflineRun,
    PayloadTooLargeError,
    Run,
    ServerError,
    StudioConnectionError,
    StudioError,
    Workspace,
)
from runs.sdk import heartbeat as sdk_heartbeat
from runs.sdk.errors import TooManyRequestsError, error_for, retry_after
from runs.sdk.heartbeat import heartbeater
from runs.sdk.http import Client
from tests.sdk.conftest import QUICK, wait_for
from tests.sdk.fake import DROP, LOSE

ROOT = Path(__file__).resolve().parents[2]


def test_the_sdk_imports_no_django():
    code = "import runs.sdk, runs.sdk.cli, sys; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---- errors and retries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (500, ServerError),
        (503, ServerError),
        (418, StudioError),
    ],
)
def test_error_answers_become_exceptions_with_the_apis_code_and_message(status, cls):
    error = error_for(status, {"error": {"code": "SomeCode", "message": "what went wrong"}})
    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, "SomeCode", "what went wrong")
    assert str(error) == f"{status} SomeCode: what went wrong"


def test_an_answer_without_the_error_shape_still_says_something():
    error = error_for(502, None, "<html>Bad Gateway</html>")
    assert isinstance(error, ServerError)
    assert error.code == "ServerError"
    assert "Bad Gateway" in error.message


def test_forbidden_is_an_auth_error():
    assert issubclass(ForbiddenError, AuthError)


def test_backoff_grows_exponentially_is_capped_and_jittered():
    backoff = Backoff(base=0.1, cap=1.0)
    for attempt, nominal in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (40, 1.0)]:
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert all(nominal / 2 <= d <= nominal for d in delays)
        assert len(delays) > 1


def test_safe_requests_are_retried_then_raise(fake_server, fake):
    fake.script("GET", r"/runs/x$", (503, {}), (503, {}), (503, {}))
    client = Client(fake_server.url, "t", "team", retries=2, backoff=QUICK)
    with pytest.raises(ServerError):
        client.json("GET", client.ws_path("/runs/x"))
    assert len(fake.sent("GET", r"/runs/x$")) == 3


def test_a_create_is_not_resent_after_a_lost_answer(fake_server, fake):
    fake.script("POST", r"/runs$", LOSE)
    client = Client(fake_server.url, "t", "team", retries=2, backoff=QUICK)
    with pytest.raises(StudioConnectionError):
        client.json("POST", client.ws_path("/runs"), json_body={"experiment": "e"}, retry="unsent")
    assert len(fake.sent("POST", r"/runs$")) == 1


@pytest.mark.parametrize(
    ("url", "proxy"),
    [
        ("http://127.0.0.1:9", None),  # nothing listens there
        ("http://studio.invalid", "http://127.0.0.1:9"),  # nor at the proxy
    ],
    ids=["studio refused", "proxy refused"],
)
def test_a_create_is_resent_when_it_never_left(url, proxy, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    if proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
    client = Client(url, "t", "team", retries=2, backoff=QUICK)
    calls = []

    def attempt():
        calls.append(1)
        return client.send("POST", "/x")

    with pytest.raises(StudioConnectionError, match="Connection refused"):
        client.retrying(attempt, retry="unsent")
    assert len(calls) == 3


def test_4xx_is_not_retried(fake_server, fake):
    fake.script("GET", r"/runs/x$", (404, {"error": {"code": "NotFound", "message": "no run x"}}))
    client = Client(fake_server.url, "t", "team", retries=2, backoff=QUICK)
    with pytest.raises(NotFoundError, match="no run x"):
        client.json("GET", client.ws_path("/runs/x"))
    assert len(fake.sent("GET", r"/runs/x$")) == 1


def test_requests_carry_the_token_and_the_workspace(fake_server, fake):
    client = Client(fake_server.url + "/api/", "secret-1", "my team", backoff=QUICK)
    client.json("GET", client.ws_path("/runs/r1"))
    (request,) = fake.requests
    assert request.headers["Authorization"] == "Bearer secret-1"
    assert request.path == "/api/w/my%20team/runs/r1"


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://x", ""])
def test_a_url_without_http_is_refused(url):
    with pytest.raises(StudioError):
        Workspace(url, "t", "team")


# ---- runs -----------------------------------------------------------------------------


def test_start_logging_creates_a_running_run(fake_ws, fake):
    exp = Experiment(workspace=fake_ws, name="exp")
    run = exp.start_logging("baseline", tags={"a": "b"}, properties={"lr": 0.1})
    # The id is made here; the studio hears of the run with its first request.
    assert re.fullmatch(r"exp_\d{10}_[0-9a-f]{8}", run.id)
    assert not fake.requests
    run.cancel()
    (create,) = fake.sent("POST", r"/runs$")
    body = create.json
    ago = body.pop("startedSecondsAgo")
    assert body == {
        "experiment": "exp",
        "runId": run.id,
        "displayName": "baseline",
        "tags": {"a": "b"},
        "properties": {"lr": 0.1},
    }
    assert 0 <= ago < 5
    assert run.experiment is exp


def test_a_run_nobody_calls_is_created_within_a_flush_interval(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="exp").start_logging()
    wait_for(lambda: run.id in fake.runs, what="the run created by the sender")
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests if r.method == "POST"][:1] == ["runs"]
    run.complete()
    assert fake.runs[run.id]["status"] == "Completed"


def test_a_lost_answer_to_a_whole_short_run_is_not_an_error(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    run.log("loss", 0.5)
    # Created, fed and completed, the answer lost: the retry meets a 409, then reads it.
    fake.script("POST", r"/runs$", LOSE)
    run.complete()
    first, second = fake.sent("POST", r"/runs$")
    assert first.json["metrics"]["key"] == second.json["metrics"]["key"]
    assert fake.points[run.id] == {"loss": [(0, 0.5)]}
    assert fake.runs[run.id]["status"] == "Completed"


def test_a_refused_run_is_raised_by_its_next_call_and_by_log(fake_ws, fake):
    refusal = (400, {"error": {"code": "ValidationError", "message": "displayName is long"}})
    fake.script("POST", r"/runs$", refusal)
    run = Experiment(workspace=fake_ws, name="e").start_logging("x" * 300)
    run.log("loss", 0.5)
    # The sender creates the run a flush interval later; the studio's answer is kept then
    # (waiting for the fake to record the request alone raced with that answer).
    wait_for(lambda: run._sender.refusal, what="the create, refused")
    with pytest.raises(StudioError, match="displayName is long"):
        run.log("loss", 0.25)
    with pytest.raises(StudioError, match="displayName is long"):
        run.tag("a")
    with pytest.raises(StudioError, match="displayName is long"):
        run.complete()
    # Refused once, asked once: the refusal is not sent again and again.
    assert len(fake.sent("POST", r"/runs$")) == 1


def test_the_context_manager_completes_with_the_last_points(fake_ws, fake):
    with Experiment(workspace=fake_ws, name="exp").start_logging() as run:
        run.log("loss", 1.0)
    # A short run is one request: created, fed and completed together.
    (create,) = [r for r in fake.requests if r.method == "POST"]
    assert create.path.endswith("/runs")
    assert create.json["complete"] is True
    assert fake.points[run.id] == {"loss": [(0, 1.0)]}
    assert fake.runs[run.id]["status"] == "Completed"


def test_the_context_manager_fails_with_the_exception(fake_ws, fake):
    with pytest.raises(ZeroDivisionError), Experiment(workspace=fake_ws, name="e").start_logging():
        1 / 0  # noqa: B018
    (fail,) = fake.sent("POST", r"/fail$")
    assert fail.json["errorCode"] == "ZeroDivisionError"
    assert fail.json["message"] == "division by zero"
    assert "Traceback" in fail.json["details"]["traceback"]
    assert fail.json["details"]["type"] == "builtins.ZeroDivisionError"


def test_the_context_manager_cancels_on_keyboard_interrupt(fake_ws, fake):
    with pytest.raises(KeyboardInterrupt), Experiment(workspace=fake_ws, name="e").start_logging():
        raise KeyboardInterrupt
    (cancel,) = fake.sent("POST", r"/cancel$")
    assert cancel.json == {"immediate": True}


def test_fail_takes_a_message_or_details(fake_ws, fake):
    exp = Experiment(workspace=fake_ws, name="e")
    exp.start_logging().fail("diverged", error_code="NaNLoss")
    exp.start_logging().fail({"epoch": 3})
    first, second = (r.json for r in fake.sent("POST", r"/fail$"))
    assert first == {"message": "diverged", "errorCode": "NaNLoss"}
    assert second == {"details": {"epoch": 3}}


def test_a_status_move_whose_answer_was_lost_is_not_an_error(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    run.flush()  # the studio knows the run: its end is a request of its own
    fake.script("POST", r"/complete$", LOSE, (409, {"error": {"code": "InvalidTransition"}}))
    run.complete()
    assert fake.runs[run.id]["status"] == "Completed"


def test_an_end_whose_answer_was_lost_stores_its_last_points_once(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    run.flush()  # the studio knows the run: its end is a request of its own
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    # The end and its points are handled, the answer lost; the retry meets a 409.
    fake.script("POST", r"/complete$", LOSE)
    run.complete()
    keys = [r.json["metrics"]["key"] for r in fake.sent("POST", r"/complete$")]
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert fake.points[run.id] == {"loss": [(0, 0.5), (1, 0.25)]}
    assert fake.runs[run.id]["status"] == "Completed"


def test_an_end_the_studio_refuses_keeps_its_points_and_says_why(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    run.flush()  # the studio knows the run: its end is a request of its own
    run.log("loss", 0.5)
    refusal = (400, {"error": {"code": "BadRequest", "message": "metric 'loss': bad"}})
    fake.script("POST", r"/complete$", refusal)
    fake.script("POST", r"/metrics$", refusal)
    with pytest.raises(StudioError, match="1 metric points were refused: metric 'loss': bad"):
        run.complete()
    # Sent again on their own under the same key (refused again: said), then the end.
    (end_with_points, plain_end) = fake.sent("POST", r"/complete$")
    (batch,) = fake.batches()
    assert batch.json["key"] == end_with_points.json["metrics"]["key"]
    assert "metrics" not in plain_end.json
    assert fake.runs[run.id]["status"] == "Completed"


def test_an_end_waits_for_points_already_on_their_way(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    fake.script("POST", r"/metrics$", (503, {}))
    run.log("loss", 0.5)
    wait_for(lambda: fake.batches(), what="a first batch")
    run.log("loss", 0.25)
    run.complete()
    # The first point was in flight (its batch retried), so the end flushed first.
    assert "metrics" not in fake.sent("POST", r"/complete$")[0].json
    assert fake.points[run.id] == {"loss": [(0, 0.5), (1, 0.25)]}


def test_an_end_after_a_refused_batch_still_says_so(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    refusal = (400, {"error": {"code": "BadRequest", "message": "metric 'loss': bad"}})
    fake.script("POST", r"/metrics$", refusal)
    run.log("loss", 0.5)
    wait_for(lambda: run._sender.errors, what="the batch refused")
    run.log("loss", 0.25)
    with pytest.raises(StudioError, match="1 metric points were refused"):
        run.complete()
    # The later point is stored on its own (the refusal is not carried by the end).
    assert fake.points[run.id] == {"loss": [(1, 0.25)]}
    assert fake.runs[run.id]["status"] == "Completed"


def test_a_refused_move_raises_conflict(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    run.flush()  # the studio knows the run: its end is a request of its own
    message = {"error": {"code": "InvalidTransition", "message": "Running to Queued"}}
    fake.script("POST", r"/complete$", (409, message))
    with pytest.raises(ConflictError, match="Running to Queued"):
        run.complete()


def test_own_cancel_is_immediate_and_stops_heartbeats(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging(heartbeat_interval=0.01)
    wait_for(lambda: fake.sent("POST", r"/heartbeat$"), what="a heartbeat")
    run.cancel()
    assert fake.sent("POST", r"/cancel$")[0].json == {"immediate": True}
    beats = len(fake.sent("POST", r"/heartbeat$"))
    run.log("late", 1.0)
    run.flush()  # a round trip later, no heartbeat came
    assert len(fake.sent("POST", r"/heartbeat$")) == beats


def test_cancelling_someone_elses_run_only_requests_it(fake_ws, fake):
    Run(Experiment(workspace=fake_ws, name="e"), "e_9").cancel()
    assert fake.sent("POST", r"/cancel$")[0].json == {}
    assert not fake.sent("POST", r"/heartbeat$")


def test_a_requested_cancel_calls_the_callback_then_marks_the_run_canceled(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging(heartbeat_interval=0.01)
    run.flush()
    called = []
    run.on_cancel(called.append)
    run.log("loss", 1.0)
    fake.cancel_requested.add(run.id)
    wait_for(lambda: fake.runs[run.id]["status"] == "Canceled", what="Canceled")
    assert called == [run]
    assert fake.sent("POST", r"/cancel$")[0].json == {"immediate": True}
    assert fake.points[run.id]["loss"] == [(0, 1.0)]


def test_heartbeats_survive_a_studio_that_is_away(fake_ws, fake):
    fake.script("POST", r"/heartbeat$", DROP, (503, {}), DROP)
    run = Experiment(workspace=fake_ws, name="e").start_logging(heartbeat_interval=0.01)
    wait_for(lambda: len(fake.sent("POST", r"/heartbeat$")) >= 5, what="heartbeats")
    run.complete()


def test_heartbeats_survive_answers_that_are_not_a_heartbeats(fake_ws, fake, caplog):
    odd = [(200, b"<html>a proxy</html>"), (200, b""), (200, [1, 2]), (200, "ok")]
    fake.script("POST", r"/heartbeat$", *odd)
    fake.script("POST", r"/heartbeats$", *odd)
    exp = Experiment(workspace=fake_ws, name="e")
    alone = exp.start_logging(heartbeat_interval=0.01)
    alone.flush()
    wait_for(lambda: len(fake.sent("POST", r"/heartbeat$")) >= 6, what="heartbeats")
    pair = [exp.start_logging(heartbeat_interval=0.01) for _ in range(2)]
    for run in pair:
        run.flush()
    wait_for(lambda: len(fake.sent("POST", r"/heartbeats$")) >= 6, what="shared heartbeats")
    assert "not a heartbeat's answer" in caplog.text
    for run in (alone, *pair):
        run.complete()


def test_the_runs_of_a_sweep_beat_in_one_request(fake_ws, fake):
    exp = Experiment(workspace=fake_ws, name="e")
    runs = [exp.start_logging(heartbeat_interval=0.05) for _ in range(5)]
    for run in runs:
        run.flush()
    ids = sorted(r.id for r in runs)
    # The first runs may beat alone as they start; then they are in step.
    wait_for(
        lambda: [r for r in fake.sent("POST", r"/heartbeats$") if sorted(r.json["runIds"]) == ids],
        what="one heartbeat request for every run",
    )
    wait_for(lambda: len(fake.sent("POST", r"/heartbeats$")) >= 3, what="heartbeats")
    last = fake.sent("POST", r"/heartbeats$")[-1].json
    assert sorted(last["runIds"]) == ids, "in step, they stay in step"
    fake.cancel_requested.add(runs[2].id)
    called = []
    runs[2].on_cancel(called.append)
    wait_for(lambda: called, what="the cancel noticed by a shared heartbeat")
    wait_for(lambda: fake.runs[runs[2].id]["status"] == "Canceled", what="Canceled")
    for run in runs[:2] + runs[3:]:
        assert fake.runs[run.id]["status"] == "Running"
        run.complete()


def test_runs_one_after_another_keep_one_heartbeat_thread(fake_ws, fake, monkeypatch):
    """A sweep's small runs: the thread waits IDLE_EXIT for the next run, then ends."""
    monkeypatch.setattr(sdk_heartbeat, "IDLE_EXIT", 0.5)
    exp = Experiment(workspace=fake_ws, name="e")
    threads = set()
    for _ in range(3):
        run = exp.start_logging()
        threads.add(heartbeater._thread)
        run.complete()
    assert len(threads) == 1
    assert None not in threads
    (thread,) = threads
    thread.join(5)
    assert not thread.is_alive()
    assert heartbeater._thread is None


def test_a_run_missing_from_a_shared_heartbeat_stops_beating(fake_ws, fake):
    exp = Experiment(workspace=fake_ws, name="e")
    runs = [exp.start_logging(heartbeat_interval=0.05) for _ in range(3)]
    for run in runs:
        run.flush()
    del fake.runs[runs[1].id]  # deleted in the studio
    wait_for(lambda: runs[1] not in heartbeater, what="heartbeats of the missing run to stop")
    assert runs[0] in heartbeater
    assert runs[2] in heartbeater
    for run in (runs[0], runs[2]):
        run.complete()


def test_tags_properties_and_description(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    run.tag("quality", "fantastic run")
    run.tag("flagged")
    run.set_tags({"a": "1", "b": None})
    run.remove_tags(["a"])
    run.description = "**bold**"
    run.display_name = "renamed"
    run.complete()
    bodies = [r.json for r in fake.sent("PATCH", r"/tags$")]
    assert bodies == [
        {"set": {"quality": "fantastic run"}},
        {"set": {"flagged": None}},
        {"set": {"a": "1", "b": None}},
        {"remove": ["a"]},
    ]
    assert [r.json for r in fake.sent("PATCH", rf"/runs/{run.id}$")] == [
        {"description": "**bold**"},
        {"displayName": "renamed"},
    ]
    assert run.get_tags() == {"quality": "fantastic run", "flagged": None, "b": None}
    assert run.description == "**bold**"
    assert run.display_name == "renamed"


@pytest.mark.parametrize(
    ("tags", "query"),
    [
        ({"quality": "great"}, [("tag", "quality=great")]),
        ("worth another look", [("tag", "worth another look")]),
        (["a", "b"], [("tag", "a"), ("tag", "b")]),
        ({"a": None}, [("tag", "a")]),
    ],
)
def test_get_runs_tag_filters(fake_ws, fake, tags, query):
    list(Experiment(workspace=fake_ws, name="e").get_runs(tags=tags))
    (request,) = fake.sent("GET", r"/runs$")
    assert [q for q in request.query if q[0] == "tag"] == query


def test_get_runs_pages_lazily_newest_first(fake_ws, fake):
    def page(ids, more):
        docs = [fake.document(i) for i in ids]
        return (200, {"runs": docs, "page": 1, "perPage": 2, "total": 5, "hasMore": more})

    # A run created while paging shifts "e_3" onto the second page too: it comes once.
    fake.script("GET", r"/runs$", page(["e_5", "e_4"], True), page(["e_3", "e_3b"], True))
    fake.script("GET", r"/runs$", page(["e_3", "e_1"], False))
    runs = Experiment(workspace=fake_ws, name="e").get_runs(page_size=2, include_children=True)
    assert not fake.requests
    assert [next(runs).id, next(runs).id] == ["e_5", "e_4"]
    assert len(fake.requests) == 1
    assert [r.id for r in runs] == ["e_3", "e_3b", "e_1"]
    pages = [dict(r.query) for r in fake.sent("GET", r"/runs$")]
    assert [p["page"] for p in pages] == ["1", "2", "3"]
    assert pages[0]["includeChildren"] == "true"
    assert pages[0]["experiment"] == "e"


def test_get_metrics_gives_a_value_or_a_list(fake_ws, fake):
    latest = {
        "loss": {"value": 0.1, "step": 2, "time": 1.0, "count": 3},
        "acc": {"value": 0.9, "step": 0, "time": 1.0, "count": 1},
    }
    fake.script("GET", r"/metrics$", (200, {"metrics": latest}), (200, {"metrics": latest}))
    series = {"name": "loss", "steps": [0, 1, 2], "values": [0.3, 0.2, 0.1], "times": [1, 1, 1]}
    fake.script("GET", r"/metrics/series$", (200, series))
    run = Run(Experiment(workspace=fake_ws, name="e"), "e_1")
    assert run.get_metrics() == {"loss": [0.3, 0.2, 0.1], "acc": 0.9}
    assert run.get_metrics("acc") == {"acc": 0.9}


def test_create_children_is_one_request(fake_ws, fake):
    docs = [fake.document(f"e_1_{n}", parentRunId="e_1") for n in (1, 2, 3)]
    fake.script("POST", r"/children$", (201, {"runs": docs}))
    run = Run(Experiment(workspace=fake_ws, name="e"), "e_1")
    children = run.create_children(tag_key="seed", tag_values=["0", "1", "2"])
    assert [c.id for c in children] == ["e_1_1", "e_1_2", "e_1_3"]
    (request,) = fake.sent("POST", r"/children$")
    assert request.json == {"tagValues": ["0", "1", "2"], "tagKey": "seed"}
    for child in children:
        child.cancel()
    assert [r.json for r in fake.sent("POST", r"/cancel$")] == [{"immediate": True}] * 3


def test_get_context_outside_a_submitted_script_is_offline(monkeypatch, capsys):
    monkeypatch.delenv("STUDIO_RUN_ID", raising=False)
    run = Run.get_context()
    assert isinstance(run, OfflineRun)
    with run:
        run.log("loss", 0.5, step=3)
        run.log("loss", 0.25)
        run.tag("quality", "great")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "[offline run] log loss = 0.5 (step 3)",
        "[offline run] log loss = 0.25",
        "[offline run] tag quality = 'great'",
        "[offline run] complete",
    ]
    assert run.get_metrics() == {"loss": [0.5, 0.25]}
    assert run.get_status() == "Completed"


def test_get_context_in_a_submitted_script_is_its_run(fake_server, fake, monkeypatch, tmp_path):
    fake.document("train_7")
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "STUDIO_RUN_ID": "train_7",
        "STUDIO_URL": fake_server.url,
        "STUDIO_TOKEN": "scoped",
        "STUDIO_WORKSPACE": "team",
    }.items():
        monkeypatch.setenv(name, value)
    run = Run.get_context()
    assert isinstance(run, Run)
    assert (run.id, run.experiment.name) == ("train_7", "train")
    assert fake.requests[0].headers["Authorization"] == "Bearer scoped"


def test_a_beat_answered_after_its_run_ended_here_is_ignored(fake_ws, caplog):
    # The run ended in this process while a shared heartbeat was on its way.
    run = Run(Experiment(workspace=fake_ws, name="e"), "e_7")
    called = []
    run.on_cancel(called.append)
    with caplog.at_level(logging.INFO, logger="runs.sdk"):
        heartbeater._answered(run, {"status": "Completed", "cancelRequested": False})
        heartbeater._answered(run, {"status": "CancelRequested", "cancelRequested": True})
    assert called == []
    assert caplog.records == []


TOO_MANY = {"error": {"code": "TooManyRequests", "message": "send again in 2 s"}}


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        ("0.5", 0.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("86400", 600.0),  # capped
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after_is_read_as_seconds(header, seconds):
    assert retry_after(header) == seconds


def test_a_retry_after_date_in_the_future_is_seconds_from_now():
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= retry_after(format_datetime(when, usegmt=True)) <= 30


def test_a_429_waits_as_long_as_retry_after_says(fake_server, fake):
    fake.script("GET", r"/runs/x$", (429, TOO_MANY, {"Retry-After": "2"}))
    client = Client(fake_server.url, "t", "team", retries=2, backoff=QUICK)
    slept: list[float] = []
    answer = client.retrying(
        lambda: client.send("GET", client.ws_path("/runs/x")), sleep=slept.append
    )
    assert answer.status_code == 200
    assert slept == [2.0]  # not QUICK's milliseconds
    assert len(fake.sent("GET", r"/runs/x$")) == 2


def test_a_429_is_retried_even_for_a_create(fake_server, fake):
    # A 429 is answered before anything is done: sending the create again is safe.
    fake.script("POST", r"/runs$", (429, TOO_MANY, {"Retry-After": "0"}))
    client = Client(fake_server.url, "t", "team", retries=2, backoff=QUICK)
    document = client.json(
        "POST", client.ws_path("/runs"), json_body={"experiment": "e"}, retry="unsent"
    )
    assert document["runId"]
    assert len(fake.sent("POST", r"/runs$")) == 2


def test_a_429_without_retry_after_backs_off_as_usual(fake_server, fake):
    fake.script("GET", r"/runs/x$", (429, TOO_MANY))
    client = Client(fake_server.url, "t", "team", retries=2, backoff=QUICK)
    slept: list[float] = []
    client.retrying(lambda: client.send("GET", client.ws_path("/runs/x")), sleep=slept.append)
    assert len(slept) == 1
    assert slept[0] <= QUICK.cap


def test_the_429_error_carries_its_wait(fake_server, fake):
    fake.script("GET", r"/runs/x$", *[(429, TOO_MANY, {"Retry-After": "0"})] * 3)
    client = Client(fake_server.url, "t", "team", retries=1, backoff=QUICK)
    with pytest.raises(TooManyRequestsError) as raised:
        client.json("GET", client.ws_path("/runs/x"))
    assert (raised.value.status, raised.value.code, raised.value.retry_after) == (
        429,
        "TooManyRequests",
        0.0,
    )


def test_a_create_the_studio_could_not_take_yet_is_tried_again(fake_ws, fake):
    # More 503s than the client's own retries: the first attempt gives up, not the run.
    fake.script("POST", r"/runs$", *[(503, {})] * 5)
    run = Experiment(workspace=fake_ws, name="e").start_logging()
    with pytest.raises(StudioError, match="503"):
        run.tag("early")
    run.tag("later")
    assert fake.runs[run.id]["tags"] == {"later": None}
    run.log("loss", 1.0)
    run.complete()
    assert fake.points[run.id] == {"loss": [(0, 1.0)]}


def test_reading_a_new_runs_fields_creates_it_and_reads_nothing_more(fake_ws, fake):
    run = Experiment(workspace=fake_ws, name="e").start_logging("baseline")
    assert run.display_name == "baseline"  # from the create's answer
    assert run.parent is None
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.requests] == [("POST", "runs")]
    run.complete()
