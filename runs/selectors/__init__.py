"""Read paths: querysets ready to render, scoped to a workspace."""

from runs.selectors.experiments import ExperimentSummary, experiment_summaries
from runs.selectors.runs import RUN_DOCUMENT_PREFETCH, run_get, run_search
from runs.selectors.workspaces import membership_for, workspace_for_member, workspaces_of

__all__ = [
    "ExperimentSummary",
    "experiment_summaries",
    "RUN_DOCUMENT_PREFETCH",
    "membership_for",
    "run_get",
    "run_search",
    "workspace_for_member",
    "workspaces_of",
]
