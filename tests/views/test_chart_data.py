"""Chart data endpoints: series (downsampled, one query), latest values, and metric CSV."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import random
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from runs import services
from runs.models import Run
from runs.selectors.compare import MAX_COMPARE_RUNS
from runs.views.chart_data import IsoTimes, encode_series
from tests.factories import ExperimentFactory, RunFactory, WorkspaceFactory


@pytest.fixture
def experiment(workspace):
    return ExperimentFactory(workspace=workspace, name="sweep")


def log(run: Run, name: str, values: list[float], steps: list[int] | None = None, times=None):
    services.metric_log_batch(
        run=run, series=[services.SeriesIn(name=name, values=values, steps=steps, times=times)]
    )


def make_run(experiment, name="", **metrics) -> Run:
    run = RunFactory(experiment=experiment, display_name=name)
    for metric, values in metrics.items():
        log(run, metric, values)
    return run


def series_url(workspace, ids, **params) -> str:
    url = reverse("runs:chart-series", args=[workspace.slug])
    params = {"runs": ",".join(ids), **params}
    return url + "?" + "&".join(f"{k}={v}" for k, v in params.items())


def values_url(workspace, ids) -> str:
    return reverse("runs:chart-values", args=[workspace.slug]) + "?runs=" + ",".join(ids)


def csv_url(workspace, run, name) -> str:
    return reverse("runs:metric-csv", args=[workspace.slug, run.pk, name])


# -- series.json ------------------------------------------------------------------------


def test_series_of_several_runs_in_the_order_asked(reader_client, workspace, experiment):
    a = make_run(experiment, "first", loss=[3.0, 2.0, 1.0])
    b = make_run(experiment, "", loss=[5.0, 4.0])
    c = make_run(experiment, "no loss", acc=[0.5])
    response = reader_client.get(series_url(workspace, [b.pk, a.pk, c.pk], metric="loss"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "runs": [
            # Without a display name, the id stands in.
            {"runId": b.pk, "displayName": b.pk, "total": 2, "steps": [0, 1], "values": [5, 4]},
            {
                "runId": a.pk,
                "displayName": "first",
                "total": 3,
                "steps": [0, 1, 2],
                "values": [3, 2, 1],
            },
            {"runId": c.pk, "displayName": "no loss", "total": 0, "steps": [], "values": []},
        ]
    }


def test_nan_and_infinities_become_null(reader_client, workspace, experiment):
    run = make_run(experiment, loss=[1.5, math.nan, math.inf, -math.inf, -2.5e-12, 1e300])
    response = reader_client.get(series_url(workspace, [run.pk], metric="loss"))
    assert response.json()["runs"][0]["values"] == [1.5, None, None, None, -2.5e-12, 1e300]


def test_values_carry_seven_significant_digits(reader_client, workspace, experiment):
    run = make_run(experiment, loss=[1 / 3, 123456789.0, -0.000123456789])
    response = reader_client.get(series_url(workspace, [run.pk], metric="loss"))
    assert response.json()["runs"][0]["values"] == [0.3333333, 123456800.0, -0.0001234568]


def test_metric_names_with_slashes_and_spaces(reader_client, workspace, experiment):
    run = RunFactory(experiment=experiment)
    log(run, "val/top 1", [0.25])
    response = reader_client.get(series_url(workspace, [run.pk], metric="val/top%201"))
    assert response.json()["runs"][0]["values"] == [0.25]


def test_long_series_are_downsampled_keeping_endpoints_and_extremes(
    reader_client, workspace, experiment
):
    n = 25_000
    values = [math.sin(i / 300) for i in range(n)]
    values[12_345] = 40.0
    values[20_001] = -40.0
    run = RunFactory(experiment=experiment)
    log(run, "loss", values, steps=[10 * i for i in range(n)])
    for points, expected_max in [(None, 2000), (500, 500), (10, 10)]:
        params = {"metric": "loss"} if points is None else {"metric": "loss", "points": points}
        series = reader_client.get(series_url(workspace, [run.pk], **params)).json()["runs"][0]
        assert series["total"] == n
        assert len(series["steps"]) == len(series["values"]) <= expected_max
        assert series["steps"][0] == 0
        assert series["steps"][-1] == 10 * (n - 1)
        assert series["steps"] == sorted(series["steps"])
        assert max(series["values"]) == 40.0
        assert series["steps"][series["values"].index(40.0)] == 123_450
        assert min(series["values"]) == -40.0


def test_every_line_is_bounded_whatever_the_number_of_runs(reader_client, workspace, experiment):
    runs = [make_run(experiment, loss=[float(i % 97) for i in range(3000)]) for _ in range(3)]
    body = reader_client.get(series_url(workspace, [r.pk for r in runs], metric="loss", points=100))
    for series in body.json()["runs"]:
        assert len(series["values"]) <= 100
        assert series["total"] == 3000


def test_a_step_range_limits_the_points(reader_client, workspace, experiment):
    run = RunFactory(experiment=experiment)
    log(run, "loss", [float(i) for i in range(5000)])
    series = reader_client.get(
        series_url(workspace, [run.pk], metric="loss", start=1500, end=1509)
    ).json()["runs"][0]
    assert series["steps"] == list(range(1500, 1510))
    assert series["total"] == 10


def test_responses_are_compressed_for_browsers(reader_client, workspace, experiment):
    run = make_run(experiment, loss=[i / 7 for i in range(3000)])
    response = reader_client.get(
        series_url(workspace, [run.pk], metric="loss"), headers={"Accept-Encoding": "gzip"}
    )
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert len(json.loads(gzip.decompress(response.content))["runs"][0]["values"]) == 2000


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("metric=loss", "name the runs to compare"),
        ("runs=&metric=loss", "name the runs to compare"),
        ("runs=,,&metric=loss", "name the runs to compare"),
        ("runs=RUN", "metric: This field is required."),
        ("runs=RUN&metric=", "metric: This field is required."),
        ("runs=RUN&metric=" + "m" * 256, "at most 255 characters"),
        ("runs=RUN&metric=a%01b", "control character"),
        ("runs=RUN&metric=loss&points=0", "points must be a whole number from 10 to 10,000"),
        ("runs=RUN&metric=loss&points=-1", "points must be a whole number from 10 to 10,000"),
        ("runs=RUN&metric=loss&points=9", "points must be a whole number from 10 to 10,000"),
        ("runs=RUN&metric=loss&points=x", "points must be a whole number from 10 to 10,000"),
        ("runs=RUN&metric=loss&points=1.5", "points must be a whole number from 10 to 10,000"),
        (
            "runs=RUN&metric=loss&points=1000000000",
            "points must be a whole number from 10 to 10,000",
        ),
        ("runs=RUN&metric=loss&start=x", "start: Enter a whole number."),
        ("runs=RUN&metric=loss&start=5&end=4", "start must not be after end"),
        ("runs=RUN&metric=loss&end=99999999999999999999", "end: Ensure this value is less than"),
    ],
)
def test_bad_series_input_gets_a_message_not_a_500(
    reader_client, workspace, experiment, query, message
):
    run = make_run(experiment, loss=[1.0])
    url = reverse("runs:chart-series", args=[workspace.slug]) + "?" + query.replace("RUN", run.pk)
    response = reader_client.get(url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert message in error["message"]


def test_more_runs_than_the_limit_are_refused(reader_client, workspace):
    ids = [f"run{n}" for n in range(MAX_COMPARE_RUNS + 1)]
    response = reader_client.get(series_url(workspace, ids, metric="loss"))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "runs: 101 runs asked for; at most 100 runs can be compared at once"
    )


def test_unknown_and_foreign_runs_are_named(reader_client, workspace, experiment):
    run = make_run(experiment, loss=[1.0])
    foreign = RunFactory(experiment__workspace=WorkspaceFactory(slug="elsewhere"))
    log(foreign, "loss", [1.0])
    for url in (
        series_url(workspace, [run.pk, "gone", foreign.pk], metric="loss"),
        values_url(workspace, [run.pk, "gone", foreign.pk]),
    ):
        response = reader_client.get(url)
        assert response.status_code == 400
        assert response.json() == {
            "error": {
                "code": "UnknownRuns",
                "message": f"gone, {foreign.pk} are not runs of team",
                "runIds": ["gone", foreign.pk],
            }
        }


def test_a_metric_no_run_has_gives_empty_lines(reader_client, workspace, experiment):
    run = make_run(experiment, loss=[1.0])
    response = reader_client.get(series_url(workspace, [run.pk], metric="nothing"))
    assert response.status_code == 200
    assert response.json()["runs"][0]["steps"] == []


# -- permissions --------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["reader_client", "contributor_client", "owner_client"])
def test_members_get_the_data(request, workspace, experiment, client_name):
    client = request.getfixturevalue(client_name)
    run = make_run(experiment, loss=[1.0, 2.0])
    assert client.get(series_url(workspace, [run.pk], metric="loss")).status_code == 200
    assert client.get(values_url(workspace, [run.pk])).status_code == 200
    assert client.get(csv_url(workspace, run, "loss")).status_code == 200


def test_outsiders_get_404_everywhere(outsider_client, workspace, experiment):
    run = make_run(experiment, loss=[1.0, 2.0])
    assert outsider_client.get(series_url(workspace, [run.pk], metric="loss")).status_code == 404
    assert outsider_client.get(values_url(workspace, [run.pk])).status_code == 404
    assert outsider_client.get(csv_url(workspace, run, "loss")).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, workspace, experiment):
    run = make_run(experiment, loss=[1.0])
    response = client.get(series_url(workspace, [run.pk], metric="loss"))
    assert response.status_code == 302


# -- queries ------------------------------------------------------------------------------


def test_series_queries_do_not_grow_with_the_runs(
    reader_client, workspace, experiment, django_assert_max_num_queries
):
    # Each run has three chunks (2,500 points): one query reads every chunk of every run.
    def runs(n):
        return [make_run(experiment, loss=[float(i) for i in range(2500)]) for _ in range(n)]

    few = runs(2)
    reader_client.get(series_url(workspace, [r.pk for r in few], metric="loss"))
    # session, user, membership, runs, chunks
    with django_assert_max_num_queries(5):
        reader_client.get(series_url(workspace, [r.pk for r in few], metric="loss"))
    many = few + runs(18)
    with django_assert_max_num_queries(5):
        response = reader_client.get(series_url(workspace, [r.pk for r in many], metric="loss"))
    assert [s["total"] for s in response.json()["runs"]] == [2500] * 20


def test_values_queries_do_not_grow_with_the_runs(
    reader_client, workspace, experiment, django_assert_max_num_queries
):
    few = [make_run(experiment, loss=[1.0]) for _ in range(2)]
    reader_client.get(values_url(workspace, [r.pk for r in few]))
    # session, user, membership, runs, tags, properties, latest metrics
    with django_assert_max_num_queries(7):
        reader_client.get(values_url(workspace, [r.pk for r in few]))
    many = few + [make_run(experiment, loss=[1.0]) for _ in range(18)]
    with django_assert_max_num_queries(7):
        response = reader_client.get(values_url(workspace, [r.pk for r in many]))
    assert len(response.json()["runs"]) == 20


# -- values.json --------------------------------------------------------------------------


def test_values_give_latest_metrics_and_numeric_properties(reader_client, workspace, experiment):
    run = make_run(experiment, "a", loss=[2.0, 1.0], broken=[1.0, math.nan])
    services.run_add_properties(
        run=run, properties={"lr": "3e-4", "layers": " 12 ", "opt": "adam", "x": "nan"}
    )
    response = reader_client.get(values_url(workspace, [run.pk]))
    assert response.json() == {
        "runs": [
            {
                "runId": run.pk,
                "displayName": "a",
                "status": run.status,
                "metrics": {"broken": None, "loss": 1.0},
                "properties": {"layers": 12.0, "lr": 0.0003},
            }
        ]
    }


def test_values_need_runs(reader_client, workspace):
    response = reader_client.get(reverse("runs:chart-values", args=[workspace.slug]))
    assert response.status_code == 400
    assert "name the runs to compare" in response.json()["error"]["message"]


# -- metric CSV ---------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_series_downloads_whole_as_csv(reader_client, workspace, experiment):
    run = RunFactory(experiment=experiment)
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
    values = [0.1 * i for i in range(2500)]
    values[7] = math.nan
    log(run, "val/loss", values, steps=list(range(0, 5000, 2)), times=[t0 + i for i in range(2500)])
    response = reader_client.get(csv_url(workspace, run, "val/loss"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{run.pk}-val_loss.csv"'
    rows = read_csv(response)
    assert rows[0] == ["step", "value", "time"]
    assert len(rows) == 2501
    assert rows[1] == ["0", "0.0", "2026-03-01T12:00:00+00:00"]
    assert rows[8] == ["14", "NaN", "2026-03-01T12:00:07+00:00"]
    # Every digit: the CSV is the raw series, not the chart's.
    assert rows[4][1] == repr(0.1 * 3)
    assert rows[-1][0] == "4998"


def test_a_text_series_downloads_as_csv_quoted_and_never_a_formula(
    reader_client, workspace, experiment
):
    run = RunFactory(experiment=experiment)
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
    values = ["Loading data", '=HYPERLINK("http://x")', 'a, "quoted"\nline', True, "-1"]
    log(run, "status", values, times=[t0 + i for i in range(len(values))])
    response = reader_client.get(csv_url(workspace, run, "status"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{run.pk}-status.csv"'
    rows = read_csv(response)
    assert rows == [
        ["step", "value", "time"],
        ["0", "Loading data", "2026-03-01T12:00:00+00:00"],
        ["1", '\'=HYPERLINK("http://x")', "2026-03-01T12:00:01+00:00"],
        ["2", 'a, "quoted"\nline', "2026-03-01T12:00:02+00:00"],
        ["3", "true", "2026-03-01T12:00:03+00:00"],
        ["4", "'-1", "2026-03-01T12:00:04+00:00"],
    ]


def test_a_long_text_series_streams_whole_in_logged_order(reader_client, workspace, experiment):
    run = RunFactory(experiment=experiment)
    log(run, "phase", [f"epoch {i}" for i in range(2500)], steps=list(range(2500, 0, -1)))
    rows = read_csv(reader_client.get(csv_url(workspace, run, "phase")))
    assert len(rows) == 2501
    assert rows[1][:2] == ["2500", "epoch 0"]
    assert rows[-1][:2] == ["1", "epoch 2499"]


def test_the_run_page_links_each_series_csv(reader_client, workspace, experiment):
    run = make_run(experiment, loss=[1.0, 0.5])
    log(run, "eval/phase", ["warmup"])
    page = reader_client.get(reverse("runs:run-detail", args=[workspace.slug, run.pk]))
    html = page.content.decode()
    assert f'href="{csv_url(workspace, run, "loss")}" download' in html
    assert f'href="{csv_url(workspace, run, "eval/phase")}" download' in html


def test_csv_of_a_missing_metric_or_run_is_404(reader_client, workspace, experiment):
    run = make_run(experiment, loss=[1.0])
    response = reader_client.get(csv_url(workspace, run, "nope"))
    assert response.status_code == 404
    assert response.content.decode() == f"Run {run.pk} has no metric 'nope'."
    foreign = RunFactory(experiment__workspace=WorkspaceFactory(slug="elsewhere"))
    log(foreign, "loss", [1.0])
    assert reader_client.get(csv_url(workspace, foreign, "loss")).status_code == 404
    url = reverse("runs:metric-csv", args=[workspace.slug, "gone", "loss"])
    assert reader_client.get(url).status_code == 404


# -- encoding -----------------------------------------------------------------------------


def test_encoded_series_is_valid_json():
    body = encode_series(
        [
            {
                "runId": 'a"b',
                "displayName": "ü <b>",
                "total": 4,
                "steps": [0, 1, 2, 3],
                "values": [1e-300, -1e20, math.nan, 0.0],
            }
        ]
    )
    assert json.loads(body) == {
        "runs": [
            {
                "runId": 'a"b',
                "displayName": "ü <b>",
                "total": 4,
                "steps": [0, 1, 2, 3],
                "values": [1e-300, -1e20, None, 0],
            }
        ]
    }


def test_csv_times_are_written_as_datetime_writes_them():
    rng = random.Random(3)
    stamps = IsoTimes()
    times = [0.0, 1.0, 1_764_340_000.0, 1_764_340_000.5, 1_764_340_000.9999995]
    times += [1_764_340_000.0000005, 1_764_340_000.0000015, 1_764_340_000.9999994]
    times += [rng.uniform(0, 4e9) for _ in range(2000)]
    # Many points a second, as a training loop logs them.
    times += [1_764_340_000 + k / 997 for k in range(3000)]
    for when in times:
        assert stamps.text(when) == datetime.fromtimestamp(when, tz=UTC).isoformat(), when
