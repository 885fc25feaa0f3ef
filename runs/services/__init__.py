"""Write paths. Views, the API, commands and executors all call these."""

from runs.services.compute import (
    compute_target_create,
    compute_target_delete,
    compute_target_executor,
    worker_seen,
)
from runs.services.executions import (
    STD_LOG,
    run_claim,
    run_claim_next,
    run_finish,
    run_log_append,
    run_move,
    run_submit,
)
from runs.services.files import clean_path, run_file_append, run_file_upload
from runs.services.metrics import (
    BatchResult,
    SeriesIn,
    metric_log_batch,
    metric_log_batches,
    metric_series,
    text_series,
)
from runs.services.properties import run_add_properties
from runs.services.runs import (
    CancelResult,
    run_cancel,
    run_complete,
    run_create,
    run_create_children,
    run_fail,
    run_heartbeat,
    run_set_status,
    run_update,
    runs_cancel,
    runs_fail_stale,
    runs_heartbeat,
)
from runs.services.search import runs_refresh_search_text
from runs.services.tags import run_set_tags
from runs.services.tokens import token_authenticate, token_create, token_revoke
from runs.services.workspaces import (
    experiment_get_or_create,
    invitation_accept,
    invitation_create,
    invitation_decline,
    membership_remove,
    membership_set,
    user_get_or_create,
    workspace_create,
)

__all__ = [
    "STD_LOG",
    "compute_target_create",
    "compute_target_delete",
    "compute_target_executor",
    "run_claim",
    "run_claim_next",
    "run_finish",
    "run_log_append",
    "run_move",
    "run_submit",
    "worker_seen",
    "BatchResult",
    "CancelResult",
    "SeriesIn",
    "clean_path",
    "experiment_get_or_create",
    "invitation_accept",
    "invitation_create",
    "invitation_decline",
    "membership_remove",
    "membership_set",
    "metric_log_batch",
    "metric_log_batches",
    "metric_series",
    "text_series",
    "run_add_properties",
    "run_cancel",
    "runs_cancel",
    "run_complete",
    "run_create",
    "run_create_children",
    "run_fail",
    "run_file_append",
    "run_file_upload",
    "run_heartbeat",
    "runs_heartbeat",
    "run_set_status",
    "run_set_tags",
    "run_update",
    "runs_fail_stale",
    "runs_refresh_search_text",
    "token_authenticate",
    "token_create",
    "token_revoke",
    "user_get_or_create",
    "workspace_create",
]
