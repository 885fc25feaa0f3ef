"""Sending a submitted run of a Celery target to its queue (the studio's side)."""

from __future__ import annotations

import contextlib
import logging

from runs import status
from runs.exceptions import InvalidTransition
from runs.models import Run
from runs.status import Status

logger = logging.getLogger(__name__)

TASK = "runs.execute"


def run_dispatch(*, run: Run) -> None:
    """Queue the run for the Celery workers of its target; a broker that cannot be
    reached fails the run with QueueUnavailable (it would never start otherwise)."""
    from studio.celery import app  # the Celery library loads only where runs are dispatched

    try:
        app.send_task(
            TASK,
            kwargs={"workspace": run.workspace.slug, "run_id": run.pk},
            queue=run.compute_target,
        )
    except Exception as exc:  # kombu's errors vary by transport
        logger.exception("run %s: cannot reach the Celery broker", run.pk)
        with contextlib.suppress(InvalidTransition):
            status.transition(
                run,
                Status.FAILED,
                error={
                    "code": "QueueUnavailable",
                    "message": f"the queue of compute target {run.compute_target!r} cannot be "
                    f"reached: {exc}",
                },
            )
