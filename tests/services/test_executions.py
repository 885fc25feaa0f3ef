"""Claiming runs: which Queued runs a local worker takes, and that a claim happens once."""

from __future__ import annotations

import io
import tarfile

import pytest
from django.core.files.base import ContentFile

from runs import services
from runs.exceptions import InvalidTransition
from runs.models import ComputeTarget
from tests.factories import ExperimentFactory, RunFactory, UserFactory


def snapshot() -> ContentFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("a.py")
        tar.addfile(info, io.BytesIO(b""))
    return ContentFile(buffer.getvalue(), name="s.tar.gz")


@pytest.fixture
def experiment(db):
    return ExperimentFactory(name="claims")


def submitted(experiment, target="local"):
    return services.run_submit(
        experiment=experiment,
        user=UserFactory(),
        script="a.py",
        arguments=[],
        target=target,
        snapshot=snapshot(),
    )


def test_the_local_worker_takes_submitted_runs_of_local_targets_only(experiment):
    ws = experiment.workspace
    ComputeTarget.objects.create(workspace=ws, name="cpu-box", executor="local")
    ComputeTarget.objects.create(workspace=ws, name="gpu-cluster", executor="celery")
    local = submitted(experiment)
    box = submitted(experiment, "cpu-box")
    submitted(experiment, "gpu-cluster")
    RunFactory(experiment=experiment, status="Queued", compute_target="local")  # not submitted

    taken = [services.run_claim_next(worker="w", targets=None) for _ in range(3)]

    assert [t[0].pk for t in taken[:2]] == [local.pk, box.pk]
    assert taken[2] is None


def test_targets_and_children_only_narrow_the_claim(experiment):
    parent = submitted(experiment)
    ComputeTarget.objects.create(workspace=experiment.workspace, name="cpu-box")
    box = submitted(experiment, "cpu-box")
    assert services.run_claim_next(worker="w", targets=["cpu-box"])[0].pk == box.pk
    assert services.run_claim_next(worker="w", targets=None, children_only=True) is None
    assert services.run_claim_next(worker="w", targets=None)[0].pk == parent.pk


def test_a_run_is_claimed_once(experiment):
    run = submitted(experiment)
    services.run_claim(run=run, worker="a")
    with pytest.raises(InvalidTransition):
        services.run_claim(run=run, worker="b")
    run.refresh_from_db()
    assert run.worker == "a"
