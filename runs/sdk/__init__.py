"""Python client for Run History Studio. Imports no Django.

from runs.sdk import Workspace, Experiment, Run
ws = Workspace.from_config()
with Experiment(workspace=ws, name="explore-runs").start_logging() as run:
    run.log("loss", 0.42)
"""

from runs.sdk.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    NotFoundError,
    ServerUnavailable,
    StudioError,
    ValidationError,
)
from runs.sdk.experiment import Experiment
from runs.sdk.run import OfflineRun, Run
from runs.sdk.workspace import Workspace

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "Experiment",
    "NotFoundError",
    "OfflineRun",
    "Run",
    "ServerUnavailable",
    "StudioError",
    "ValidationError",
    "Workspace",
]
