"""The run detail page and its read-only partials: content, permissions, query counts."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from runs import services
from runs.models import RunEvent
from runs.status import Status
from tests.factories import (
    ExperimentFactory,
    PropertyFactory,
    RunFactory,
    TagFactory,
    UserFactory,
    WorkspaceFactory,
)

HX = {"HX-Request": "true"}
ROLES = ["reader", "contributor", "owner"]


@pytest.fixture
def run(workspace):
    return RunFactory(
        experiment=ExperimentFactory(workspace=workspace, name="mnist"),
        display_name="resnet warmup",
        status=Status.RUNNING,
    )


def member(request, role: str):
    return request.getfixturevalue(f"{role}_client")


def url(name: str, run, *extra) -> str:
    return reverse(name, args=[run.workspace.slug, run.pk, *extra])


def read_urls(run) -> list[str]:
    services.run_file_upload(run=run, path="out/a.txt", content=ContentFile(b"hello"))
    log = services.run_file_upload(
        run=run, path="train.log", content=ContentFile(b"line\n"), kind="log"
    )
    return [
        url("runs:run-detail", run),
        url("runs:run-status", run),
        url("runs:run-metrics", run),
        url("runs:run-file", run, "out/a.txt"),
        url("runs:run-log", run, log.pk) + "?offset=0",
        *[url("runs:run-part", run, part) for part in ("run-tags", "run-activity")],
    ]


@pytest.mark.parametrize("role", ROLES)
def test_members_see_the_page(request, role, run):
    response = member(request, role).get(url("runs:run-detail", run))
    assert response.status_code == 200
    html = response.content.decode()
    assert run.pk in html
    assert "resnet warmup" in html
    assert 'id="run-status"' in html
    assert f'href="{reverse("runs:experiment-runs", args=["team", "mnist"])}"' in html


def test_anonymous_users_are_sent_to_sign_in(client, run):
    response = client.get(url("runs:run-detail", run))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_outsider_gets_404_for_every_page_and_partial(outsider_client, run):
    for u in read_urls(run):
        assert outsider_client.get(u).status_code == 404, u


@pytest.mark.parametrize("role", ROLES)
def test_a_run_of_another_workspace_is_404_even_by_its_id(request, role, workspace):
    other = RunFactory(experiment=ExperimentFactory(workspace=WorkspaceFactory(slug="other")))
    client = member(request, role)
    # The other workspace's run, asked for under this workspace's slug.
    for name in ("runs:run-detail", "runs:run-status", "runs:run-metrics"):
        response = client.get(reverse(name, args=[workspace.slug, other.pk]))
        assert response.status_code == 404
    response = client.get(reverse("runs:run-part", args=[workspace.slug, other.pk, "run-tags"]))
    assert response.status_code == 404


def test_unknown_run_and_unknown_part_are_404(reader_client, run, workspace):
    assert reader_client.get(reverse("runs:run-detail", args=["team", "nope"])).status_code == 404
    assert reader_client.get(url("runs:run-part", run, "run-secrets")).status_code == 404


def test_readers_see_no_controls(reader_client, run):
    TagFactory(run=run, key="quality", value="good")
    html = reader_client.get(url("runs:run-detail", run)).content.decode()
    assert "quality" in html
    assert url("runs:run-tags", run) not in html
    assert url("runs:run-cancel", run) not in html
    assert url("runs:run-description", run) not in html
    assert "?edit=name" not in html
    assert 'name="key"' not in html


@pytest.mark.parametrize("role", ["contributor", "owner"])
def test_contributors_and_owners_see_the_controls(request, role, run):
    html = member(request, role).get(url("runs:run-detail", run)).content.decode()
    assert url("runs:run-tags", run) in html
    assert url("runs:run-cancel", run) in html
    assert "?edit=description" in html
    assert "?edit=name" in html


def test_overview_shows_timings_submitter_target_and_parent(reader_client, workspace):
    submitter = UserFactory(username="ada")
    parent = RunFactory(experiment__workspace=workspace, display_name="sweep")
    child = RunFactory(
        parent=parent,
        experiment=parent.experiment,
        submitted_by=submitter,
        compute_target="gpu-cluster",
        status=Status.RUNNING,
    )
    services.run_complete(run=child)
    html = reader_client.get(url("runs:run-detail", child)).content.decode()
    assert "ada" in html
    assert "gpu-cluster" in html
    assert reverse("runs:run-detail", args=["team", parent.pk]) in html
    for label in ("Created", "Started", "Ended", "Duration"):
        assert label in html


def test_failed_runs_show_the_error_with_pretty_details(reader_client, run):
    services.run_fail(
        run=run, error_code="NaNLoss", message="loss became NaN", details={"step": 812, "lr": 0.1}
    )
    html = reader_client.get(url("runs:run-detail", run)).content.decode()
    assert "NaNLoss" in html
    assert "loss became NaN" in html
    assert "&quot;lr&quot;: 0.1,\n  &quot;step&quot;: 812" in html


def test_properties_are_read_only_and_marked_immutable(contributor_client, run):
    PropertyFactory(run=run, key="git_sha", value="a41b09d")
    html = contributor_client.get(url("runs:run-detail", run)).content.decode()
    assert "git_sha" in html
    assert "a41b09d" in html
    assert "immutable" in html


def test_children_tree_links_every_descendant_with_its_status(reader_client, run):
    a = RunFactory(parent=run, experiment=run.experiment, status=Status.COMPLETED)
    b = RunFactory(parent=run, experiment=run.experiment, status=Status.FAILED)
    grandchild = RunFactory(parent=a, experiment=run.experiment, status=Status.RUNNING)
    html = reader_client.get(url("runs:run-detail", run)).content.decode()
    for r in (a, b, grandchild):
        assert reverse("runs:run-detail", args=["team", r.pk]) in html
    assert "status-Completed" in html
    assert "status-Failed" in html
    assert "<details" in html  # expandable branch under `a`


def test_cancel_confirmation_counts_unfinished_descendants(contributor_client, run):
    RunFactory.create_batch(2, parent=run, experiment=run.experiment, status=Status.RUNNING)
    child = RunFactory(parent=run, experiment=run.experiment, status=Status.COMPLETED)
    RunFactory(parent=child, experiment=run.experiment, status=Status.QUEUED)
    html = contributor_client.get(url("runs:run-detail", run)).content.decode()
    assert "Cancel this run and 3 unfinished child runs?" in html


def test_a_finished_run_shows_no_cancel_button(contributor_client, run):
    services.run_complete(run=run)
    html = contributor_client.get(url("runs:run-detail", run)).content.decode()
    toolbar = html[
        html.index('id="run-toolbar"') : html.index("</div>", html.index('id="run-toolbar"'))
    ]
    assert "btn-danger" not in toolbar
    assert "Cancel run" not in toolbar


def test_activity_lists_who_changed_what_newest_first(reader_client, run, contributor_client):
    services.run_set_tags(run=run, tags={"quality": "good"}, actor=contributor_client.user)
    services.run_cancel(run=run, actor=contributor_client.user)
    services.run_set_status(run=run, to=Status.CANCELED)
    response = reader_client.get(url("runs:run-part", run, "run-activity"), headers=HX)
    html = response.content.decode()
    assert "<html" not in html
    items = html.split("<li>")[1:]
    assert len(items) == 3
    # Canceled (by the process), the cancel request (by the contributor), the tag.
    assert "status-Canceled" in items[0]
    assert "system" in items[0]
    assert "status-CancelRequested" in items[1]
    assert "contributor" in items[1]
    assert "quality" in items[2]
    # Statuses read as words, as on every badge.
    assert ">Cancel Requested<" in items[1]
    assert "CancelRequested<" not in html


def test_description_renders_the_cached_html(reader_client, run):
    services.run_update(run=run, description="**bold** [base](run:team_1_00000001)")
    html = reader_client.get(url("runs:run-detail", run)).content.decode()
    assert "<strong>bold</strong>" in html
    assert 'href="/w/team/runs/team_1_00000001/"' in html


def test_metrics_table_and_chart_slots(reader_client, run):
    services.metric_log_batch(
        run=run,
        series=[
            services.SeriesIn(name="loss", values=[1.0, 0.5]),
            services.SeriesIn(name="acc", values=[0.5, 0.9]),
        ],
    )
    html = reader_client.get(url("runs:run-detail", run)).content.decode()
    assert 'data-metric="loss"' in html
    assert 'data-metric="acc"' in html
    assert f'data-metrics-url="{url("runs:run-metrics", run)}"' in html
    assert "0.9" in html


@pytest.mark.parametrize(
    "part", ["run-title", "run-toolbar", "run-overview", "run-tags", "run-description",
             "run-children", "run-activity"],
)  # fmt: skip
def test_partials_are_fragments(reader_client, run, part):
    response = reader_client.get(url("runs:run-part", run, part), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert f'id="{part}"' in html


def test_the_status_badge_polls_while_the_run_is_active(reader_client, run):
    response = reader_client.get(url("runs:run-status", run) + "?seen=Running", headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "every 2s" in html
    assert "HX-Trigger-After-Swap" not in response


def test_the_status_badge_stops_polling_once_terminal(reader_client, run):
    services.run_cancel(run=run)
    services.run_set_status(run=run, to=Status.CANCELED)
    response = reader_client.get(url("runs:run-status", run) + "?seen=CancelRequested", headers=HX)
    assert response.status_code == 286
    html = response.content.decode()
    assert "status-Canceled" in html
    assert "every 2s" not in html
    assert "runChanged" in response["HX-Trigger-After-Swap"]


def test_a_status_change_is_announced_to_the_other_regions(reader_client, run):
    services.run_cancel(run=run)
    response = reader_client.get(url("runs:run-status", run) + "?seen=Running", headers=HX)
    assert response.status_code == 200
    assert "status-CancelRequested" in response.content.decode()
    assert "runChanged" in response["HX-Trigger-After-Swap"]


def _populate(run, n: int) -> None:
    exp = run.experiment
    for i in range(n):
        TagFactory(run=run, key=f"t{n}-{i}")
        PropertyFactory(run=run, key=f"p{n}-{i}")
        child = RunFactory(parent=run, experiment=exp)
        RunFactory(parent=child, experiment=exp, status=Status.COMPLETED)
        RunEvent.objects.create(run=run, kind="tag", field=f"t{i}", new="v")
    services.metric_log_batch(
        run=run, series=[services.SeriesIn(name=f"m{n}-{i}", values=[1.0, 2.0]) for i in range(n)]
    )
    for i in range(n):
        services.run_file_upload(run=run, path=f"out/{n}-{i}.txt", content=ContentFile(b"x"))


def test_detail_page_queries_do_not_grow(reader_client, run, django_assert_max_num_queries):
    detail = url("runs:run-detail", run)
    _populate(run, 2)
    reader_client.get(detail)  # warm caches
    # session, user, membership+workspace, run+experiment+submitter+parent, tags,
    # properties, latest metrics, files, descendants, events+actors
    with django_assert_max_num_queries(10) as small:
        assert reader_client.get(detail).status_code == 200
    _populate(run, 30)
    with django_assert_max_num_queries(10) as large:
        assert reader_client.get(detail).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
