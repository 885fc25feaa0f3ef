"""The SDK end to end against a live studio: the README example, metrics, tags, properties,
text fields, children, run lists, files, details and Run.get_context()."""

from __future__ import annotations

import io
import threading

import pytest

from runs import services
from runs.models import Experiment as ExperimentModel
from runs.models import Run as RunModel
from runs.models import RunFile
from runs.sdk import ConflictError, Experiment, NotFoundError, OfflineRun, Run
from runs.sdk.http import Client
from tests.sdk.conftest import wait_for


@pytest.fixture
def exp(ws) -> Experiment:
    return Experiment(workspace=ws, name="explore-runs")


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str]]:
    """Every request the SDK sends from the test's thread from now on, as (method, path)."""
    calls: list[tuple[str, str]] = []
    original = Client.send

    def spy(self, method, path, **kwargs):
        if threading.current_thread() is threading.main_thread():
            calls.append((method, path))
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(Client, "send", spy)
    return calls


def test_the_readme_example_completes_the_run_and_its_children(exp):
    with exp.start_logging() as run:
        run.add_properties({"lr": "0.001", "optimizer": "adam"})
        run.tag("quality", "fantastic run")
        run.tag("worth another look")
        for step in range(100):
            run.log("loss", 1 / (step + 1), step=step)
        run.description = "Baseline: **Adam**, see [the paper](https://arxiv.org/abs/1412.6980)."
        children = run.create_children(tag_key="seed", tag_values=["0", "1", "2"])
        for child in children:
            child.log("accuracy", 0.9)
            child.complete()

    stored = RunModel.objects.get(pk=run.id)
    assert stored.status == "Completed"
    assert {t.key: t.value for t in stored.tags.all()} == {
        "quality": "fantastic run",
        "worth another look": None,
    }
    assert {p.key: p.value for p in stored.properties.all()} == {"lr": "0.001", "optimizer": "adam"}
    assert "<strong>Adam</strong>" in stored.description_html
    series = services.metric_series(run=stored, name="loss")
    assert series["steps"] == list(range(100))
    assert series["values"] == [1 / (s + 1) for s in range(100)]
    kids = RunModel.objects.filter(parent=stored).order_by("id")
    assert [k.status for k in kids] == ["Completed"] * 3
    assert sorted(k.tags.get().value for k in kids) == ["0", "1", "2"]
    assert [c.id for c in children] == [f"{run.id}_{n}" for n in (1, 2, 3)]
    assert all(services.metric_series(run=k, name="accuracy")["values"] == [0.9] for k in kids)


def test_an_exception_in_the_block_fails_the_run_with_its_class_name(exp):
    class DivergedError(Exception):
        pass

    def train(run: Run) -> None:
        run.log("loss", float("nan"))
        raise DivergedError("loss is NaN at step 0")

    with pytest.raises(DivergedError), exp.start_logging() as run:
        train(run)

    stored = RunModel.objects.get(pk=run.id)
    assert stored.status == "Failed"
    assert stored.error_code == "DivergedError"
    assert stored.error_message == "loss is NaN at step 0"
    assert "Traceback" in stored.error_details["traceback"]
    assert run.get_details()["error"] == {
        "code": "DivergedError",
        "message": "loss is NaN at step 0",
    }
    # The point logged before the exception was flushed before the run ended.
    assert run.get_metrics() == {"loss": None}


def test_log_log_list_log_row_and_get_metrics(exp):
    run = exp.start_logging()
    run.log("acc", 0.5)
    run.log("loss", 1.0)
    run.log("loss", 0.5)
    run.log("loss", 0.25, step=10)
    run.log_list("lr", [0.1, 0.05, 0.025])
    run.log_row("eval", precision=0.75, recall=0.5)
    run.log_row("eval", precision=0.8, recall=0.6)

    assert run.get_metrics() == {
        "acc": 0.5,
        "loss": [1.0, 0.5, 0.25],
        "lr": [0.1, 0.05, 0.025],
        "eval/precision": [0.75, 0.8],
        "eval/recall": [0.5, 0.6],
    }
    assert run.get_metrics("loss") == {"loss": [1.0, 0.5, 0.25]}
    stored = RunModel.objects.get(pk=run.id)
    assert services.metric_series(run=stored, name="loss")["steps"] == [0, 1, 10]
    assert services.metric_series(run=stored, name="lr")["steps"] == [0, 1, 2]
    assert run.get_details()["metrics"]["loss"] == 0.25
    run.complete()
    assert run.get_status() == "Completed"


def test_tags_including_key_only(exp):
    run = exp.start_logging()
    run.tag("quality", "fantastic run")
    run.tag("worth another look")
    run.set_tags({"seed": 3, "stage": None})
    assert run.get_tags() == {
        "quality": "fantastic run",
        "worth another look": None,
        "seed": "3",
        "stage": None,
    }
    run.remove_tags(["seed", "stage"])
    run.tag("quality", "meh")
    assert run.get_tags() == {"quality": "meh", "worth another look": None}
    run.complete()


def test_properties_are_immutable_and_a_conflict_names_the_key(exp):
    run = exp.start_logging(properties={"lr": "0.1"})
    run.add_properties({"optimizer": "adam", "lr": "0.1"})  # the same value: a no-op
    with pytest.raises(ConflictError) as info:
        run.add_properties({"lr": "0.2"})
    assert info.value.status == 409
    assert info.value.code == "PropertyConflict"
    assert "'lr'" in info.value.message
    assert run.get_properties() == {"lr": "0.1", "optimizer": "adam"}
    run.complete()


def test_display_name_and_description_setters(exp, ws):
    run = exp.start_logging("first name")
    assert run.display_name == "first name"
    run.display_name = "baseline"
    run.description = "Uses *dropout*."
    again = ws.get_run(run.id)
    assert (again.display_name, again.description) == ("baseline", "Uses *dropout*.")
    assert "<em>dropout</em>" in RunModel.objects.get(pk=run.id).description_html
    run.complete()


def test_create_children_is_one_request(exp, sent):
    run = exp.start_logging()
    run.flush()
    sent.clear()
    children = run.create_children(count=5)
    assert [m for m, p in sent if p.endswith("/children")] == ["POST"]
    assert len(sent) == 1
    assert [c.id for c in children] == [f"{run.id}_{n}" for n in range(1, 6)]
    assert RunModel.objects.filter(parent_id=run.id, status="Running").count() == 5
    named = run.child_run("eval")
    assert (named.id, named.display_name) == (f"{run.id}_6", "eval")
    assert named.parent == run
    run.complete()  # the children are left to their own devices
    for child in [*children, named]:
        child.complete()


def test_get_children_recursive_by_tag_and_status(exp):
    root = exp.start_logging()
    a, b = root.create_children(tag_key="seed", tag_values=["1", "2"])
    grandchild = a.child_run("deep")
    b.fail("diverged")

    assert {c.id for c in root.get_children()} == {a.id, b.id}
    assert {c.id for c in root.get_children(recursive=True)} == {a.id, b.id, grandchild.id}
    assert [c.id for c in root.get_children(tags={"seed": "2"})] == [b.id]
    assert {c.id for c in root.get_children(tags="seed")} == {a.id, b.id}
    assert [c.id for c in root.get_children(status="Failed")] == [b.id]
    running = {c.id for c in root.get_children(recursive=True, status=["Running"])}
    assert running == {a.id, grandchild.id}
    assert root.get_children(tags={"seed": "3"}) == []
    root.cancel()


def test_get_runs_filters_and_pages_lazily(exp, ws, sent):
    runs = []
    for i in range(7):
        runs.append(exp.start_logging(f"run {i}", tags={"quality": "great" if i % 2 else "ok"}))
        # Runs one process starts less than a network round trip apart may be listed in
        # either order (the studio dates each by its own clock when it hears of it).
        runs[-1].flush()
    runs[3].add_properties({"author": "ada"})
    child = runs[0].child_run()
    sent.clear()

    pages = exp.get_runs(page_size=3)
    assert sent == []  # nothing is fetched before iterating
    first = next(pages)
    assert len([p for m, p in sent if p.endswith("/runs")]) == 1
    assert first.id == runs[-1].id  # newest first
    rest = list(pages)
    assert [r.id for r in [first, *rest]] == [r.id for r in reversed(runs)]
    assert len([p for m, p in sent if p.endswith("/runs")]) == 3  # 7 runs, 3 a page

    great = [r.id for r in exp.get_runs(tags={"quality": "great"})]
    assert great == [runs[i].id for i in (5, 3, 1)]
    assert [r.id for r in exp.get_runs(properties={"author": "ada"})] == [runs[3].id]
    assert [r.id for r in exp.get_runs(tags="quality", properties="author")] == [runs[3].id]
    everything = [r.id for r in exp.get_runs(include_children=True)]
    assert child.id in everything
    assert len(everything) == 8
    assert child.id not in [r.id for r in exp.get_runs()]
    found = next(exp.get_runs(tags={"quality": "ok"}))
    assert found.get_tags() == {"quality": "ok"}
    for run in runs:
        run.cancel()


def test_files_upload_list_download_and_log_files_in_details(exp, tmp_path):
    run = exp.start_logging()
    model = tmp_path / "model.bin"
    model.write_bytes(bytes(range(256)) * 40)
    log = tmp_path / "driver.txt"
    log.write_text("epoch 1\nepoch 2\n")
    run.upload_file("outputs/model.bin", model)
    run.upload_file("logs/driver.txt", log, kind="log")
    assert sorted(run.get_file_names()) == ["logs/driver.txt", "outputs/model.bin"]

    saved = run.download_file("outputs/model.bin", tmp_path / "out" / "copy.bin")
    assert saved.read_bytes() == model.read_bytes()
    into_dir = run.download_file("logs/driver.txt", tmp_path / "out")
    assert into_dir == tmp_path / "out" / "driver.txt"
    assert into_dir.read_text() == "epoch 1\nepoch 2\n"
    with pytest.raises(NotFoundError):
        run.download_file("nope.txt", tmp_path / "nope.txt")
    assert not (tmp_path / "nope.txt").exists()

    details = run.get_details()
    assert list(details["logFiles"]) == ["logs/driver.txt"]
    assert details["logFiles"]["logs/driver.txt"].endswith(
        f"/api/w/team/runs/{run.id}/files/content?name=logs%2Fdriver.txt"
    )
    assert details["runId"] == run.id
    assert details["status"] == "Running"
    assert details["submittedBy"] == "trainer"
    assert RunFile.objects.filter(run_id=run.id).count() == 2
    run.complete()


def test_get_context_with_a_run_id_is_that_run_and_starts_it(studio_env, member, team):
    queued = services.run_create(
        experiment=ExperimentModel.objects.create(workspace=team, name="submitted"),
        user=member,
        run_status="Queued",
    )
    studio_env(STUDIO_RUN_ID=queued.id)
    run = Run.get_context()
    assert isinstance(run, Run)
    assert (run.id, run.experiment.name) == (queued.id, "submitted")
    assert RunModel.objects.get(pk=queued.id).status == "Running"
    run.log("loss", 0.5)
    run.complete()
    stored = RunModel.objects.get(pk=queued.id)
    assert stored.status == "Completed"
    assert services.metric_series(run=stored, name="loss")["values"] == [0.5]


def test_get_context_elsewhere_is_an_offline_run_that_prints(studio_env, capsys):
    run = Run.get_context()
    assert isinstance(run, OfflineRun)
    with run:
        run.log("loss", 0.5)
        run.tag("quality", "fine")
        run.add_properties({"lr": 0.1})
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "[offline run] log loss = 0.5",
        "[offline run] tag quality = 'fine'",
        "[offline run] property lr = 0.1",
        "[offline run] complete",
    ]
    assert run.get_status() == "Completed"
    assert run.get_metrics() == {"loss": 0.5}
    assert not RunModel.objects.exists()


def test_offline_run_writes_to_a_given_stream():
    stream = io.StringIO()
    OfflineRun(stream).log("acc", 1)
    assert stream.getvalue() == "[offline run] log acc = 1.0\n"


def test_a_short_run_is_one_request(exp, sent):
    sent.clear()
    with exp.start_logging("short", properties={"lr": "0.1"}) as run:
        for step in range(100):
            run.log("loss", 1 / (step + 1), step=step)
    # Created, fed and completed together: the studio heard of it once.
    assert sent == [("POST", "/w/team/runs")]
    stored = RunModel.objects.get(pk=run.id)
    assert (stored.status, stored.display_name) == ("Completed", "short")
    assert stored.started <= stored.ended
    assert stored.latest_metrics.get(name="loss").count == 100
    assert run.get_properties() == {"lr": "0.1"}


def test_a_sweep_logging_at_once_is_created_by_the_sender(exp):
    runs = [exp.start_logging(f"trial {i}") for i in range(5)]
    step = 0

    def all_known() -> bool:
        nonlocal step
        for run in runs:
            run.log("loss", 1 / (step + 1), step=step)
        step += 1
        return RunModel.objects.filter(pk__in=[r.id for r in runs]).count() == len(runs)

    # A flush interval after their start, the sender creates them, then sends their points.
    wait_for(all_known, what="the sweep's runs created by the sender")
    for run in runs:
        run.complete()
    for run in runs:
        stored = RunModel.objects.get(pk=run.id)
        assert stored.status == "Completed"
        assert stored.latest_metrics.get(name="loss").count == step
