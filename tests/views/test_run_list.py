"""The run list page: filters, sorts, columns, the tree, live cells, bad input, permissions."""

import re
from datetime import UTC, datetime, timedelta
from html import escape

import pytest
from django.urls import reverse
from django.utils import timezone

from runs import services
from runs.models import LatestMetric, Role
from runs.status import Status
from runs.views.run_table import summary_text
from tests.factories import (
    ExperimentFactory,
    MembershipFactory,
    PropertyFactory,
    RunFactory,
    TagFactory,
    UserFactory,
)

HX = {"HX-Request": "true"}


def list_url(workspace, query: str = "") -> str:
    url = reverse("runs:run-list", args=[workspace.slug])
    return f"{url}?{query}" if query else url


def shown_ids(response) -> list[str]:
    """Run ids of the rows drawn, in order."""
    return [row.run.id for row in response.context["page"].rows]


def metric(run, name: str, value) -> LatestMetric:
    return LatestMetric.objects.create(
        run=run, name=name, value=value, step=1, time=timezone.now(), count=1
    )


@pytest.fixture
def exp(workspace):
    return ExperimentFactory(workspace=workspace, name="mnist")


def at(day: int):
    return datetime(2026, 1, day, 12, tzinfo=UTC)


# --- permissions -----------------------------------------------------------------------


def _urls(workspace, run_id: str) -> list[str]:
    slug = workspace.slug
    return [
        reverse("runs:run-list", args=[slug]),
        reverse("runs:experiment-runs", args=[slug, "mnist"]),
        reverse("runs:run-children", args=[slug, run_id]),
        reverse("runs:run-list-live", args=[slug]) + f"?live={run_id}",
        reverse("runs:run-list-count", args=[slug]),
        reverse("runs:experiment-runs-count", args=[slug, "mnist"]),
    ]


@pytest.mark.parametrize("which", range(6))
@pytest.mark.parametrize("htmx", [False, True])
def test_outsider_gets_404_on_every_page_and_partial(outsider_client, workspace, exp, which, htmx):
    run = RunFactory(experiment=exp)
    response = outsider_client.get(_urls(workspace, run.id)[which], headers=HX if htmx else {})
    assert response.status_code == 404


@pytest.mark.parametrize("which", range(6))
def test_anonymous_users_are_sent_to_sign_in(client, workspace, exp, which):
    run = RunFactory(experiment=exp)
    response = client.get(_urls(workspace, run.id)[which])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "sees_bulk"),
    [(Role.READER, False), (Role.CONTRIBUTOR, True), (Role.OWNER, True)],
)
def test_tag_and_cancel_controls_only_for_contributors_and_owners(
    client, workspace, exp, role, sees_bulk
):
    user = UserFactory(username=f"u-{role}")
    MembershipFactory(workspace=workspace, user=user, role=role)
    client.force_login(user)
    RunFactory(experiment=exp)
    response = client.get(list_url(workspace))
    assert response.status_code == 200
    # Every member selects rows to compare them and can export the list.
    assert b'id="run-bulk"' in response.content
    assert b'name="runs"' in response.content
    assert b"data-compare-url=" in response.content
    assert b"export.csv" in response.content
    assert (b'value="tag-add"' in response.content) is sees_bulk
    assert (b'value="cancel"' in response.content) is sees_bulk


def test_unknown_experiment_is_404(reader_client, workspace):
    url = reverse("runs:experiment-runs", args=[workspace.slug, "nope"])
    assert reader_client.get(url).status_code == 404


def test_runs_of_other_workspaces_never_show(reader_client, workspace, exp):
    mine = RunFactory(experiment=exp)
    RunFactory(experiment=ExperimentFactory(name="theirs"))
    response = reader_client.get(list_url(workspace))
    assert shown_ids(response) == [mine.id]


def test_children_of_a_run_in_another_workspace_are_404(reader_client, workspace):
    other = RunFactory(experiment=ExperimentFactory(name="theirs"))
    url = reverse("runs:run-children", args=[workspace.slug, other.id])
    assert reader_client.get(url).status_code == 404


# --- the page ------------------------------------------------------------------------


def test_full_page_lists_top_level_runs_newest_first(reader_client, workspace, exp):
    old = RunFactory(experiment=exp, created=at(1), display_name="old one")
    new = RunFactory(experiment=exp, created=at(2))
    RunFactory(experiment=exp, parent=new, created=at(3))
    response = reader_client.get(list_url(workspace))
    assert response.status_code == 200
    assert b"<html" in response.content
    assert shown_ids(response) == [new.id, old.id]
    assert response.context["page"].count == 2
    detail = reverse("runs:run-detail", args=[workspace.slug, old.id])
    assert f'href="{detail}"'.encode() in response.content
    assert b"old one" in response.content


def test_htmx_request_gets_only_the_table_and_a_clean_url_to_push(reader_client, workspace, exp):
    RunFactory(experiment=exp)
    response = reader_client.get(list_url(workspace, "q=&filter=&status=Running&cols="), headers=HX)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert response.content.lstrip().startswith(b'<section id="run-table"')
    assert response["HX-Push-Url"] == list_url(workspace, "status=Running")
    assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_full_page(reader_client, workspace, exp):
    RunFactory(experiment=exp)
    headers = {**HX, "HX-History-Restore-Request": "true"}
    response = reader_client.get(list_url(workspace), headers=headers)
    assert b"<html" in response.content


def test_experiment_page_lists_only_its_runs(reader_client, workspace, exp):
    mine = RunFactory(experiment=exp)
    RunFactory(experiment=ExperimentFactory(workspace=workspace, name="other"))
    url = reverse("runs:experiment-runs", args=[workspace.slug, "mnist"])
    response = reader_client.get(url)
    assert shown_ids(response) == [mine.id]


def test_description_column_shows_the_first_line(reader_client, workspace, exp):
    RunFactory(experiment=exp, description="# Heading line\n\nbody text")
    response = reader_client.get(list_url(workspace))
    assert b"Heading line" in response.content
    assert b"body text" not in response.content


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("Baseline with `lr=0.1` and **no** warmup", "Baseline with lr=0.1 and no warmup"),
        ("See [the paper](https://example.com/p) and ![plot](x.png)", "See the paper and plot"),
        ("## *Sweep* over __batch__ sizes ~~old~~", "Sweep over batch sizes old"),
        ("1. first step\n2. second", "first step"),
        ("- [x] done item", "done item"),
        ("> quoted <b>bold</b> text", "quoted bold text"),
        ("escaped \\*stars\\* stay", "escaped *stars* stay"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
    ],
)
def test_description_column_is_the_first_line_as_plain_text(
    reader_client, workspace, exp, source, line
):
    RunFactory(experiment=exp, description=source)
    html = reader_client.get(list_url(workspace)).content.decode()
    assert f'<td class="col-desc" title="{escape(line)}">{escape(line)}</td>' in html


def test_tags_render_key_only_and_key_value(reader_client, workspace, exp):
    run = RunFactory(experiment=exp)
    TagFactory(run=run, key="quality", value="great")
    TagFactory(run=run, key="look-again", value=None)
    content = reader_client.get(list_url(workspace)).content.decode()
    assert '<span class="tag-key">quality</span><span class="tag-value">great</span>' in content
    assert '<span class="tag-key">look-again</span></span>' in content


# --- structured filters ----------------------------------------------------------------


@pytest.fixture
def varied(workspace, exp):
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    other_exp = ExperimentFactory(workspace=workspace, name="cifar")
    runs = {
        "a": RunFactory(
            experiment=exp,
            status=Status.COMPLETED,
            submitted_by=alice,
            compute_target="local",
            created=at(1),
            display_name="resnet baseline",
            description="Learning-rate sweep",
        ),
        "b": RunFactory(
            experiment=other_exp,
            status=Status.FAILED,
            submitted_by=bob,
            compute_target="gpu-cluster",
            created=at(5),
            display_name="vit large",
        ),
        "c": RunFactory(
            experiment=exp,
            status=Status.RUNNING,
            submitted_by=bob,
            compute_target="gpu-cluster",
            created=at(9),
            display_name="tiny",
        ),
    }
    TagFactory(run=runs["a"], key="quality", value="great")
    TagFactory(run=runs["b"], key="quality", value="poor")
    TagFactory(run=runs["c"], key="look-again", value=None)
    return runs


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=Completed", ["a"]),
        ("status=Completed&status=Failed", ["b", "a"]),
        ("experiment=cifar", ["b"]),
        ("target=gpu-cluster", ["c", "b"]),
        ("submitter=alice", ["a"]),
        ("submitter=bob&status=Running", ["c"]),
        ("tag=quality", ["b", "a"]),
        ("tag=quality:great", ["a"]),
        ("tag=look-again", ["c"]),
        ("tag=quality:nope", []),
        ("created_after=2026-01-05", ["c", "b"]),
        ("created_before=2026-01-05", ["a"]),
        ("created_after=2026-01-02&created_before=2026-01-06", ["b"]),
        ("created_after=2026-01-05T13:00:00", ["c"]),
        ("q=resnet", ["a"]),
        ("q=sweep", ["a"]),
        ("q=cifar", ["b"]),
        ("q=ALICE", ["a"]),
        ("q=failed", ["b"]),
        ("q=great", ["a"]),
        ("q=look", ["c"]),
        ("q=tiny+bob", ["c"]),
        ("q=gpu", []),
        ("q=mnist_1700000000", ["c", "a"]),
        ("q=nothing-like-this", []),
    ],
)
def test_filters(reader_client, workspace, varied, query, expected):
    response = reader_client.get(list_url(workspace, query))
    assert response.status_code == 200
    assert shown_ids(response) == [varied[k].id for k in expected]


def test_each_structured_filter_is_a_chip_whose_x_removes_only_it(reader_client, workspace, varied):
    response = reader_client.get(list_url(workspace, "status=Failed&status=Completed&tag=quality"))
    chips = dict(response.context["chips"])
    assert chips["status: Failed"] == "?status=Completed&tag=quality"
    assert chips["tag: quality"] == "?status=Failed&status=Completed"
    assert b'aria-label="Remove status: Failed"' in response.content


def test_a_matching_child_shows_under_its_greyed_parent(reader_client, workspace, exp):
    parent = RunFactory(experiment=exp, status=Status.COMPLETED, created=at(1))
    child = RunFactory(experiment=exp, parent=parent, status=Status.FAILED, created=at(2))
    RunFactory(experiment=exp, parent=parent, status=Status.COMPLETED, created=at(3))
    lone = RunFactory(experiment=exp, status=Status.FAILED, created=at(4))
    response = reader_client.get(list_url(workspace, "status=Failed"))
    rows = response.context["page"].rows
    assert [(r.run.id, r.depth, r.matches) for r in rows] == [
        (lone.id, 0, True),
        (parent.id, 0, False),
        (child.id, 1, True),
    ]
    assert response.context["page"].count == 2
    assert b"nomatch" in response.content


def test_grandchild_match_reveals_the_chain(reader_client, workspace, exp):
    root = RunFactory(experiment=exp, status=Status.COMPLETED)
    middle = RunFactory(experiment=exp, parent=root, status=Status.COMPLETED)
    leaf = RunFactory(experiment=exp, parent=middle, status=Status.FAILED)
    response = reader_client.get(list_url(workspace, "status=Failed"))
    rows = response.context["page"].rows
    assert [(r.run.id, r.depth, r.matches) for r in rows] == [
        (root.id, 0, False),
        (middle.id, 1, False),
        (leaf.id, 2, True),
    ]
    assert rows[2].ancestors == (root.id, middle.id)


def test_top_level_rows_summarise_their_descendants(reader_client, workspace, exp):
    parent = RunFactory(experiment=exp)
    RunFactory.create_batch(2, experiment=exp, parent=parent, status=Status.COMPLETED)
    kid = RunFactory(experiment=exp, parent=parent, status=Status.FAILED)
    RunFactory(experiment=exp, parent=kid, status=Status.FAILED)
    response = reader_client.get(list_url(workspace))
    summary = response.context["page"].rows[0].summary
    assert summary_text(summary) == "3 children: 2 Completed, 1 Failed (4 runs below)"
    assert "3 children:" in response.content.decode()
    assert b'class="caret"' in response.content


def test_a_sweep_counts_its_children_not_every_descendant(reader_client, workspace, exp):
    sweep = RunFactory(experiment=exp)
    for kid in RunFactory.create_batch(12, experiment=exp, parent=sweep):
        RunFactory.create_batch(3, experiment=exp, parent=kid)
    html = reader_client.get(list_url(workspace)).content.decode()
    assert "12 children:" in html
    assert "48 children" not in html


def test_statuses_are_words_in_summaries_chips_and_the_filter(reader_client, workspace, exp):
    parent = RunFactory(experiment=exp)
    RunFactory(experiment=exp, parent=parent, status=Status.CANCEL_REQUESTED)
    RunFactory(experiment=exp, parent=parent, status=Status.NOT_STARTED)
    html = reader_client.get(list_url(workspace, "status=CancelRequested&status=NotStarted"))
    html = html.content.decode()
    assert "1 Not Started" in html
    assert "1 Cancel Requested" in html
    assert "status: Cancel Requested" in html
    assert '<option value="CancelRequested">Cancel Requested</option>' in html
    assert ">1 CancelRequested<" not in html
    assert "status: CancelRequested" not in html


def test_children_partial_returns_rows_in_the_list_order(reader_client, workspace, exp):
    parent = RunFactory(experiment=exp)
    first = RunFactory(experiment=exp, parent=parent, created=at(1))
    second = RunFactory(experiment=exp, parent=parent, created=at(2))
    RunFactory(experiment=exp, parent=second)
    url = reverse("runs:run-children", args=[workspace.slug, parent.id])
    response = reader_client.get(url + "?sort=created", headers=HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith("<tr")
    assert content.index(first.id) < content.index(second.id)
    assert content.count("<tr ") == 2
    assert "1 child:" in content
    assert f'data-ancestors="{parent.id}"' in content


def test_children_partial_keeps_only_matches_under_a_filter(reader_client, workspace, exp):
    parent = RunFactory(experiment=exp)
    failed = RunFactory(experiment=exp, parent=parent, status=Status.FAILED)
    RunFactory(experiment=exp, parent=parent, status=Status.COMPLETED)
    url = reverse("runs:run-children", args=[workspace.slug, parent.id])
    content = reader_client.get(url + "?status=Failed").content.decode()
    assert content.count('class="run-row') == 1
    assert f'data-run="{failed.id}"' in content
    assert "1 child hidden by the filter" in content


def test_children_all_hidden_by_the_filter_say_so_with_a_way_to_show_them(
    reader_client, workspace, exp
):
    parent = RunFactory(experiment=exp)
    TagFactory(run=parent, key="best")
    kids = RunFactory.create_batch(3, experiment=exp, parent=parent)
    url = reverse("runs:run-children", args=[workspace.slug, parent.id])
    response = reader_client.get(url + "?tag=best&sort=created&cols=id,status", headers=HX)
    content = response.content.decode()
    assert content.count('class="run-row') == 0
    assert "3 children hidden by the filter" in content
    assert f'data-ancestors="{parent.id}"' in content
    # "Show them": the same children's URL without the list's conditions.
    show = re.search(r'data-children-url="([^"]+)"[^>]*>Show them', content)[1].replace(
        "&amp;", "&"
    )
    assert show == url + "?sort=created&cols=id%2Cstatus"
    shown = reader_client.get(show, headers=HX).content.decode()
    assert shown.count('class="run-row') == 3
    assert all(f'data-run="{k.id}"' in shown for k in kids)
    assert "hidden by the filter" not in shown


def test_children_partial_with_bad_params_is_400(reader_client, workspace, exp):
    parent = RunFactory(experiment=exp)
    url = reverse("runs:run-children", args=[workspace.slug, parent.id])
    response = reader_client.get(url + "?sort=nope")
    assert response.status_code == 400
    assert b"cannot sort by" in response.content


# --- sorting and columns ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["c", "b", "a"]),
        ("-created", ["c", "b", "a"]),
        ("created", ["a", "b", "c"]),
        # Lifecycle order: Running, then Completed, then Failed.
        ("status", ["c", "a", "b"]),
        ("-status", ["b", "a", "c"]),
        ("name", ["a", "c", "b"]),
        ("displayName", ["a", "c", "b"]),
        ("experiment", ["b", "c", "a"]),
        ("target", ["c", "b", "a"]),
        ("submitter", ["a", "c", "b"]),
        ("-submitter", ["c", "b", "a"]),
        ("tags.quality", ["a", "b", "c"]),
        ("-tags.quality", ["b", "a", "c"]),
    ],
)
def test_sorts(reader_client, workspace, varied, sort, expected):
    response = reader_client.get(list_url(workspace, f"sort={sort}"))
    assert response.status_code == 200
    assert shown_ids(response) == [varied[k].id for k in expected]


@pytest.mark.parametrize("desc", [True, False])
def test_metric_sort_puts_runs_without_the_metric_last_both_ways(
    reader_client, workspace, exp, desc
):
    low, high, none = (RunFactory(experiment=exp, created=at(d)) for d in (1, 2, 3))
    metric(low, "loss", 0.1)
    metric(high, "loss", 0.9)
    response = reader_client.get(list_url(workspace, f"sort={'-' if desc else ''}metrics.loss"))
    expected = [high, low] if desc else [low, high]
    assert shown_ids(response) == [r.id for r in [*expected, none]]


@pytest.mark.parametrize("prefix", ["tags", "properties"])
@pytest.mark.parametrize("desc", [True, False])
def test_a_tag_or_property_sort_shows_each_run_once_and_those_without_it_last(
    reader_client, workspace, exp, prefix, desc
):
    low, high, none = (RunFactory(experiment=exp, created=at(d)) for d in (1, 2, 3))
    for run, lr in ((low, "0.001"), (high, "0.1"), (none, None)):
        # other keys beside it, whose values would sort first or last
        other = {"aaa": "0", "zzz": "9"} | ({"lr": lr} if lr else {})
        if prefix == "tags":
            services.run_set_tags(run=run, tags=other)
        else:
            services.run_add_properties(run=run, properties=other)
    response = reader_client.get(list_url(workspace, f"sort={'-' if desc else ''}{prefix}.lr"))
    expected = [high, low] if desc else [low, high]
    assert shown_ids(response) == [r.id for r in [*expected, none]]


def test_a_sort_by_a_column_not_shown_says_so_in_a_chip(reader_client, workspace, exp):
    RunFactory(experiment=exp)
    page = reader_client.get(list_url(workspace, "sort=-tags.quality")).content.decode()
    assert 'class="chip">sorted by tags.quality ↓<a href="/w/team/runs/?"' in page
    page = reader_client.get(list_url(workspace, "sort=properties.lr")).content.decode()
    assert "sorted by properties.lr ↑" in page
    page = reader_client.get(list_url(workspace, "sort=-id")).content.decode()
    assert "sorted by run id ↓" in page
    page = reader_client.get(list_url(workspace, "sort=ended&cols=status")).content.decode()
    assert "sorted by Ended ↑" in page
    # Shown, its header has the arrow instead; the default order needs no word.
    shown = "sort=-tags.quality&cols=id,tags.quality"
    for query in (shown, "", "sort=-created", "sort=name"):
        page = reader_client.get(list_url(workspace, query)).content.decode()
        assert "sorted by" not in page, query


def test_status_sorts_in_lifecycle_order(reader_client, workspace, exp):
    order = list(Status.values)
    by_status = {s: RunFactory(experiment=exp, status=s) for s in reversed(order)}
    response = reader_client.get(list_url(workspace, "sort=status&per_page=25"))
    assert shown_ids(response) == [by_status[s].id for s in order]
    response = reader_client.get(list_url(workspace, "sort=-status&per_page=25"))
    assert shown_ids(response) == [by_status[s].id for s in reversed(order)]


def test_equal_sort_values_fall_back_to_newest_then_id(reader_client, workspace, exp):
    runs = [RunFactory(experiment=exp, created=at(1), status=Status.RUNNING) for _ in range(3)]
    response = reader_client.get(list_url(workspace, "sort=status"))
    assert shown_ids(response) == sorted((r.id for r in runs), reverse=True)


def test_duration_sort(reader_client, workspace, exp):
    start = at(1)
    short = RunFactory(experiment=exp, started=start, ended=start + timedelta(seconds=5))
    long = RunFactory(experiment=exp, started=start, ended=start + timedelta(hours=2))
    never = RunFactory(experiment=exp, status=Status.QUEUED)
    response = reader_client.get(list_url(workspace, "sort=-duration"))
    assert shown_ids(response) == [long.id, short.id, never.id]
    assert b"2h 00m" in response.content
    assert b"5s" in response.content


def test_duration_sort_counts_an_active_run_until_now(reader_client, workspace, exp):
    now = timezone.now()
    ended = RunFactory(experiment=exp, started=now - timedelta(hours=3), ended=now)
    running = RunFactory(experiment=exp, status=Status.RUNNING, started=now - timedelta(hours=1))
    quick = RunFactory(
        experiment=exp, started=now - timedelta(days=9), ended=now - timedelta(days=9, seconds=-1)
    )
    sub_second = RunFactory(
        experiment=exp,
        started=now - timedelta(days=9),
        ended=now - timedelta(days=9, microseconds=-400_000),
    )
    never = RunFactory(experiment=exp, status=Status.QUEUED)
    response = reader_client.get(list_url(workspace, "sort=-duration"))
    assert shown_ids(response) == [ended.id, running.id, quick.id, sub_second.id, never.id]
    response = reader_client.get(list_url(workspace, "sort=duration"))
    assert shown_ids(response) == [sub_second.id, quick.id, running.id, ended.id, never.id]


def test_metric_and_property_columns(reader_client, workspace, exp):
    run = RunFactory(experiment=exp)
    metric(run, "loss", 0.123456789)
    PropertyFactory(run=run, key="lr", value="0.01")
    response = reader_client.get(
        list_url(workspace, "cols=id,status,metrics.loss,properties.lr,tags.quality")
    )
    assert [c.key for c in response.context["columns"]] == [
        "id",
        "status",
        "metrics.loss",
        "properties.lr",
        "tags.quality",
    ]
    content = response.content.decode()
    assert "0.12346" in content
    assert ">0.01</td>" in content
    assert "Submitted by" not in content.split("<tbody>")[0].split("<thead>")[1]


def test_column_chooser_lists_workspace_metric_names_and_property_keys(
    reader_client, workspace, exp
):
    run = RunFactory(experiment=exp)
    metric(run, "accuracy", 0.5)
    PropertyFactory(run=run, key="optimizer", value="adam")
    elsewhere = RunFactory(experiment=ExperimentFactory(name="theirs"))
    metric(elsewhere, "secret_metric", 1.0)
    response = reader_client.get(list_url(workspace, "cols=id,metrics.accuracy"))
    choices = {c["key"]: c["checked"] for c in response.context["column_choices"]}
    assert choices["metrics.accuracy"] is True
    assert choices["properties.optimizer"] is False
    assert choices["status"] is False
    assert "metrics.secret_metric" not in choices


def test_cols_accept_repeats_and_synonyms(reader_client, workspace, exp):
    RunFactory(experiment=exp)
    response = reader_client.get(
        list_url(workspace, "cols=id&cols=submittedBy&cols=status"), headers=HX
    )
    assert [c.key for c in response.context["columns"]] == ["id", "submitter", "status"]
    assert response["HX-Push-Url"] == list_url(workspace, "cols=id%2Csubmitter%2Cstatus")


def test_sort_header_links_toggle_direction(reader_client, workspace, exp):
    RunFactory(experiment=exp)
    response = reader_client.get(list_url(workspace, "sort=-status"))
    headers = {col.key: qs for col, qs, _ in response.context["headers"]}
    assert headers["status"] == "?sort=status"
    assert headers["created"] == "?"
    assert headers["tags"] is None
    assert b'aria-sort="descending"' in response.content


# --- pagination ----------------------------------------------------------------------


def test_pagination_counts_and_pages(reader_client, workspace, exp):
    RunFactory.create_batch(25, experiment=exp)
    response = reader_client.get(list_url(workspace, "per_page=10&page=3"))
    page = response.context["page"]
    assert (page.count, page.number, page.num_pages, len(page.rows)) == (25, 3, 3, 5)
    assert response.context["prev_qs"] == "?per_page=10&page=2"


@pytest.mark.parametrize("query", ["page=99", "page=99&status=Running"])
def test_a_page_past_the_end_shows_the_last_page(reader_client, workspace, exp, query):
    RunFactory.create_batch(12, experiment=exp)
    response = reader_client.get(list_url(workspace, f"per_page=5&{query}"))
    assert response.status_code == 200
    assert response.context["page"].number == 3
    assert len(response.context["page"].rows) == 2


# --- bad input -------------------------------------------------------------------------

BAD = [
    ("page=0", "page"),
    ("page=x", "page"),
    ("page=-1", "page"),
    ("page=99999999999", "page"),
    ("per_page=0", "per_page"),
    ("per_page=100000", "per_page"),
    ("per_page=ten", "per_page"),
    ("sort=nope", "cannot sort by"),
    ("sort=-", "cannot sort by"),
    ("sort=metrics.", "cannot sort by"),
    ("sort=created;DROP TABLE runs_run", "cannot sort by"),
    ("sort=experiment__workspace__slug", "cannot sort by"),
    ("cols=id,password", "no column"),
    ("cols=" + ",".join(f"metrics.m{i}" for i in range(40)), "at most 30 columns"),
    ("status=Exploded", "is not a status"),
    ("created_after=banana", "ISO date"),
    ("created_before=2026-13-45", "ISO date"),
    ("created_after=2026-02-01&created_before=2026-01-01", "earlier than"),
    ("q=" + "x" * 10_000, "at most 500 characters"),
    ("q=a%00b", "Null characters are not allowed"),
    ("q=a%01b", "control character"),
    ("tag=:value", "key or key:value"),
    ("tag=" + "k" * 600, "the limit is"),
    ("status=" + "&status=".join(["Running"] * 25), "at most 20 values"),
]


@pytest.mark.parametrize(("query", "message"), BAD)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_list_params_get_a_message_not_a_500(
    reader_client, workspace, exp, query, message, htmx
):
    RunFactory(experiment=exp)
    response = reader_client.get(list_url(workspace, query), headers=HX if htmx else {})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (b"<html" in response.content) is not htmx
    assert b"Fix the parameters above" in response.content


@pytest.mark.parametrize(
    "query",
    [
        "q=%27%20OR%201%3D1%20--",
        "q=%25",
        "tag=quality:%27%20OR%20%271%27%3D%271",
        "experiment=%22%3B%20DROP%20TABLE%20runs_run%3B",
        "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ],
)
def test_injection_attempts_are_just_text(reader_client, workspace, exp, query):
    RunFactory(experiment=exp, display_name="plain")
    response = reader_client.get(list_url(workspace, query))
    assert response.status_code == 200
    assert shown_ids(response) == []
    assert b"<script>alert" not in response.content


def test_percent_and_underscore_in_q_are_literal(reader_client, workspace, exp):
    hit = RunFactory(experiment=exp, display_name="acc_50%")
    RunFactory(experiment=exp, display_name="acc 50 percent")
    response = reader_client.get(list_url(workspace, "q=_50%25"))
    assert shown_ids(response) == [hit.id]


# --- live cells --------------------------------------------------------------------------


def test_active_rows_bring_a_poller(reader_client, workspace, exp):
    RunFactory(experiment=exp, status=Status.RUNNING)
    response = reader_client.get(list_url(workspace))
    assert b'id="run-live"' in response.content
    assert b'hx-trigger="every 5s"' in response.content


def test_no_poller_when_every_run_on_screen_is_finished(reader_client, workspace, exp):
    RunFactory(experiment=exp, status=Status.COMPLETED)
    response = reader_client.get(list_url(workspace))
    assert b'id="run-live"' not in response.content


def test_live_endpoint_sends_out_of_band_cells_and_stops_when_all_are_finished(
    reader_client, workspace, exp
):
    running = RunFactory(experiment=exp, status=Status.RUNNING)
    done = RunFactory(experiment=exp, status=Status.COMPLETED)
    metric(running, "loss", 0.5)
    url = reverse("runs:run-list-live", args=[workspace.slug])
    query = f"?cols=id,status,metrics.loss&live={running.id}&live={done.id}"
    response = reader_client.get(url + query, headers=HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert f'id="c1-{running.id}" hx-swap-oob="true"' in content
    assert f'id="c2-{running.id}"' in content
    assert ">0.5</td>" in content
    running.status = Status.COMPLETED
    running.save()
    response = reader_client.get(url + query, headers=HX)
    assert response.status_code == 286
    assert "status-Completed" in response.content.decode()


def test_live_endpoint_ignores_runs_of_other_workspaces(reader_client, workspace):
    other = RunFactory(experiment=ExperimentFactory(name="theirs"), status=Status.RUNNING)
    url = reverse("runs:run-list-live", args=[workspace.slug])
    response = reader_client.get(f"{url}?live={other.id}", headers=HX)
    assert response.status_code == 286
    assert other.id not in response.content.decode()


# --- query counts --------------------------------------------------------------------------


def _populate(exp, n: int) -> None:
    for i in range(n):
        run = RunFactory(experiment=exp, status=Status.RUNNING if i % 3 else Status.COMPLETED)
        TagFactory(run=run, key="quality", value="great" if i % 2 else "poor")
        metric(run, "loss", i / 10)
        PropertyFactory(run=run, key="lr", value="0.1")
        if i % 5 == 0:
            RunFactory(experiment=exp, parent=run, status=Status.FAILED)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "cols=id,status,metrics.loss,properties.lr,tags.quality&sort=-metrics.loss",
        "q=run&tag=quality:great&status=Running&sort=-metrics.loss&cols=id,metrics.loss,properties.lr",
    ],
)
@pytest.mark.parametrize("experiment_page", [False, True])
def test_query_count_does_not_grow_with_page_size(
    reader_client, workspace, exp, django_assert_max_num_queries, query, experiment_page
):
    if experiment_page:
        base = reverse("runs:experiment-runs", args=[workspace.slug, exp.name])
    else:
        base = list_url(workspace)
    _populate(exp, 12)
    reader_client.get(base)  # warm caches
    # session, user, membership, (experiment), count, page ids, tree rows, tags,
    # metrics, properties, children summary, column chooser
    with django_assert_max_num_queries(12) as small:
        response = reader_client.get(f"{base}?{query}&per_page=10", headers=HX)
    assert response.status_code == 200
    _populate(exp, 60)
    with django_assert_max_num_queries(12) as large:
        response = reader_client.get(f"{base}?{query}&per_page=200", headers=HX)
    assert response.status_code == 200
    assert len(response.context["page"].rows) > 10
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_column_ticked_in_the_chooser_lands_beside_the_run_name(reader_client, workspace, exp):
    run = RunFactory(experiment=exp)
    metric(run, "acc", 0.9)
    html = reader_client.get(list_url(workspace, "cols=id,status,created")).content.decode()
    chooser = html[html.index('class="popover-body col-chooser"') :]
    chooser = chooser[: chooser.index("</form>")]
    boxes = re.findall(r'name="cols" value="([^"]+)"( checked)?', chooser)
    # The hidden id first, then the columns not shown, then the shown ones in order:
    # a form sends them in that order, so a newly ticked one comes right after the run.
    assert boxes[0] == ("id", "")
    shown = [key for key, checked in boxes if checked]
    assert shown == ["status", "created"]
    first_shown = boxes.index(("status", " checked"))
    assert ("metrics.acc", "") in boxes[1:first_shown]
    # Each shown column moves left or right with a link.
    base = list_url(workspace)
    assert f'href="{base}?cols=id%2Ccreated%2Cstatus"' in chooser


def test_the_run_table_keeps_its_name_column_fixed(reader_client, workspace, exp):
    RunFactory(experiment=exp)
    html = reader_client.get(list_url(workspace)).content.decode()
    assert '<th class="col-builtin col-run" scope="col">' in html


def test_filter_names_are_the_workspaces(reader_client, outsider_client, workspace, exp):
    run = RunFactory(experiment=exp)
    TagFactory(run=run, key="quality", value="great")
    PropertyFactory(run=run, key="lr", value="0.1")
    metric(run, "acc", 0.5)
    url = reverse("runs:run-list-names", args=[workspace.slug])
    names = reader_client.get(url).json()
    assert names["tags"] == ["quality"]
    assert names["metrics"] == ["acc"]
    assert names["properties"] == ["lr"]
    assert "submittedBy" in names["fields"]
    assert "CancelRequested" in names["statuses"]
    assert outsider_client.get(url).status_code == 404


def test_a_text_metric_column_shows_the_series_latest_text(reader_client, workspace, exp):
    run = RunFactory(experiment=exp)
    services.metric_log_batch(
        run=run,
        series=[
            services.SeriesIn(name="message", values=["Loading", "Epoch <3> done"]),
            services.SeriesIn(name="loss", values=[0.5]),
        ],
    )
    response = reader_client.get(list_url(workspace, "cols=id,metrics.message,metrics.loss"))
    content = response.content.decode()
    assert "Epoch &lt;3&gt; done" in content
    assert "Loading" not in content
    assert ">0.5</td>" in content
