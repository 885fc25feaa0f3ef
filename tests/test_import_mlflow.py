"""`manage.py import_mlflow`: MLflow's file store, SQLite store and REST API, as MLflow
writes and serves them, moved into a workspace."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command

from runs.models import Experiment, Run
from runs.services import metric_series
from runs.status import Status
from tests.factories import UserFactory, WorkspaceFactory

# An import ends with ANALYZE (a bulk load).
pytestmark = pytest.mark.usefixtures("planner_statistics_restored")

T0 = 1_700_000_000_000  # ms
PARENT, CHILD, LONE, GONE = "a1b2c3", "d4e5f6", "0a0b0c", "dead00"

# The store's contents: MLflow run id -> (experiment, run name, status, params, tags, metrics).
RUNS = {
    PARENT: {
        "experiment": "churn model",
        "name": "bold-fox-42",
        "status": "FINISHED",
        "start": T0,
        "end": T0 + 90_000,
        "params": {"lr": "0.01", "optimizer/name": "adam"},
        "tags": {"mlflow.user": "ann", "team": "growth", "mlflow.note.content": "**Baseline**"},
        "metrics": {"loss": [(T0 + 1000 * i, 1 / (i + 1), i) for i in range(30)]},
    },
    CHILD: {
        "experiment": "churn model",
        "name": "fold-1",
        "status": "FAILED",
        "start": T0 + 10_000,
        "end": T0 + 20_000,
        "params": {"fold": "1"},
        "tags": {"mlflow.parentRunId": PARENT},
        "metrics": {"auc": [(T0 + 11_000, 0.7, 0), (T0 + 12_000, math.nan, 5)]},
    },
    LONE: {
        "experiment": "Default",
        "name": "",
        "status": "KILLED",
        "start": T0 + 50_000,
        "end": None,
        "params": {},
        "tags": {},
        "metrics": {},
    },
}


# ---- the stores, as MLflow writes them ------------------------------------------------------


def write_file_store(root: Path) -> Path:
    """An mlruns folder as MLflow's FileStore lays it out (meta.yaml from yaml.safe_dump)."""
    statuses = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
    experiments = {"Default": "0", "churn model": "1"}
    for name, exp_id in experiments.items():
        (root / exp_id).mkdir(parents=True)
        (root / exp_id / "meta.yaml").write_text(
            f"artifact_location: file://{root}/{exp_id}\ncreation_time: {T0}\n"
            f"experiment_id: '{exp_id}'\nlast_update_time: {T0}\nlifecycle_stage: active\n"
            f"name: {name}\n"
        )
    everything = {**RUNS, GONE: {**RUNS[LONE], "experiment": "Default", "deleted": True}}
    for run_id, run in everything.items():
        exp_id = experiments[run["experiment"]]
        folder = root / exp_id / run_id
        for sub in ("metrics", "params", "tags", "artifacts"):
            (folder / sub).mkdir(parents=True)
        end = "null" if run["end"] is None else run["end"]
        stage = "deleted" if run.get("deleted") else "active"
        (folder / "meta.yaml").write_text(
            f"artifact_uri: file://{folder}/artifacts\nend_time: {end}\nentry_point_name: ''\n"
            f"experiment_id: '{exp_id}'\nlifecycle_stage: {stage}\nrun_id: {run_id}\n"
            f"run_name: {run['name'] or 'null'}\nrun_uuid: {run_id}\nsource_name: ''\n"
            f"source_type: 4\nsource_version: ''\nstart_time: {run['start']}\n"
            f"status: {statuses[run['status']]}\ntags: []\nuser_id: ann\n"
        )
        for kind in ("params", "tags"):
            for key, value in run[kind].items():
                path = folder / kind / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(value)
        for key, points in run["metrics"].items():
            lines = [f"{ts} {value} {step}" for ts, value, step in points]
            (folder / "metrics" / key).write_text("\n".join(lines) + "\n")
    return root


MLFLOW_SCHEMA = """
CREATE TABLE experiments (
    experiment_id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(256) NOT NULL UNIQUE,
    artifact_location VARCHAR(256), lifecycle_stage VARCHAR(32), creation_time BIGINT,
    last_update_time BIGINT);
CREATE TABLE runs (
    run_uuid VARCHAR(32) NOT NULL PRIMARY KEY, name VARCHAR(250), source_type VARCHAR(20),
    source_name VARCHAR(500), entry_point_name VARCHAR(50), user_id VARCHAR(256),
    status VARCHAR(9), start_time BIGINT, end_time BIGINT, deleted_time BIGINT,
    source_version VARCHAR(50), lifecycle_stage VARCHAR(20), artifact_uri VARCHAR(200),
    experiment_id INTEGER REFERENCES experiments (experiment_id));
CREATE TABLE params (key VARCHAR(250) NOT NULL, value VARCHAR(8000) NOT NULL,
    run_uuid VARCHAR(32) NOT NULL REFERENCES runs (run_uuid), PRIMARY KEY (key, run_uuid));
CREATE TABLE tags (key VARCHAR(250) NOT NULL, value VARCHAR(8000),
    run_uuid VARCHAR(32) NOT NULL REFERENCES runs (run_uuid), PRIMARY KEY (key, run_uuid));
CREATE TABLE metrics (key VARCHAR(250) NOT NULL, value FLOAT NOT NULL,
    timestamp BIGINT NOT NULL, run_uuid VARCHAR(32) NOT NULL REFERENCES runs (run_uuid),
    step BIGINT DEFAULT '0' NOT NULL, is_nan BOOLEAN DEFAULT '0' NOT NULL,
    PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan));
CREATE TABLE latest_metrics (key VARCHAR(250) NOT NULL, value FLOAT NOT NULL,
    timestamp BIGINT, step BIGINT NOT NULL, is_nan BOOLEAN NOT NULL,
    run_uuid VARCHAR(32) NOT NULL REFERENCES runs (run_uuid), PRIMARY KEY (key, run_uuid));
"""


def write_sqlite_store(path: Path) -> Path:
    """An MLflow SQLite database with the tables its migrations create."""
    db = sqlite3.connect(path)
    db.executescript(MLFLOW_SCHEMA)
    experiments = {"Default": 0, "churn model": 1}
    for name, exp_id in experiments.items():
        db.execute(
            "INSERT INTO experiments VALUES (?, ?, ?, 'active', ?, ?)",
            (exp_id, name, f"mlflow-artifacts:/{exp_id}", T0, T0),
        )
    everything = {**RUNS, GONE: {**RUNS[LONE], "deleted": True}}
    for run_id, run in everything.items():
        db.execute(
            "INSERT INTO runs VALUES (?, ?, 'LOCAL', '', '', 'ann', ?, ?, ?, NULL, '', ?, '', ?)",
            (
                run_id,
                run["name"],
                run["status"],
                run["start"],
                run["end"],
                "deleted" if run.get("deleted") else "active",
                experiments[run["experiment"]],
            ),
        )
        db.executemany(
            "INSERT INTO params VALUES (?, ?, ?)",
            [(k, v, run_id) for k, v in run["params"].items()],
        )
        tags = {**run["tags"], **({"mlflow.runName": run["name"]} if run["name"] else {})}
        db.executemany(
            "INSERT INTO tags VALUES (?, ?, ?)", [(k, v, run_id) for k, v in tags.items()]
        )
        for key, points in run["metrics"].items():
            db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (key, 0.0 if math.isnan(v) else v, ts, run_id, step, math.isnan(v))
                    for ts, v, step in points
                ],
            )
    db.commit()
    db.close()
    return path


class MlflowRestHandler(BaseHTTPRequestHandler):
    """The three REST endpoints an import reads, paged as MLflow pages them (a page of 1
    here, to exercise next_page_token), with NaN written as MLflow's JSON does."""

    def log_message(self, *args) -> None:
        pass

    def _send(self, body: dict, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _page(self, items: list, token: str | None, key: str) -> dict:
        start = int(token or 0)
        body = {key: items[start : start + 1]}
        if start + 1 < len(items):
            body["next_page_token"] = str(start + 1)
        return body

    def do_POST(self) -> None:
        args = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        path = urlparse(self.path).path
        if path == "/api/2.0/mlflow/experiments/search":
            experiments = [
                {"experiment_id": "0", "name": "Default", "lifecycle_stage": "active"},
                {"experiment_id": "1", "name": "churn model", "lifecycle_stage": "active"},
                {"experiment_id": "2", "name": "old", "lifecycle_stage": "deleted"},
            ]
            return self._send(self._page(experiments, args.get("page_token"), "experiments"))
        if path == "/api/2.0/mlflow/runs/search":
            name = {"0": "Default", "1": "churn model", "2": "old"}[args["experiment_ids"][0]]
            runs = [self._run(i, r) for i, r in RUNS.items() if r["experiment"] == name]
            return self._send(self._page(runs, args.get("page_token"), "runs"))
        return self._send({"error_code": "ENDPOINT_NOT_FOUND"}, 404)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/api/2.0/mlflow/metrics/get-history":
            return self._send({"error_code": "ENDPOINT_NOT_FOUND"}, 404)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        points = [
            {
                "key": q["metric_key"],
                "value": "NaN" if math.isnan(v) else v,
                "timestamp": ts,
                "step": step,
            }
            for ts, v, step in RUNS[q["run_id"]]["metrics"][q["metric_key"]]
        ]
        body = self._page(points, q.get("page_token"), "metrics")
        return self._send(body)

    @staticmethod
    def _run(run_id: str, run: dict) -> dict:
        info = {
            "run_id": run_id,
            "run_uuid": run_id,
            "run_name": run["name"],
            "experiment_id": "1" if run["experiment"] == "churn model" else "0",
            "user_id": "ann",
            "status": run["status"],
            "start_time": run["start"],
            "artifact_uri": "mlflow-artifacts:/x",
            "lifecycle_stage": "active",
        }
        if run["end"] is not None:
            info["end_time"] = run["end"]
        latest = [
            {
                "key": k,
                "value": p[-1][1] if not math.isnan(p[-1][1]) else "NaN",
                "timestamp": p[-1][0],
                "step": p[-1][2],
            }
            for k, p in run["metrics"].items()
        ]
        tags = {**run["tags"], **({"mlflow.runName": run["name"]} if run["name"] else {})}
        return {
            "info": info,
            "data": {
                "metrics": latest,
                "params": [{"key": k, "value": v} for k, v in run["params"].items()],
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            },
        }


@pytest.fixture
def rest_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), MlflowRestHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["file store", "sqlite store", "rest api"])
def source(request, tmp_path):
    if request.param == "file store":
        return str(write_file_store(tmp_path / "mlruns"))
    if request.param == "sqlite store":
        return f"sqlite:///{write_sqlite_store(tmp_path / 'mlflow.db')}"
    return request.getfixturevalue("rest_server")


def run_import(source: str, *args: str) -> str:
    out = StringIO()
    call_command("import_mlflow", source, "--workspace", "team", *args, stdout=out)
    return out.getvalue()


# ---- what an import brings --------------------------------------------------------------------


@pytest.mark.django_db
def test_import_brings_experiments_runs_params_tags_metrics_and_parents(source):
    ws = WorkspaceFactory(slug="team")
    UserFactory(username="ann")
    out = run_import(source, "--user", "ann")
    assert "imported 3 runs (32 metric points)" in out
    assert set(Experiment.objects.filter(workspace=ws).values_list("name", flat=True)) == {
        "Default",
        "churn-model",
    }
    by_source = {r.properties.get(key="mlflow.runId").value: r for r in Run.objects.all()}
    assert set(by_source) == {PARENT, CHILD, LONE}
    parent, child, lone = by_source[PARENT], by_source[CHILD], by_source[LONE]

    assert (parent.display_name, parent.status) == ("bold-fox-42", Status.COMPLETED)
    assert parent.started.timestamp() * 1000 == T0
    assert parent.ended.timestamp() * 1000 == T0 + 90_000
    assert parent.created == parent.started
    assert parent.submitted_by.username == "ann"
    assert parent.description == "**Baseline**"
    assert "<strong>Baseline</strong>" in parent.description_html
    props = dict(parent.properties.values_list("key", "value"))
    assert props == {"lr": "0.01", "optimizer/name": "adam", "mlflow.runId": PARENT}
    tags = dict(parent.tags.values_list("key", "value"))
    assert tags == {"mlflow.user": "ann", "team": "growth"}
    assert "growth" in parent.search_text
    loss = metric_series(run=parent, name="loss")
    assert loss["steps"] == list(range(30))
    assert loss["values"] == [1 / (i + 1) for i in range(30)]
    assert loss["times"] == [(T0 + 1000 * i) / 1000 for i in range(30)]

    assert (child.parent_id, child.root_id, child.id) == (parent.id, parent.id, f"{parent.id}_1")
    assert (child.display_name, child.status) == ("fold-1", Status.FAILED)
    assert child.experiment == parent.experiment
    auc = metric_series(run=child, name="auc")
    assert auc["steps"] == [0, 5]
    assert auc["values"][0] == 0.7
    assert math.isnan(auc["values"][1])
    assert child.latest_metrics.get(name="auc").value is None  # NaN last value

    # A KILLED run without an end time ends when it started.
    assert (lone.status, lone.ended, lone.parent_id) == (Status.CANCELED, lone.started, None)
    assert lone.experiment.name == "Default"


@pytest.mark.django_db
def test_importing_again_duplicates_nothing(source):
    WorkspaceFactory(slug="team")
    run_import(source)
    out = run_import(source)
    assert "imported 0 runs (0 metric points) into no experiment; 3 imported before" in out
    assert Run.objects.count() == 3


@pytest.mark.django_db
def test_import_of_one_experiment(tmp_path):
    WorkspaceFactory(slug="team")
    out = run_import(str(write_file_store(tmp_path / "mlruns")), "--experiment", "Default")
    assert "imported 1 runs" in out
    assert Run.objects.get().status == Status.CANCELED


@pytest.mark.django_db
def test_a_child_whose_parent_is_not_imported_is_top_level(tmp_path):
    WorkspaceFactory(slug="team")
    store = write_file_store(tmp_path / "mlruns")
    run_import(str(store), "--experiment", "churn model")
    # The parent is in the same experiment: imported first, whatever the folder order.
    assert Run.objects.filter(parent__isnull=False).count() == 1


def _text_file(tmp_path: Path) -> str:
    (tmp_path / "notes.db").write_text("not a database at all, just text " * 100)
    return str(tmp_path / "notes.db")


def _empty_sqlite(tmp_path: Path) -> str:
    sqlite3.connect(tmp_path / "empty.db").execute("CREATE TABLE t (x)").connection.close()
    return str(tmp_path / "empty.db")


def _bad_metric_file(tmp_path: Path) -> str:
    store = write_file_store(tmp_path / "mlruns")
    (store / "1" / PARENT / "metrics" / "loss").write_text("1700000000000 high 0\n")
    return str(store)


def _closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_source", "args", "message"),
    [
        (lambda tmp: str(tmp / "missing"), [], "no such folder, file or URL"),
        (lambda tmp: str(tmp), [], "no experiment folders"),
        (_text_file, [], "not a SQLite database"),
        (_empty_sqlite, [], "not an MLflow database"),
        (_bad_metric_file, [], "is not numbers"),
        (lambda tmp: _closed_port(), [], "Connection refused"),
        (lambda tmp: str(write_file_store(tmp / "mlruns")), ["--user", "nobody"], "no user"),
    ],
    ids=["missing", "empty folder", "text file", "other sqlite", "bad metric", "no server", "user"],
)
def test_bad_sources_get_a_message(tmp_path, make_source, args, message):
    WorkspaceFactory(slug="team")
    with pytest.raises(CommandError, match=message):
        run_import(make_source(tmp_path), *args)
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_unknown_workspace(tmp_path):
    with pytest.raises(CommandError, match="no workspace 'team'"):
        run_import(str(write_file_store(tmp_path / "mlruns")))


@pytest.mark.django_db
def test_a_server_error_is_reported(rest_server):
    WorkspaceFactory(slug="team")
    with pytest.raises(CommandError, match="HTTP 404"):
        call_command("import_mlflow", rest_server + "/nested", "--workspace", "team")
