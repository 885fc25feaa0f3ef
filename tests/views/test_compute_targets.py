"""The compute targets page: every member sees targets, queues and workers; owners add and
remove targets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.models import ComputeTarget, Worker
from tests.factories import ExperimentFactory, RunFactory

HX = {"HX-Request": "true"}
URL = reverse("runs:compute-targets", args=["team"])


def test_the_page_lives_under_the_workspace_settings():
    assert URL == "/w/team/settings/compute/"


@pytest.mark.parametrize("role", ["reader", "contributor", "owner"])
def test_members_see_targets_with_their_queue_and_workers(request, role, workspace):
    ComputeTarget.objects.create(workspace=workspace, name="gpu-cluster", executor="celery")
    experiment = ExperimentFactory(workspace=workspace)
    RunFactory.create_batch(2, experiment=experiment, status="Queued", compute_target="gpu-cluster")
    RunFactory(experiment=experiment, status="Running", compute_target="local")
    Worker.objects.create(name="runworker@box:1", executor="local", targets=["local"])
    Worker.objects.create(
        name="celery@gpu:2", executor="celery", targets=["gpu-cluster"], workspace=workspace
    )
    Worker.objects.create(
        name="celery@old:3",
        executor="celery",
        targets=["gpu-cluster"],
        workspace=workspace,
        last_seen=timezone.now() - timedelta(minutes=5),
    )
    client = request.getfixturevalue(f"{role}_client")

    response = client.get(URL)

    assert response.status_code == 200
    targets = {t.name: t for t in response.context["targets"]}
    assert list(targets) == ["local", "gpu-cluster"]
    assert (targets["local"].queued, targets["local"].running) == (0, 1)
    assert (targets["gpu-cluster"].queued, targets["gpu-cluster"].running) == (2, 0)
    assert [w.name for w in targets["local"].workers] == ["runworker@box:1"]
    assert [w.name for w in targets["gpu-cluster"].workers] == ["celery@gpu:2"]
    html = response.content.decode()
    assert "celery@old:3" not in html
    assert ('name="executor"' in html) is (role == "owner")


def test_outsiders_get_404(outsider_client, workspace):
    assert outsider_client.get(URL).status_code == 404
    response = outsider_client.post(URL, {"action": "create", "name": "x", "executor": "local"})
    assert response.status_code == 404
    assert not ComputeTarget.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("reader", 403), ("contributor", 403)])
def test_only_owners_change_targets(request, workspace, role, status):
    client = request.getfixturevalue(f"{role}_client")
    response = client.post(URL, {"action": "create", "name": "x", "executor": "local"}, **HX)
    assert response.status_code == status
    assert "needs the owner role" in response.content.decode()
    assert not ComputeTarget.objects.exists()


def test_owners_add_and_remove_targets(owner_client, workspace):
    response = owner_client.post(
        URL, {"action": "create", "name": "gpu-cluster", "executor": "celery"}, headers=HX
    )
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert ComputeTarget.objects.get().executor == "celery"
    response = owner_client.post(URL, {"action": "delete", "name": "gpu-cluster"})
    assert response.status_code == 302
    assert not ComputeTarget.objects.exists()


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"action": "create", "name": "", "executor": "local"}, 422, "needs a name"),
        ({"action": "create", "name": "bad name", "executor": "local"}, 422, "not a valid name"),
        ({"action": "create", "name": "local", "executor": "local"}, 422, "exists in every"),
        ({"action": "create", "name": "dup", "executor": "local"}, 422, "has a compute target"),
        ({"action": "create", "name": "x", "executor": "slurm"}, 422, "Select a valid choice"),
        ({"action": "delete", "name": "nope"}, 422, "has no compute target"),
        ({"action": "delete", "name": "busy"}, 422, "queued or executing"),
        ({"action": "delete"}, 422, "Say which target"),
        ({"action": "fly"}, 400, "Unknown action"),
    ],
)
def test_bad_input_gets_a_message(owner_client, workspace, data, status, message):
    ComputeTarget.objects.create(workspace=workspace, name="dup")
    ComputeTarget.objects.create(workspace=workspace, name="busy")
    RunFactory(
        experiment=ExperimentFactory(workspace=workspace), status="Queued", compute_target="busy"
    )
    response = owner_client.post(URL, data, headers=HX)
    assert response.status_code == status
    assert message in response.content.decode()
    assert ComputeTarget.objects.count() == 2


def test_the_page_costs_a_fixed_number_of_queries(
    reader_client, workspace, django_assert_num_queries
):
    reader_client.get(URL)
    # session, user, membership, targets, run counts, workers
    with django_assert_num_queries(6):
        reader_client.get(URL, headers=HX)
    for i in range(5):
        ComputeTarget.objects.create(workspace=workspace, name=f"t{i}")
        Worker.objects.create(name=f"w{i}", executor="local", targets=["local", f"t{i}"])
    with django_assert_num_queries(6):
        reader_client.get(URL, headers=HX)
