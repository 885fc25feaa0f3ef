"""Read paths: querysets ready to render, scoped to a workspace."""

from runs.selectors.experiments import (
    ExperimentSummary,
    experiment_find,
    experiment_summaries,
    experiment_summary,
)
from runs.selectors.run_detail import (
    RunDetail,
    run_active_descendant_count,
    run_chart_series,
    run_detail,
    run_events,
    run_file_get,
    run_for_detail,
    run_log_chunk,
    run_log_tail,
    run_tags,
    run_tree,
    workspace_members,
)
from runs.selectors.run_list import (
    RunListParams,
    run_children_rows,
    run_list,
    run_list_column_choices,
    run_list_live,
    run_list_page,
)
from runs.selectors.runs import (
    RUN_DOCUMENT_PREFETCH,
    run_files,
    run_get,
    run_latest_metrics,
    run_search,
    runs_for_documents,
)
from runs.selectors.workspaces import (
    membership_for,
    memberships_of,
    workspace_for_member,
    workspaces_of,
)

__all__ = [
    "ExperimentSummary",
    "experiment_find",
    "experiment_summaries",
    "experiment_summary",
    "RUN_DOCUMENT_PREFETCH",
    "RunDetail",
    "run_active_descendant_count",
    "run_chart_series",
    "run_detail",
    "run_events",
    "run_file_get",
    "run_for_detail",
    "run_log_chunk",
    "run_log_tail",
    "run_tags",
    "run_tree",
    "workspace_members",
    "membership_for",
    "memberships_of",
    "run_files",
    "run_get",
    "run_latest_metrics",
    "RunListParams",
    "run_children_rows",
    "run_list",
    "run_list_column_choices",
    "run_list_live",
    "run_list_page",
    "run_search",
    "runs_for_documents",
    "workspace_for_member",
    "workspaces_of",
]
