"""Submitting a script: the snapshot of its folder and its spec in one multipart request."""

from __future__ import annotations

import json
from typing import Any

from runs.sdk import snapshot
from runs.sdk.http import Client
from runs.sdk.script import ScriptRunConfig

# Uploading a snapshot may take a while on a slow link.
UPLOAD_TIMEOUT = 600.0


def submit(client: Client, path: str, config: ScriptRunConfig, spec: dict[str, Any]) -> dict:
    """POST the folder's snapshot and `spec` to `path`; the new Queued run's document."""
    if not isinstance(config, ScriptRunConfig):
        raise TypeError(f"submit() takes a ScriptRunConfig, not {type(config).__name__}")
    archive = snapshot.build(config.source_directory)
    body = json.dumps(spec)

    def attempt() -> Any:
        archive.seek(0)
        return client.send(
            "POST",
            path,
            data={"spec": body},
            files={"snapshot": ("snapshot.tar.gz", archive, "application/gzip")},
            timeout=max(client.timeout, UPLOAD_TIMEOUT),
        )

    try:
        # Not idempotent: resent only when the request never left.
        return client.retrying(attempt, retry="unsent").json()
    finally:
        archive.close()
