"""The header: Runs, Views, Compare, Members and the API docs from every page."""

import pytest
from django.urls import reverse

from runs.services import saved_views as view_services
from tests.factories import ExperimentFactory, RunFactory


@pytest.fixture
def pages(workspace, reader_client):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    run = RunFactory(experiment=exp)
    member = reader_client.user.memberships.get(workspace=workspace)
    view = view_services.saved_view_create(actor=member, name="mine", state={})
    slug = workspace.slug
    return {
        "workspace-home": reverse("runs:workspace-home", args=[slug]),
        "run-list": reverse("runs:run-list", args=[slug]),
        "experiment-runs": reverse("runs:experiment-runs", args=[slug, "mnist"]),
        "run-detail": reverse("runs:run-detail", args=[slug, run.id]),
        "saved-views": reverse("runs:saved-views", args=[slug]),
        "saved-view": reverse("runs:saved-view", args=[slug, view.pk]),
        "compare": reverse("runs:compare", args=[slug]) + f"?runs={run.id}",
        "members": reverse("runs:members", args=[slug]),
    }


@pytest.mark.parametrize(
    ("page", "current"),
    [
        ("workspace-home", None),
        ("run-list", "Runs"),
        ("experiment-runs", "Runs"),
        ("run-detail", "Runs"),
        ("saved-views", "Views"),
        ("saved-view", "Views"),
        ("compare", "Compare"),
        ("members", "Members"),
    ],
)
def test_every_page_links_the_workspace_sections_and_the_api_docs(
    reader_client, workspace, pages, page, current
):
    response = reader_client.get(pages[page])
    assert response.status_code == 200
    html = response.content.decode()
    header = html[html.index('<header class="topbar">') : html.index("</header>")]
    slug = workspace.slug
    for href in (
        reverse("runs:run-list", args=[slug]),
        reverse("runs:saved-views", args=[slug]),
        reverse("runs:compare", args=[slug]),
        reverse("runs:members", args=[slug]),
        reverse("api:openapi-view"),
    ):
        assert f'href="{href}"' in header, href
    marked = [part.split(">")[1].split("<")[0] for part in header.split('aria-current="page"')[1:]]
    assert marked == ([current] if current else [])


def test_the_home_page_links_the_api_docs(reader_client, workspace):
    html = reader_client.get(reverse("runs:home"), follow=True).content.decode()
    assert f'href="{reverse("api:openapi-view")}"' in html


def test_compare_from_the_header_without_runs_is_a_page(reader_client, workspace):
    response = reader_client.get(reverse("runs:compare", args=[workspace.slug]))
    assert response.status_code == 200
