"""Reads of compute targets: each with its queue length and the workers seen lately."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from runs.models import LOCAL_TARGET, ComputeTarget, Run, Worker, Workspace
from runs.status import EXECUTING, Status

# Workers seen within this count as present.
WORKER_WINDOW = timedelta(minutes=1)


@dataclass
class TargetSummary:
    name: str
    executor: str
    description: str = ""
    target: ComputeTarget | None = None  # None for `local`
    queued: int = 0
    running: int = 0
    workers: list[Worker] = field(default_factory=list)


def compute_target_summaries(
    *, workspace: Workspace, now: datetime | None = None
) -> list[TargetSummary]:
    """`local` then the workspace's targets by name, with counts and workers (three queries)."""
    now = now or timezone.now()
    targets = [
        TargetSummary(name=LOCAL_TARGET, executor="local", description="The studio's own worker")
    ]
    targets += [
        TargetSummary(name=t.name, executor=t.executor, description=t.description, target=t)
        for t in ComputeTarget.objects.filter(workspace=workspace).order_by("name")
    ]
    counts = (
        Run.objects.filter(workspace=workspace, status__in=[Status.QUEUED, *EXECUTING])
        .values("compute_target")
        .annotate(
            queued=Count("pk", filter=Q(status=Status.QUEUED)),
            running=Count("pk", filter=~Q(status=Status.QUEUED)),
        )
    )
    by_name = {row["compute_target"]: row for row in counts}
    workers = list(
        Worker.objects.filter(last_seen__gte=now - WORKER_WINDOW)
        .filter(Q(workspace__isnull=True) | Q(workspace=workspace))
        .order_by("name")
    )
    for summary in targets:
        row = by_name.get(summary.name, {})
        summary.queued = row.get("queued", 0)
        summary.running = row.get("running", 0)
        summary.workers = [
            w for w in workers if summary.name in w.targets and w.executor == summary.executor
        ]
    return targets


def compute_target_get(*, workspace: Workspace, name: str) -> ComputeTarget:
    """The workspace's target `name` (a row: not `local`), or Http404."""
    target = ComputeTarget.objects.filter(workspace=workspace, name=name).first()
    if target is None:
        raise Http404(f"workspace {workspace.slug!r} has no compute target {name!r}")
    return target
