"""Charts on a plain run list: "Add chart" puts them in the list's URL (`charts`), they draw
the matching runs of the page, links remove them, "Save view" keeps them; bad charts are a
400 with a message, whatever the URL says."""

from __future__ import annotations

import json
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.models import LatestMetric, SavedView
from runs.services import saved_views as view_services
from runs.status import Status
from tests.factories import ExperimentFactory, PropertyFactory, RunFactory

HX = {"HX-Request": "true"}
LINE = {"type": "line", "metric": "loss"}
BAR = {"type": "bar", "metric": "acc"}


def list_url(workspace, query: dict | list | None = None) -> str:
    url = reverse("runs:run-list", args=[workspace.slug])
    return url + ("?" + urlencode(query, doseq=True) if query else "")


def text(response) -> str:
    """The page as a reader sees it (entities decoded)."""
    return unescape(response.content.decode())


def charts_param(*charts: dict) -> str:
    return json.dumps(list(charts))


def add_chart(client, workspace, state: str, **fields):
    query = {"add_chart": "1", "state": state, **fields}
    return client.get(list_url(workspace, query))


@pytest.fixture
def runs(workspace):
    """Failed and completed runs of two experiments, with loss and acc, and a learning rate."""
    out = []
    for name in ("mnist", "cifar"):
        exp = ExperimentFactory(workspace=workspace, name=name)
        for i, status in enumerate((Status.FAILED, Status.COMPLETED)):
            run = RunFactory(experiment=exp, status=status)
            for metric, value in (("loss", 1.0 - i / 10), ("acc", 0.5 + i / 10)):
                LatestMetric.objects.create(
                    run=run, name=metric, value=value, step=1, time=timezone.now(), count=1
                )
            PropertyFactory(run=run, key="lr", value=str(0.1 * (i + 1)))
            out.append(run)
    return out


def test_add_chart_puts_the_chart_in_the_lists_url_and_keeps_its_state(
    reader_client, workspace, runs
):
    state = "?status=Failed&sort=-metrics.acc&cols=id,status,metrics.acc"
    response = add_chart(reader_client, workspace, state, type="line", metric="loss", logY="1")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == list_url(workspace)
    query = parse_qs(location.query)
    assert query["status"] == ["Failed"]
    assert query["sort"] == ["-metrics.acc"]
    assert query["cols"] == ["id,status,metrics.acc"]
    assert json.loads(query["charts"][0]) == [{"type": "line", "metric": "loss", "logY": True}]

    page = reader_client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "loss over steps" in html
    assert [c["type"] for c in page.context["charts_json"]] == ["line"]
    # The charts draw the matching runs of the page: the failed ones.
    failed = {r.id for r in runs if r.status == Status.FAILED}
    assert set(page.context["chart_runs"]) == failed


def test_a_second_chart_comes_after_the_first_and_each_has_a_removing_link(
    reader_client, workspace, runs
):
    state = "?" + urlencode({"q": "mnist", "charts": charts_param(LINE)})
    response = add_chart(
        reader_client, workspace, state, type="scatter", x="properties.lr", y="metrics.acc"
    )
    assert response.status_code == 302
    page = reader_client.get(response["Location"])
    charts = page.context["charts_json"]
    assert charts == [LINE, {"type": "scatter", "x": "properties.lr", "y": "metrics.acc"}]

    (_, _, label0, remove0), (_, _, label1, remove1) = page.context["charts"]
    assert label1 == "metrics.acc by properties.lr"
    after = reader_client.get(remove0)
    assert after.context["charts_json"] == [charts[1]]
    assert after.context["state"].q == "mnist"
    last = reader_client.get(after.context["charts"][0][3])
    assert last.context["charts_json"] == []
    assert "charts" not in urlsplit(after.context["charts"][0][3]).query


def test_add_chart_on_an_experiments_list_stays_on_it(reader_client, workspace, runs):
    url = reverse("runs:experiment-runs", args=[workspace.slug, "mnist"])
    response = reader_client.get(
        url + "?" + urlencode({"add_chart": "1", "state": "", "type": "bar", "metric": "acc"})
    )
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == url
    page = reader_client.get(response["Location"])
    assert {r.run.experiment_name for r in page.context["page"].rows} == {"mnist"}
    assert page.context["charts_json"] == [BAR]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "pie"}, "use one of line, bar, scatter, parallel"),
        ({"type": "line", "metric": ""}, "metric keys must be non-empty"),
        (
            {"type": "scatter", "x": "metrics.acc", "y": "lr"},
            "is not metrics.<name> or properties.<key>",
        ),
        ({"type": "parallel", "dimensions": "metrics.acc"}, "a list of 2 to 12"),
        ({"type": "bar", "metric": "acc", "title": "x" * 101}, "at most 100 characters"),
    ],
)
def test_a_bad_chart_is_a_400_with_the_list_it_came_from(
    reader_client, workspace, runs, fields, message
):
    state = "?status=Failed"
    response = add_chart(reader_client, workspace, state, **fields)
    assert response.status_code == 400
    assert message in response.context["chart_error"]
    assert message in text(response)
    # The list the form came from is still there, as it was.
    assert response.context["state"].statuses == ("Failed",)
    assert response.context["page"].rows


def test_add_chart_from_a_bad_list_state_says_what_is_wrong(reader_client, workspace, runs):
    response = add_chart(reader_client, workspace, "?status=Nope", type="bar", metric="acc")
    assert response.status_code == 400
    assert "'Nope' is not a status" in text(response)


def test_thirteen_charts_are_one_too_many(reader_client, workspace, runs):
    state = "?" + urlencode({"charts": charts_param(*[BAR] * 12)})
    response = add_chart(reader_client, workspace, state, type="line", metric="loss")
    assert response.status_code == 400
    assert "at most 12 charts, not 13" in response.context["chart_error"]


@pytest.mark.parametrize(
    ("charts", "message"),
    [
        ("{not json", "a JSON list of charts"),
        ("[" * 5000, "a JSON list of charts"),
        ('{"type": "line"}', "a list of chart specs"),
        ('[{"type": "line"}]', "a line chart needs a metric"),
        ('[{"type": "bar", "metric": "acc", "colour": "red"}]', "a bar chart has no 'colour'"),
        ('[{"type": "line", "metric": "loss", "smoothing": 2}]', "a number from 0 to 0.99"),
        ("[1]", "a chart is an object with a type"),
        ("x" * 9000, "at most 8000 characters"),
    ],
)
def test_a_bad_charts_parameter_is_a_400_never_a_500(
    reader_client, workspace, runs, charts, message
):
    for headers in ({}, HX):
        response = reader_client.get(list_url(workspace, {"charts": charts}), headers=headers)
        assert response.status_code == 400
        assert message in text(response)


def test_charts_are_canonical_in_the_url(reader_client, workspace, runs):
    spaced = '[ {"metric": "loss", "type": "line", "logY": false, "smoothing": 0} ]'
    response = reader_client.get(list_url(workspace, {"charts": spaced}), headers=HX)
    assert response.status_code == 200
    pushed = urlsplit(response["HX-Push-Url"])
    assert parse_qs(pushed.query)["charts"] == ['[{"type":"line","metric":"loss"}]']


def test_an_htmx_change_redraws_the_charts_for_the_new_page(reader_client, workspace, runs):
    url = list_url(workspace, {"charts": charts_param(BAR), "status": "Completed"})
    response = reader_client.get(url, headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="run-table"' in html
    assert 'id="view-charts" class="view-charts" hx-swap-oob="true"' in html
    completed = {r.id for r in runs if r.status == Status.COMPLETED}
    assert set(response.context["chart_runs"]) == completed
    # The charts do not ride along where they are not needed.
    for key in ("children_qs", "live_qs", "export_url"):
        assert "charts" not in response.context[key]
    # Every link of the list keeps them.
    assert "charts" in response.context["next_qs"]
    assert ("charts", '[{"type":"bar","metric":"acc"}]') in response.context["state_items"]


def test_a_list_without_charts_has_a_hidden_section_and_the_add_chart_form(
    reader_client, workspace, runs
):
    html = reader_client.get(list_url(workspace)).content.decode()
    assert '<section id="view-charts" class="view-charts" hidden' in html
    assert 'id="list-add-chart"' in html
    assert 'name="add_chart"' in html


def test_charts_cost_no_query(reader_client, workspace, runs, django_assert_num_queries):
    reader_client.get(list_url(workspace))  # warm caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as plain:
        reader_client.get(list_url(workspace), headers=HX)
    with django_assert_num_queries(len(plain.captured_queries)):
        response = reader_client.get(
            list_url(workspace, {"charts": charts_param(LINE, BAR)}), headers=HX
        )
    assert response.status_code == 200


def test_save_view_keeps_the_lists_charts(reader_client, workspace, runs):
    state = "?" + urlencode({"status": "Failed", "charts": charts_param(LINE, BAR)})
    response = reader_client.post(
        reverse("runs:saved-view-create", args=[workspace.slug]),
        {"name": "failed, charted", "state": state},
    )
    assert response.status_code == 302
    view = SavedView.objects.get(name="failed, charted")
    assert view.charts == [LINE, BAR]
    assert view.state == {"status": ["Failed"]}
    page = reader_client.get(response["Location"])
    assert page.context["charts_json"] == [LINE, BAR]


def test_save_view_refuses_bad_charts_with_a_message(reader_client, workspace, runs):
    for charts, message in (
        ("{nope", "a list of chart specs"),
        ('[{"type": "pie"}]', "use one of"),
    ):
        response = reader_client.post(
            reverse("runs:saved-view-create", args=[workspace.slug]),
            {"name": "bad", "state": "?" + urlencode({"charts": charts})},
        )
        assert response.status_code == 400
        assert message in text(response)
    assert not SavedView.objects.filter(name="bad").exists()


def test_a_saved_views_list_ignores_a_charts_parameter(reader_client, workspace, runs):
    view = view_services.saved_view_create(
        actor=reader_client.user.memberships.get(workspace=workspace),
        name="mine",
        visibility=SavedView.Visibility.PRIVATE,
        state={"status": ["Failed"]},
        charts=[BAR],
    )
    url = reverse("runs:saved-view-list", args=[workspace.slug, view.pk])
    response = reader_client.get(
        url + "?" + urlencode({"status": "Failed", "charts": charts_param(LINE)})
    )
    assert response.status_code == 200
    assert response.context["charts_json"] == [BAR]
    assert response.context["modified"] is False
    assert "charts" not in response.context["canonical"]


def test_add_chart_is_for_members_only(outsider_client, workspace, runs):
    response = add_chart(outsider_client, workspace, "", type="bar", metric="acc")
    assert response.status_code == 404
