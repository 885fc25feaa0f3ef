"""Experiment: a named group of runs in a workspace (defined beside Workspace, re-exported)."""

from runs.sdk.workspace import Experiment

__all__ = ["Experiment"]
