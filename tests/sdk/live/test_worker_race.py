"""Two workers race for the same queue: every run is taken once and runs once."""

from __future__ import annotations

import io
import tarfile

from django.core.files.base import ContentFile

from runs import services
from runs.file_content import open_run_file
from runs.models import Run, RunEvent, RunFile
from tests.factories import ExperimentFactory
from tests.workers import runworker, wait_until

RUNS = 20


def snapshot() -> ContentFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"import os\nprint('ran', os.environ['STUDIO_RUN_ID'])\n"
        info = tarfile.TarInfo("once.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return ContentFile(buffer.getvalue(), name="snapshot.tar.gz")


def test_two_workers_take_each_of_20_runs_exactly_once(studio, team, member, tmp_path):
    experiment = ExperimentFactory(workspace=team, name="race")
    ids = [
        services.run_submit(
            experiment=experiment,
            user=member,
            script="once.py",
            arguments=[],
            target="local",
            snapshot=snapshot(),
        ).pk
        for _ in range(RUNS)
    ]
    done = Run.objects.filter(pk__in=ids, status="Completed")

    with (
        runworker(studio, tmp_path, "--concurrency", "4", name="a"),
        runworker(studio, tmp_path, "--concurrency", "4", name="b"),
    ):
        wait_until(lambda: done.count() == RUNS, timeout=120, what="20 runs completed")

    claims = RunEvent.objects.filter(run_id__in=ids, kind="status", new="Preparing")
    assert sorted(claims.values_list("run_id", flat=True)) == sorted(ids)
    workers = set(Run.objects.filter(pk__in=ids).values_list("worker", flat=True))
    assert all(w.startswith("runworker@") for w in workers)
    for run_id in ids:
        rf = RunFile.objects.get(run_id=run_id, path="user_logs/std_log.txt")
        with open_run_file(rf) as fh:
            assert fh.read().decode() == f"ran {run_id}\n"
