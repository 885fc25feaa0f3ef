"""Run statuses: their values and the sets of them.

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
