"""Reads of experiments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max

from runs.models import Experiment, Run, Workspace
from runs.selectors.rows import Statement, Table
from runs.status import Status

_EXPERIMENT = Table(Experiment, "e")
_BY_NAME = Statement(
    [_EXPERIMENT],
    lambda q: (
        f"SELECT {_EXPERIMENT.columns(q)} FROM {q(_EXPERIMENT.name)} {q('e')} "  # noqa: S608 - names
        f"WHERE {q('e')}.{q('workspace_id')} = %s AND {q('e')}.{q('name')} = %s"
    ),
)


def experiment_by_name(*, workspace_id: int, name: str) -> Experiment | None:
    """The workspace's experiment called `name`, if any: read on every run created through
    the API, so written once (runs.selectors.rows)."""
    rows = _BY_NAME.rows([workspace_id, name])
    return rows[0][0] if rows else None


@dataclass
class ExperimentSummary:
    experiment: Experiment
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    last_activity: datetime | None = None

    @property
    def status_counts(self) -> list[tuple[str, int]]:
        """(status, count) in lifecycle order, non-zero only."""
        return [(s, self.by_status[s]) for s in Status.values if self.by_status.get(s)]


def experiment_summaries(*, workspace: Workspace) -> list[ExperimentSummary]:
    """The workspace's experiments, most recently active first, with runs counted by status.

    Two queries whatever the number of experiments: the experiments, and one
    grouped count over the workspace's runs.
    """
    summaries = {
        e.pk: ExperimentSummary(experiment=e)
        for e in Experiment.objects.filter(workspace=workspace)
    }
    rows = (
        Run.objects.filter(workspace=workspace)
        .values("experiment_id", "status")
        .annotate(n=Count("pk"), last=Max("created"), last_end=Max("ended"))
        .order_by()
    )
    for row in rows:
        s = summaries[row["experiment_id"]]
        s.by_status[row["status"]] = row["n"]
        s.total += row["n"]
        for when in (row["last"], row["last_end"]):
            if when and (s.last_activity is None or when > s.last_activity):
                s.last_activity = when
    return sorted(summaries.values(), key=_most_recent_first)


def _most_recent_first(s: ExperimentSummary) -> tuple:
    stamp = s.last_activity.timestamp() if s.last_activity else float("-inf")
    return (-stamp, s.experiment.name)


def experiment_find(*, workspace: Workspace, name: str) -> Experiment | None:
    """The workspace's experiment called `name`, or None."""
    return Experiment.objects.filter(workspace=workspace, name=name).first()


def experiment_summary(*, experiment: Experiment) -> ExperimentSummary:
    """One experiment with its runs counted by status (one grouped query)."""
    summary = ExperimentSummary(experiment=experiment)
    rows = (
        Run.objects.filter(experiment=experiment)
        .values("status")
        .annotate(n=Count("pk"), last=Max("created"), last_end=Max("ended"))
        .order_by()
    )
    for row in rows:
        summary.by_status[row["status"]] = row["n"]
        summary.total += row["n"]
        for when in (row["last"], row["last_end"]):
            if when and (summary.last_activity is None or when > summary.last_activity):
                summary.last_activity = when
    return summary
