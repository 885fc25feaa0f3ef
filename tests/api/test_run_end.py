"""A run's end (complete, fail) may carry its last metric points: stored first, in the
same transaction, so a short run costs two requests (create, end)."""

import pytest

from runs.lifecycle import Status
from runs.models import LatestMetric, MetricBatch, Run
from tests.api.helpers import assert_error, run_url
from tests.factories import RunFactory

LAST = {"key": "end-1", "series": [{"name": "loss", "values": [0.5, 0.25], "steps": [0, 1]}]}


def test_complete_stores_the_last_points_then_completes(api_client, run):
    doc = api_client.post_json(run_url(run, "/complete"), {"metrics": LAST}).json()
    assert doc["status"] == "Completed"
    # The document is read after the points: it shows them.
    assert doc["metrics"] == {"loss": 0.25}
    assert LatestMetric.objects.get(run=run, name="loss").count == 2


def test_fail_stores_the_last_points_with_the_error(api_client, run):
    body = {"errorCode": "NaNLoss", "message": "diverged", "metrics": LAST}
    doc = api_client.post_json(run_url(run, "/fail"), body).json()
    assert doc["status"] == "Failed"
    assert doc["error"] == {"code": "NaNLoss", "message": "diverged"}
    assert doc["metrics"] == {"loss": 0.25}


def test_an_end_sent_again_stores_its_points_once(api_client, run):
    url = run_url(run, "/complete")
    api_client.post_json(url, {"metrics": LAST})
    # The answer was lost; the SDK sends the same request again.
    response = api_client.post_json(url, {"metrics": LAST})
    assert_error(response, 409, "InvalidTransition", "from Completed to Completed")
    assert LatestMetric.objects.get(run=run, name="loss").count == 2
    assert MetricBatch.objects.filter(run=run).count() == 1


def test_a_refused_end_keeps_the_points(api_client, experiment):
    run = RunFactory(experiment=experiment, status=Status.CANCELED)
    response = api_client.post_json(run_url(run, "/complete"), {"metrics": LAST})
    assert_error(response, 409, "InvalidTransition", "from Canceled to Completed")
    # What the process logged is kept, as a batch of its own would have been.
    assert LatestMetric.objects.get(run=run, name="loss").count == 2
    assert Run.objects.get(pk=run.pk).status == Status.CANCELED


@pytest.mark.parametrize(
    ("metrics", "code", "fragment"),
    [
        (
            {"series": [{"name": "loss", "values": [1.0, 2.0], "steps": [0]}]},
            "ValidationError",
            "1 steps for 2 values",
        ),
        ({"series": [{"name": "", "values": [1.0]}]}, "ValidationError", "metric keys"),
        ({"series": "loss"}, "BadRequest", "body.metrics.series"),
        ({"key": "k" * 101, "series": []}, "BadRequest", "body.metrics.key"),
    ],
)
def test_bad_last_points_are_a_400_and_the_run_goes_on(api_client, run, metrics, code, fragment):
    response = api_client.post_json(run_url(run, "/complete"), {"metrics": metrics})
    assert_error(response, 400, code, fragment)
    assert Run.objects.get(pk=run.pk).status == run.status
    assert not LatestMetric.objects.filter(run=run).exists()


def test_an_end_without_a_body_still_completes(api_client, run):
    assert api_client.post(run_url(run, "/complete")).json()["status"] == "Completed"


def test_an_end_with_points_costs_a_bounded_number_of_queries(
    api_client, run, django_assert_max_num_queries
):
    series = [{"name": f"m{i}", "values": [float(s) for s in range(100)]} for i in range(3)]
    # Token (and its last use, written once a minute), membership, the run, the batch's
    # key, latest values, chunks, new latest values, the status move (read, write, event,
    # alert rules) and the document's parts, with the transaction's BEGIN and COMMIT (no
    # savepoints); PostgreSQL locks the run too.
    with django_assert_max_num_queries(16):
        response = api_client.post_json(
            run_url(run, "/complete"), {"metrics": {"key": "q", "series": series}}
        )
    assert response.json()["metrics"] == {"m0": 99.0, "m1": 99.0, "m2": 99.0}
