"""Reads for alerts: the rules a member sees, a rule's deliveries, the status-change
feed, and the embedded outbox's messages."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from runs.models import AlertRule, Membership, Notification, Role, Run, RunEvent, Workspace
from runs.notifications.mailbox import workspace_dir

OUTBOX_LIMIT = 100
# Files read at most to find a member's own messages.
OUTBOX_SCAN = 2000


def alert_rules_visible(*, actor: Membership) -> QuerySet[AlertRule]:
    """The workspace's rules and the member's own personal ones, with delivery counts."""
    by_state = {
        state: Count("notifications", filter=Q(notifications__state=state))
        for state in Notification.State.values
    }
    return (
        AlertRule.objects.filter(workspace_id=actor.workspace_id)
        .filter(Q(scope=AlertRule.Scope.WORKSPACE) | Q(owner_id=actor.user_id))
        .select_related("owner", "experiment", "run")
        .prefetch_related("members", "mutes")
        .annotate(**{f"n_{state}": n for state, n in by_state.items()})
        .order_by("scope", "name", "id")
    )


def alert_rule_get(*, actor: Membership, rule_id: int) -> AlertRule:
    """A rule the member can see (Http404 otherwise: another's personal rule, say)."""
    rule = alert_rules_visible(actor=actor).filter(pk=rule_id).first()
    if rule is None:
        raise Http404(f"no alert rule {rule_id} in this workspace")
    return rule


def alert_deliveries(*, rule: AlertRule) -> QuerySet[Notification]:
    """The rule's notifications, newest first: its delivery history."""
    return (
        Notification.objects.filter(rule=rule)
        .select_related("run", "user")
        .order_by("-created", "-id")
    )


def status_events(
    *,
    workspace: Workspace,
    experiment: str | None = None,
    statuses: list[str] | None = None,
    run: Run | None = None,
    since: datetime | None = None,
    before: int | None = None,
) -> QuerySet[RunEvent]:
    """The workspace's status changes, newest first. `before` (an event id) pages on from
    that event, without gaps or repeats while new changes arrive; `run`: that run and
    its descendants."""
    qs = RunEvent.objects.filter(kind=RunEvent.Kind.STATUS, run__workspace=workspace)
    if experiment:
        qs = qs.filter(run__experiment__name=experiment)
    if statuses:
        qs = qs.filter(new__in=statuses)
    if run is not None:
        qs = qs.filter(run__root_id=run.root_id).filter(
            Q(run_id=run.pk) | Q(run__id__startswith=f"{run.pk}_")
        )
    if since is not None:
        qs = qs.filter(created__gte=since)
    if before is not None:
        cursor = RunEvent.objects.filter(pk=before).values_list("created", flat=True).first()
        if cursor is None:
            return qs.none()
        qs = qs.filter(Q(created__lt=cursor) | Q(created=cursor, pk__lt=before))
    return qs.select_related("run__experiment", "actor").order_by("-created", "-id")


@dataclass
class OutboxMessage:
    """A message the embedded email backend wrote, as the Outbox tab shows it."""

    name: str
    sent: datetime | None
    to: str
    subject: str
    text: str
    html: str


def _parse(path: Path) -> OutboxMessage | None:
    try:
        parsed: EmailMessage = email.message_from_bytes(
            path.read_bytes(), policy=email.policy.default
        )
    except OSError:
        return None
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    date = parsed["Date"]
    return OutboxMessage(
        name=path.name,
        sent=date.datetime if date is not None and hasattr(date, "datetime") else None,
        to=str(parsed["To"] or ""),
        subject=str(parsed["Subject"] or ""),
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
    )


def outbox_enabled() -> bool:
    """Whether mail goes to the embedded file outbox (no SMTP server configured)."""
    return settings.EMAIL_BACKEND == "runs.notifications.mailbox.EmailBackend"


def outbox_messages(*, actor: Membership, limit: int = OUTBOX_LIMIT) -> list[OutboxMessage]:
    """The newest messages about the workspace in the file outbox: all of them for
    owners, those addressed to the member for everyone else."""
    folder = workspace_dir(actor.workspace.slug)
    try:
        names = sorted((p.name for p in folder.iterdir() if p.suffix == ".eml"), reverse=True)
    except OSError:
        return []
    mine = (actor.user.email or "").lower()
    out: list[OutboxMessage] = []
    for name in names[:OUTBOX_SCAN]:
        message = _parse(folder / name)
        if message is None:
            continue
        if not actor.has_role(Role.OWNER) and (not mine or mine not in message.to.lower()):
            continue
        out.append(message)
        if len(out) >= limit:
            break
    return out
