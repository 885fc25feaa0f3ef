"""Run and OfflineRun, where earlier versions defined them (see runs.sdk.workspace)."""

from runs.sdk.offline import OfflineRun
from runs.sdk.workspace import Run

__all__ = ["OfflineRun", "Run"]
