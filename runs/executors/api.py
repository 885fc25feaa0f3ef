"""The studio through its JSON API: what a Celery worker on another machine uses.

The worker's own token (STUDIO_TOKEN, a contributor of the workspace) claims the
run, moves it, appends its log, heartbeats and finishes it; the script gets the
run-scoped token the claim returns. No database, no Django.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from runs.executors.process import Job
from runs.sdk.errors import ConflictError
from runs.sdk.http import Client
from runs.sdk.logs import STD_LOG, LogAppender

SNAPSHOT_NAME = "snapshot.tar.gz"


class ApiStudio:
    """The Studio port of runs.executors.process over HTTP."""

    def __init__(self, client: Client, run_id: str):
        self.client = client
        self.run_id = run_id
        self.path = client.ws_path(f"/runs/{run_id}")
        self.log = LogAppender(client, self.path, STD_LOG)

    def claim(self, worker: str, workdir: Path) -> Job | None:
        """Take the Queued run and download its snapshot; None when someone else has it
        (or it was cancelled before a worker came)."""
        try:
            claim = self.client.json(
                "POST", self.path + "/claim", json_body={"worker": worker}, retry="unsent"
            )
        except ConflictError:
            return None
        workdir.mkdir(parents=True, exist_ok=True)
        archive = workdir / SNAPSHOT_NAME
        response = self.client.request(
            "GET", self.path + "/files/content", params={"name": SNAPSHOT_NAME}, stream=True
        )
        with response, open(archive, "wb") as fh:
            shutil.copyfileobj(response.raw, fh)
        return Job(
            run_id=self.run_id,
            script=claim["script"],
            arguments=list(claim["arguments"]),
            snapshot=archive,
            env={
                "STUDIO_URL": self.client.url,
                "STUDIO_TOKEN": claim["token"],
                "STUDIO_WORKSPACE": self.client.workspace,
                "STUDIO_RUN_ID": self.run_id,
            },
        )

    def move(self, status: str) -> str:
        try:
            return self.client.json("POST", self.path + "/status", json_body={"status": status})[
                "status"
            ]
        except ConflictError:
            return self.client.json("GET", self.path)["status"]

    def beat(self) -> str:
        return self.client.json("POST", self.path + "/heartbeat", timeout=5.0)["status"]

    def append_log(self, data: bytes) -> None:
        self.log.write(data)

    def finish(self, status: str, error: dict | None = None) -> None:
        body: dict = {"status": status}
        if error is not None:
            body["error"] = error
        self.client.json("POST", self.path + "/finish", json_body=body)
