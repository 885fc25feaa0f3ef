"""Run History Studio's Python SDK: log runs, metrics, tags, properties and files.

    from runs.sdk import Workspace, Experiment

    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="explore-runs")
    with exp.start_logging() as run:
        run.log("loss", 0.5)

Imports no Django: it needs only `requests` (and `jmespath` for the CLI).
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
)
from runs.sdk.http import Backoff  # noqa: E402
from runs.sdk.run import OfflineRun, Run  # noqa: E402
from runs.sdk.sender import SenderOptions  # noqa: E402
from runs.sdk.workspace import Experiment, Workspace  # noqa: E402

__all__ = [
    "AuthError",
    "Backoff",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "Experiment",
    "ForbiddenError",
    "NotFoundError",
    "OfflineRun",
    "PayloadTooLargeError",
    "Run",
    "SenderOptions",
    "ServerError",
    "StudioConnectionError",
    "StudioError",
    "Workspace",
]
