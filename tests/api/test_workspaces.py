"""Workspaces of the token's user, and experiments with their run counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Experiment
from runs.status import Status
from tests.api.helpers import assert_error
from tests.factories import ExperimentFactory, MembershipFactory, RunFactory, WorkspaceFactory


def test_workspaces_lists_memberships_with_roles(api_client, api_user, other_workspace):
    MembershipFactory(workspace=WorkspaceFactory(slug="alpha"), user=api_user, role="reader")
    body = api_client.get("/api/workspaces").json()
    assert body == {
        "workspaces": [
            {"name": "alpha", "role": "reader"},
            {"name": "team", "role": "contributor"},
        ]
    }


def test_workspaces_empty_for_a_user_without_any(make_api_client, db):
    from tests.factories import UserFactory

    client = make_api_client(UserFactory(username="lonely"))
    assert client.get("/api/workspaces").json() == {"workspaces": []}


def test_experiments_with_counts_and_last_activity(
    api_client, workspace, django_assert_num_queries
):
    old, new, empty = (
        ExperimentFactory(workspace=workspace, name=n) for n in ("old", "new", "empty")
    )
    now = timezone.now()
    RunFactory.create_batch(2, experiment=old, created=now - timedelta(days=2))
    last = RunFactory(experiment=new, created=now - timedelta(hours=1), status=Status.COMPLETED)
    last.ended = now
    last.save()
    RunFactory(experiment=new, parent=last, created=now - timedelta(hours=1))
    api_client.get("/api/w/team/experiments")
    # token, membership, experiments, grouped run counts
    with django_assert_num_queries(4):
        body = api_client.get("/api/w/team/experiments").json()
    rows = {e["name"]: e for e in body["experiments"]}
    assert [e["name"] for e in body["experiments"]] == ["new", "old", "empty"]
    assert set(rows["new"]) == {"name", "created", "runCount", "lastActivity"}
    assert rows["new"]["runCount"] == 2
    assert rows["new"]["lastActivity"] == now.isoformat().replace("+00:00", "Z")
    assert rows["old"]["runCount"] == 2
    assert (rows["empty"]["runCount"], rows["empty"]["lastActivity"]) == (0, None)


def test_experiments_of_another_workspace_are_not_listed(api_client, workspace, other_workspace):
    assert api_client.get("/api/w/team/experiments").json() == {"experiments": []}


def test_create_experiment(api_client, workspace):
    response = api_client.post_json("/api/w/team/experiments", {"name": "fresh"})
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["runCount"], body["lastActivity"]) == ("fresh", 0, None)
    assert Experiment.objects.filter(workspace=workspace, name="fresh").exists()


def test_create_existing_experiment_answers_200(api_client, run):
    response = api_client.post_json("/api/w/team/experiments", {"name": "mnist"})
    assert response.status_code == 200
    assert response.json()["runCount"] == 1
    assert Experiment.objects.filter(name="mnist").count() == 1


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({}, "BadRequest", "body.name: Field required"),
        ({"name": 3}, "BadRequest", "body.name: Input should be a valid string"),
        ({"name": ""}, "ValidationError", "experiment name"),
        ({"name": "has space"}, "ValidationError", "experiment name"),
        ({"name": "../up"}, "ValidationError", "experiment name"),
        ({"name": "-dash-first"}, "ValidationError", "experiment name"),
        ({"name": "x" * 101}, "ValidationError", "experiment name"),
        ({"name": "ok", "color": "red"}, "BadRequest", "body.color: Extra"),
    ],
)
def test_create_experiment_bad_input(api_client, workspace, body, code, fragment):
    response = api_client.post_json("/api/w/team/experiments", body)
    assert_error(response, 400, code, fragment)
    assert not Experiment.objects.exists()
