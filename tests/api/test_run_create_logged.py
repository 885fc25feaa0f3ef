"""A run created by its client's first request: an id the client made, a start dated by
the studio's clock, and (for a short run) its points and completion in the same request."""

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.lifecycle import Status
from runs.models import LatestMetric, MetricBatch, Run, RunEvent
from tests.api.helpers import assert_error
from tests.factories import ExperimentFactory, RunFactory, WorkspaceFactory

URL = "/api/w/team/runs"
RUN_ID = "mnist_1796000000_01234abc"
POINTS = {"key": "k-1", "series": [{"name": "loss", "values": [0.5, 0.25], "steps": [0, 1]}]}


def test_a_short_run_is_one_request(api_client, workspace):
    body = {
        "experiment": "mnist",
        "runId": RUN_ID,
        "startedSecondsAgo": 2.5,
        "properties": {"lr": "0.1"},
        "metrics": POINTS,
        "complete": True,
    }
    before = timezone.now()
    response = api_client.post_json(URL, body)
    assert response.status_code == 201
    doc = response.json()
    assert (doc["runId"], doc["status"]) == (RUN_ID, "Completed")
    assert doc["metrics"] == {"loss": 0.25}
    assert doc["properties"] == {"lr": "0.1"}
    run = Run.objects.get(pk=RUN_ID)
    # Dated by the studio's clock: started 2.5 s before the request, ended at it.
    assert run.ended - run.started == pytest.approx(
        timedelta(seconds=2.5), abs=timedelta(seconds=1)
    )
    assert run.started < before
    assert LatestMetric.objects.get(run=run, name="loss").count == 2
    # The end is a status move like any other: its event is there (and its alerts).
    assert RunEvent.objects.filter(run=run, kind="status", new=Status.COMPLETED).exists()


def test_a_run_created_late_starts_when_its_client_started_it(api_client, workspace):
    response = api_client.post_json(
        URL, {"experiment": "mnist", "runId": RUN_ID, "startedSecondsAgo": 60}
    )
    assert response.json()["status"] == "Running"
    run = Run.objects.get(pk=RUN_ID)
    assert timezone.now() - run.started > timedelta(seconds=59)
    assert run.created == run.started
    assert timezone.now() - run.heartbeat < timedelta(seconds=30)


def test_the_same_request_sent_again_is_a_409_and_stores_nothing_twice(api_client, workspace):
    body = {"experiment": "mnist", "runId": RUN_ID, "metrics": POINTS, "complete": True}
    assert api_client.post_json(URL, body).status_code == 201
    assert_error(api_client.post_json(URL, body), 409, "Conflict", f"run {RUN_ID} exists")
    assert LatestMetric.objects.get(run_id=RUN_ID, name="loss").count == 2
    assert MetricBatch.objects.filter(run_id=RUN_ID).count() == 1


def test_an_id_taken_in_another_workspace_is_a_409_too(api_client, workspace):
    other = ExperimentFactory(workspace=WorkspaceFactory(slug="elsewhere"), name="mnist")
    RunFactory(experiment=other, id=RUN_ID)
    response = api_client.post_json(URL, {"experiment": "mnist", "runId": RUN_ID})
    assert_error(response, 409, "Conflict", "exists")
    assert Run.objects.get(pk=RUN_ID).experiment == other


def test_bad_points_store_no_run_at_all(api_client, workspace):
    bad = {"series": [{"name": "loss", "values": [1.0, 2.0], "steps": [0]}]}
    body = {"experiment": "mnist", "runId": RUN_ID, "metrics": bad, "complete": True}
    assert_error(api_client.post_json(URL, body), 400, "ValidationError", "1 steps for 2 values")
    assert not Run.objects.filter(pk=RUN_ID).exists()


@pytest.mark.parametrize(
    ("extra", "code", "fragment"),
    [
        ({"runId": "mnist_1_abc"}, "ValidationError", "<experiment>_<seconds>_<8 hex digits"),
        ({"runId": "other_1796000000_01234abc"}, "ValidationError", "'mnist'"),
        ({"runId": "mnist_1796000000_01234ABC"}, "ValidationError", "8 hex digits"),
        ({"runId": "mnist_1796000000_01234abc_1"}, "ValidationError", "8 hex"),
        # All decimal: it could be a child's id (`<parent>_<n>`).
        ({"runId": "mnist_1796000000_01234567"}, "ValidationError", "one of them a-f"),
        ({"runId": "x" * 256}, "BadRequest", "body.runId"),
        ({"startedSecondsAgo": -1}, "BadRequest", "body.startedSecondsAgo"),
        ({"startedSecondsAgo": 31 * 86_400}, "BadRequest", "body.startedSecondsAgo"),
        ({"startedSecondsAgo": "soon"}, "BadRequest", "body.startedSecondsAgo"),
        ({"startedSecondsAgo": 1, "status": "Queued"}, "ValidationError", "not Queued"),
        (
            {"startedSecondsAgo": 1, "startTimeUtc": "2026-01-01T00:00:00Z"},
            "ValidationError",
            "does not go with startTimeUtc",
        ),
        ({"complete": True, "status": "Queued"}, "ValidationError", "complete is for a run"),
        (
            {
                "complete": True,
                "status": "Completed",
                "startTimeUtc": "2026-01-01T00:00:00Z",
                "endTimeUtc": "2026-01-01T01:00:00Z",
            },
            "ValidationError",
            "complete is for a run created Running",
        ),
        ({"complete": "maybe"}, "BadRequest", "body.complete"),
    ],
)
def test_bad_creates_are_a_400_that_says_why(api_client, workspace, extra, code, fragment):
    response = api_client.post_json(URL, {"experiment": "mnist", **extra})
    assert_error(response, 400, code, fragment)
    assert not Run.objects.exists()


def test_one_request_costs_a_bounded_number_of_queries(
    api_client, experiment, django_assert_max_num_queries
):
    series = [{"name": f"m{i}", "values": [float(s) for s in range(100)]} for i in range(3)]
    body = {
        "experiment": "mnist",
        "runId": RUN_ID,
        "startedSecondsAgo": 0.01,
        "metrics": {"key": "q", "series": series},
        "complete": True,
    }
    # Token (and its last use, written once a minute), membership, experiment, the run,
    # the batch's key, latest values, chunks, new latest values, the status move (read,
    # write, event, alert rules) and the document's parts, with BEGIN and COMMIT (no
    # savepoints); PostgreSQL locks the run too.
    with django_assert_max_num_queries(17):
        response = api_client.post_json(URL, body)
    assert response.json()["metrics"] == {"m0": 99.0, "m1": 99.0, "m2": 99.0}
