"""The start page and the workspace home."""

import pytest
from django.urls import reverse

from runs.status import Status
from tests.factories import ExperimentFactory, MembershipFactory, RunFactory, WorkspaceFactory


def test_anonymous_users_are_sent_to_sign_in(client, workspace):
    response = client.get(reverse("runs:workspace-home", args=[workspace.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_member_of_one_workspace_goes_straight_to_it(reader_client, workspace):
    response = reader_client.get(reverse("runs:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:workspace-home", args=[workspace.slug])


def test_a_member_of_several_workspaces_picks_one(reader_client, workspace):
    other = WorkspaceFactory(slug="second")
    MembershipFactory(workspace=other, user=reader_client.user)
    response = reader_client.get(reverse("runs:home"))
    assert response.status_code == 200
    assert b"second" in response.content
    assert b"team" in response.content


def test_outsider_gets_404(outsider_client, workspace):
    response = outsider_client.get(reverse("runs:workspace-home", args=[workspace.slug]))
    assert response.status_code == 404


def test_workspace_home_counts_runs_by_status(
    reader_client, workspace, django_assert_max_num_queries
):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    ExperimentFactory(workspace=workspace, name="empty-one")
    RunFactory.create_batch(3, experiment=exp, status=Status.COMPLETED)
    RunFactory(experiment=exp, status=Status.FAILED)
    # session, user, membership+workspace, experiments, grouped counts
    with django_assert_max_num_queries(5):
        response = reader_client.get(reverse("runs:workspace-home", args=[workspace.slug]))
    assert response.status_code == 200
    summaries = {s.experiment.name: s for s in response.context["experiments"]}
    assert summaries["mnist"].total == 4
    assert summaries["mnist"].status_counts == [("Completed", 3), ("Failed", 1)]
    assert summaries["empty-one"].total == 0
    assert [s.experiment.name for s in response.context["experiments"]] == ["mnist", "empty-one"]


@pytest.mark.parametrize("name", ["runs:run-list"])
def test_run_list_renders_for_members(reader_client, workspace, name):
    RunFactory(experiment=ExperimentFactory(workspace=workspace))
    response = reader_client.get(reverse(name, args=[workspace.slug]))
    assert response.status_code == 200
