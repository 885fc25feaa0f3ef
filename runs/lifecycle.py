"""Run statuses: their values, their lifecycle order, their words and the sets of them.

Below the models and the status machine (runs.status), which both import it.
"""

from django.db import models


class Status(models.TextChoices):
    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    STARTING = "Starting"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELED})
# Someone holds these runs: a cancel must be noticed by the process, not just recorded.
EXECUTING = frozenset(
    {Status.PREPARING, Status.STARTING, Status.RUNNING, Status.FINALIZING, Status.CANCEL_REQUESTED}
)
ACTIVE = frozenset(Status) - TERMINAL
# The statuses in lifecycle order (Status.values builds a new list at each use): how
# lists sort by status and how summaries count them.
LIFECYCLE: tuple[str, ...] = tuple(Status.values)
# What people read: "Not Started", "Cancel Requested" (the API and filters keep the values).
LABELS: dict[str, str] = dict(Status.choices)
