"""Submitted runs: submit (snapshot + Queued), claim by a worker, its log, its end."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from runs import status
from runs.exceptions import Conflict, InvalidTransition, PayloadTooLarge, ValidationFailed
from runs.models import ApiToken, ComputeTarget, Experiment, Run, RunFile
from runs.services.compute import compute_target_executor
from runs.services.files import clean_path, run_file_append, run_file_upload
from runs.services.runs import clean_error, run_create, run_create_children
from runs.services.tags import run_set_tags
from runs.services.tokens import token_create
from runs.status import TERMINAL, Status
from runs.text import UNSTORABLE

logger = logging.getLogger(__name__)

SNAPSHOT_NAME = "snapshot.tar.gz"
STD_LOG = "user_logs/std_log.txt"
MAX_ARGUMENTS = 200
MAX_ARGUMENT_CHARS = 4096
# The most one log append may carry.
MAX_LOG_APPEND = 8 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class LogOffsetConflict(Conflict):
    code = "LogOffset"


def _check_submission(script: str, arguments: list, snapshot: File) -> tuple[str, list[str]]:
    script = clean_path(script)
    if len(arguments) > MAX_ARGUMENTS:
        raise ValidationFailed(f"{len(arguments)} arguments; the limit is {MAX_ARGUMENTS}")
    args = []
    for i, arg in enumerate(arguments):
        if not isinstance(arg, str) or len(arg) > MAX_ARGUMENT_CHARS or UNSTORABLE.search(arg):
            raise ValidationFailed(
                f"argument {i} must be text of at most {MAX_ARGUMENT_CHARS} characters, "
                "without NUL characters"
            )
        args.append(arg)
    if snapshot.size > settings.STUDIO_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            f"the snapshot is {snapshot.size:,} bytes; the limit is "
            f"{settings.STUDIO_MAX_UPLOAD_BYTES:,} bytes"
        )
    snapshot.seek(0)
    if snapshot.read(2) != GZIP_MAGIC:
        raise ValidationFailed("the snapshot must be a .tar.gz archive of the source folder")
    snapshot.seek(0)
    return script, args


@transaction.atomic
def run_submit(
    *,
    experiment: Experiment,
    user,
    script: str,
    arguments: list[str],
    target: str,
    snapshot: File,
    display_name: str = "",
    tags: dict[str, str | None] | None = None,
    parent: Run | None = None,
) -> Run:
    """A run that executes `script` from the uploaded `snapshot` on compute target `target`:
    Queued for it (a Celery target's queue gets it once this commits). With `parent`, a
    child of that run (`run.submit_child`)."""
    script, args = _check_submission(script, arguments, snapshot)
    executor = compute_target_executor(workspace=experiment.workspace, name=target)
    if parent is None:
        run = run_create(
            experiment=experiment,
            user=user,
            display_name=display_name,
            run_status=Status.NOT_STARTED,
            compute_target=target,
            tags=tags,
            script=script,
            arguments=args,
        )
    else:
        names = [display_name] if display_name else None
        run = run_create_children(
            parent=parent, user=user, count=1, display_names=names, run_status=Status.NOT_STARTED
        )[0]
        run.script, run.arguments, run.compute_target = script, args, target
        run.save(update_fields=["script", "arguments", "compute_target"])
        if tags:
            run_set_tags(run=run, tags=tags, actor=user, record=False)
    run_file_upload(run=run, path=SNAPSHOT_NAME, content=snapshot, kind=RunFile.Kind.SNAPSHOT)
    status.transition(run, Status.QUEUED, actor=user)
    if executor == ComputeTarget.Executor.CELERY:
        from runs.executors.dispatch import run_dispatch

        transaction.on_commit(lambda: run_dispatch(run=run))
    return run


def submission_root(run: Run) -> Run:
    """The top of the run's chain of submitted runs: `run`, or the submitted parent that
    submitted it (and so on up). A child's script logs to its parent and root
    (`root_run(Run.get_context()).log(...)`), so its token reaches that whole tree."""
    top = run
    while top.parent_id is not None:
        parent = Run.objects.only("id", "root_id", "parent_id", "script").get(pk=top.parent_id)
        if not parent.script:
            break
        top = parent
    return top


@transaction.atomic
def run_claim(*, run: Run, worker: str) -> tuple[Run, str]:
    """A worker takes the Queued run (Preparing); returns it with a token for the script,
    limited to the run's submission tree (submission_root and its descendants).
    InvalidTransition when another worker (or a cancel) got there first."""
    status.transition(run, Status.PREPARING, expect=Status.QUEUED, note=f"taken by {worker}")
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(worker=worker[:255], heartbeat=now)
    run.worker, run.heartbeat = worker[:255], now
    if run.submitted_by is None:
        raise ValidationFailed(f"run {run.pk} has no submitter to act for")
    _, secret = token_create(
        user=run.submitted_by,
        name=f"script of run {run.pk}"[:100],
        run=submission_root(run),
        issued_for=run,
    )
    return run, secret


def local_runs_queued(*, targets: list[str] | None, children_only: bool = False):
    """Submitted Queued runs the local worker may take, oldest first: those of the `local`
    target and of targets whose executor is local (every one, or only `targets`)."""
    local_target = ComputeTarget.objects.filter(
        workspace=OuterRef("workspace"),
        name=OuterRef("compute_target"),
        executor=ComputeTarget.Executor.LOCAL,
    )
    # Submitted runs only: a run created Queued through the API (a client with an executor
    # of its own) has no script for a worker here.
    qs = (
        Run.objects.filter(status=Status.QUEUED)
        .exclude(script="")
        .filter(Q(compute_target="local") | Q(Exists(local_target)))
    )
    if targets:
        qs = qs.filter(compute_target__in=targets)
    if children_only:
        qs = qs.filter(parent__isnull=False)
    return qs.select_related("submitted_by").order_by("created", "id")


def run_claim_next(
    *, worker: str, targets: list[str] | None, children_only: bool = False
) -> tuple[Run, str] | None:
    """Claim the oldest Queued run the local worker serves; None when there is none.

    Two workers may pick the same run: the claim's conditional move lets one have it,
    and the other tries the next.
    """
    for run in local_runs_queued(targets=targets, children_only=children_only)[:20]:
        try:
            return run_claim(run=run, worker=worker)
        except InvalidTransition:
            continue
    return None


def run_move(*, run: Run, to: str) -> str:
    """A lifecycle move by the run's executor; the status now (unchanged if refused)."""
    try:
        status.transition(run, to)
    except InvalidTransition as exc:
        return exc.current
    return to


@transaction.atomic
def run_log_append(*, run: Run, name: str, offset: int, data: bytes) -> int:
    """Append `data` to the run's log `name` at byte `offset`; returns the log's size.

    Idempotent: bytes before the log's end are taken as already stored (a retry after
    a lost answer), so sending the same piece twice stores it once. An offset past the
    end is a LogOffsetConflict (409) naming the size.
    """
    path = clean_path(name)
    if len(data) > MAX_LOG_APPEND:
        raise PayloadTooLarge(f"{len(data):,} bytes in one append; the limit is {MAX_LOG_APPEND:,}")
    if offset < 0:
        raise ValidationFailed(f"offset must be 0 or more, not {offset}")
    # One writer of a run's logs at a time (SQLite's immediate transactions do this anyway).
    list(Run.objects.filter(pk=run.pk).select_for_update(no_key=True).values_list("pk"))
    rf = RunFile.objects.filter(run=run, path=path).first()
    if rf is not None and rf.kind != RunFile.Kind.LOG:
        raise ValidationFailed(f"{path!r} is an {rf.kind} file of the run, not a log")
    size = rf.size if rf is not None else 0
    if offset > size:
        raise LogOffsetConflict(f"log {path!r} is {size:,} bytes: cannot append at {offset:,}")
    new = data[size - offset :]
    if new or rf is None:
        rf = run_file_append(run=run, path=path, data=new, kind=RunFile.Kind.LOG)
    return size + len(new)


@transaction.atomic
def run_finish(*, run: Run, to: str, error: dict | None = None) -> Run:
    """The executor's end of the run: Completed, Failed (with `error`) or Canceled; the
    run's script tokens are revoked. A run that ended meanwhile keeps its status."""
    if to not in (Status.COMPLETED, Status.FAILED, Status.CANCELED):
        raise ValidationFailed(f"a run is finished as Completed, Failed or Canceled, not {to}")
    current = Run.objects.values_list("status", flat=True).get(pk=run.pk)
    if current not in TERMINAL:
        try:
            status.transition(run, to, error=clean_error(error) if error else None)
        except InvalidTransition:
            logger.info("run %s: not moved to %s (it is %s)", run.pk, to, current)
    # Revoked, not deleted: the script's requests are told why they are refused (401).
    ApiToken.objects.filter(issued_for=run, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return run
