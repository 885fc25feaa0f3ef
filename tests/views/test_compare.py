"""The compare page: permissions, the side-by-side table, bad input, CSV, run picker, queries."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from django.urls import reverse
from django.utils import timezone

from runs import selectors, services
from runs.models import LatestMetric, Run
from runs.selectors.compare import MAX_COMPARE_RUNS
from tests.factories import (
    ExperimentFactory,
    PropertyFactory,
    RunFactory,
    TagFactory,
    WorkspaceFactory,
)


@pytest.fixture
def experiment(workspace):
    return ExperimentFactory(workspace=workspace, name="sweep")


def make_run(experiment, *, name="", tags=None, props=None, metrics=None, **kwargs) -> Run:
    run = RunFactory(experiment=experiment, display_name=name, **kwargs)
    if tags:
        services.run_set_tags(run=run, tags=tags, record=False)
    if props:
        services.run_add_properties(run=run, properties=props, record=False)
    if metrics:
        services.metric_log_batch(
            run=run, series=[services.SeriesIn(name=k, values=v) for k, v in metrics.items()]
        )
    return run


@pytest.fixture
def pair(experiment):
    a = make_run(
        experiment,
        name="lr big",
        tags={"model": "resnet", "quality": "great", "look": None},
        props={"lr": "0.1", "optimizer": "adam"},
        metrics={"loss": [1.0, 0.5], "acc": [0.9]},
    )
    b = make_run(
        experiment,
        name="lr small",
        tags={"model": "resnet", "quality": "ok"},
        props={"lr": "0.01", "optimizer": "adam"},
        metrics={"loss": [1.0, 0.25], "val/loss": [0.3]},
    )
    return a, b


def compare_url(workspace, ids, **params) -> str:
    url = reverse("runs:compare", args=[workspace.slug])
    query = "&".join([f"runs={','.join(ids)}", *[f"{k}={v}" for k, v in params.items()]])
    return f"{url}?{query}"


# -- permissions ------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["reader_client", "contributor_client", "owner_client"])
def test_members_see_the_comparison(request, workspace, pair, client_name):
    client = request.getfixturevalue(client_name)
    response = client.get(compare_url(workspace, [r.pk for r in pair]))
    assert response.status_code == 200
    body = response.content.decode()
    for run in pair:
        assert run.pk in body
        assert run.display_name in body


@pytest.mark.parametrize("fmt", ["", "&format=csv", "&q=lr"])
def test_outsider_gets_404(outsider_client, workspace, pair, fmt):
    response = outsider_client.get(compare_url(workspace, [r.pk for r in pair]) + fmt)
    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, workspace, pair):
    response = client.get(compare_url(workspace, [r.pk for r in pair]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# -- the table --------------------------------------------------------------------------


def test_table_has_a_column_per_run_and_the_union_of_keys(reader_client, workspace, pair):
    a, b = pair
    response = reader_client.get(compare_url(workspace, [b.pk, a.pk]))
    body = response.content.decode()
    # Columns in the order asked for.
    assert body.index(f">{b.display_name}</a>") < body.index(f">{a.display_name}</a>")
    rows = {
        section.name: {row.key: row for row in section.rows}
        for section in response.context["sections"]
    }
    assert set(rows["tags"]) == {"look", "model", "quality"}
    assert set(rows["properties"]) == {"lr", "optimizer"}
    assert set(rows["metrics"]) == {"acc", "loss", "val/loss"}
    assert [c.text for c in rows["metrics"]["loss"].cells] == ["0.25", "0.5"]
    # Present on one run only, or different values: differs. Equal everywhere: same.
    assert rows["tags"]["look"].differs
    assert rows["tags"]["quality"].differs
    assert not rows["tags"]["model"].differs
    assert not rows["properties"]["optimizer"].differs
    assert rows["metrics"]["acc"].differs
    assert 'data-field="tags.model" ' not in body
    assert '<tr class="same" data-field="tags.model">' in body
    assert '<tr class="differs" data-field="properties.lr">' in body
    assert response.context["differing"] == 6


def test_status_badges_and_links_to_each_run(reader_client, workspace, pair):
    a, _ = pair
    body = reader_client.get(compare_url(workspace, [r.pk for r in pair])).content.decode()
    assert f'class="status status-{a.status}"' in body
    assert reverse("runs:run-detail", args=[workspace.slug, a.pk]) in body


def test_only_differences_is_kept_in_the_url(reader_client, workspace, pair):
    ids = [r.pk for r in pair]
    body = reader_client.get(compare_url(workspace, ids, diff="1")).content.decode()
    assert 'class="data compare-table only-diff"' in body
    assert 'id="compare-only-diff" checked' in body
    body = reader_client.get(compare_url(workspace, ids)).content.decode()
    assert 'class="data compare-table"' in body


def test_compare_table_rules(workspace, experiment):
    """Key-only tags are present; NaN equals NaN; absence differs from any value."""
    a = make_run(experiment, tags={"flag": None}, metrics={"loss": [math.nan]})
    b = make_run(experiment, tags={"flag": None}, metrics={"loss": [math.nan]})
    c = make_run(experiment, metrics={"loss": [1.0]})
    found = selectors.compare_runs(workspace=workspace, ids=[a.pk, b.pk])
    rows = {r.field: r for s in selectors.compare_table(runs=found.runs) for r in s.rows}
    assert not rows["tags.flag"].differs
    assert rows["tags.flag"].cells[0].text == "✓"
    assert not rows["metrics.loss"].differs
    assert rows["metrics.loss"].cells[0].text == "NaN"
    found = selectors.compare_runs(workspace=workspace, ids=[a.pk, c.pk])
    rows = {r.field: r for s in selectors.compare_table(runs=found.runs) for r in s.rows}
    assert rows["tags.flag"].differs
    assert rows["metrics.loss"].differs
    # One run alone differs from nothing.
    found = selectors.compare_runs(workspace=workspace, ids=[c.pk])
    assert not any(r.differs for s in selectors.compare_table(runs=found.runs) for r in s.rows)


def test_numbers_in_cells_are_short(workspace, experiment):
    run = make_run(experiment, metrics={"tiny": [3.25e-7], "big": [123456789.0], "mid": [1 / 3]})
    found = selectors.compare_runs(workspace=workspace, ids=[run.pk])
    cells = {
        r.key: r.cells[0].text for s in selectors.compare_table(runs=found.runs) for r in s.rows
    }
    assert cells == {"big": "1.23457e+08", "mid": "0.333333", "tiny": "3.2500e-07"}


# -- chart pickers and state --------------------------------------------------------------


def test_chart_pickers_list_metrics_and_numeric_properties(reader_client, workspace, pair):
    response = reader_client.get(compare_url(workspace, [r.pk for r in pair]))
    fields = response.context["fields"]
    assert fields.metrics == ["acc", "loss", "val/loss"]
    # optimizer=adam is not a number: it cannot be an axis.
    assert fields.properties == ["lr"]
    # The line chart starts with the longest series: loss has 4 points, the others 1.
    assert fields.longest == "loss"
    body = response.content.decode()
    assert '<option value="loss" selected>loss</option>' in body
    assert '<option value="val/loss">val/loss</option>' in body
    assert '<option value="properties.lr">lr</option>' in body
    assert 'value="properties.optimizer"' not in body


def test_chart_values_and_state_are_embedded_for_the_script(reader_client, workspace, pair):
    a, b = pair
    url = compare_url(workspace, [a.pk, b.pk], metric="val/loss", log="1", smooth="0.6")
    response = reader_client.get(url + "&x=" + "z" * 1000)
    values = response.context["chart_values"]["runs"]
    assert [v["runId"] for v in values] == [a.pk, b.pk]
    assert values[0]["metrics"] == {"acc": 0.9, "loss": 0.5}
    assert values[0]["properties"] == {"lr": 0.1}
    # Too long for a field name: left out, the script falls back to its default.
    assert response.context["chart_state"] == {"metric": "val/loss", "log": "1", "smooth": "0.6"}
    assert 'id="compare-values"' in response.content.decode()


def test_a_run_without_metrics_or_properties_gets_empty_chart_messages(
    reader_client, workspace, experiment
):
    run = make_run(experiment, name="bare")
    body = reader_client.get(compare_url(workspace, [run.pk])).content.decode()
    assert "None of these runs has logged a metric." in body
    assert "No latest metrics or numeric properties" in body


# -- bad input ----------------------------------------------------------------------------


def test_no_runs_shows_the_picker_and_how_to_start(reader_client, workspace):
    response = reader_client.get(reverse("runs:compare", args=[workspace.slug]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "No runs to compare yet." in body
    assert 'id="compare-q"' in body


def test_more_than_the_limit_is_refused_with_a_message(reader_client, workspace, experiment):
    ids = [f"sweep_1700000000_{n:08x}" for n in range(MAX_COMPARE_RUNS + 1)]
    response = reader_client.get(compare_url(workspace, ids))
    assert response.status_code == 400
    assert "101 runs asked for; at most 100 runs can be compared at once" in (
        response.content.decode()
    )


def test_exactly_the_limit_is_fine(reader_client, workspace, experiment):
    runs = RunFactory.create_batch(MAX_COMPARE_RUNS, experiment=experiment)
    response = reader_client.get(compare_url(workspace, [r.pk for r in runs]))
    assert response.status_code == 200
    assert len(response.context["runs"]) == MAX_COMPARE_RUNS


def test_unknown_and_foreign_ids_are_listed_and_the_rest_compared(reader_client, workspace, pair):
    foreign = RunFactory(experiment__workspace=WorkspaceFactory(slug="elsewhere"))
    a, b = pair
    response = reader_client.get(compare_url(workspace, [a.pk, "nope_1_x", foreign.pk, b.pk]))
    assert response.status_code == 400
    body = response.content.decode()
    assert f"nope_1_x, {foreign.pk} are not runs of workspace team." in body
    # Nothing of the foreign run leaks, the known runs are still compared.
    assert foreign.display_name not in body
    assert [r.pk for r in response.context["runs"]] == [a.pk, b.pk]
    assert f'href="{compare_url(workspace, [a.pk, b.pk])}"' in body


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("runs=a%01b", "is not a run id"),
        ("runs=" + "x" * 256, "is not a run id"),
        ("format=xml", "unknown format &#x27;xml&#x27;: use csv or html"),
        ("q=a%01b", "control character"),
        ("q=a%00b", "Null characters are not allowed"),
        ("q=" + "q" * 201, "at most 200 characters"),
    ],
)
def test_bad_parameters_get_a_message_not_a_500(reader_client, workspace, query, message):
    response = reader_client.get(reverse("runs:compare", args=[workspace.slug]) + "?" + query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_duplicate_and_blank_ids_are_ignored(reader_client, workspace, pair):
    a, b = pair
    url = reverse("runs:compare", args=[workspace.slug])
    response = reader_client.get(f"{url}?runs={a.pk},,{b.pk},{a.pk}&runs=%20{b.pk}")
    assert response.status_code == 200
    assert response.context["ids"] == [a.pk, b.pk]


# -- CSV ----------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_table_downloads_as_csv(reader_client, workspace, pair):
    a, b = pair
    response = reader_client.get(compare_url(workspace, [a.pk, b.pk], format="csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="team-compare.csv"'
    rows = read_csv(response)
    assert rows[:4] == [
        ["field", a.pk, b.pk],
        ["displayName", "lr big", "lr small"],
        ["experiment", "sweep", "sweep"],
        ["status", a.status, b.status],
    ]
    by_field = {r[0]: r[1:] for r in rows[4:]}
    assert by_field["tags.look"] == ["(set)", ""]
    assert by_field["tags.quality"] == ["great", "ok"]
    assert by_field["properties.lr"] == ["0.1", "0.01"]
    assert by_field["metrics.loss"] == ["0.5", "0.25"]
    assert by_field["metrics.val/loss"] == ["", "0.3"]
    assert list(by_field) == [
        "tags.look",
        "tags.model",
        "tags.quality",
        "properties.lr",
        "properties.optimizer",
        "metrics.acc",
        "metrics.loss",
        "metrics.val/loss",
    ]


def test_csv_with_unknown_ids_is_a_400_naming_them(reader_client, workspace, pair):
    response = reader_client.get(compare_url(workspace, [pair[0].pk, "gone"], format="csv"))
    assert response.status_code == 400
    assert response.content.decode() == "gone is not a run of workspace team."


def test_csv_with_too_many_runs_is_a_400_in_text(reader_client, workspace):
    ids = [f"r{n}" for n in range(MAX_COMPARE_RUNS + 1)]
    response = reader_client.get(compare_url(workspace, ids, format="csv"))
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "at most 100 runs" in response.content.decode()


# -- run picker ---------------------------------------------------------------------------


HTMX_SEARCH = {"HX-Request": "true", "HX-Target": "compare-search-results"}


def found_ids(body: str) -> list[str]:
    """Run ids listed in the picker's results (each result shows its id in a mono span)."""
    return [part.split("</span>")[0] for part in body.split('<span class="mono faint">')[1:]]


def test_search_adds_runs_by_name_id_or_experiment(reader_client, workspace, pair, experiment):
    a, b = pair
    other = make_run(ExperimentFactory(workspace=workspace, name="mnist"), name="tiny cnn")
    RunFactory(experiment__workspace=WorkspaceFactory(slug="elsewhere"), display_name="tiny x")
    response = reader_client.get(compare_url(workspace, [a.pk], q="tiny"), headers=HTMX_SEARCH)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.strip().startswith('<div id="compare-search-results"')
    assert found_ids(body) == [other.pk]
    assert f'href="{compare_url(workspace, [a.pk, other.pk])}"' in body
    # By experiment, leaving out the runs already compared.
    response = reader_client.get(compare_url(workspace, [a.pk], q="swe"), headers=HTMX_SEARCH)
    assert found_ids(response.content.decode()) == [b.pk]
    # By id, without JavaScript: the whole page with the results.
    response = reader_client.get(compare_url(workspace, [], q=other.pk[-6:]))
    assert [run.pk for run, _ in response.context["results"]] == [other.pk]


def test_search_finds_newest_runs_first(reader_client, workspace, experiment):
    old = RunFactory(experiment=experiment, created="2026-01-01T00:00:00Z")
    new = RunFactory(experiment=experiment, created="2026-02-01T00:00:00Z")
    response = reader_client.get(compare_url(workspace, [], q=""), headers=HTMX_SEARCH)
    assert found_ids(response.content.decode()) == [new.pk, old.pk]


def test_search_without_javascript_renders_the_whole_page(reader_client, workspace, pair):
    a, _ = pair
    response = reader_client.get(compare_url(workspace, [a.pk], q="nothing-like-this"))
    body = response.content.decode()
    assert "<html" in body
    assert "No other runs of team match “nothing-like-this”." in body


def test_a_bad_search_answers_in_the_results_region(reader_client, workspace):
    url = reverse("runs:compare", args=[workspace.slug]) + "?q=a%01b"
    response = reader_client.get(url, headers=HTMX_SEARCH)
    assert response.status_code == 400
    body = response.content.decode()
    assert body.strip().startswith('<div id="compare-search-results"')
    assert "q: the search text contains a control character" in body


def test_a_full_comparison_offers_no_add_links(reader_client, workspace, experiment):
    runs = RunFactory.create_batch(MAX_COMPARE_RUNS, experiment=experiment)
    extra = RunFactory(experiment=experiment, display_name="one too many")
    response = reader_client.get(
        compare_url(workspace, [r.pk for r in runs], q="one%20too"), headers=HTMX_SEARCH
    )
    body = response.content.decode()
    assert extra.pk in body
    assert "remove one to add another" in body
    assert "Add one too many" not in body


def test_each_column_links_to_the_comparison_without_it(reader_client, workspace, pair):
    a, b = pair
    body = reader_client.get(compare_url(workspace, [a.pk, b.pk])).content.decode()
    assert f'href="{compare_url(workspace, [b.pk])}" aria-label="Remove lr big' in body
    assert f'href="{compare_url(workspace, [a.pk])}" aria-label="Remove lr small' in body


# -- queries ------------------------------------------------------------------------------


def test_page_queries_do_not_grow_with_the_runs(
    reader_client, workspace, experiment, django_assert_num_queries
):
    def runs(n):
        out = []
        for i in range(n):
            run = make_run(experiment, props={"p": str(i)}, metrics={"m": [float(i)]})
            TagFactory(run=run)
            out.append(run)
        return out

    few = runs(2)
    reader_client.get(compare_url(workspace, [r.pk for r in few]))  # warm caches
    # session, user, membership, runs with experiments, tags, properties, latest metrics
    with django_assert_num_queries(7):
        reader_client.get(compare_url(workspace, [r.pk for r in few]))
    many = few + runs(18)
    with django_assert_num_queries(7):
        response = reader_client.get(compare_url(workspace, [r.pk for r in many]))
    assert len(response.context["runs"]) == 20
    values = json.loads(
        response.content.decode()
        .split('id="compare-values" type="application/json">')[1]
        .split("</script>")[0]
    )
    assert len(values["runs"]) == 20


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-cmd", "@cmd", "\tcmd"])
def test_compare_csv_neutralises_formulas_but_keeps_numbers(reader_client, workspace, text):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    a = RunFactory(experiment=exp, display_name=text)
    b = RunFactory(experiment=exp)
    PropertyFactory(run=a, key="cmd", value=text)
    LatestMetric.objects.create(run=a, name="delta", value=-0.5, step=1, time=timezone.now())
    rows = read_csv(reader_client.get(compare_url(workspace, [a.pk, b.pk], format="csv")))
    by_field = {row[0]: row[1:] for row in rows}
    assert by_field["displayName"][0] == "'" + text
    assert by_field["properties.cmd"][0] == "'" + text
    assert by_field["metrics.delta"][0] == "-0.5"
