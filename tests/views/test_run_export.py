"""The run list exported as CSV: same state, every selected run, its columns."""

import csv
import io
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.models import LatestMetric
from runs.status import Status
from tests.factories import ExperimentFactory, PropertyFactory, RunFactory, TagFactory


def export(client, workspace, experiment=None, **params):
    if experiment:
        url = reverse("runs:experiment-runs-csv", args=[workspace.slug, experiment])
    else:
        url = reverse("runs:run-list-csv", args=[workspace.slug])
    return client.get(url + "?" + urlencode(params, doseq=True))


def rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def runs(workspace):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    other = ExperimentFactory(workspace=workspace, name="cifar")
    a = RunFactory(
        experiment=exp,
        status=Status.COMPLETED,
        display_name="a, with comma",
        created=datetime(2026, 1, 1, tzinfo=UTC),
        description="# Goal\nbeat it",
    )
    b = RunFactory(experiment=other, status=Status.FAILED, created=datetime(2026, 1, 2, tzinfo=UTC))
    child = RunFactory(
        experiment=exp, parent=a, status=Status.FAILED, created=datetime(2026, 1, 3, tzinfo=UTC)
    )
    TagFactory(run=a, key="quality", value="great")
    TagFactory(run=a, key="look", value=None)
    PropertyFactory(run=a, key="lr", value="0.1")
    LatestMetric.objects.create(run=a, name="acc", value=0.93, step=9, time=timezone.now())
    return {"a": a, "b": b, "child": child}


def test_default_export_is_the_top_level_runs_newest_first(reader_client, workspace, runs):
    response = export(reader_client, workspace)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="team-runs.csv"' in response["Content-Disposition"]
    got = rows(response)
    assert [r["runId"] for r in got] == [runs["b"].id, runs["a"].id]
    a = got[1]
    assert a["displayName"] == "a, with comma"
    assert a["status"] == "Completed"
    assert a["tags"] == "look; quality=great"
    assert a["description"] == "Goal"
    assert a["createdUtc"] == "2026-01-01T00:00:00Z"


def test_a_condition_exports_every_match_children_included(reader_client, workspace, runs):
    got = rows(export(reader_client, workspace, status="Failed"))
    assert [(r["runId"], r["parentRunId"]) for r in got] == [
        (runs["child"].id, runs["a"].id),
        (runs["b"].id, ""),
    ]


def test_chosen_columns_and_sort_are_kept(reader_client, workspace, runs):
    response = export(
        reader_client, workspace, cols="id,metrics.acc,properties.lr,tags.quality", sort="name"
    )
    got = rows(response)
    assert list(got[0]) == [
        "runId",
        "displayName",
        "parentRunId",
        "metrics.acc",
        "properties.lr",
        "tags.quality",
    ]
    by_id = {r["runId"]: r for r in got}
    assert by_id[runs["a"].id]["metrics.acc"] == "0.93"
    assert by_id[runs["a"].id]["properties.lr"] == "0.1"
    assert by_id[runs["b"].id]["metrics.acc"] == ""


def test_experiment_export_lists_only_its_runs(reader_client, workspace, runs):
    response = export(reader_client, workspace, experiment="cifar")
    assert 'filename="team-cifar.csv"' in response["Content-Disposition"]
    assert [r["runId"] for r in rows(response)] == [runs["b"].id]


@pytest.mark.parametrize(
    "params",
    [{"sort": "nope"}, {"filter": "status ="}, {"cols": "id,password"}, {"page": "x"}],
)
def test_bad_state_is_400_with_a_message(reader_client, workspace, runs, params):
    response = export(reader_client, workspace, **params)
    assert response.status_code == 400
    assert response.content.startswith(b"Bad list parameters: ")


def test_outsiders_get_404(outsider_client, workspace, runs):
    assert export(outsider_client, workspace).status_code == 404
    assert export(outsider_client, workspace, experiment="mnist").status_code == 404


def test_unknown_experiment_is_404(reader_client, workspace, runs):
    assert export(reader_client, workspace, experiment="nope").status_code == 404


def test_queries_grow_per_thousand_runs_not_per_run(
    reader_client, workspace, django_assert_max_num_queries
):
    exp = ExperimentFactory(workspace=workspace, name="many")
    RunFactory.create_batch(60, experiment=exp)
    # session, user, membership, ids, runs, tags, values
    with django_assert_max_num_queries(8):
        got = rows(export(reader_client, workspace, cols="id,status,metrics.acc"))
    assert len(got) == 60


# --- formula injection (OWASP "CSV Injection") ----------------------------------------

FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+2", "-2+3", "@SUM(1,2)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("text", FORMULAS)
def test_cells_a_spreadsheet_would_run_are_neutralised(reader_client, workspace, text):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    run = RunFactory(experiment=exp, display_name=text, description=f"{text} more")
    TagFactory(run=run, key="note", value=text)
    PropertyFactory(run=run, key="cmd", value=text)
    LatestMetric.objects.create(run=run, name="delta", value=-0.5, step=1, time=timezone.now())
    cols = "id,tags,description,tags.note,properties.cmd,metrics.delta"
    (row,) = rows(export(reader_client, workspace, cols=cols))
    for column in ("displayName", "tags.note", "properties.cmd"):
        assert row[column] == "'" + text, column
    # The description's first line is stripped of blanks first.
    assert row["description"] == ("'" + text if text == text.strip() else text.strip()) + " more"
    assert row["tags"] == f"note={text}"  # starts with the key: nothing to run
    # Numbers stay numbers.
    assert row["metrics.delta"] == "-0.5"


def test_a_text_metric_exports_its_latest_text(reader_client, workspace, runs):
    LatestMetric.objects.create(
        run=runs["a"], name="message", value=None, text="done", step=1, time=timezone.now()
    )
    exported = rows(export(reader_client, workspace, cols="id,metrics.message,metrics.acc"))
    by_id = {r["runId"]: r for r in exported}
    assert by_id[runs["a"].id]["metrics.message"] == "done"
    assert by_id[runs["a"].id]["metrics.acc"] == "0.93"
