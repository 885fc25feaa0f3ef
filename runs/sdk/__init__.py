"""Run History Studio's Python SDK: log runs, metrics, tags, properties and files.

    from runs.sdk import Workspace, Experiment, Run, ScriptRunConfig

    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="explore-runs")
    with exp.start_logging() as run:
        run.log("loss", 0.5)
        run.log("message", "Hello from run!")

    run = exp.submit(ScriptRunConfig(source_directory=".", script="train.py"))
    run.wait_for_completion(show_output=True)

Imports no Django: it needs only `urllib3` and `certifi` (and `jmespath` for the CLI).
"""

__version__ = "0.1.0"

from runs.sdk.errors import (  # noqa: E402 - __version__ first: http.py reads it
    AuthError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    ServerError,
    StudioConnectionError,
    StudioError,
    TooManyRequestsError,
)
from runs.sdk.http import Backoff  # noqa: E402
from runs.sdk.offline import OfflineRun  # noqa: E402
from runs.sdk.run_lifecycle import RunFailedError  # noqa: E402
from runs.sdk.script import ComputeTarget, ScriptRunConfig  # noqa: E402
from runs.sdk.sender import SenderOptions  # noqa: E402
from runs.sdk.snapshot import SnapshotError  # noqa: E402
from runs.sdk.workspace import Experiment, Run, Workspace  # noqa: E402

__all__ = [
    "AuthError",
    "Backoff",
    "BadRequestError",
    "ComputeTarget",
    "ConfigError",
    "ConflictError",
    "Experiment",
    "ForbiddenError",
    "NotFoundError",
    "OfflineRun",
    "PayloadTooLargeError",
    "TooManyRequestsError",
    "Run",
    "RunFailedError",
    "ScriptRunConfig",
    "SenderOptions",
    "ServerError",
    "SnapshotError",
    "StudioConnectionError",
    "StudioError",
    "Workspace",
]
