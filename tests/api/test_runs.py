"""Run writes and the run document: create, read, update, status moves, tags, properties."""

import math

import pytest
from django.utils import timezone

from runs import services
from runs.api.documents import run_document
from runs.markdown import MAX_DESCRIPTION_CHARS
from runs.models import Experiment, Property, Run, Tag
from runs.status import Status
from tests.api.helpers import assert_error, run_url
from tests.factories import ExperimentFactory, PropertyFactory, RunFactory, TagFactory

DOCUMENT_KEYS = {
    "runId",
    "experiment",
    "displayName",
    "status",
    "parentRunId",
    "rootRunId",
    "target",
    "submittedBy",
    "createdUtc",
    "startTimeUtc",
    "endTimeUtc",
    "tags",
    "properties",
    "description",
    "metrics",
    "error",
    "url",
}


# ---- the document -------------------------------------------------------------------


def test_document_has_the_documented_fields(api_client, run, settings):
    settings.STUDIO_BASE_URL = "https://studio.example.com"
    TagFactory(run=run, key="quality", value="great")
    TagFactory(run=run, key="worth another look", value=None)
    PropertyFactory(run=run, key="lr", value="0.1")
    services.metric_log_batch(
        run=run, series=[services.SeriesIn(name="loss", values=[0.5, 0.12], steps=[0, 1])]
    )
    doc = api_client.get(run_url(run)).json()
    assert set(doc) == DOCUMENT_KEYS
    assert doc["runId"] == run.id
    assert doc["experiment"] == "mnist"
    assert doc["parentRunId"] is None
    assert doc["rootRunId"] == run.id
    assert doc["target"] == "local"
    assert doc["tags"] == {"quality": "great", "worth another look": None}
    assert doc["properties"] == {"lr": "0.1"}
    assert doc["metrics"] == {"loss": 0.12}
    assert doc["error"] is None
    assert doc["url"] == f"https://studio.example.com/w/team/runs/{run.id}/"


def test_document_times_are_utc_with_z(api_client, experiment):
    created = timezone.datetime(2026, 11, 28, 16, 0, tzinfo=timezone.get_current_timezone())
    run = RunFactory(experiment=experiment, created=created, started=created)
    doc = api_client.get(run_url(run)).json()
    assert doc["createdUtc"] == "2026-11-28T16:00:00Z"
    assert doc["startTimeUtc"] == "2026-11-28T16:00:00Z"
    assert doc["endTimeUtc"] is None


def test_document_of_a_child_names_parent_and_root(api_client, run):
    child = RunFactory(experiment=run.experiment, parent=run)
    grandchild = RunFactory(experiment=run.experiment, parent=child)
    doc = api_client.get(run_url(grandchild)).json()
    assert (doc["parentRunId"], doc["rootRunId"]) == (child.id, run.id)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_document_metric_that_is_not_finite_is_null(api_client, run, value):
    services.metric_log_batch(run=run, series=[services.SeriesIn(name="loss", values=[value])])
    response = api_client.get(run_url(run))
    assert b"NaN" not in response.content
    assert b"Infinity" not in response.content
    assert response.json()["metrics"] == {"loss": None}


def test_run_document_function_matches_the_api(api_client, run):
    TagFactory(run=run, key="k", value=None)
    loaded = Run.objects.select_related("workspace", "experiment", "submitted_by").get(pk=run.pk)
    assert run_document(loaded) == api_client.get(run_url(run)).json()


def test_document_of_a_failed_run_has_its_error(api_client, run):
    services.run_fail(run=run, error_code="OOM", message="out of memory", details={"gb": 80})
    doc = api_client.get(run_url(run)).json()
    assert doc["error"] == {"code": "OOM", "message": "out of memory"}
    assert doc["status"] == "Failed"


# ---- create -------------------------------------------------------------------------


def test_create_run_minimal(api_client, workspace):
    response = api_client.post_json("/api/w/team/runs", {"experiment": "mnist"})
    assert response.status_code == 201
    doc = response.json()
    assert set(doc) == DOCUMENT_KEYS
    assert doc["status"] == "Running"
    assert doc["startTimeUtc"] is not None
    assert doc["submittedBy"] == "sdk"
    assert doc["runId"].startswith("mnist_")
    assert Run.objects.get(pk=doc["runId"]).experiment.workspace == workspace


def test_create_run_with_everything(api_client, workspace):
    body = {
        "experiment": "mnist",
        "displayName": "baseline",
        "status": "Queued",
        "target": "gpu-cluster",
        "description": "**bold** start",
        "tags": {"quality": "great", "worth another look": None, "epochs": 10},
        "properties": {"lr": 0.1, "author": "alice", "fast": True},
    }
    doc = api_client.post_json("/api/w/team/runs", body).json()
    assert doc["displayName"] == "baseline"
    assert doc["status"] == "Queued"
    assert doc["startTimeUtc"] is None
    assert doc["target"] == "gpu-cluster"
    assert doc["description"] == "**bold** start"
    assert doc["tags"] == {"epochs": "10", "quality": "great", "worth another look": None}
    assert doc["properties"] == {"author": "alice", "fast": "true", "lr": "0.1"}
    assert "<strong>bold</strong>" in Run.objects.get(pk=doc["runId"]).description_html


def test_create_run_uses_an_existing_experiment(api_client, experiment):
    doc = api_client.post_json("/api/w/team/runs", {"experiment": "mnist"}).json()
    assert Run.objects.get(pk=doc["runId"]).experiment == experiment
    assert Experiment.objects.filter(name="mnist").count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        ({}, 400, "BadRequest", "body.experiment: Field required"),
        ({"experiment": 7}, 400, "BadRequest", "body.experiment: Input should be a valid string"),
        ({"experiment": "bad name!"}, 400, "ValidationError", "experiment name"),
        ({"experiment": ""}, 400, "ValidationError", "experiment name"),
        ({"experiment": "x" * 101}, 400, "ValidationError", "experiment name"),
        ({"experiment": "e", "status": "Completed"}, 400, "ValidationError", "needs endTimeUtc"),
        ({"experiment": "e", "status": "CancelRequested"}, 400, "BadRequest", "body.status"),
        (
            {"experiment": "e", "endTimeUtc": "2025-01-01T00:00:00Z", "status": "Completed"},
            400,
            "ValidationError",
            "endTimeUtc needs startTimeUtc",
        ),
        (
            {
                "experiment": "e",
                "startTimeUtc": "2025-01-02T00:00:00Z",
                "endTimeUtc": "2025-01-01T00:00:00Z",
                "status": "Completed",
            },
            400,
            "ValidationError",
            "is before startTimeUtc",
        ),
        (
            {
                "experiment": "e",
                "startTimeUtc": "2025-01-01T00:00:00Z",
                "endTimeUtc": "2025-01-02T00:00:00Z",
            },
            400,
            "ValidationError",
            "Completed, Failed or Canceled, not Running",
        ),
        ({"experiment": "e", "startTimeUtc": "2025-01-01T00:00:00"}, 400, "BadRequest", "timezone"),
        ({"experiment": "e", "startTimeUtc": "yesterday"}, 400, "BadRequest", "startTimeUtc"),
        ({"experiment": "e", "status": "running"}, 400, "BadRequest", "body.status"),
        ({"experiment": "e", "target": ""}, 400, "BadRequest", "body.target"),
        ({"experiment": "e", "target": "t" * 101}, 400, "BadRequest", "body.target"),
        ({"experiment": "e", "displayName": "n" * 256}, 400, "ValidationError", "255"),
        ({"experiment": "e", "displayName": None}, 400, "BadRequest", "body.displayName"),
        (
            {"experiment": "e", "description": "d" * (MAX_DESCRIPTION_CHARS + 1)},
            400,
            "ValidationError",
            "description",
        ),
        ({"experiment": "e", "tags": ["a"]}, 400, "BadRequest", "body.tags"),
        ({"experiment": "e", "tags": {"k" * 256: "v"}}, 400, "ValidationError", "limit is 255"),
        ({"experiment": "e", "tags": {" ": "v"}}, 400, "ValidationError", "non-empty"),
        ({"experiment": "e", "tags": {"k": "v" * 1001}}, 400, "ValidationError", "1000"),
        ({"experiment": "e", "tags": {"a\nb": "v"}}, 400, "ValidationError", "control"),
        ({"experiment": "e", "properties": {"lr": None}}, 400, "BadRequest", "body.properties.lr"),
        ({"experiment": "e", "properties": {"lr": {"x": 1}}}, 400, "BadRequest", "properties.lr"),
        (
            {"experiment": "e", "tags": {f"t{i}": None for i in range(501)}},
            400,
            "ValidationError",
            "500",
        ),
        ({"experiment": "e", "displayname": "x"}, 400, "BadRequest", "body.displayname: Extra"),
    ],
)
def test_create_run_bad_input(api_client, workspace, body, status, code, fragment):
    response = api_client.post_json("/api/w/team/runs", body)
    assert_error(response, status, code, fragment)
    assert not Run.objects.exists()


def test_create_imported_run_keeps_its_times(api_client, workspace):
    body = {
        "experiment": "imported",
        "status": "Completed",
        "startTimeUtc": "2024-03-01T10:00:00Z",
        "endTimeUtc": "2024-03-01T12:30:00.5+02:00",
        "tags": {"source": "mlflow"},
    }
    doc = api_client.post_json("/api/w/team/runs", body).json()
    assert doc["status"] == "Completed"
    assert doc["startTimeUtc"] == "2024-03-01T10:00:00Z"
    assert doc["createdUtc"] == "2024-03-01T10:00:00Z"
    assert doc["endTimeUtc"] == "2024-03-01T10:30:00.500000Z"
    assert doc["runId"].startswith(f"imported_{1709287200}_")
    assert doc["tags"] == {"source": "mlflow"}
    assert api_client.get(f"/api/w/team/runs/{doc['runId']}").json() == doc
    # An imported run still takes its metrics.
    stored = api_client.post_json(
        f"/api/w/team/runs/{doc['runId']}/metrics", {"series": [{"name": "loss", "values": [1]}]}
    )
    assert stored.json()["stored"] == 1


def test_create_answers_with_the_document_it_reads_back(api_client, workspace):
    body = {"experiment": "e", "tags": {"b": 1, "a": None}, "properties": {"lr": 0.1}}
    doc = api_client.post_json("/api/w/team/runs", body).json()
    assert doc["tags"] == {"a": None, "b": "1"}
    assert doc["properties"] == {"lr": "0.1"}
    assert api_client.get(f"/api/w/team/runs/{doc['runId']}").json() == doc
    run = Run.objects.get(pk=doc["runId"])
    assert run.search_text.endswith("a\nb\n1")


def test_failed_create_leaves_no_new_experiment(api_client, workspace):
    body = {"experiment": "fresh", "tags": {"k" * 300: "v"}}
    assert_error(api_client.post_json("/api/w/team/runs", body), 400, "ValidationError")
    assert not Experiment.objects.filter(name="fresh").exists()


# ---- update -------------------------------------------------------------------------


def test_patch_display_name_and_description(api_client, run):
    body = {"displayName": "  better name ", "description": "# Notes\nfine"}
    doc = api_client.patch_json(run_url(run), body).json()
    assert doc["displayName"] == "better name"
    assert doc["description"] == "# Notes\nfine"
    run.refresh_from_db()
    assert "<h1>" in run.description_html or "<h2>" in run.description_html
    assert run.events.filter(field="description").exists()


def test_patch_with_nothing_changes_nothing(api_client, run):
    doc = api_client.patch_json(run_url(run), {}).json()
    assert doc["displayName"] == run.display_name
    assert not run.events.exists()


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"displayName": "n" * 256}, "ValidationError", "255"),
        ({"description": "d" * (MAX_DESCRIPTION_CHARS + 1)}, "ValidationError", "description"),
        ({"displayName": 5}, "BadRequest", "body.displayName: Input should be a valid string"),
        ({"description": ["x"]}, "BadRequest", "body.description"),
        ({"status": "Completed"}, "BadRequest", "body.status: Extra inputs"),
    ],
)
def test_patch_bad_input(api_client, run, body, code, fragment):
    assert_error(api_client.patch_json(run_url(run), body), 400, code, fragment)
    assert Run.objects.get(pk=run.pk).display_name == run.display_name


# ---- status moves -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Status.NOT_STARTED, Status.QUEUED),
        (Status.QUEUED, Status.PREPARING),
        (Status.PREPARING, Status.STARTING),
        (Status.STARTING, Status.RUNNING),
        (Status.NOT_STARTED, Status.RUNNING),
        (Status.RUNNING, Status.FINALIZING),
    ],
)
def test_status_lifecycle_moves(api_client, experiment, start, to):
    run = RunFactory(experiment=experiment, status=start)
    doc = api_client.post_json(run_url(run, "/status"), {"status": to}).json()
    assert doc["status"] == to
    assert Run.objects.get(pk=run.pk).status == to


@pytest.mark.parametrize("to", ["Completed", "Failed", "Canceled", "CancelRequested", "NotStarted"])
def test_status_refuses_endings_and_points_to_their_endpoints(api_client, run, to):
    response = api_client.post_json(run_url(run, "/status"), {"status": to})
    assert_error(
        response, 400, "BadRequest", to, "Queued, Preparing, Starting, Running, Finalizing"
    )
    if to != "NotStarted":
        assert "complete" in response.json()["error"]["message"]


@pytest.mark.parametrize("to", ["Bogus", "", "running"])
def test_status_unknown(api_client, run, to):
    assert_error(
        api_client.post_json(run_url(run, "/status"), {"status": to}),
        400,
        "BadRequest",
        "unknown status",
    )


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Status.COMPLETED, Status.RUNNING),
        (Status.RUNNING, Status.QUEUED),
        (Status.FINALIZING, Status.RUNNING),
        (Status.CANCELED, Status.QUEUED),
        (Status.CANCEL_REQUESTED, Status.RUNNING),
    ],
)
def test_refused_transition_is_409_naming_both(api_client, experiment, start, to):
    run = RunFactory(experiment=experiment, status=start)
    response = api_client.post_json(run_url(run, "/status"), {"status": to})
    assert_error(response, 409, "InvalidTransition", f"from {start} to {to}")
    assert Run.objects.get(pk=run.pk).status == start


def test_complete(api_client, run):
    doc = api_client.post(run_url(run, "/complete")).json()
    assert doc["status"] == "Completed"
    assert doc["endTimeUtc"] is not None


@pytest.mark.parametrize("start", [Status.COMPLETED, Status.FAILED, Status.CANCELED])
def test_complete_a_finished_run_is_409(api_client, experiment, start):
    run = RunFactory(experiment=experiment, status=start)
    response = api_client.post(run_url(run, "/complete"))
    assert_error(response, 409, "InvalidTransition", f"from {start} to Completed")


def test_fail_with_error(api_client, run):
    body = {"errorCode": "OOM", "message": "out of memory", "details": {"gpu": [0, 1]}}
    doc = api_client.post_json(run_url(run, "/fail"), body).json()
    assert doc["status"] == "Failed"
    assert doc["error"] == {"code": "OOM", "message": "out of memory"}
    assert Run.objects.get(pk=run.pk).error_details == {"gpu": [0, 1]}


def test_fail_without_a_body(api_client, run):
    response = api_client.post(run_url(run, "/fail"), "", content_type="application/json")
    assert response.json()["error"] == {"code": "UserError", "message": ""}


def test_fail_a_completed_run(api_client, experiment):
    run = RunFactory(experiment=experiment, status=Status.COMPLETED)
    assert api_client.post_json(run_url(run, "/fail"), {}).json()["status"] == "Failed"


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        ({"errorCode": "E" * 101}, 400, "BadRequest", "body.errorCode"),
        ({"message": "m" * 10_001}, 400, "BadRequest", "body.message"),
        ({"message": 5}, 400, "BadRequest", "body.message"),
        ({"reason": "x"}, 400, "BadRequest", "body.reason: Extra"),
    ],
)
def test_fail_bad_input(api_client, run, body, status, code, fragment):
    assert_error(api_client.post_json(run_url(run, "/fail"), body), status, code, fragment)
    assert Run.objects.get(pk=run.pk).status == Status.RUNNING


@pytest.mark.parametrize("start", [Status.FAILED, Status.CANCELED])
def test_fail_a_finished_run_is_409(api_client, experiment, start):
    run = RunFactory(experiment=experiment, status=start)
    response = api_client.post_json(run_url(run, "/fail"), {})
    assert_error(response, 409, "InvalidTransition", f"from {start} to Failed")


# ---- cancel -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "immediate", "end"),
    [
        (Status.RUNNING, False, Status.CANCEL_REQUESTED),
        (Status.RUNNING, True, Status.CANCELED),
        (Status.NOT_STARTED, False, Status.CANCELED),
        (Status.QUEUED, False, Status.CANCELED),
        (Status.CANCEL_REQUESTED, True, Status.CANCELED),
    ],
)
def test_cancel(api_client, experiment, start, immediate, end):
    run = RunFactory(experiment=experiment, status=start)
    doc = api_client.post_json(run_url(run, "/cancel"), {"immediate": immediate}).json()
    assert doc["status"] == end
    assert Run.objects.get(pk=run.pk).status == end


def test_cancel_without_a_body(api_client, run):
    response = api_client.post(run_url(run, "/cancel"), "", content_type="application/json")
    assert response.json()["status"] == "CancelRequested"


def test_cancel_reaches_non_terminal_descendants(api_client, run):
    running = RunFactory(experiment=run.experiment, parent=run)
    queued = RunFactory(experiment=run.experiment, parent=running, status=Status.QUEUED)
    done = RunFactory(experiment=run.experiment, parent=run, status=Status.COMPLETED)
    api_client.post_json(run_url(run, "/cancel"), {})
    statuses = dict(Run.objects.values_list("id", "status"))
    assert statuses[running.id] == Status.CANCEL_REQUESTED
    assert statuses[queued.id] == Status.CANCELED
    assert statuses[done.id] == Status.COMPLETED


@pytest.mark.parametrize("start", [Status.COMPLETED, Status.FAILED, Status.CANCELED])
def test_cancel_a_finished_run_is_409(api_client, experiment, start):
    run = RunFactory(experiment=experiment, status=start)
    response = api_client.post_json(run_url(run, "/cancel"), {})
    assert_error(response, 409, "InvalidTransition", f"from {start} to Canceled")


# ---- heartbeat ----------------------------------------------------------------------


def test_heartbeat_records_and_answers(api_client, run):
    response = api_client.post(run_url(run, "/heartbeat"))
    assert response.json() == {"status": "Running", "cancelRequested": False}
    assert Run.objects.get(pk=run.pk).heartbeat is not None


def test_heartbeat_tells_of_a_cancel(api_client, run):
    services.run_cancel(run=run)
    response = api_client.post(run_url(run, "/heartbeat"))
    assert response.json() == {"status": "CancelRequested", "cancelRequested": True}


def test_heartbeat_of_a_finished_run_says_its_status(api_client, experiment):
    run = RunFactory(experiment=experiment, status=Status.CANCELED)
    response = api_client.post(run_url(run, "/heartbeat"))
    assert response.json() == {"status": "Canceled", "cancelRequested": False}


def test_heartbeats_of_many_runs_in_one_request(api_client, experiment, other_workspace):
    running = RunFactory(experiment=experiment)
    asked = RunFactory(experiment=experiment)
    services.run_cancel(run=asked)
    done = RunFactory(experiment=experiment, status=Status.COMPLETED)
    ids = [running.id, asked.id, done.id, "secret_1_00000000", "nope", running.id]
    response = api_client.post_json("/api/w/team/heartbeats", {"runIds": ids})
    assert response.status_code == 200
    assert response.json() == {
        "runs": {
            running.id: {"status": "Running", "cancelRequested": False},
            asked.id: {"status": "CancelRequested", "cancelRequested": True},
            done.id: {"status": "Completed", "cancelRequested": False},
        },
        # Another workspace's run is as unknown as a made-up id.
        "missing": ["secret_1_00000000", "nope"],
    }
    beats = Run.objects.filter(pk__in=[running.id, asked.id, done.id])
    assert all(r.heartbeat is not None for r in beats)


def test_heartbeats_of_a_run_scoped_token_reach_its_tree_only(scoped_api, run, experiment):
    child = RunFactory(experiment=experiment, parent=run, id=f"{run.id}_1")
    other = RunFactory(experiment=experiment)
    ids = [run.id, child.id, other.id]
    response = scoped_api.post_json("/api/w/team/heartbeats", {"runIds": ids})
    assert set(response.json()["runs"]) == {run.id, child.id}
    assert response.json()["missing"] == [other.id]
    assert Run.objects.get(pk=other.id).heartbeat is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "runIds"),
        ({"runIds": []}, "runIds"),
        ({"runIds": "abc"}, "runIds"),
        ({"runIds": [""]}, "runIds"),
        ({"runIds": [f"r{i}" for i in range(1001)]}, "runIds"),
        ({"runIds": ["a"], "extra": 1}, "extra"),
    ],
)
def test_heartbeats_refuse_bad_bodies(api_client, body, message):
    response = api_client.post_json("/api/w/team/heartbeats", body)
    assert response.status_code in (400, 422)
    assert message in response.json()["error"]["message"]


def test_heartbeats_are_for_writers_and_members(reader_api, outsider_api, run):
    body = {"runIds": [run.id]}
    assert reader_api.post_json("/api/w/team/heartbeats", body).status_code == 403
    assert outsider_api.post_json("/api/w/team/heartbeats", body).status_code == 404


# ---- tags ---------------------------------------------------------------------------


def test_tags_set_and_remove_at_once(api_client, run):
    TagFactory(run=run, key="old", value="x")
    TagFactory(run=run, key="keep", value="y")
    body = {"set": {"quality": "fantastic run", "look": None, "n": 3}, "remove": ["old", "absent"]}
    response = api_client.patch_json(run_url(run, "/tags"), body)
    assert response.json() == {
        "tags": {"keep": "y", "look": None, "n": "3", "quality": "fantastic run"}
    }
    assert dict(Tag.objects.filter(run=run).values_list("key", "value"))["look"] is None


def test_tags_change_a_value(api_client, run):
    TagFactory(run=run, key="quality", value="ok")
    body = {"set": {"quality": "great"}}
    assert api_client.patch_json(run_url(run, "/tags"), body).json()["tags"] == {"quality": "great"}


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"set": {"k" * 256: "v"}}, "ValidationError", "limit is 255"),
        ({"remove": ["k" * 256]}, "ValidationError", "limit is 255"),
        ({"set": {"k": "v" * 1001}}, "ValidationError", "limit is 1000"),
        ({"set": {"": "v"}}, "ValidationError", "non-empty"),
        ({"set": {"a": "1"}, "remove": ["a"]}, "ValidationError", "both set and removed"),
        ({"set": {f"t{i}": None for i in range(501)}}, "ValidationError", "at most 500"),
        ({"set": {"a": ["x"]}}, "BadRequest", "body.set.a"),
        ({"add": {"a": "b"}}, "BadRequest", "body.add: Extra"),
    ],
)
def test_tags_bad_input_changes_nothing(api_client, run, body, code, fragment):
    TagFactory(run=run, key="a", value="before")
    assert_error(api_client.patch_json(run_url(run, "/tags"), body), 400, code, fragment)
    assert dict(Tag.objects.filter(run=run).values_list("key", "value")) == {"a": "before"}


# ---- properties ---------------------------------------------------------------------


def test_properties_add_and_repeat(api_client, run):
    url = run_url(run, "/properties")
    assert api_client.post_json(url, {"properties": {"lr": 0.1, "seed": 7}}).json() == {
        "properties": {"lr": "0.1", "seed": "7"}
    }
    # The same value again is a no-op.
    assert api_client.post_json(url, {"properties": {"lr": "0.1"}}).status_code == 200


def test_conflicting_property_is_409_naming_the_key(api_client, run):
    PropertyFactory(run=run, key="lr", value="0.1")
    body = {"properties": {"new": "x", "lr": "0.2"}}
    response = api_client.post_json(run_url(run, "/properties"), body)
    assert_error(response, 409, "PropertyConflict", "'lr'", "'0.1'", "'0.2'")
    assert dict(Property.objects.filter(run=run).values_list("key", "value")) == {"lr": "0.1"}


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({}, "BadRequest", "body.properties: Field required"),
        ({"properties": {"k" * 256: "v"}}, "ValidationError", "limit is 255"),
        ({"properties": {"k": "v" * 1001}}, "ValidationError", "limit is 1000"),
        ({"properties": {f"p{i}": "v" for i in range(501)}}, "ValidationError", "at most 500"),
    ],
)
def test_properties_bad_input(api_client, run, body, code, fragment):
    assert_error(api_client.post_json(run_url(run, "/properties"), body), 400, code, fragment)
    assert not Property.objects.filter(run=run).exists()


# ---- children -----------------------------------------------------------------------


def test_create_children(api_client, run):
    response = api_client.post_json(run_url(run, "/children"), {"count": 3})
    assert response.status_code == 201
    docs = response.json()["runs"]
    assert [d["runId"] for d in docs] == [f"{run.id}_1", f"{run.id}_2", f"{run.id}_3"]
    assert all(d["parentRunId"] == run.id and d["rootRunId"] == run.id for d in docs)
    assert all(set(d) == set(DOCUMENT_KEYS) for d in docs)


def test_create_one_child_by_default_numbering_on(api_client, run):
    api_client.post_json(run_url(run, "/children"), {"count": 2})
    docs = api_client.post_json(run_url(run, "/children"), {}).json()["runs"]
    assert [d["runId"] for d in docs] == [f"{run.id}_3"]


def test_create_children_with_names_and_tags(api_client, run):
    body = {"displayNames": ["a", "b"], "tagKey": "lr", "tagValues": ["0.1", 0.01]}
    docs = api_client.post_json(run_url(run, "/children"), body).json()["runs"]
    assert [d["displayName"] for d in docs] == ["a", "b"]
    assert [d["tags"] for d in docs] == [{"lr": "0.1"}, {"lr": "0.01"}]


def test_create_children_with_a_key_only_tag(api_client, run):
    body = {"count": 2, "tagKey": "sweep"}
    docs = api_client.post_json(run_url(run, "/children"), body).json()["runs"]
    assert [d["tags"] for d in docs] == [{"sweep": None}, {"sweep": None}]


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"count": 0}, "BadRequest", "body.count: Input should be greater than or equal to 1"),
        ({"count": 1001}, "BadRequest", "body.count: Input should be less than or equal to 1000"),
        ({"count": "3"}, "BadRequest", "body.count"),
        ({"count": 2, "displayNames": ["a"]}, "ValidationError", "1 display names given for 2"),
        ({"tagValues": ["a"]}, "ValidationError", "tagValues needs a tagKey"),
        ({"count": 2, "tagKey": "k", "tagValues": ["a"]}, "BadRequest", "count is 2"),
        ({"tagKey": "k", "tagValues": []}, "ValidationError", "count must be 1 to 1000"),
        ({"tagKey": "k" * 256}, "ValidationError", "limit is 255"),
        ({"displayNames": ["n" * 256]}, "ValidationError", "255"),
    ],
)
def test_create_children_bad_input(api_client, run, body, code, fragment):
    assert_error(api_client.post_json(run_url(run, "/children"), body), 400, code, fragment)
    assert not Run.objects.filter(parent=run).exists()


def test_finished_run_gets_no_children(api_client, experiment):
    run = RunFactory(experiment=experiment, status=Status.COMPLETED)
    response = api_client.post_json(run_url(run, "/children"), {"count": 1})
    assert_error(response, 400, "ValidationError", "Completed")


def test_other_experiment_same_name_other_workspace_untouched(api_client, other_workspace):
    ExperimentFactory(workspace=other_workspace, name="mnist")
    doc = api_client.post_json("/api/w/team/runs", {"experiment": "mnist"}).json()
    assert Run.objects.get(pk=doc["runId"]).workspace.slug == "team"


def test_run_detail_query_count(api_client, run, django_assert_num_queries):
    TagFactory(run=run, key="a", value="b")
    api_client.get(run_url(run))
    # token, membership + workspace, run (+ experiment, submitter),
    # its tags, properties and latest metrics in one
    with django_assert_num_queries(4):
        assert api_client.get(run_url(run)).status_code == 200
