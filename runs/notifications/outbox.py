"""Writing the outbox: the notifications a status change, or a scan of running runs, owes.

`status_changed` is called by runs.status.transition inside its transaction, so
the rows commit with the change or not at all. Each matching rule writes one
row per recipient; runs.notifications.sender delivers them.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone

from runs import query
from runs.lifecycle import EXECUTING, Status
from runs.models import AlertRule, Membership, Notification, Run

logger = logging.getLogger(__name__)

# The statuses a rule can report, and the rule's flag for each.
RULE_FLAGS = {
    Status.COMPLETED: "on_completed",
    Status.FAILED: "on_failed",
    Status.CANCELED: "on_canceled",
}
NOTIFY_STATUSES = tuple(RULE_FLAGS)
# Most runs one scan notifies about per rule and event (the rest come next scan).
SCAN_LIMIT = 1000
SEND_TASK = "runs.notifications.send_due"


@dataclass(frozen=True)
class Recipient:
    channel: str
    address: str
    user_id: int | None = None


def _rules() -> QuerySet[AlertRule]:
    return AlertRule.objects.select_related("owner", "run").prefetch_related("members", "mutes")


def _rule_ids(flag: str, run_id: str) -> list[int]:
    """The ids of the rules of the run's workspace with `flag` set: a cheap query on every
    status change, usually answering nothing. Written by hand: the ORM took 0.5 ms to
    build it, ten times what it takes to run (runs.writes says why it matters)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('id')} FROM {q(AlertRule._meta.db_table)} "  # noqa: S608 - names
            f"WHERE {q(AlertRule._meta.get_field(flag).column)} = %s AND {q('workspace_id')} = "
            f"(SELECT {q('workspace_id')} FROM {q(Run._meta.db_table)} WHERE {q('id')} = %s)",
            [True, run_id],
        )
        return [pk for (pk,) in cursor.fetchall()]


def status_changed(*, run: Run, status: str) -> int:
    """Write the notifications that the workspace's rules owe for `run` reaching `status`;
    returns how many. Called inside the status change's transaction."""
    flag = RULE_FLAGS.get(status)
    if flag is None:
        return 0
    ids = _rule_ids(flag, run.pk)
    if not ids:
        return 0
    rules = list(_rules().filter(pk__in=ids))
    # The run, and each filter's verdict on it, in one query.
    filters = {f"rule_{r.pk}": _filter_q(r) for r in rules if r.filter}
    verdicts = {
        name: Case(When(cond, then=Value(True)), default=Value(False), output_field=BooleanField())
        for name, cond in filters.items()
        if cond is not None
    }
    facts = (
        Run.objects.only(
            "id", "workspace_id", "experiment_id", "parent_id", "root_id", "submitted_by_id"
        )
        .annotate(**verdicts)
        .get(pk=run.pk)
    )
    matching = [rule for rule in rules if rule_matches(rule, facts)]
    return _write(matching, [facts], event=Notification.Event.STATUS, status=status)


def rule_matches(rule: AlertRule, run: Run) -> bool:
    """Whether `run` (after its change) is one of the runs `rule` watches. A filter's
    verdict is read from the run's `rule_<id>` annotation when it has one."""
    if rule.experiment_id is not None and run.experiment_id != rule.experiment_id:
        return False
    if rule.run_id is not None and not _in_subtree(run, rule.run):
        return False
    if rule.mine_only and run.submitted_by_id != rule.owner_id:
        return False
    if rule.filter:
        verdict = getattr(run, f"rule_{rule.pk}", None)
        if verdict is not None:
            return bool(verdict)
        condition = _filter_q(rule)
        return condition is not None and Run.objects.filter(pk=run.pk).filter(condition).exists()
    return True


def _in_subtree(run: Run, top: Run) -> bool:
    return run.root_id == top.root_id and (run.pk == top.pk or run.pk.startswith(f"{top.pk}_"))


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> query.Node:
    return query.parse(text)


def _filter_q(rule: AlertRule) -> Q | None:
    """The rule's filter as a condition; None (matches nothing) if it no longer parses."""
    try:
        return query.to_q(_parsed(rule.filter))
    except query.QueryError:
        logger.warning("alert rule %s: its filter no longer parses: %r", rule.pk, rule.filter)
        return None


def rule_runs_q(rule: AlertRule) -> Q | None:
    """`rule_matches` as one condition on runs (None: no run can match)."""
    cond = Q(workspace_id=rule.workspace_id)
    if rule.experiment_id is not None:
        cond &= Q(experiment_id=rule.experiment_id)
    if rule.run_id is not None:
        top = rule.run
        cond &= Q(root_id=top.root_id) & (Q(pk=top.pk) | Q(pk__startswith=f"{top.pk}_"))
    if rule.mine_only:
        cond &= Q(submitted_by_id=rule.owner_id)
    if rule.filter:
        condition = _filter_q(rule)
        if condition is None:
            return None
        cond &= condition
    return cond


def recipients(rule: AlertRule, members: dict[int, Membership]) -> list[Recipient]:
    """Who hears from `rule` now: current members with an email address who have not
    muted it, the other addresses, the webhook. `members`: the workspace's, by user id."""
    if rule.is_personal:
        owner = members.get(rule.owner_id)
        if owner is None or not owner.user.email:
            return []
        return [Recipient(Notification.Channel.EMAIL, owner.user.email, owner.user_id)]
    muted = {m.user_id for m in rule.mutes.all()}
    users = (
        [m.user for m in members.values()]
        if rule.all_members
        else [u for u in rule.members.all() if u.pk in members]
    )
    out: list[Recipient] = []
    for user in sorted(users, key=lambda u: u.pk):
        if user.pk not in muted and user.email:
            out.append(Recipient(Notification.Channel.EMAIL, user.email, user.pk))
    out += [Recipient(Notification.Channel.EMAIL, address) for address in rule.emails]
    if rule.webhook:
        out.append(Recipient(Notification.Channel.WEBHOOK, rule.webhook))
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in out:
        key = (
            r.channel,
            r.address.lower() if r.channel == Notification.Channel.EMAIL else r.address,
        )
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


def _members(workspace_id: int) -> dict[int, Membership]:
    found = Membership.objects.filter(workspace_id=workspace_id).select_related("user")
    return {m.user_id: m for m in found if m.user.is_active}


def _write(
    rules: list[AlertRule],
    runs: list[Run],
    *,
    event: str,
    status: str | None = None,
    now: datetime | None = None,
) -> int:
    if not rules or not runs:
        return 0
    now = now or timezone.now()
    window = timedelta(seconds=settings.STUDIO_NOTIFY_GROUP_SECONDS)
    members: dict[int, dict[int, Membership]] = {}
    rows = []
    for rule in rules:
        if rule.workspace_id not in members:
            members[rule.workspace_id] = _members(rule.workspace_id)
        for recipient in recipients(rule, members[rule.workspace_id]):
            for run in runs:
                group = run.parent_id or ""
                rows.append(
                    Notification(
                        workspace_id=rule.workspace_id,
                        rule=rule,
                        run_id=run.pk,
                        event=event,
                        status=status or run.status,
                        channel=recipient.channel,
                        address=recipient.address,
                        user_id=recipient.user_id,
                        group_key=group,
                        created=now,
                        # Children wait for the window, so that their siblings join them.
                        next_attempt=now + window if group else now,
                    )
                )
    if not rows:
        return 0
    if event == Notification.Event.STATUS:
        Notification.objects.bulk_create(rows)
    else:
        # A scan may meet a run it already reported: the unique constraint keeps one.
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(kick_sender)
    return len(rows)


def scan_running(*, now: datetime | None = None) -> int:
    """Write the notifications owed to rules watching for runs that have been running
    longer than their hours, or sent no heartbeat for their minutes (once per run)."""
    now = now or timezone.now()
    watching = _rules().filter(Q(running_hours__isnull=False) | Q(silent_minutes__isnull=False))
    written = 0
    for rule in watching:
        scope = rule_runs_q(rule)
        if scope is None:
            continue
        executing = Run.objects.filter(scope, status__in=EXECUTING)
        if rule.running_hours is not None:
            cutoff = now - timedelta(hours=rule.running_hours)
            found = executing.filter(started__lt=cutoff)
            written += _write_scan(rule, found, Notification.Event.RUNNING_LONG, now)
        if rule.silent_minutes is not None:
            cutoff = now - timedelta(minutes=rule.silent_minutes)
            silent = Q(heartbeat__lt=cutoff) | Q(heartbeat__isnull=True, started__lt=cutoff)
            found = executing.filter(silent)
            written += _write_scan(rule, found, Notification.Event.NO_HEARTBEAT, now)
    return written


def _write_scan(rule: AlertRule, runs: QuerySet[Run], event: str, now: datetime) -> int:
    told = Notification.objects.filter(rule=rule, event=event).values("run_id")
    found = list(
        runs.exclude(pk__in=told)
        .only("id", "workspace_id", "experiment_id", "parent_id", "root_id", "status")
        .order_by("pk")[:SCAN_LIMIT]
    )
    with transaction.atomic():
        return _write([rule], found, event=event, now=now)


def kick_sender() -> None:
    """Queue the sender as a Celery task when Celery is configured for it (otherwise the
    runworker's or `send_notifications --loop`'s next round sends)."""
    if not settings.STUDIO_NOTIFY_CELERY:
        return
    from studio.celery import app

    try:
        app.send_task(SEND_TASK, retry=False)
    except Exception:  # a broker away: the periodic round sends them anyway
        logger.warning("could not queue %s; the periodic round will send", SEND_TASK)
