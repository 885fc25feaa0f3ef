"""The run status machine: `transition` is the only code that changes Run.status."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from runs.exceptions import InvalidTransition
from runs.lifecycle import ACTIVE, EXECUTING, TERMINAL, Status
from runs.writes import Insert, Update, row_lock

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from runs.models import Run

# The values and sets live in runs.lifecycle; they are importable from here too.
__all__ = ["ACTIVE", "ALLOWED", "EXECUTING", "TERMINAL", "Status", "can_transition", "transition"]


_FORWARD = [
    Status.NOT_STARTED,
    Status.QUEUED,
    Status.PREPARING,
    Status.STARTING,
    Status.RUNNING,
    Status.FINALIZING,
    Status.COMPLETED,
]


def _allowed() -> dict[str, frozenset[str]]:
    allowed: dict[str, set[str]] = {s: set() for s in Status}
    # Forward along the lifecycle, skipping steps a target does not have
    # (a logged run goes NotStarted -> Running directly).
    for i, src in enumerate(_FORWARD[:-1]):
        allowed[src].update(_FORWARD[i + 1 :])
    for src in ACTIVE:
        allowed[src].add(Status.FAILED)
        allowed[src].add(Status.CANCELED if src not in EXECUTING else Status.CANCEL_REQUESTED)
    for src in EXECUTING:
        # A process that cancels its own run, or acknowledges a request, ends it at once.
        allowed[src].add(Status.CANCELED)
    allowed[Status.CANCEL_REQUESTED] = {Status.CANCELED, Status.FAILED}
    allowed[Status.COMPLETED] = {Status.FAILED}
    return {src: frozenset(dst) for src, dst in allowed.items()}


ALLOWED: dict[str, frozenset[str]] = _allowed()


def can_transition(src: str, dst: str) -> bool:
    """Whether the machine allows moving from `src` to `dst`."""
    return dst in ALLOWED.get(src, frozenset())


def _status_for_update(run_id: str) -> str | None:
    """The run's status (None when there is no such run), its row locked FOR NO KEY
    UPDATE where the database locks rows (PostgreSQL; SQLite's IMMEDIATE transactions
    already serialise writers)."""
    from runs.models import Run

    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('status')} FROM {q(Run._meta.db_table)} "  # noqa: S608 - names
            f"WHERE {q('id')} = %s{row_lock(connection)}",
            [run_id],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


@cache
def _insert_event() -> Insert:
    from runs.models import RunEvent

    return Insert(RunEvent)


@cache
def _update(fields: tuple[str, ...]) -> Update:
    """The UPDATE of these fields of a run (a few sets: status, times, error)."""
    from runs.models import Run

    return Update(Run, fields)


def transition(
    run: Run,
    to: str,
    *,
    actor: AbstractBaseUser | None = None,
    error: dict | None = None,
    note: str = "",
    expect: str | None = None,
) -> Run:
    """Move `run` to status `to`, stamping times, recording the change and writing the
    notifications alert rules owe for it (runs.notifications.outbox).

    Reads the current status under a row lock, so two writers cannot both move
    the same run; raises InvalidTransition when the machine refuses the move. The
    lock is FOR NO KEY UPDATE (no key changes): metric batches being stored for the
    run (whose foreign keys take KEY SHARE) neither wait for it nor deadlock with it.
    `expect`: the move happens only from that status (a worker claiming a Queued run).

    Within a caller's transaction no savepoint is taken (two statements less): the
    refusal (or Run.DoesNotExist for a run deleted meanwhile) is raised once the block
    is left, with nothing written, so the caller's transaction goes on (run_end keeps
    the points stored before it).
    """
    from runs.models import Run

    to = Status(to)
    refused: Exception | None
    with transaction.atomic(savepoint=False):
        current = _status_for_update(run.pk)
        if current is None:
            refused = Run.DoesNotExist(f"run {run.pk} does not exist")
        elif not can_transition(current, to) or (expect is not None and current != expect):
            refused = InvalidTransition(current, to)
        else:
            refused = None
            _move(run, current, to, actor=actor, error=error, note=note)
    if refused is not None:
        raise refused
    return run


def _move(
    run: Run,
    current: str,
    to: Status,
    *,
    actor: AbstractBaseUser | None,
    error: dict | None,
    note: str,
) -> None:
    """Write the move from `current` to `to`: the run's fields, its activity row and the
    notifications owed."""
    from runs.models import RunEvent

    now = timezone.now()
    fields = ["status"]
    run.status = to
    if to in EXECUTING and run.started is None:
        run.started = now
        fields.append("started")
    if to in TERMINAL:
        run.ended = now
        fields.append("ended")
    if to == Status.FAILED:
        error = error or {}
        run.error_code = (error.get("code") or "UserError")[:100]
        run.error_message = error.get("message") or ""
        run.error_details = error.get("details")
        fields += ["error_code", "error_message", "error_details"]
    _update(tuple(fields)).save(run)
    _insert_event().save(
        [
            RunEvent(
                run_id=run.pk,
                actor=actor,
                kind=RunEvent.Kind.STATUS,
                field="status",
                old=current,
                new=to,
                note=note,
            )
        ]
    )
    # Alert rules' notifications join this transaction: a rolled-back change sends nothing.
    from runs.notifications import outbox

    outbox.status_changed(run=run, status=to)
