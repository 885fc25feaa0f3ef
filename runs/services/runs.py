"""Writes of runs: create, children, status moves, cancel, heartbeat, text fields."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from runs import status
from runs.exceptions import InvalidTransition, ValidationFailed
from runs.keys import check_key, check_value
from runs.markdown import MAX_DESCRIPTION_CHARS, render_description
from runs.models import (
    ApiToken,
    Experiment,
    Property,
    Run,
    RunEvent,
    Tag,
    Workspace,
    run_search_text,
)
from runs.services.metrics import SeriesIn, metric_log_batch
from runs.services.properties import check_properties
from runs.services.search import runs_refresh_search_text
from runs.services.tags import check_tags
from runs.status import EXECUTING, TERMINAL, Status
from runs.text import check_text, describe, find_unstorable
from runs.writes import Insert

MAX_CHILDREN_PER_REQUEST = 1000
MAX_DISPLAY_NAME = 255

# Statuses a run may be created in: logged runs start Running, submitted ones Queued.
CREATE_STATUSES = {Status.NOT_STARTED, Status.QUEUED, Status.RUNNING}


_INSERT_RUN = Insert(Run)
_INSERT_TAG = Insert(Tag)
_INSERT_PROPERTY = Insert(Property)


def _new_run_id(experiment: Experiment, when: datetime | None = None) -> str:
    seconds = int(when.timestamp()) if when is not None else int(time.time())
    return f"{experiment.name}_{seconds}_{secrets.token_hex(4)}"


def _check_client_run_id(run_id: str, experiment: Experiment) -> str:
    """An id the client made, as the SDK does: `<experiment>_<seconds>_<8 hex digits>`, as
    the studio's own, with a letter among the 8: a child's id `<parent>_<n>` ends in a
    decimal number, so no client can take one."""
    name, _, rest = run_id.rpartition("_")
    prefix, _, seconds = name.rpartition("_")
    if not (
        prefix == experiment.name
        and seconds.isascii()
        and seconds.isdigit()
        and len(seconds) <= 12
        and len(rest) == 8
        and all(c in "0123456789abcdef" for c in rest)
        and not rest.isdigit()
    ):
        raise ValidationFailed(
            f"runId {run_id!r} is not <experiment>_<seconds>_<8 hex digits, one of them "
            f"a-f> with the experiment {experiment.name!r}"
        )
    return run_id


def _check_display_name(name: str) -> str:
    name = check_text((name or "").strip(), what="displayName")
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationFailed(
            f"displayName is {len(name)} characters; the limit is {MAX_DISPLAY_NAME}"
        )
    return name


def _check_description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise ValidationFailed(
            f"description is {len(text):,} characters; the limit is {MAX_DESCRIPTION_CHARS:,}"
        )
    return check_text(text, what="description", lines=True)


def _description_html(description: str, workspace_id: int) -> str:
    """Sanitised HTML, with `run:<id>`/`view:<id>` links pointing into the run's workspace."""
    if not description.strip():
        return ""
    slug = Workspace.objects.values_list("slug", flat=True).get(pk=workspace_id)
    return render_description(description, workspace_slug=slug)


def _initial_times(run_status: str) -> dict:
    now = timezone.now()
    started = now if run_status in EXECUTING else None
    return {"created": now, "started": started, "heartbeat": started}


def _late_times(run_status: str, started_ago: float) -> dict:
    """The times of a run created `started_ago` seconds after it started (its client
    creates it with its first request): dated by the studio's clock, so a client's
    clock that is off does not matter."""
    if run_status not in EXECUTING:
        raise ValidationFailed(f"startedSecondsAgo is for a Running run, not {run_status}")
    now = timezone.now()
    started = now - timedelta(seconds=started_ago)
    return {"created": started, "started": started, "heartbeat": now}


def _imported_times(run_status: str, started: datetime | None, ended: datetime | None) -> dict:
    """The times of a run whose start (and end) happened elsewhere: an import."""
    if ended is not None:
        if started is None:
            raise ValidationFailed("endTimeUtc needs startTimeUtc")
        if ended < started:
            raise ValidationFailed(
                f"endTimeUtc {ended.isoformat()} is before startTimeUtc {started.isoformat()}"
            )
        if run_status not in TERMINAL:
            raise ValidationFailed(
                f"a run created with endTimeUtc is Completed, Failed or Canceled, not {run_status}"
            )
    elif run_status in TERMINAL:
        raise ValidationFailed(f"a run created as {run_status} needs endTimeUtc")
    if run_status not in CREATE_STATUSES | TERMINAL:
        raise ValidationFailed(
            f"a run can be created as {', '.join(sorted(CREATE_STATUSES | TERMINAL))}, "
            f"not {run_status}"
        )
    heartbeat = timezone.now() if run_status in EXECUTING else None
    return {"created": started, "started": started, "ended": ended, "heartbeat": heartbeat}


def run_create(
    *,
    experiment: Experiment,
    user=None,
    display_name: str = "",
    run_status: str = Status.RUNNING,
    compute_target: str = "local",
    description: str = "",
    tags: dict[str, str | None] | None = None,
    properties: dict[str, str] | None = None,
    script: str = "",
    arguments: list[str] | None = None,
    started: datetime | None = None,
    ended: datetime | None = None,
    started_ago: float | None = None,
    run_id: str | None = None,
) -> Run:
    """A new top-level run of `experiment`, Running unless told otherwise.

    `started` (and `ended`, with a final status) date a run that ran elsewhere: an
    import from another tracker; the run then counts as created when it started.
    `started_ago`: the run started that many seconds ago (see _late_times). `run_id`:
    the id its client made (see _check_client_run_id); one taken is an IntegrityError.
    Tags and properties are written with the run, and its search text holds the tags.
    Everything is checked before anything is written: within a caller's transaction no
    savepoint is taken (two statements less).
    """
    if started_ago is not None:
        if started is not None or ended is not None:
            raise ValidationFailed("startedSecondsAgo does not go with startTimeUtc or endTimeUtc")
        times = _late_times(run_status, started_ago)
    elif started is not None or ended is not None or run_status in TERMINAL:
        times = _imported_times(run_status, started, ended)
    elif run_status in CREATE_STATUSES:
        times = _initial_times(run_status)
    else:
        raise ValidationFailed(
            f"a run can be created as {', '.join(sorted(CREATE_STATUSES))}, not {run_status}"
        )
    if run_id is None:
        run_id = _new_run_id(experiment, started)
    else:
        _check_client_run_id(run_id, experiment)
    description = _check_description(description)
    display_name = _check_display_name(display_name)
    clean_tags = check_tags(tags or {})
    clean_properties = check_properties(properties) if properties else {}
    run = Run(
        id=run_id,
        workspace_id=experiment.workspace_id,
        experiment=experiment,
        root_id=run_id,
        display_name=display_name,
        status=run_status,
        submitted_by=user,
        compute_target=(compute_target or "local")[:100],
        description=description,
        description_html=_description_html(description, experiment.workspace_id),
        script=script,
        arguments=arguments or [],
        search_text=run_search_text(
            run_id=run_id,
            display_name=display_name,
            description=description,
            experiment=experiment.name,
            submitter=user.username if user is not None else None,
            tags=dict(sorted(clean_tags.items())),
        ),
        **times,
    )
    # A new run has no tags or properties yet: inserted at once, nothing read first, by
    # statements written once (runs.writes: the API creates runs one by one).
    with transaction.atomic(savepoint=False):
        _INSERT_RUN.save([run])
        _INSERT_TAG.save(Tag(run=run, key=k, value=v) for k, v in clean_tags.items())
        _INSERT_PROPERTY.save(
            Property(run=run, key=k, value=v) for k, v in clean_properties.items()
        )
    return run


@transaction.atomic
def run_create_children(
    *,
    parent: Run,
    user=None,
    count: int = 1,
    display_names: list[str] | None = None,
    tag_key: str | None = None,
    tag_values: list[str] | None = None,
    run_status: str = Status.RUNNING,
) -> list[Run]:
    """`count` children of `parent` in one transaction, ids `<parent>_<n>`.

    With `tag_key` and `tag_values`, child i gets the tag `tag_key=tag_values[i]`.
    """
    if tag_values is not None:
        count = len(tag_values)
    if not 1 <= count <= MAX_CHILDREN_PER_REQUEST:
        raise ValidationFailed(f"count must be 1 to {MAX_CHILDREN_PER_REQUEST}, not {count}")
    if display_names is not None and len(display_names) != count:
        raise ValidationFailed(f"{len(display_names)} display names given for {count} children")
    if tag_values is not None and not tag_key:
        raise ValidationFailed("tagValues needs a tagKey")
    if tag_key:
        check_key("tag", tag_key)
        for value in tag_values or []:
            check_value("tag", tag_key, value, nullable=True)
    if run_status not in CREATE_STATUSES:
        raise ValidationFailed(f"a child run cannot be created as {run_status}")
    if parent.status in TERMINAL:
        raise ValidationFailed(f"run {parent.id} is {parent.status}: it can have no new children")
    # Reserve the numbers atomically, so concurrent requests never share an id.
    Run.objects.filter(pk=parent.pk).update(child_counter=F("child_counter") + count)
    last = Run.objects.values_list("child_counter", flat=True).get(pk=parent.pk)
    parent.child_counter = last
    times = _initial_times(run_status)
    names = [_check_display_name(n) for n in display_names] if display_names else [""] * count
    values = tag_values or [None] * count
    child_tags = [check_tags({tag_key: v}) if tag_key else {} for v in values]
    experiment_name = parent.experiment.name
    children = [
        Run(
            id=f"{parent.id}_{n}",
            workspace_id=parent.workspace_id,
            experiment_id=parent.experiment_id,
            parent=parent,
            root_id=parent.root_id,
            display_name=names[i],
            status=run_status,
            submitted_by=user,
            compute_target=parent.compute_target,
            search_text=run_search_text(
                run_id=f"{parent.id}_{n}",
                display_name=names[i],
                description="",
                experiment=experiment_name,
                submitter=user.username if user is not None else None,
                tags=child_tags[i],
            ),
            **times,
        )
        for i, n in enumerate(range(last - count + 1, last + 1))
    ]
    Run.objects.bulk_create(children)
    Tag.objects.bulk_create(
        Tag(run=child, key=k, value=v)
        for child, tags in zip(children, child_tags, strict=True)
        for k, v in tags.items()
    )
    return children


def run_set_status(*, run: Run, to: str, actor=None) -> Run:
    """Move the run along its lifecycle (Queued, Preparing, Running, ...)."""
    return status.transition(run, to, actor=actor)


@dataclass(frozen=True)
class LastPoints:
    """The metric points a process sends with its run's end (a metric batch and its key)."""

    series: list[SeriesIn]
    key: str = ""


def run_create_logged(*, last: LastPoints | None = None, complete: bool = False, **create) -> Run:
    """run_create, then the run's first metric points (`last`) and, with `complete`, its
    end as Completed: one transaction, all or nothing (a short run logged in one request).
    """
    running = create.get("run_status", Status.RUNNING) == Status.RUNNING
    if complete and not (running and create.get("ended") is None):
        raise ValidationFailed("complete is for a run created Running, without endTimeUtc")
    with transaction.atomic(savepoint=False):
        run = run_create(**create)
        if last is not None and last.series:
            metric_log_batch(run=run, series=last.series, key=last.key)
        if complete:
            status.transition(run, Status.COMPLETED, actor=create.get("user"))
    return run


def run_complete(*, run: Run, actor=None, last: LastPoints | None = None) -> Run:
    """Mark the run Completed, after storing `last` (see run_end)."""
    return run_end(run=run, to=Status.COMPLETED, actor=actor, last=last)


def run_fail(
    *,
    run: Run,
    actor=None,
    error_code: str | None = None,
    message: str = "",
    details=None,
    last: LastPoints | None = None,
) -> Run:
    """Mark the run Failed with an error (code, message, details), after storing `last`."""
    error = clean_error({"code": error_code, "message": message, "details": details})
    return run_end(run=run, to=Status.FAILED, actor=actor, error=error, last=last)


def run_end(
    *, run: Run, to: str, actor=None, error: dict | None = None, last: LastPoints | None = None
) -> Run:
    """Move the run to the terminal status `to`, storing its `last` metric points first.

    One transaction: a run's last points and its end in one request.
    The points are kept even when the move is refused (InvalidTransition, raised after
    they are committed): a run cancelled meanwhile keeps what its process logged, as it
    would had the points come in their own batch. A batch whose key was stored before
    (a retry of an end whose answer was lost) stores nothing again.
    """
    if last is None or not last.series:
        return status.transition(run, to, actor=actor, error=error)
    refused: InvalidTransition | None = None
    with transaction.atomic():
        metric_log_batch(run=run, series=last.series, key=last.key)
        try:
            status.transition(run, to, actor=actor, error=error)
        except InvalidTransition as exc:
            refused = exc
    if refused is not None:
        raise refused
    return run


def clean_error(error: dict) -> dict:
    """A run's error as stored: a one-line code ("UserError" when none), a message in
    lines, details as any JSON without what no database stores (a NUL)."""
    code = check_text(str(error.get("code") or "UserError"), what="errorCode")
    message = check_text(str(error.get("message") or ""), what="error message", lines=True)
    details = error.get("details")
    where = find_unstorable(details)
    if where is not None:
        path, char = where
        raise ValidationFailed(f"error details{path} contain {describe(char)}")
    return {"code": code, "message": message, "details": details}


@transaction.atomic
def run_cancel(*, run: Run, actor=None, immediate: bool = False) -> Run:
    """Cancel the run and every non-terminal descendant.

    Runs nobody executes yet go straight to Canceled; executing ones to
    CancelRequested, for their process to notice. `immediate` is the owning
    process cancelling its own runs: Canceled at once.
    """
    if run.status in TERMINAL:
        status.transition(run, Status.CANCELED, actor=actor)  # raises InvalidTransition
    targets = [run, *run.descendants().exclude(status__in=TERMINAL).order_by("id")]
    for r in targets:
        if r.status == Status.CANCEL_REQUESTED and not immediate:
            continue
        to = Status.CANCEL_REQUESTED if r.is_executing and not immediate else Status.CANCELED
        status.transition(r, to, actor=actor, note="cancel" if r is run else f"cancel of {run.id}")
    return run


@dataclass(frozen=True)
class CancelResult:
    """What a cancel of several runs did: the runs it cancelled (or asked to stop), and
    the ones it skipped with why."""

    cancelled: list[str]
    skipped: list[tuple[str, str]]


@transaction.atomic
def runs_cancel(*, runs: list[Run], actor=None) -> CancelResult:
    """Cancel every run of `runs` that the status machine lets cancel (and their
    non-terminal descendants), in one transaction; skip the others, saying why.

    Runs are cancelled in id order (a tree's runs follow its root's id): every writer
    of several runs locks them in that order, so concurrent ones queue instead of
    deadlocking. A selected run already cancelled as a descendant of another counts
    as cancelled.
    """
    cancelled: list[str] = []
    skipped: list[tuple[str, str]] = []
    for run in sorted(runs, key=lambda r: r.pk):
        before = run.status
        run.refresh_from_db(fields=["status"])
        if run.status == Status.CANCELED and before != Status.CANCELED:
            cancelled.append(run.pk)  # as a descendant of a run cancelled above
        elif run.status in TERMINAL:
            skipped.append((run.pk, f"already {run.status}"))
        else:
            try:
                run_cancel(run=run, actor=actor)
            except InvalidTransition as exc:
                skipped.append((run.pk, exc.message))
            else:
                cancelled.append(run.pk)
    return CancelResult(cancelled, skipped)


def run_heartbeat(*, run: Run) -> Run:
    """Record that the run's process is alive; the caller reads run.status for a cancel."""
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(heartbeat=now)
    run.heartbeat = now
    run.refresh_from_db(fields=["status"])
    return run


def runs_heartbeat(*, workspace, run_ids: list[str]) -> dict[str, str]:
    """Record that the process of each run is alive (one UPDATE for them all).

    Returns the status of each run found in the workspace; ids not found are left out.
    The rows are locked first in id order, as a cancel locks a tree, so the two
    never deadlock (PostgreSQL; an UPDATE alone locks in the order its plan meets rows).
    """
    runs = Run.objects.filter(workspace=workspace, pk__in=run_ids)
    with transaction.atomic():
        statuses = dict(
            runs.select_for_update(no_key=True).order_by("pk").values_list("id", "status")
        )
        runs.update(heartbeat=timezone.now())
    return statuses


def runs_fail_stale(*, timeout: timedelta) -> list[str]:
    """Mark Failed (HeartbeatLost) the executing runs whose heartbeat is older than `timeout`."""
    cutoff = timezone.now() - timeout
    stale = Run.objects.filter(status__in=EXECUTING, heartbeat__lt=cutoff)
    failed = []
    for run in stale.iterator():
        seconds = int(timeout.total_seconds())
        status.transition(
            run,
            Status.FAILED,
            error={"code": "HeartbeatLost", "message": f"no heartbeat for over {seconds} s"},
        )
        failed.append(run.id)
    # The scripts' tokens of those runs die with them.
    ApiToken.objects.filter(issued_for_id__in=failed, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return failed


@transaction.atomic
def run_update(
    *,
    run: Run,
    actor=None,
    display_name: str | None = None,
    description: str | None = None,
) -> Run:
    """Change the display name and/or the markdown description (HTML re-rendered now)."""
    events, fields = [], []
    if display_name is not None:
        display_name = _check_display_name(display_name)
        if display_name != run.display_name:
            events.append(("display_name", run.display_name, display_name))
            run.display_name = display_name
            fields.append("display_name")
    if description is not None:
        description = _check_description(description)
        if description != run.description:
            events.append(("description", run.description, description))
            run.description = description
            run.description_html = _description_html(description, run.workspace_id)
            fields += ["description", "description_html"]
    if fields:
        run.save(update_fields=fields)
        runs_refresh_search_text(run_ids=[run.pk])
        RunEvent.objects.bulk_create(
            RunEvent(run=run, actor=actor, kind=kind, field=kind, old=old, new=new)
            for kind, old, new in events
        )
    return run
