"""Metric batches (columnar, idempotent, NaN-tolerant), latest values, series."""

import json
import math

import pytest

from runs import services
from runs.exceptions import PayloadTooLarge
from runs.models import LatestMetric, MetricBatch
from tests.api.helpers import assert_error, run_url
from tests.factories import ExperimentFactory, RunFactory


def post_raw(client, run, body: dict):
    """Send the batch as Python's json writes it (NaN and Infinity included)."""
    return client.post(run_url(run, "/metrics"), json.dumps(body), content_type="application/json")


def series(client, run, qs: str) -> dict:
    response = client.get(run_url(run, f"/metrics/series?{qs}"))
    assert response.status_code == 200, response.content
    return response.json()


def test_batch_is_stored_column_by_column(api_client, run):
    body = {
        "key": "batch-1",
        "series": [
            {"name": "loss", "values": [0.9, 0.5, 0.25], "steps": [0, 10, 20]},
            {"name": "acc", "values": [0.5, 0.75], "times": [1_764_340_000.0, 1_764_340_001.5]},
        ],
    }
    response = api_client.post_json(run_url(run, "/metrics"), body)
    assert response.json() == {"stored": 5, "duplicate": False}
    loss = series(api_client, run, "name=loss")
    assert loss["name"] == "loss"
    assert loss["steps"] == [0, 10, 20]
    assert loss["values"] == [0.9, 0.5, 0.25]
    assert series(api_client, run, "name=acc")["times"] == [1_764_340_000.0, 1_764_340_001.5]


def test_points_without_steps_continue_the_series(api_client, run):
    url = run_url(run, "/metrics")
    api_client.post_json(url, {"series": [{"name": "loss", "values": [3, 2]}]})
    api_client.post_json(url, {"series": [{"name": "loss", "values": [1]}]})
    assert series(api_client, run, "name=loss")["steps"] == [0, 1, 2]


def test_a_batch_sent_twice_is_stored_once(api_client, run):
    body = {"key": "k-1", "series": [{"name": "loss", "values": [1.0, 2.0]}]}
    url = run_url(run, "/metrics")
    assert api_client.post_json(url, body).json() == {"stored": 2, "duplicate": False}
    assert api_client.post_json(url, body).json() == {"stored": 0, "duplicate": True}
    assert LatestMetric.objects.get(run=run, name="loss").count == 2
    assert MetricBatch.objects.filter(run=run).count() == 1


def test_batches_without_a_key_are_all_stored(api_client, run):
    body = {"series": [{"name": "loss", "values": [1.0]}]}
    api_client.post_json(run_url(run, "/metrics"), body)
    api_client.post_json(run_url(run, "/metrics"), body)
    assert LatestMetric.objects.get(run=run, name="loss").count == 2


def test_an_empty_batch_stores_nothing(api_client, run):
    assert api_client.post_json(run_url(run, "/metrics"), {"series": []}).json() == {
        "stored": 0,
        "duplicate": False,
    }


def test_nan_and_infinity_are_accepted_and_read_back_as_null(api_client, run):
    values = [1.0, math.nan, math.inf, -math.inf, 0.5, math.nan]
    response = post_raw(api_client, run, {"series": [{"name": "loss", "values": values}]})
    assert response.json() == {"stored": 6, "duplicate": False}
    got = series(api_client, run, "name=loss")
    assert got["values"] == [1.0, None, None, None, 0.5, None]
    latest = api_client.get(run_url(run, "/metrics")).json()["metrics"]["loss"]
    assert latest["value"] is None
    assert latest["step"] == 5


def test_a_ten_thousand_point_batch(api_client, run):
    n = 10_000
    body = {"key": "big", "series": [{"name": "loss", "values": [i / n for i in range(n)]}]}
    assert api_client.post_json(run_url(run, "/metrics"), body).json()["stored"] == n
    got = series(api_client, run, "name=loss&startStep=9990")
    assert got["steps"] == list(range(9990, n))


def test_more_than_200000_points_is_413(api_client, run):
    raw = '{"series": [{"name": "loss", "values": [' + ",".join(["0"] * 200_001) + "]}]}"
    response = api_client.post(run_url(run, "/metrics"), raw, content_type="application/json")
    assert_error(response, 413, "PayloadTooLarge", "200,001 points", "200,000")
    assert not LatestMetric.objects.exists()


def test_more_than_1000_series_is_413(api_client, run):
    body = {"series": [{"name": f"m{i}", "values": [1.0]} for i in range(1001)]}
    assert_error(api_client.post_json(run_url(run, "/metrics"), body), 413, "PayloadTooLarge")


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({}, "BadRequest", "body.series: Field required"),
        ({"series": {}}, "BadRequest", "body.series: Input should be a valid list"),
        ({"series": [{"values": [1]}]}, "BadRequest", "body.series.0.name: Field required"),
        ({"series": [{"name": "a"}]}, "BadRequest", "body.series.0.values: Field required"),
        (
            {"series": [{"name": "a", "values": [1, "x"]}]},
            "BadRequest",
            "body.series.0.values.1: Input should be a valid number",
        ),
        (
            {"series": [{"name": "a", "values": [{"x": 1.5}]}]},
            "BadRequest",
            "body.series.0.values.0: Input should be a valid number",
        ),
        ({"series": [{"name": "a", "values": [[1]]}]}, "BadRequest", "values.0"),
        ({"series": [{"name": "a", "values": ["x" * 4097]}]}, "ValidationError", "4,097"),
        ({"series": [{"name": "a", "values": [None]}]}, "BadRequest", "values.0"),
        ({"series": [{"name": "a", "values": 1.0}]}, "BadRequest", "body.series.0.values"),
        (
            {"series": [{"name": "a", "values": [1], "steps": [1.5]}]},
            "BadRequest",
            "body.series.0.steps.0: Input should be a valid integer",
        ),
        ({"series": [{"name": "a", "values": [1], "steps": ["1"]}]}, "BadRequest", "steps.0"),
        ({"series": [{"name": "a", "values": [1], "steps": [2**63]}]}, "BadRequest", "steps.0"),
        ({"series": [{"name": "a", "values": [1], "times": [-1]}]}, "BadRequest", "times.0"),
        ({"series": [{"name": "a", "values": [1], "times": [1e300]}]}, "BadRequest", "times.0"),
        ({"series": [{"name": "a", "values": [1], "times": ["now"]}]}, "BadRequest", "times.0"),
        (
            {"series": [{"name": "a", "values": [1, 2], "steps": [1]}]},
            "ValidationError",
            "1 steps for 2 values",
        ),
        (
            {"series": [{"name": "a", "values": [1], "times": [1.0, 2.0]}]},
            "ValidationError",
            "2 times for 1 values",
        ),
        ({"series": [{"name": "", "values": [1]}]}, "ValidationError", "metric keys"),
        ({"series": [{"name": "n" * 256, "values": [1]}]}, "ValidationError", "limit is 255"),
        ({"series": [{"name": 5, "values": [1]}]}, "BadRequest", "body.series.0.name"),
        ({"key": "k" * 101, "series": []}, "BadRequest", "body.key"),
        ({"key": 5, "series": []}, "BadRequest", "body.key"),
        ({"series": [{"name": "a", "values": [1], "unit": "s"}]}, "BadRequest", "unit: Extra"),
    ],
)
def test_bad_batches_store_nothing(api_client, run, body, code, fragment):
    assert_error(api_client.post_json(run_url(run, "/metrics"), body), 400, code, fragment)
    assert not LatestMetric.objects.exists()
    assert not MetricBatch.objects.exists()


@pytest.mark.parametrize("raw", ["NaN", "Infinity"])
def test_non_finite_steps_or_times_are_refused(api_client, run, raw):
    for column in ("steps", "times"):
        body = '{"series": [{"name": "a", "values": [1], "%s": [%s]}]}' % (column, raw)  # noqa: UP031
        response = api_client.post(run_url(run, "/metrics"), body, content_type="application/json")
        assert_error(response, 400, "BadRequest", f"{column}.0")


def test_latest_metrics(api_client, run):
    services.metric_log_batch(
        run=run,
        series=[
            services.SeriesIn(name="loss", values=[0.5, 0.25], steps=[1, 2], times=[10.0, 20.5]),
            services.SeriesIn(name="acc", values=[0.9]),
        ],
    )
    body = api_client.get(run_url(run, "/metrics")).json()
    assert list(body["metrics"]) == ["acc", "loss"]
    assert body["metrics"]["loss"] == {
        "value": 0.25,
        "kind": "number",
        "step": 2,
        "time": 20.5,
        "count": 2,
    }


def test_latest_metrics_of_a_run_without_any(api_client, run):
    assert api_client.get(run_url(run, "/metrics")).json() == {"metrics": {}}


def test_series_between_steps(api_client, run):
    services.metric_log_batch(run=run, series=[services.SeriesIn(name="loss", values=[0.0] * 50)])
    assert series(api_client, run, "name=loss&startStep=10&endStep=12")["steps"] == [10, 11, 12]
    assert series(api_client, run, "name=loss&endStep=1")["steps"] == [0, 1]
    assert series(api_client, run, "name=loss&startStep=100")["steps"] == []


def test_text_series_between_steps(api_client, run):
    words = [f"epoch {i}" for i in range(6)]
    services.metric_log_batch(run=run, series=[services.SeriesIn(name="message", values=words)])
    between = series(api_client, run, "name=message&startStep=2&endStep=3")
    assert (between["steps"], between["values"]) == ([2, 3], ["epoch 2", "epoch 3"])
    assert series(api_client, run, "name=message&startStep=4")["values"] == ["epoch 4", "epoch 5"]
    assert series(api_client, run, "name=message&startStep=100")["steps"] == []


def test_a_text_series_has_an_empty_line_among_several_runs(reader_api, run):
    services.metric_log_batch(run=run, series=[services.SeriesIn("message", ["Hi", "Bye"])])
    line = reader_api.get(f"/api/w/team/metrics/series?runs={run.id}&name=message").json()
    assert (line["series"][0]["steps"], line["series"][0]["total"]) == ([], 0)


@pytest.mark.parametrize(
    ("qs", "status", "code", "fragment"),
    [
        ("", 400, "BadRequest", "query.name: Field required"),
        ("name=loss&startStep=x", 400, "BadRequest", "query.startStep"),
        ("name=loss&endStep=1.5", 400, "BadRequest", "query.endStep"),
        ("name=loss&startStep=99999999999999999999", 400, "BadRequest", "query.startStep"),
        ("name=loss&startStep=5&endStep=4", 400, "BadRequest", "startStep 5 is after endStep 4"),
        ("name=nope", 404, "NotFound", "no metric 'nope'"),
    ],
)
def test_series_bad_input(api_client, run, qs, status, code, fragment):
    services.metric_log_batch(run=run, series=[services.SeriesIn(name="loss", values=[1.0])])
    response = api_client.get(run_url(run, f"/metrics/series?{qs}"))
    assert_error(response, status, code, fragment)


# ---- several runs in one request ------------------------------------------------------

BATCHES = "/api/w/team/metrics"


def test_the_points_of_several_runs_in_one_request(api_client, experiment):
    a, b = RunFactory(experiment=experiment), RunFactory(experiment=experiment)
    body = {
        "key": "sweep-1",
        "runs": [
            {"runId": a.id, "series": [{"name": "loss", "values": [0.9, 0.5]}]},
            {
                "runId": b.id,
                "series": [
                    {"name": "loss", "values": [0.8], "steps": [7]},
                    {"name": "acc", "values": [0.5], "times": [1_764_340_000.0]},
                ],
            },
        ],
    }
    assert api_client.post_json(BATCHES, body).json() == {"stored": 4, "duplicate": False}
    assert series(api_client, a, "name=loss")["steps"] == [0, 1]
    assert series(api_client, b, "name=loss") | {"times": None} == {
        "name": "loss",
        "steps": [7],
        "values": [0.8],
        "times": None,
    }
    assert series(api_client, b, "name=acc")["times"] == [1_764_340_000.0]
    # Sent again (its answer was lost): nothing more is stored, for either run.
    assert api_client.post_json(BATCHES, body).json() == {"stored": 0, "duplicate": True}
    assert LatestMetric.objects.get(run=a, name="loss").count == 2
    assert MetricBatch.objects.filter(key="sweep-1").count() == 2


def test_several_runs_store_all_or_nothing(api_client, experiment, other_workspace):
    a = RunFactory(experiment=experiment)
    foreign = RunFactory(experiment=ExperimentFactory(workspace=other_workspace))
    for stranger in (foreign.id, "nope"):
        body = {
            "key": f"k-{stranger}",
            "runs": [
                {"runId": a.id, "series": [{"name": "loss", "values": [1.0]}]},
                {"runId": stranger, "series": [{"name": "loss", "values": [1.0]}]},
            ],
        }
        assert_error(api_client.post_json(BATCHES, body), 404, "NotFound", repr(stranger))
    bad = {
        "runs": [
            {"runId": a.id, "series": [{"name": "loss", "values": [1.0]}]},
            {"runId": a.id, "series": [{"name": "acc", "values": [1.0]}]},
        ]
    }
    assert_error(api_client.post_json(BATCHES, bad), 400, "ValidationError", "twice")
    # One run's bad series refuses the whole request.
    bad = {
        "runs": [
            {"runId": a.id, "series": [{"name": "loss", "values": [1.0]}]},
            {"runId": RunFactory(experiment=experiment).id, "series": [{"name": "", "values": []}]},
        ]
    }
    assert_error(api_client.post_json(BATCHES, bad), 400, "ValidationError", "metric keys")
    assert not LatestMetric.objects.exists()
    assert not MetricBatch.objects.exists()


def test_a_key_stored_before_for_some_of_the_runs_only_is_a_409(api_client, experiment):
    a, b = RunFactory(experiment=experiment), RunFactory(experiment=experiment)
    points = {"series": [{"name": "loss", "values": [1.0]}]}
    api_client.post_json(run_url(a, "/metrics"), {"key": "k", **points})
    body = {"key": "k", "runs": [{"runId": a.id, **points}, {"runId": b.id, **points}]}
    response = api_client.post_json(BATCHES, body)
    assert_error(response, 409, "Conflict", "used before for 1 of these 2 runs only")
    assert not LatestMetric.objects.filter(run=b).exists()
    body["key"] = "k2"
    assert api_client.post_json(BATCHES, body).json() == {"stored": 2, "duplicate": False}


def test_several_runs_share_the_point_limit(api_client, experiment):
    a, b = RunFactory(experiment=experiment), RunFactory(experiment=experiment)
    half = ",".join(["0"] * 100_001)
    raw = (
        '{"runs": ['
        f'{{"runId": "{a.id}", "series": [{{"name": "loss", "values": [{half}]}}]}},'
        f'{{"runId": "{b.id}", "series": [{{"name": "loss", "values": [{half}]}}]}}]}}'
    )
    response = api_client.post(BATCHES, raw, content_type="application/json")
    assert_error(response, 413, "PayloadTooLarge", "200,002 points")
    assert not LatestMetric.objects.exists()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "body.runs: Field required"),
        ({"runs": []}, "body.runs"),
        ({"runs": [{"series": []}]}, "body.runs.0.runId: Field required"),
        ({"runs": [{"runId": "", "series": []}]}, "body.runs.0.runId"),
        ({"runs": [{"runId": "a_1", "series": [{"name": "a"}]}]}, "values: Field required"),
        ({"runs": [{"runId": "a_1", "series": [], "x": 1}]}, "x: Extra"),
        ({"runs": {"a_1": []}}, "body.runs: Input should be a valid list"),
    ],
)
def test_several_runs_bad_bodies(api_client, body, fragment):
    assert_error(api_client.post_json(BATCHES, body), 400, "BadRequest", fragment)


def test_several_runs_are_for_writers_and_members(reader_api, outsider_api, scoped_api, run):
    body = {"runs": [{"runId": run.id, "series": [{"name": "loss", "values": [1.0]}]}]}
    assert_error(reader_api.post_json(BATCHES, body), 403, "Forbidden")
    assert_error(outsider_api.post_json(BATCHES, body), 404, "NotFound")
    other = RunFactory(experiment=run.experiment)
    body["runs"].append({"runId": other.id, "series": [{"name": "loss", "values": [1.0]}]})
    # A run-scoped token reaches its own tree only.
    assert_error(scoped_api.post_json(BATCHES, body), 404, "NotFound", repr(other.id))
    assert not LatestMetric.objects.exists()


def test_more_than_1000_runs_in_one_request_is_refused(run):
    with pytest.raises(PayloadTooLarge, match="1001 runs in one batch; the limit is 1000"):
        services.metric_log_batches(batches=[(run, [])] * 1001)


# ---- several runs' series --------------------------------------------------------------

MANY = "/api/w/team/metrics/series"


@pytest.fixture
def two_runs(experiment):
    first, second = RunFactory(experiment=experiment), RunFactory(experiment=experiment)
    values = [1 / (i + 1) for i in range(5000)]
    values[100] = math.nan
    services.metric_log_batch(run=first, series=[services.SeriesIn("loss", values)])
    services.metric_log_batch(run=second, series=[services.SeriesIn("loss", [0.5, 0.25])])
    return first, second


def test_several_runs_series_downsampled_on_the_server(
    reader_api, two_runs, django_assert_max_num_queries
):
    first, second = two_runs
    # token (and its last-used time, once a minute), membership, the runs, their chunks
    with django_assert_max_num_queries(5):
        response = reader_api.get(f"{MANY}?runs={second.id},{first.id}&name=loss&maxPoints=100")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "loss"
    assert [s["runId"] for s in body["series"]] == [second.id, first.id]
    short, long = body["series"]
    assert (short["steps"], short["values"], short["total"]) == ([0, 1], [0.5, 0.25], 2)
    assert long["total"] == 5000
    assert len(long["steps"]) <= 100
    assert (long["steps"][0], long["steps"][-1]) == (0, 4999)
    assert long["values"][0] == 1.0


def test_several_runs_series_in_a_step_range(reader_api, two_runs):
    first, _ = two_runs
    body = reader_api.get(f"{MANY}?runs={first.id}&name=loss&startStep=10&endStep=19").json()
    assert body["series"][0]["steps"] == list(range(10, 20))
    assert body["series"][0]["total"] == 10


def test_a_run_without_the_metric_has_an_empty_line(reader_api, two_runs, experiment):
    bare = RunFactory(experiment=experiment)
    body = reader_api.get(f"{MANY}?runs={bare.id}&name=loss").json()
    assert body["series"] == [
        {
            "runId": bare.id,
            "displayName": bare.display_name or bare.id,
            "steps": [],
            "values": [],
            "total": 0,
        }
    ]


@pytest.mark.parametrize(
    ("qs", "status", "fragment"),
    [
        ("name=loss", 400, "runs"),
        ("runs=,,&name=loss", 400, "at least one run"),
        ("runs={first}", 400, "name"),
        ("runs={first}&name=loss&maxPoints=3", 400, "maxPoints"),
        ("runs={first}&name=loss&maxPoints=x", 400, "maxPoints"),
        ("runs={first}&name=loss&startStep=5&endStep=1", 400, "after endStep"),
        ("runs={many}&name=loss", 400, "the limit is 100"),
        ("runs={first},nope&name=loss", 404, "'nope'"),
        ("runs=secret_1_00000000&name=loss", 404, "secret_1_00000000"),
    ],
)
def test_several_runs_series_bad_input(reader_api, two_runs, other_workspace, qs, status, fragment):
    first, _ = two_runs
    many = ",".join(f"r{i}" for i in range(101))
    response = reader_api.get(f"{MANY}?" + qs.format(first=first.id, many=many))
    assert response.status_code == status, response.content
    assert fragment in response.json()["error"]["message"]


def test_several_runs_series_outsider_gets_404(outsider_api, two_runs):
    first, _ = two_runs
    assert outsider_api.get(f"{MANY}?runs={first.id}&name=loss").status_code == 404


def test_several_runs_series_within_a_run_scoped_token(scoped_api, run, two_runs):
    first, _ = two_runs
    assert scoped_api.get(f"{MANY}?runs={run.id}&name=loss").status_code == 200
    assert scoped_api.get(f"{MANY}?runs={first.id}&name=loss").status_code == 404
