"""The studio's own 404, 403 and 410 pages, with a way back, whatever DEBUG says."""

import pytest
from django.test import Client
from django.urls import reverse

from runs.models import Role
from runs.services import saved_views as view_services
from tests.factories import ExperimentFactory, MembershipFactory, RunFactory, UserFactory


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _studio_page(response, status: int) -> str:
    assert response.status_code == status
    html = response.content.decode()
    assert '<header class="topbar">' in html, "the studio's page, not Django's"
    assert "Technical" not in html  # Django's debug page says "technical 404"
    assert f'href="{reverse("runs:home")}"' in html  # a way back
    return html


@pytest.mark.parametrize(
    "path",
    [
        "/w/team/runs/mnist_1_deadbeef/",  # a missing run
        "/w/nowhere/runs/",  # a missing workspace
        "/w/team/experiments/nope/",  # a missing experiment
        "/no/such/page/",  # no URL at all
    ],
)
def test_missing_pages_are_the_studios_404(reader_client, workspace, debug, path):
    html = _studio_page(reader_client.get(path), 404)
    assert "Nothing here" in html


def test_a_404_in_a_members_workspace_links_its_runs(reader_client, workspace, debug):
    html = _studio_page(reader_client.get("/w/team/runs/mnist_1_deadbeef/"), 404)
    assert f'href="{reverse("runs:run-list", args=["team"])}"' in html


def test_a_404_for_an_outsider_says_nothing_of_the_workspace(outsider_client, workspace, debug):
    html = _studio_page(outsider_client.get("/w/team/runs/"), 404)
    assert reverse("runs:run-list", args=["team"]) not in html


def test_anothers_private_view_is_a_404_page(reader_client, workspace, debug):
    owner = UserFactory(username="someone")
    member = MembershipFactory(workspace=workspace, user=owner, role=Role.CONTRIBUTOR)
    view = view_services.saved_view_create(actor=member, name="mine", state={})
    html = _studio_page(reader_client.get(reverse("runs:saved-view", args=["team", view.pk])), 404)
    assert "mine" not in html


def test_a_deleted_view_is_a_410_page_with_ways_back(reader_client, workspace, debug):
    member = reader_client.user.memberships.get(workspace=workspace)
    view = view_services.saved_view_create(actor=member, name="gone soon", state={})
    view_services.saved_view_delete(view=view, actor=member)
    html = _studio_page(reader_client.get(reverse("runs:saved-view", args=["team", view.pk])), 410)
    assert "This view was deleted" in html


def test_a_refused_page_is_the_studios_403(reader_client, workspace, debug):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    run = RunFactory(experiment=exp)
    response = reader_client.post(
        reverse("runs:run-bulk", args=["team"]), {"action": "cancel", "runs": [run.id]}
    )
    _studio_page(response, 403)


def test_a_form_without_its_csrf_token_is_the_studios_403(workspace, debug):
    client = Client(enforce_csrf_checks=True)
    user = UserFactory(username="csrf")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    client.force_login(user)
    response = client.post(reverse("runs:saved-view-create", args=["team"]), {"name": "x"})
    html = _studio_page(response, 403)
    assert "security token" in html


def test_the_api_keeps_its_json_404(api_client, workspace, debug):
    response = api_client.get("/api/w/team/runs/nope_1_deadbeef")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_an_error_page_marks_no_section_of_the_header(reader_client, workspace):
    html = reader_client.get("/w/team/runs/mnist_1_deadbeef/").content.decode()
    assert 'aria-current="page"' not in html
