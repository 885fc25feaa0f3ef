"""The studio through its database: what the local worker (`runworker`) uses."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings

from runs import services
from runs.executors.process import Job
from runs.models import Run, RunFile
from runs.services.executions import SNAPSHOT_NAME, STD_LOG


class DatabaseStudio:
    """The Studio port of runs.executors.process, calling the services directly."""

    def __init__(self, run: Run):
        self.run = run
        self.offset = 0

    def move(self, status: str) -> str:
        return services.run_move(run=self.run, to=status)

    def beat(self) -> str:
        return services.run_heartbeat(run=self.run).status

    def append_log(self, data: bytes) -> None:
        self.offset = services.run_log_append(
            run=self.run, name=STD_LOG, offset=self.offset, data=data
        )

    def finish(self, status: str, error: dict | None = None) -> None:
        services.run_finish(run=self.run, to=status, error=error)


def job_for(run: Run, token: str, workdir: Path) -> Job:
    """The claimed run as a Job, its snapshot copied out of storage into `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / SNAPSHOT_NAME
    rf = RunFile.objects.filter(run=run, kind=RunFile.Kind.SNAPSHOT).first()
    if rf is None:
        archive.write_bytes(b"")  # unpacking says the snapshot is missing
    else:
        with rf.file.storage.open(rf.file.name, "rb") as src, open(archive, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return Job(
        run_id=run.pk,
        script=run.script,
        arguments=list(run.arguments),
        snapshot=archive,
        env={
            "STUDIO_URL": settings.STUDIO_BASE_URL,
            "STUDIO_TOKEN": token,
            "STUDIO_WORKSPACE": run.workspace.slug,
            "STUDIO_RUN_ID": run.pk,
        },
    )
