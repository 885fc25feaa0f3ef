"""The status-change feed and alert rules: list, create, read, change, delete, mute,
and each rule's deliveries.

Every member may read the feed, make personal rules (which email only them) and
mute workspace rules; owners manage workspace rules (runs.services.alerts).
Tokens limited to one run's tree have no business here (403).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Status
from pydantic import Field

from runs.api.auth import member_run, member_workspace, refuse_run_scoped
from runs.api.documents import run_url
from runs.api.errors import ERRORS
from runs.api.schemas import (
    DEFAULT_PER_PAGE,
    LINES,
    MAX_PAGE,
    MAX_PER_PAGE,
    ONE_LINE,
    In,
    Out,
    QueryParams,
    UtcTime,
)
from runs.models import AlertRule, Notification, RunEvent, Workspace
from runs.selectors import alerts as alert_selectors
from runs.services import alerts as alert_services
from runs.services.alerts import MAX_RUNNING_HOURS, MAX_SILENT_MINUTES
from runs.status import Status as RunStatus

router = Router(tags=["alerts"], by_alias=True)


# --- the status-change feed ------------------------------------------------------------


class EventOut(Out):
    """One status change of a run."""

    id: int
    time_utc: UtcTime
    run_id: str
    experiment: str
    display_name: str
    parent_run_id: str | None
    old_status: str | None
    status: str
    actor: str | None
    note: str
    url: str


class EventsOut(Out):
    events: list[EventOut]
    has_more: bool
    # Pass as `before` for the next (older) page; null on the last page.
    next_before: int | None


class EventsQuery(QueryParams):
    experiment: str | None = None
    # Repeatable: ?status=Failed&status=Canceled (the status the run moved to).
    status: list[RunStatus] = []
    # A run id: that run's changes and its descendants'.
    run: str | None = None
    since: datetime | None = None
    before: int | None = Field(default=None, ge=1)
    per_page: int = Field(default=DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)


def event_out(event: RunEvent, workspace: Workspace) -> EventOut:
    run = event.run
    return EventOut(
        id=event.pk,
        time_utc=event.created,
        run_id=run.pk,
        experiment=run.experiment.name,
        display_name=run.display_name,
        parent_run_id=run.parent_id,
        old_status=event.old,
        status=event.new or "",
        actor=event.actor.get_username() if event.actor else None,
        note=event.note,
        url=run_url(workspace.slug, run.pk),
    )


@router.get("/w/{ws}/events", response={200: EventsOut, **ERRORS}, url_name="status-events")
def status_events(request: HttpRequest, ws: str, params: Query[EventsQuery]) -> EventsOut:
    """The workspace's status changes, newest first, a page at a time (`before` pages on)."""
    workspace = member_workspace(request, ws)
    refuse_run_scoped(request, "read the workspace's status changes")
    run = member_run(request, ws, params.run)[1] if params.run else None
    events = alert_selectors.status_events(
        workspace=workspace,
        experiment=params.experiment,
        statuses=[str(s) for s in params.status] or None,
        run=run,
        since=params.since,
        before=params.before,
    )
    found = list(events[: params.per_page + 1])
    more = len(found) > params.per_page
    found = found[: params.per_page]
    return EventsOut(
        events=[event_out(e, workspace) for e in found],
        has_more=more,
        next_before=found[-1].pk if more else None,
    )


# --- alert rules -------------------------------------------------------------------------


class DeliveryCounts(Out):
    sent: int
    pending: int
    failed: int


class AlertOut(Out):
    """An alert rule: which runs, which events, who hears about them."""

    id: int
    name: str
    scope: str
    owner: str
    experiment: str | None
    filter: str
    run_id: str | None
    submitted_by_me: bool
    statuses: list[str]
    running_longer_than_hours: int | None
    no_heartbeat_minutes: int | None
    members: list[str]
    all_members: bool
    # Other addresses and the webhook are shown to those who manage the rule (null otherwise).
    emails: list[str] | None
    webhook: str | None
    muted: bool
    can_manage: bool
    deliveries: DeliveryCounts
    created_utc: UtcTime
    updated_utc: UtcTime
    url: str


class AlertsOut(Out):
    alerts: list[AlertOut]


# Checked by the service (its message names the field); stated here for clients.
Hours = Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": MAX_RUNNING_HOURS})]
Minutes = Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": MAX_SILENT_MINUTES})]
OneLine = Annotated[str, Field(json_schema_extra={"pattern": ONE_LINE})]
Lines = Annotated[str, Field(json_schema_extra={"pattern": LINES})]
RuleStatus = Annotated[str, Field(json_schema_extra={"enum": ["Completed", "Failed", "Canceled"]})]


class AlertIn(In):
    name: OneLine = Field(default="", max_length=200)
    # Default: workspace for owners, personal for everyone else.
    scope: Literal["workspace", "personal"] | None = None
    experiment: str | None = Field(default=None, max_length=100)
    filter: Lines = Field(default="", max_length=2000)
    run_id: str | None = Field(default=None, max_length=255)
    submitted_by_me: bool = False
    statuses: list[RuleStatus] = Field(default=[], max_length=10)
    running_longer_than_hours: Hours | None = None
    no_heartbeat_minutes: Minutes | None = None
    members: list[str] = Field(default=[], max_length=200)
    all_members: bool = False
    emails: list[OneLine] = Field(default=[], max_length=50)
    webhook: OneLine = Field(default="", max_length=2000)


class AlertPatchIn(In):
    """The fields to change; the others keep their value."""

    name: OneLine | None = Field(default=None, max_length=200)
    scope: Literal["workspace", "personal"] | None = None
    experiment: str | None = Field(default=None, max_length=100)
    filter: Lines | None = Field(default=None, max_length=2000)
    run_id: str | None = Field(default=None, max_length=255)
    submitted_by_me: bool | None = None
    statuses: list[RuleStatus] | None = Field(default=None, max_length=10)
    running_longer_than_hours: Hours | None = None
    no_heartbeat_minutes: Minutes | None = None
    members: list[str] | None = Field(default=None, max_length=200)
    all_members: bool | None = None
    emails: list[OneLine] | None = Field(default=None, max_length=50)
    webhook: OneLine | None = Field(default=None, max_length=2000)


class MuteIn(In):
    muted: bool = True


class DeliveryOut(Out):
    id: int
    run_id: str
    event: str
    status: str
    channel: str
    # An email address, or the webhook's host (its path may hold a secret).
    recipient: str
    state: str
    attempts: int
    last_error: str
    created_utc: UtcTime
    sent_utc: UtcTime | None
    next_attempt_utc: UtcTime | None


class DeliveriesOut(Out):
    deliveries: list[DeliveryOut]
    page: int
    per_page: int
    total: int
    has_more: bool


class DeliveriesQuery(QueryParams):
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)


ALERT = {200: AlertOut, **ERRORS}


def _workspace(request: HttpRequest, ws: str) -> Workspace:
    workspace = member_workspace(request, ws)
    refuse_run_scoped(request, "use alert rules")
    return workspace


def alert_out(rule: AlertRule, workspace: Workspace) -> AlertOut:
    actor = workspace.membership
    manage = alert_services.can_manage(rule, actor)
    counts = {state: getattr(rule, f"n_{state}", 0) for state in Notification.State.values}
    return AlertOut(
        id=rule.pk,
        name=rule.name,
        scope=rule.scope,
        owner=rule.owner.get_username(),
        experiment=rule.experiment.name if rule.experiment_id else None,
        filter=rule.filter,
        run_id=rule.run_id,
        submitted_by_me=rule.mine_only,
        statuses=rule.statuses,
        running_longer_than_hours=rule.running_hours,
        no_heartbeat_minutes=rule.silent_minutes,
        members=[u.get_username() for u in rule.members.all()],
        all_members=rule.all_members,
        emails=list(rule.emails) if manage else None,
        webhook=(rule.webhook or None) if manage else None,
        muted=any(m.user_id == actor.user_id for m in rule.mutes.all()),
        can_manage=manage,
        deliveries=DeliveryCounts(**counts),
        created_utc=rule.created,
        updated_utc=rule.updated,
        url=settings.STUDIO_BASE_URL + reverse("runs:alert-detail", args=[workspace.slug, rule.pk]),
    )


# API names that differ from RuleSpec's, and what a null clears a field to.
_SPEC_NAMES = {
    "submitted_by_me": "mine_only",
    "running_longer_than_hours": "running_hours",
    "no_heartbeat_minutes": "silent_minutes",
}
_CLEARED = {
    "name": "",
    "filter": "",
    "webhook": "",
    "members": [],
    "emails": [],
    "statuses": [],
    "mine_only": False,
    "all_members": False,
}


def _spec(body: AlertIn | AlertPatchIn, base: alert_services.RuleSpec) -> alert_services.RuleSpec:
    """`base` with the fields the body gave (a null clears one)."""
    for key, value in body.model_dump(exclude_unset=True).items():
        name = _SPEC_NAMES.get(key, key)
        setattr(base, name, _CLEARED.get(name) if value is None else value)
    return base


def _fresh(rule_id: int, workspace: Workspace) -> AlertOut:
    rule = alert_selectors.alert_rule_get(actor=workspace.membership, rule_id=rule_id)
    return alert_out(rule, workspace)


@router.get("/w/{ws}/alerts", response={200: AlertsOut, **ERRORS}, url_name="alert-list")
def alert_list(request: HttpRequest, ws: str) -> AlertsOut:
    """The workspace's rules and the caller's personal ones."""
    workspace = _workspace(request, ws)
    rules = alert_selectors.alert_rules_visible(actor=workspace.membership)
    return AlertsOut(alerts=[alert_out(r, workspace) for r in rules])


@router.post("/w/{ws}/alerts", response={201: AlertOut, **ERRORS}, url_name="alert-create")
def alert_create(request: HttpRequest, ws: str, body: AlertIn) -> Status:
    """A new rule: a workspace rule (owners) or a personal one (emails only the caller)."""
    workspace = _workspace(request, ws)
    spec = _spec(body, alert_services.RuleSpec())
    rule = alert_services.alert_rule_create(actor=workspace.membership, spec=spec)
    return Status(201, _fresh(rule.pk, workspace))


@router.get("/w/{ws}/alerts/{rule_id}", response=ALERT, url_name="alert-detail")
def alert_get(request: HttpRequest, ws: str, rule_id: int) -> AlertOut:
    workspace = _workspace(request, ws)
    return _fresh(rule_id, workspace)


@router.patch("/w/{ws}/alerts/{rule_id}", response=ALERT, url_name="alert-update")
def alert_update(request: HttpRequest, ws: str, rule_id: int, body: AlertPatchIn) -> AlertOut:
    """Change some of what a rule says (owners: workspace rules; yours: personal ones)."""
    workspace = _workspace(request, ws)
    rule = alert_selectors.alert_rule_get(actor=workspace.membership, rule_id=rule_id)
    alert_services.check_manage(rule, workspace.membership)
    spec = _spec(body, alert_services.spec_of(rule))
    alert_services.alert_rule_update(rule=rule, actor=workspace.membership, spec=spec)
    return _fresh(rule_id, workspace)


@router.delete("/w/{ws}/alerts/{rule_id}", response={204: None, **ERRORS}, url_name="alert-delete")
def alert_delete(request: HttpRequest, ws: str, rule_id: int) -> Status:
    workspace = _workspace(request, ws)
    rule = alert_selectors.alert_rule_get(actor=workspace.membership, rule_id=rule_id)
    alert_services.alert_rule_delete(rule=rule, actor=workspace.membership)
    return Status(204, None)


@router.post("/w/{ws}/alerts/{rule_id}/mute", response=ALERT, url_name="alert-mute")
def alert_mute(request: HttpRequest, ws: str, rule_id: int, body: MuteIn) -> AlertOut:
    """Mute (`{"muted": true}`) or unmute a workspace rule for the caller."""
    workspace = _workspace(request, ws)
    rule = alert_selectors.alert_rule_get(actor=workspace.membership, rule_id=rule_id)
    alert_services.alert_rule_mute(rule=rule, actor=workspace.membership, muted=body.muted)
    return _fresh(rule_id, workspace)


def _recipient(notification: Notification) -> str:
    if notification.channel == Notification.Channel.WEBHOOK:
        from urllib.parse import urlsplit

        return f"webhook {urlsplit(notification.address).netloc}"
    return notification.address


@router.get(
    "/w/{ws}/alerts/{rule_id}/deliveries",
    response={200: DeliveriesOut, **ERRORS},
    url_name="alert-deliveries",
)
def alert_deliveries(
    request: HttpRequest, ws: str, rule_id: int, params: Query[DeliveriesQuery]
) -> DeliveriesOut:
    """The rule's notifications, newest first: sent, pending (with the last error of a
    failed try) or failed (given up, with the error). For those who manage the rule."""
    workspace = _workspace(request, ws)
    rule = alert_selectors.alert_rule_get(actor=workspace.membership, rule_id=rule_id)
    alert_services.check_manage(rule, workspace.membership)
    qs = alert_selectors.alert_deliveries(rule=rule)
    total = qs.count()
    start = (params.page - 1) * params.per_page
    rows = list(qs[start : start + params.per_page]) if start < total else []
    return DeliveriesOut(
        deliveries=[
            DeliveryOut(
                id=n.pk,
                run_id=n.run_id,
                event=n.event,
                status=n.status,
                channel=n.channel,
                recipient=_recipient(n),
                state=n.state,
                attempts=n.attempts,
                last_error=n.last_error,
                created_utc=n.created,
                sent_utc=n.sent_at,
                next_attempt_utc=n.next_attempt if n.state == Notification.State.PENDING else None,
            )
            for n in rows
        ],
        page=params.page,
        per_page=params.per_page,
        total=total,
        has_more=start + len(rows) < total,
    )
