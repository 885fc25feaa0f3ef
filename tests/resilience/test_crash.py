"""SIGKILL the studio in the middle of four SDK clients logging, start it again:
every point is stored exactly once, and every run completes."""

from __future__ import annotations

import threading

import pytest

from runs import services
from runs.models import MetricBatch, Role
from runs.models import Run as RunModel
from runs.sdk import Backoff, Experiment, SenderOptions, Workspace
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.resilience.servers import studio
from tests.workers import wait_until

CLIENTS = 4
POINTS = 600
# Retries for about a minute: the studio is away while it starts again.
PATIENT = Backoff(base=0.05, cap=0.5)


@pytest.fixture
def token(transactional_db) -> str:
    ws = WorkspaceFactory(slug="team")
    user = UserFactory(username="trainer")
    MembershipFactory(workspace=ws, user=user, role=Role.CONTRIBUTOR)
    return services.token_create(user=user, name="crash")[1]


def _stored() -> int:
    return sum(MetricBatch.objects.values_list("points", flat=True))


def test_a_killed_studio_loses_and_doubles_no_point(tmp_path, token):
    with studio(tmp_path) as server:
        ws = Workspace(
            server.url,
            token,
            "team",
            options=SenderOptions(flush_interval=0.02, batch_points=50, backoff=PATIENT),
            backoff=PATIENT,
            retries=120,
            heartbeat_interval=0.5,
        )
        exp = Experiment(workspace=ws, name="crash")
        runs = [exp.start_logging(f"client {i}") for i in range(CLIENTS)]
        killed = threading.Event()
        errors: list[BaseException] = []

        def train(run) -> None:
            try:
                for step in range(POINTS):
                    run.log("loss", step / 2)
                    if step % 50 == 0:
                        # A training loop's pace: the kill lands while points are on the way.
                        killed.wait(0.01)
                run.complete()
            except BaseException as exc:  # reported by the test
                errors.append(exc)

        threads = [threading.Thread(target=train, args=(run,)) for run in runs]
        for t in threads:
            t.start()
        wait_until(lambda: _stored() >= CLIENTS * 50, what="points stored before the kill")
        server.kill()
        killed.set()
        before_restart = _stored()
        server.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert not any(t.is_alive() for t in threads)

    assert 0 < before_restart < CLIENTS * POINTS  # the kill came mid-logging
    for run in runs:
        row = RunModel.objects.get(pk=run.id)
        series = services.metric_series(run=row, name="loss")
        assert series["steps"] == list(range(POINTS)), run.id
        assert series["values"] == [s / 2 for s in range(POINTS)]
        assert sum(MetricBatch.objects.filter(run=row).values_list("points", flat=True)) == POINTS
        assert row.status == "Completed"
    assert server.starts == 2
