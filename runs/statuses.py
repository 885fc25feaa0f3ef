"""The run statuses and their groups. runs.status is the machine that moves runs between
them (and re-exports these names)."""

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
