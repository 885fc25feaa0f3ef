"""The queries of one request, path by path: the run list's walk (view -> form and
list state -> selectors -> rows -> template) costs the same whatever the page size, and
what it cost before the list state had a module of its own."""

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.models import LatestMetric
from runs.services import saved_views as view_services
from runs.status import Status
from tests.factories import ExperimentFactory, RunFactory, TagFactory

HX = {"HX-Request": "true"}


@pytest.fixture
def world(workspace, reader_client):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    parent = RunFactory(experiment=exp, status=Status.COMPLETED)
    for i in range(3):
        kid = RunFactory(experiment=exp, parent=parent, status=Status.FAILED)
        LatestMetric.objects.create(
            run=kid, name="acc", value=i / 10, step=1, time=timezone.now(), count=1
        )
    live = RunFactory(experiment=exp, status=Status.RUNNING)
    TagFactory(run=live, key="quality", value="great")
    member = reader_client.user.memberships.get(workspace=workspace)
    view = view_services.saved_view_create(
        actor=member, name="failed", state={"status": ["Failed"], "sort": "-metrics.acc"}
    )
    return {"exp": exp, "parent": parent, "live": live, "view": view}


def _more(world, n: int) -> None:
    RunFactory.create_batch(n, experiment=world["exp"], status=Status.COMPLETED)


# (path, htmx, queries). The session, the user and the membership (with the pinned
# default view) are 3 queries of each; the column chooser's names are cached.
WALKS = [
    # + count, page ids, children by status, rows, tags
    ("runs/?default=none", False, 8),
    ("runs/?default=none", True, 8),
    # + the matching roots (counted), page ids, the trees' matches, rows, tags, groups
    ("runs/?status=Failed&sort=-metrics.acc", True, 9),
    ("runs/?filter=metrics.acc+%3E+0.05", False, 9),
    ("runs/?q=mnist", True, 9),
    ("experiments/mnist/", False, 9),
    # + the exact count
    ("runs/count/?q=mnist", True, 4),
    # + the view, then the list's walk (its condition: status)
    ("views/{view}/", False, 10),
    ("views/{view}/list/?sort=status", True, 9),
]


@pytest.mark.parametrize(("path", "htmx", "queries"), WALKS)
def test_the_request_walks_cost_what_they_did(
    reader_client, workspace, world, django_assert_num_queries, path, htmx, queries
):
    url = f"/w/{workspace.slug}/" + path.format(view=world["view"].pk)
    headers = HX if htmx else {}
    assert reader_client.get(url, headers=headers).status_code == 200  # warm the caches
    with django_assert_num_queries(queries):
        reader_client.get(url, headers=headers)
    _more(world, 60)
    with django_assert_num_queries(queries):
        reader_client.get(url + ("&" if "?" in url else "?") + "per_page=100", headers=headers)


def test_children_and_live_cells_walks(reader_client, workspace, world, django_assert_num_queries):
    children = reverse("runs:run-children", args=[workspace.slug, world["parent"].id])
    live = reverse("runs:run-list-live", args=[workspace.slug]) + f"?live={world['live'].id}"
    reader_client.get(children, headers=HX)
    # + the parent, the children with their count, their tags, their children by status
    with django_assert_num_queries(7):
        reader_client.get(children, headers=HX)
    # + the runs on screen
    with django_assert_num_queries(4):
        reader_client.get(live, headers=HX)
    # Under a filter, one more: how many children the filter hides.
    with django_assert_num_queries(8):
        reader_client.get(children + "?status=Failed", headers=HX)
