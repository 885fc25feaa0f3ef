"""Compute targets (where a workspace's submitted runs execute) and the workers serving them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from runs.exceptions import Conflict, ValidationFailed
from runs.models import LOCAL_TARGET, ComputeTarget, Run, Worker, Workspace, validate_name
from runs.status import EXECUTING, Status
from runs.text import check_text, check_texts

MAX_DESCRIPTION = 500


def compute_target_executor(*, workspace: Workspace, name: str) -> str:
    """The executor of the workspace's target `name` (ValidationFailed when there is none)."""
    if name == LOCAL_TARGET:
        return ComputeTarget.Executor.LOCAL
    found = ComputeTarget.objects.filter(workspace=workspace, name=name).first()
    if found is None:
        known = [
            LOCAL_TARGET,
            *ComputeTarget.objects.filter(workspace=workspace).values_list("name", flat=True),
        ]
        raise ValidationFailed(
            f"workspace {workspace.slug!r} has no compute target {name!r}; "
            f"it has {', '.join(known)}"
        )
    return found.executor


def compute_target_create(
    *, workspace: Workspace, name: str, executor: str, description: str = "", actor=None
) -> ComputeTarget:
    """A new compute target; its name is its queue's for a Celery target."""
    name = (name or "").strip()
    try:
        validate_name(name)
    except ValidationError as exc:
        raise ValidationFailed(f"compute target name: {' '.join(exc.messages)}") from None
    if name == LOCAL_TARGET:
        raise Conflict(f"{LOCAL_TARGET!r} is the studio's own target: every workspace has it")
    if executor not in ComputeTarget.Executor.values:
        choices = " or ".join(ComputeTarget.Executor.values)
        raise ValidationFailed(f"executor must be {choices}, not {executor!r}")
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(
            f"description is {len(description)} characters; the limit is {MAX_DESCRIPTION}"
        )
    check_text(description, what="description", lines=True)
    try:
        with transaction.atomic():
            return ComputeTarget.objects.create(
                workspace=workspace,
                name=name,
                executor=executor,
                description=description,
                created_by=actor,
            )
    except IntegrityError:
        raise Conflict(f"workspace {workspace.slug!r} has a compute target {name!r}") from None


def compute_target_delete(*, target: ComputeTarget) -> None:
    """Remove a target that no queued or executing run waits on."""
    busy = Run.objects.filter(
        workspace_id=target.workspace_id,
        compute_target=target.name,
        status__in=[Status.QUEUED, *EXECUTING],
    ).count()
    if busy:
        raise Conflict(
            f"{busy} run{'s' if busy != 1 else ''} of compute target {target.name!r} "
            "are queued or executing: cancel them first"
        )
    target.delete()


def worker_seen(
    *, name: str, executor: str, targets: list[str], workspace: Workspace | None = None
) -> Worker:
    """Record that a worker is alive and which targets it serves (one row per worker)."""
    check_text(name, what="a worker's name")
    check_texts(targets, what="a target's name")
    now = timezone.now()
    worker, created = Worker.objects.get_or_create(
        name=name[:255],
        executor=executor,
        defaults={"workspace": workspace, "targets": targets, "started": now, "last_seen": now},
    )
    if not created:
        Worker.objects.filter(pk=worker.pk).update(
            last_seen=now, targets=targets, workspace=workspace
        )
    return worker
