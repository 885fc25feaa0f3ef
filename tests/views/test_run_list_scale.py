"""The run list's paths for many runs: counting from indexes (capped), pages met in sort
order, metric sorts from the metric index, and the free-text column kept by the services.

Lists in the other tests are small, so they take the paths for few matches; here the
thresholds are lowered so that a handful of runs takes the paths for many.
"""

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from runs import query, services
from runs.models import LatestMetric, Run, run_search_text
from runs.selectors import list_conditions, list_rows
from runs.selectors import run_list as run_list_module
from runs.status import Status
from runs.views.run_table import description_line
from tests.factories import (
    ExperimentFactory,
    MembershipFactory,
    PropertyFactory,
    RunFactory,
    TagFactory,
    UserFactory,
)

HX = {"HX-Request": "true"}
T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def list_url(workspace, **params) -> str:
    return reverse("runs:run-list", args=[workspace.slug]) + "?" + urlencode(params, doseq=True)


def shown(response) -> list[str]:
    return [row.run.id for row in response.context["page"].rows]


def metric(run, name: str, value) -> None:
    LatestMetric.objects.create(run=run, name=name, value=value, step=1, time=T0, count=1)


@pytest.fixture
def exp(workspace):
    return ExperimentFactory(workspace=workspace, name="mnist")


@pytest.fixture
def many(monkeypatch):
    """Two matching trees are already "many" (sorted by walking), five the count's cap."""
    monkeypatch.setattr(run_list_module, "FEW_MATCHES", 2)
    monkeypatch.setattr(run_list_module, "COUNT_CAP", 5)


def _metric_order(runs: list[Run], values: dict[str, float | None], *, desc: bool) -> list[str]:
    """Expected ids: by value (nulls last both ways), then newest first, then id."""
    newest = sorted(runs, key=lambda r: (r.created, r.id), reverse=True)
    valued = [r for r in newest if values.get(r.id) is not None]
    valued.sort(key=lambda r: values[r.id], reverse=desc)
    return [r.id for r in valued] + [r.id for r in newest if values.get(r.id) is None]


@pytest.fixture
def scored(exp):
    """Twelve top-level runs: ties on 0.5 across pages, one NULL value, two without
    the metric; every other one tagged quality=great; one child matching."""
    runs, values = [], {}
    scores = [0.9, 0.5, 0.5, 0.1, 0.5, None, 0.7, 0.5, "absent", 0.3, "absent", 0.5]
    for i, score in enumerate(scores):
        run = RunFactory(experiment=exp, created=T0 + timedelta(minutes=i % 5))
        if score != "absent":
            metric(run, "acc", score)
            values[run.id] = score
        if i % 2 == 0:
            TagFactory(run=run, key="quality", value="great")
        runs.append(run)
    child = RunFactory(experiment=exp, parent=runs[3])
    TagFactory(run=child, key="quality", value="great")
    metric(child, "acc", 0.99)
    return runs, values, child


@pytest.mark.parametrize("desc", [True, False])
@pytest.mark.parametrize("per_page", [3, 5])
def test_metric_sort_by_walking_the_index_pages_like_a_full_sort(
    reader_client, workspace, scored, many, desc, per_page
):
    runs, values, _ = scored
    expected = _metric_order(runs, values, desc=desc)
    seen = []
    for page in range(1, 6):
        response = reader_client.get(
            list_url(
                workspace, sort=f"{'-' if desc else ''}metrics.acc", per_page=per_page, page=page
            )
        )
        assert response.status_code == 200
        seen += shown(response)
        if not response.context["page"].has_next:
            break
    assert seen == expected


@pytest.mark.parametrize("desc", [True, False])
def test_metric_sort_of_matching_trees_by_walking(reader_client, workspace, scored, many, desc):
    runs, values, child = scored
    parent = runs[3]  # untagged, listed for its matching child
    roots = [r for i, r in enumerate(runs) if i % 2 == 0] + [parent]
    expected = _metric_order(roots, values, desc=desc)
    seen = []
    for page in (1, 2, 3):
        response = reader_client.get(
            list_url(
                workspace,
                tag="quality:great",
                sort=f"{'-' if desc else ''}metrics.acc",
                per_page=3,
                page=page,
            )
        )
        rows = response.context["page"].rows
        seen += [r.run.id for r in rows if r.depth == 0]
        if parent.id in shown(response):
            tree = [(r.run.id, r.depth, r.matches) for r in rows]
            assert (parent.id, 0, False) in tree
            assert (child.id, 1, True) in tree
    assert seen == expected


@pytest.mark.parametrize("desc", [True, False])
def test_a_sort_no_index_gives_takes_the_matching_trees_from_the_conditions(
    reader_client, workspace, scored, many, desc, django_assert_max_num_queries
):
    runs, _, child = scored
    parent = runs[3]  # untagged, listed for its matching child
    roots = [r for i, r in enumerate(runs) if i % 2 == 0] + [parent]
    newest = sorted(roots, key=lambda r: (r.created, r.id), reverse=True)
    expected = [r.id for r in sorted(newest, key=lambda r: r.display_name, reverse=desc)]
    seen = []
    for page in (1, 2, 3):
        url = list_url(
            workspace, tag="quality:great", sort=f"{'-' if desc else ''}name", per_page=3, page=page
        )
        with django_assert_max_num_queries(12):
            response = reader_client.get(url, headers=HX)
        rows = response.context["page"].rows
        seen += [r.run.id for r in rows if r.depth == 0]
        if parent.id in shown(response):
            assert (child.id, 1, True) in [(r.run.id, r.depth, r.matches) for r in rows]
    assert seen == expected


def test_a_count_past_the_cap_is_a_lower_bound(reader_client, workspace, exp, many):
    for i in range(9):
        RunFactory(experiment=exp, created=T0 + timedelta(minutes=i), status=Status.FAILED)
    response = reader_client.get(list_url(workspace, status="Failed", per_page=2), headers=HX)
    page = response.context["page"]
    assert (page.count, page.count_exact, page.has_next) == (5, False, True)
    content = response.content.decode()
    assert "5+ matching trees" in content
    assert '1–2 of <span id="run-pages-total" class="num">5+</span>' in content
    # The exact total follows in a second request, once the table is shown.
    count_url = (
        reverse("runs:run-list-count", args=[workspace.slug]) + "?status=Failed&amp;per_page=2"
    )
    assert f'hx-get="{count_url}" hx-trigger="load"' in content


def test_pages_past_the_cap_count_further_and_the_end_is_exact(reader_client, workspace, exp, many):
    for i in range(9):
        RunFactory(experiment=exp, created=T0 + timedelta(minutes=i), status=Status.FAILED)
    response = reader_client.get(list_url(workspace, status="Failed", per_page=2, page=4))
    page = response.context["page"]
    assert (page.number, page.count, page.count_exact) == (4, 8, False)
    assert len(page.rows) == 2
    response = reader_client.get(list_url(workspace, status="Failed", per_page=2, page=50))
    page = response.context["page"]
    assert (page.number, page.count, page.count_exact, page.has_next) == (5, 9, True, False)
    assert len(page.rows) == 1


def test_without_a_condition_the_count_is_capped_too(reader_client, workspace, exp, many):
    RunFactory.create_batch(9, experiment=exp)
    page = reader_client.get(list_url(workspace, per_page=2)).context["page"]
    assert (page.count, page.count_exact, page.num_pages) == (5, False, 3)
    page = reader_client.get(list_url(workspace, per_page=2, page=4)).context["page"]
    assert (page.number, page.count, page.count_exact) == (4, 8, False)
    page = reader_client.get(list_url(workspace, per_page=2, page=9)).context["page"]
    assert (page.number, page.count, page.count_exact, len(page.rows)) == (5, 9, True, 1)


def test_an_exact_count_shows_no_count_request(reader_client, workspace, exp, many):
    RunFactory.create_batch(4, experiment=exp)
    response = reader_client.get(list_url(workspace), headers=HX)
    assert response.context["page"].count_exact
    assert "4 runs" in response.content.decode()
    assert b"/runs/count/" not in response.content


def count_url(workspace, experiment=None, **params) -> str:
    if experiment is None:
        url = reverse("runs:run-list-count", args=[workspace.slug])
    else:
        url = reverse("runs:experiment-runs-count", args=[workspace.slug, experiment.name])
    return url + "?" + urlencode(params, doseq=True)


def test_the_count_request_counts_every_tree(
    reader_client, workspace, exp, many, django_assert_max_num_queries
):
    other = ExperimentFactory(workspace=workspace, name="cifar")
    for i in range(9):
        root = RunFactory(experiment=exp, status=Status.FAILED if i % 3 else Status.COMPLETED)
        if i % 3 == 0:  # a Completed root counts through its Failed child
            RunFactory(experiment=exp, parent=root, status=Status.FAILED)
    RunFactory.create_batch(3, experiment=other, status=Status.FAILED)
    with django_assert_max_num_queries(6):
        response = reader_client.get(count_url(workspace, status="Failed", per_page=2), headers=HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.startswith('<span id="run-count" class="muted count">12 matching trees</span>')
    assert '<span id="run-pages-total" class="num" hx-swap-oob="true">12</span>' in content
    assert '<span id="run-pages-last" class="num" hx-swap-oob="true">6</span>' in content
    assert "hx-get" not in content  # exact: no further request
    response = reader_client.get(count_url(workspace, exp, status="Failed"))
    assert "9 matching trees" in response.content.decode()
    response = reader_client.get(count_url(workspace, filter="tags.quality exists"))
    assert "0 matching trees" in response.content.decode()
    # Without a condition: the top-level runs.
    assert "12 runs" in reader_client.get(count_url(workspace)).content.decode()
    assert "9 runs" in reader_client.get(count_url(workspace, exp)).content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": "status = "}, "filter"),
        ({"sort": "nope"}, "sort"),
        ({"per_page": "0"}, "per_page"),
        ({"created_after": "yesterday"}, "created_after"),
    ],
)
def test_the_count_request_answers_bad_parameters_with_400(
    reader_client, workspace, exp, params, message
):
    response = reader_client.get(count_url(workspace, **params), headers=HX)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert message in response.content.decode()


def test_the_count_of_an_unknown_experiment_is_404(reader_client, workspace):
    url = reverse("runs:experiment-runs-count", args=[workspace.slug, "nope"])
    assert reader_client.get(url).status_code == 404


FILTERS = [
    ("tags.quality = 'great'", {0, 2, 4}),
    ("tags.quality in ('great', 'poor')", {0, 1, 2, 3, 4, 5}),
    ("tags.quality exists and metrics.acc >= 0.5", {0, 2, 4}),
    ("metrics.acc < 0.5 and properties.opt = 'adam'", {1, 3}),
    ("tags.quality = 'great' and not metrics.acc > 0.8", {0, 2, 4}),
    ("tags.quality != 'great'", {1, 3, 5}),
    ("tags.quality = 'great' or properties.opt = 'adam'", {0, 1, 2, 3, 4}),
]


@pytest.mark.parametrize(("text", "indexes"), FILTERS)
def test_filters_counted_from_their_indexes_match_the_same_trees(
    reader_client, workspace, exp, many, text, indexes
):
    runs = []
    for i in range(7):
        run = RunFactory(experiment=exp, created=T0 + timedelta(minutes=i))
        if i < 6:
            TagFactory(run=run, key="quality", value="great" if i % 2 == 0 else "poor")
            metric(run, "acc", 0.6 if i % 2 == 0 else 0.2)
        if i in (1, 3):
            PropertyFactory(run=run, key="opt", value="adam")
        runs.append(run)
    response = reader_client.get(list_url(workspace, filter=text, per_page=50))
    assert response.status_code == 200
    expected = [runs[i].id for i in sorted(indexes, reverse=True)]
    assert shown(response) == expected
    page = response.context["page"]
    # Counted as far as the page (50) reaches, past the cap of 5.
    assert (page.count, page.count_exact) == (len(expected), True)
    page = reader_client.get(list_url(workspace, filter=text, per_page=1)).context["page"]
    assert page.count == min(len(expected), 5)
    assert page.count_exact is (len(expected) <= 5)


def test_two_tag_conditions_need_both_tags(reader_client, workspace, exp, many):
    both = RunFactory(experiment=exp, created=T0)
    TagFactory(run=both, key="a", value="1")
    TagFactory(run=both, key="b", value="2")
    one = RunFactory(experiment=exp, created=T0 + timedelta(minutes=1))
    TagFactory(run=one, key="a", value="1")
    response = reader_client.get(list_url(workspace, tag=["a:1", "b:2"]))
    assert shown(response) == [both.id]
    response = reader_client.get(list_url(workspace, filter="tags.a = '1' and tags.b = '2'"))
    assert shown(response) == [both.id]
    assert response.context["page"].count == 1


@pytest.mark.parametrize(
    "query",
    [
        "",
        "tag=quality:great&sort=-metrics.acc&cols=id,metrics.acc,properties.lr,tags.quality",
        "q=run&sort=metrics.acc",
        "filter=tags.quality+%3D+%27great%27&sort=-metrics.acc",
    ],
)
def test_query_count_of_the_paths_for_many_does_not_grow_with_page_size(
    reader_client, workspace, exp, many, django_assert_max_num_queries, query
):
    def populate(n):
        for i in range(n):
            run = RunFactory(experiment=exp, status=Status.RUNNING)
            TagFactory(run=run, key="quality", value="great" if i % 2 else "poor")
            metric(run, "acc", round(i / 7, 1))
            PropertyFactory(run=run, key="lr", value="0.1")
            if i % 4 == 0:
                RunFactory(experiment=exp, parent=run, status=Status.FAILED)

    populate(12)
    base = list_url(workspace)
    with django_assert_max_num_queries(12) as small:
        assert reader_client.get(f"{base}{query}&per_page=3", headers=HX).status_code == 200
    populate(40)
    with django_assert_max_num_queries(12) as large:
        response = reader_client.get(f"{base}{query}&per_page=20", headers=HX)
    assert response.status_code == 200
    assert len(response.context["page"].rows) > 3
    assert len(large.captured_queries) <= len(small.captured_queries) + 1


# --- the search text ---------------------------------------------------------------------


def _text(run_id: str) -> str:
    return Run.objects.values_list("search_text", flat=True).get(pk=run_id)


def test_services_keep_the_search_text(reader_client, workspace, exp):
    user = UserFactory(username="grace")
    run = services.run_create(
        experiment=exp,
        user=user,
        display_name="Baseline ÄRGER",
        description="# Notes\nSweeps the learning rate",
        tags={"quality": "great", "look": None},
    )
    text = _text(run.id)
    for part in (run.id, "baseline ärger", "sweeps the learning rate", "mnist", "grace"):
        assert part in text
    assert "quality\ngreat" in text
    assert "look" in text
    services.run_set_tags(run=run, tags={"quality": "poor"}, remove=["look"])
    text = _text(run.id)
    assert "poor" in text
    assert "great" not in text
    assert "look" not in text
    services.run_update(run=run, display_name="renamed", description="")
    text = _text(run.id)
    assert "renamed" in text
    assert "ärger" not in text
    assert "sweeps" not in text
    assert "poor" in text
    kids = services.run_create_children(parent=run, user=user, tag_key="lr", tag_values=["0.1"])
    assert "0.1" in _text(kids[0].id)
    assert "grace" in _text(kids[0].id)


def test_free_text_finds_what_the_services_wrote(reader_client, workspace, exp):
    run = services.run_create(experiment=exp, display_name="Ärger", tags={"Team": "Vision"})
    kids = services.run_create_children(parent=run, tag_key="lr", tag_values=["0.125"])
    other = services.run_create(experiment=exp, display_name="other")
    for q, expected in (
        ("ärger", [run.id]),
        ("ÄRGER", [run.id]),
        ("vision team", [run.id]),
        ("0.125", [run.id, kids[0].id]),
        ("running", [other.id, run.id, kids[0].id]),
        ("other running", [other.id]),
        ("nowhere", []),
    ):
        response = reader_client.get(list_url(workspace, q=q))
        assert shown(response) == expected, q
    rows = reader_client.get(list_url(workspace, q="0.125")).context["page"].rows
    assert [(r.run.id, r.matches) for r in rows] == [(run.id, False), (kids[0].id, True)]


def test_the_search_text_skips_the_end_of_long_descriptions(exp):
    text = run_search_text(
        run_id="r",
        display_name="",
        description="x" * 5000 + " needle",
        experiment="e",
        submitter=None,
        tags={},
    )
    assert "needle" not in text


def test_the_migration_fills_the_search_text_of_existing_runs(exp):
    user = UserFactory(username="ada")
    run = RunFactory(experiment=exp, display_name="Old Run", submitted_by=user, search_text="")
    TagFactory(run=run, key="Stage", value=None)
    TagFactory(run=run, key="quality", value="Great")
    Run.objects.filter(pk=run.pk).update(search_text="")
    child = RunFactory(experiment=exp, parent=run, search_text="")
    migration = importlib.import_module("runs.migrations.0003_run_search_text")
    # The function reads only the editor's connection.
    migration.fill_search_text(django_apps, SimpleNamespace(connection=connection))
    assert _text(run.id) == run_search_text(
        run_id=run.id,
        display_name="Old Run",
        description="",
        experiment="mnist",
        submitter="ada",
        tags={"Stage": None, "quality": "Great"},
    )
    assert _text(child.id) == f"{child.id}\n{child.display_name}\nmnist".lower()


def test_run_rows_read_no_search_text_nor_whole_descriptions(reader_client, workspace, exp):
    RunFactory(experiment=exp, description="first line\n" + "y" * 5000)
    response = reader_client.get(list_url(workspace))
    run = response.context["page"].rows[0].run
    assert not hasattr(run, "search_text")
    assert not hasattr(run, "description")
    assert len(run.description_head) == list_rows.DESCRIPTION_HEAD
    assert description_line(run) == "first line"
    assert timezone.is_aware(run.created)
    assert run.pk == run.id


# --- query plans (SQLite, which keeps no statistics unless asked to) ---------------------

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")


@sqlite_only
@pytest.mark.django_db
@pytest.mark.parametrize("tested_only", [True, False])
def test_a_trees_runs_are_found_by_root_not_by_a_status_index(tested_only):
    condition = list_conditions.RunCondition.of(Q(status__in=[Status.FAILED]))
    tested, params = condition.on("runs_run", tested_only=tested_only)
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM runs_run WHERE root_id IN (%s, %s) AND {tested}",  # noqa: S608
            ["a_1_1", "b_1_1", *params],
        )
        plan = " ".join(str(row) for row in cursor.fetchall())
    # Without the CASE, SQLite steps through every Failed run of the database.
    assert ("run_root_parent" in plan) is tested_only
    assert ("run_status" in plan) is not tested_only


@sqlite_only
@pytest.mark.django_db
def test_a_filter_on_children_looks_in_each_tree_not_at_every_run_of_a_status():
    plan = Run.objects.filter(query.to_q(query.parse("children.status = 'Failed'"))).explain()
    assert "run_root_parent" in plan
    assert "run_status" not in plan


# --- compiled conditions -----------------------------------------------------------------


@pytest.fixture
def compiled(monkeypatch):
    """Counts the conditions compiled; starts from an empty cache of two."""
    monkeypatch.setattr(list_conditions, "_conditions", {})
    monkeypatch.setattr(list_conditions, "CONDITION_CACHE_SIZE", 2)
    calls = []
    of = list_conditions.RunCondition.of.__func__

    def counting(cls, cond):
        calls.append(cond)
        return of(cls, cond)

    monkeypatch.setattr(list_conditions.RunCondition, "of", classmethod(counting))
    return calls


def test_a_condition_is_compiled_once_for_its_pages_sorts_and_count(
    reader_client, workspace, exp, compiled
):
    for _ in range(3):
        TagFactory(run=RunFactory(experiment=exp), key="quality", value="great")
    for extra in ({}, {"page": 2, "per_page": 1}, {"sort": "-metrics.acc"}):
        response = reader_client.get(list_url(workspace, tag="quality:great", **extra), headers=HX)
        assert response.status_code == 200
    reader_client.get(count_url(workspace, tag="quality:great"), headers=HX)
    # The same words in the filter language are the same condition only once parsed alike.
    reader_client.get(list_url(workspace, filter="tags.quality = 'great'"), headers=HX)
    reader_client.get(list_url(workspace, filter="tags.quality='great'"), headers=HX)
    assert len(compiled) == 2


def test_the_same_condition_lists_each_workspace_its_own_runs(
    reader_client, workspace, exp, compiled
):
    mine = RunFactory(experiment=exp)
    TagFactory(run=mine, key="quality", value="great")
    elsewhere = RunFactory(experiment=ExperimentFactory(name="mnist"))
    TagFactory(run=elsewhere, key="quality", value="great")
    other = UserFactory(username="other")
    MembershipFactory(workspace=elsewhere.workspace, user=other)
    reader_client.get(list_url(workspace, tag="quality:great"))
    reader_client.force_login(other)
    response = reader_client.get(list_url(elsewhere.workspace, tag="quality:great"))
    assert shown(response) == [elsewhere.id]
    assert len(compiled) == 1


@pytest.mark.parametrize(
    "text",
    ["duration > '1h'", "not duration < '5m'", "status = 'Running' or children.duration > '1m'"],
)
def test_a_condition_on_the_duration_is_compiled_every_time(
    reader_client, workspace, exp, compiled, text
):
    RunFactory(experiment=exp)
    for _ in range(2):
        assert reader_client.get(list_url(workspace, filter=text), headers=HX).status_code == 200
    assert len(compiled) == 2
    assert list_conditions._conditions == {}


def test_the_compiled_conditions_are_bounded(reader_client, workspace, exp, compiled):
    RunFactory(experiment=exp)
    for status in ("Failed", "Completed", "Running"):
        reader_client.get(list_url(workspace, status=status), headers=HX)
    assert len(list_conditions._conditions) == 2
    reader_client.get(list_url(workspace, status="Failed"), headers=HX)  # the oldest, gone
    assert len(compiled) == 4
