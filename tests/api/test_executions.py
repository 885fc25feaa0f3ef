"""The API of submitted runs: submit, claim, log append, finish, compute targets, workers;
text metrics; what a run-scoped token reaches."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from runs import services
from runs.file_content import open_run_file
from runs.models import ApiToken, ComputeTarget, Run, RunFile, Worker
from tests.api.helpers import assert_error, run_url
from tests.factories import ExperimentFactory, RunFactory


def snapshot_file(files: dict[str, bytes] | None = None) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (files or {"train.py": b"print(1)\n"}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return SimpleUploadedFile("snapshot.tar.gz", buffer.getvalue())


def submit(client, spec: dict | str, snapshot=None, path: str = "/api/w/team/submit"):
    body = {"spec": spec if isinstance(spec, str) else json.dumps(spec)}
    if snapshot is not False:
        body["snapshot"] = snapshot or snapshot_file()
    return client.post(path, body)


SPEC = {"experiment": "explore", "script": "train.py", "arguments": ["--lr", "0.1"]}


def test_submit_queues_a_run_with_its_snapshot(api_client):
    response = submit(api_client, {**SPEC, "displayName": "first", "tags": {"k": "v"}})
    assert response.status_code == 201, response.content
    document = response.json()
    assert document["status"] == "Queued"
    assert document["target"] == "local"
    assert document["displayName"] == "first"
    assert document["tags"] == {"k": "v"}
    run = Run.objects.get(pk=document["runId"])
    assert (run.script, run.arguments) == ("train.py", ["--lr", "0.1"])
    assert RunFile.objects.get(run=run).kind == "snapshot"


@pytest.mark.parametrize(
    ("spec", "snapshot", "status", "code", "message"),
    [
        ("{", None, 400, "BadRequest", "Invalid JSON"),
        ({"script": "train.py"}, None, 400, "BadRequest", "spec.experiment: Field required"),
        ({"experiment": "e"}, None, 400, "BadRequest", "spec.script: Field required"),
        ({**SPEC, "bogus": 1}, None, 400, "BadRequest", "spec.bogus: Extra inputs"),
        ({**SPEC, "arguments": [1]}, None, 400, "BadRequest", "spec.arguments.0"),
        ({**SPEC, "script": "../x.py"}, None, 400, "ValidationError", "without '..'"),
        ({**SPEC, "script": "/abs.py"}, None, 400, "ValidationError", "relative path"),
        ({**SPEC, "target": "nope"}, None, 400, "ValidationError", "no compute target 'nope'"),
        ({**SPEC, "experiment": "bad name"}, None, 400, "ValidationError", "not a valid name"),
        (SPEC, False, 400, "BadRequest", "snapshot: required, as a part of a multipart"),
        (
            SPEC,
            SimpleUploadedFile("s.tar.gz", b"plain text"),
            400,
            "ValidationError",
            "must be a .tar.gz",
        ),
    ],
)
def test_bad_submissions_get_a_message(api_client, spec, snapshot, status, code, message):
    response = submit(api_client, spec, snapshot)
    assert_error(response, status, code, message)
    assert not Run.objects.exists()


def test_readers_cannot_submit_and_scoped_tokens_only_submit_children(reader_api, scoped_api, run):
    assert_error(submit(reader_api, SPEC), 403, "Forbidden", "contributor or owner")
    assert_error(submit(scoped_api, SPEC), 403, "Forbidden", "cannot submit top-level runs")
    child = submit(scoped_api, {"script": "train.py"}, path=run_url(run, "/submit-child"))
    assert child.status_code == 201, child.content
    assert child.json()["parentRunId"] == run.id


def test_a_child_keeps_its_parents_experiment(api_client, run):
    response = submit(
        api_client, {"experiment": "other", "script": "a.py"}, path=run_url(run, "/submit-child")
    )
    assert_error(response, 400, "BadRequest", "its parent's experiment")


@pytest.fixture
def queued(api_client) -> Run:
    return Run.objects.get(pk=submit(api_client, SPEC).json()["runId"])


def test_claim_takes_a_queued_run_once_and_hands_out_a_scoped_token(api_client, queued):
    response = api_client.post_json(run_url(queued, "/claim"), {"worker": "celery@box:1"})
    assert response.status_code == 200, response.content
    claim = response.json()
    assert claim["run"]["status"] == "Preparing"
    assert (claim["script"], claim["arguments"]) == ("train.py", ["--lr", "0.1"])
    token = ApiToken.objects.get(issued_for=queued)
    assert token.run_id == queued.pk
    assert Worker.objects.get(name="celery@box:1").targets == ["local"]
    again = api_client.post_json(run_url(queued, "/claim"), {"worker": "celery@other:2"})
    assert_error(again, 409, "InvalidTransition", "from Preparing to Preparing")
    # The script's token reads its run; finishing revokes it.
    from tests.conftest import ApiClient

    script = ApiClient(claim["token"], token.user)
    assert script.get(run_url(queued)).status_code == 200
    done = api_client.post_json(run_url(queued, "/finish"), {"status": "Completed"})
    assert done.json()["status"] == "Completed"
    assert script.get(run_url(queued)).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "body.worker: Field required"),
        ({"worker": ""}, "at least 1 character"),
        ({"worker": "x" * 256}, "at most 255 characters"),
    ],
)
def test_bad_claims(api_client, queued, body, message):
    assert_error(api_client.post_json(run_url(queued, "/claim"), body), 400, "BadRequest", message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "Running"}, "body.status"),
        ({"status": "Failed", "error": {"bogus": 1}}, "body.error.bogus"),
        ({}, "body.status: Field required"),
    ],
)
def test_bad_finishes(api_client, queued, body, message):
    assert_error(api_client.post_json(run_url(queued, "/finish"), body), 400, "BadRequest", message)


def test_a_scoped_token_cannot_claim_or_finish(scoped_api, run):
    for action in ("/claim", "/finish"):
        body = {"worker": "w"} if action == "/claim" else {"status": "Completed"}
        assert_error(scoped_api.post_json(run_url(run, action), body), 403, "Forbidden")


def append(client, run, data: bytes, offset: int, name: str = "user_logs/std_log.txt"):
    return client.post(
        run_url(run, f"/logs?name={name}&offset={offset}"),
        data,
        content_type="application/octet-stream",
    )


def test_log_append_by_offset_is_idempotent(api_client, run):
    assert append(api_client, run, b"hello ", 0).json() == {
        "name": "user_logs/std_log.txt",
        "size": 6,
    }
    assert append(api_client, run, b"hello ", 0).json()["size"] == 6  # a retry: nothing twice
    assert append(api_client, run, b"o world\n", 4).json()["size"] == 12  # overlapping
    rf = RunFile.objects.get(run=run)
    assert (rf.kind, rf.size) == ("log", 12)
    with open_run_file(rf) as fh:
        assert fh.read() == b"hello world\n"
    content = api_client.get(run_url(run, "/files/content?name=user_logs/std_log.txt&offset=6"))
    assert b"".join(content.streaming_content) == b"world\n"


@pytest.mark.parametrize(
    ("query", "status", "code", "message"),
    [
        ("name=log.txt&offset=5", 409, "LogOffset", "is 0 bytes: cannot append at 5"),
        ("name=log.txt&offset=-1", 400, "BadRequest", "greater than or equal to 0"),
        ("name=log.txt", 400, "BadRequest", "query.offset: Field required"),
        ("offset=0", 400, "BadRequest", "query.name: Field required"),
        ("name=../x&offset=0", 400, "ValidationError", "without '..'"),
        ("name=out.bin&offset=0", 400, "ValidationError", "an output file of the run"),
    ],
)
def test_bad_log_appends(api_client, run, query, status, code, message):
    services.run_file_upload(run=run, path="out.bin", content=SimpleUploadedFile("out.bin", b"x"))
    response = api_client.post(
        run_url(run, f"/logs?{query}"), b"data", content_type="application/octet-stream"
    )
    assert_error(response, status, code, message)


def test_log_append_needs_write_access(reader_api, outsider_api, run):
    assert_error(append(reader_api, run, b"x", 0), 403, "Forbidden")
    assert_error(append(outsider_api, run, b"x", 0), 404, "NotFound", "workspace 'team' not found")


def test_text_metrics_through_the_api(api_client, run):
    body = {
        "series": [
            {"name": "message", "values": ["Hello from run!", "Bye"]},
            {"name": "converged", "values": [False, True]},
            {"name": "loss", "values": [0.5]},
        ]
    }
    assert api_client.post_json(run_url(run, "/metrics"), body).json()["stored"] == 5
    latest = api_client.get(run_url(run, "/metrics")).json()["metrics"]
    assert latest["message"]["value"] == "Bye"
    assert latest["message"]["kind"] == "text"
    assert latest["loss"]["kind"] == "number"
    series = api_client.get(run_url(run, "/metrics/series?name=converged")).json()
    assert series["values"] == [False, True]
    assert series["steps"] == [0, 1]
    assert api_client.get(run_url(run)).json()["metrics"] == {
        "converged": "true",
        "loss": 0.5,
        "message": "Bye",
    }
    found = api_client.get("/api/w/team/runs?filter=metrics.message = 'Bye'").json()
    assert [r["runId"] for r in found["runs"]] == [run.id]
    assert api_client.get("/api/w/team/runs?filter=metrics.message = 'Hi'").json()["total"] == 0
    # A series keeps its kind.
    mixed = {"series": [{"name": "message", "values": [1.0]}]}
    assert_error(
        api_client.post_json(run_url(run, "/metrics"), mixed),
        400,
        "ValidationError",
        "metric 'message' holds text: it cannot take numbers",
    )


def test_compute_targets_list_create_delete(owner_api, api_client, workspace, experiment):
    listed = owner_api.get("/api/w/team/compute-targets").json()["computeTargets"]
    assert [t["name"] for t in listed] == ["local"]
    created = owner_api.post_json(
        "/api/w/team/compute-targets", {"name": "gpu-cluster", "executor": "celery"}
    )
    assert created.status_code == 201, created.content
    RunFactory(experiment=experiment, status="Queued", compute_target="gpu-cluster")
    target = api_client.get("/api/w/team/compute-targets").json()["computeTargets"][1]
    assert (target["name"], target["queued"], target["running"]) == ("gpu-cluster", 1, 0)
    busy = owner_api.delete("/api/w/team/compute-targets/gpu-cluster")
    assert_error(busy, 409, "Conflict", "1 run of compute target 'gpu-cluster' are queued")
    Run.objects.filter(compute_target="gpu-cluster").update(status="Canceled")
    assert owner_api.delete("/api/w/team/compute-targets/gpu-cluster").status_code == 204
    assert not ComputeTarget.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({"name": "local"}, 409, "Conflict", "every workspace has it"),
        ({"name": "bad name"}, 400, "ValidationError", "not a valid name"),
        ({"name": ""}, 400, "ValidationError", "not a valid name"),
        ({"name": "x", "executor": "slurm"}, 400, "BadRequest", "body.executor"),
        ({"name": "x", "description": "d" * 501}, 400, "BadRequest", "body.description"),
        ({"name": "dup"}, 409, "Conflict", "has a compute target 'dup'"),
    ],
)
def test_bad_compute_targets(owner_api, workspace, body, status, code, message):
    ComputeTarget.objects.create(workspace=workspace, name="dup")
    response = owner_api.post_json("/api/w/team/compute-targets", body)
    assert_error(response, status, code, message)


def test_only_owners_change_compute_targets(api_client, outsider_api, workspace):
    body = {"name": "gpu"}
    assert_error(
        api_client.post_json("/api/w/team/compute-targets", body), 403, "Forbidden", "owners"
    )
    assert_error(outsider_api.get("/api/w/team/compute-targets"), 404, "NotFound")
    assert_error(api_client.delete("/api/w/team/compute-targets/nope"), 403, "Forbidden")


def test_workers_report_themselves(api_client, workspace):
    response = api_client.post_json(
        "/api/w/team/workers", {"name": "celery@gpu1:42", "targets": ["gpu-cluster"]}
    )
    assert response.status_code == 200
    ComputeTarget.objects.create(workspace=workspace, name="gpu-cluster", executor="celery")
    target = api_client.get("/api/w/team/compute-targets").json()["computeTargets"][1]
    assert [w["name"] for w in target["workers"]] == ["celery@gpu1:42"]


def test_a_scoped_token_reaches_its_tree_not_runs_spelt_alike(make_api_client, api_user, run):
    child = RunFactory(parent=run, experiment=run.experiment)
    lookalike = RunFactory(
        experiment=ExperimentFactory(workspace=run.workspace, name=f"{run.id}_x"),
        id=f"{run.id}_x_1_00000000",
    )
    assert lookalike.id.startswith(f"{run.id}_")
    scoped = make_api_client(api_user, run=run)
    assert scoped.get(run_url(child)).status_code == 200
    assert_error(scoped.get(run_url(lookalike)), 404, "NotFound")
    beat = scoped.post_json("/api/w/team/heartbeats", {"runIds": [run.id, lookalike.id]})
    assert beat.json()["missing"] == [lookalike.id]
    batch = {"runs": [{"runId": lookalike.id, "series": [{"name": "x", "values": [1.0]}]}]}
    assert_error(scoped.post_json("/api/w/team/metrics", batch), 404, "NotFound")
