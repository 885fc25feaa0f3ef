"""Writes of alert rules: create, change, delete, mute.

Workspace rules are managed by the workspace's owners and may notify members,
other addresses and a webhook; every member may make personal rules, which
email only them, and mute a workspace rule for themselves. Views, the API and
the CLI all come through here, so the checks and their messages are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone

from runs import query
from runs.exceptions import BadFilter, Forbidden, NotFound, ValidationFailed
from runs.models import AlertMute, AlertRule, Experiment, Membership, Role, Run
from runs.notifications import webhooks
from runs.notifications.models import MAX_EMAILS, RULE_NAME_MAX, WEBHOOK_MAX
from runs.text import check_text

EVENT_STATUSES = ("Completed", "Failed", "Canceled")
MAX_RUNNING_HOURS = 24 * 365
MAX_SILENT_MINUTES = 60 * 24 * 30
MAX_MEMBERS = 200

_email = EmailValidator()
_url = URLValidator(schemes=["http", "https"])


@dataclass
class RuleSpec:
    """A rule as asked for, before validation: what forms and the API hand in."""

    name: str = ""
    scope: str | None = None  # None: workspace for owners, personal for everyone else
    experiment: str | None = None
    filter: str = ""
    run_id: str | None = None
    mine_only: bool = False
    statuses: list[str] = field(default_factory=list)
    running_hours: int | None = None
    silent_minutes: int | None = None
    members: list[str] = field(default_factory=list)  # usernames
    all_members: bool = False
    emails: list[str] = field(default_factory=list)
    webhook: str = ""


def can_manage(rule: AlertRule, actor: Membership) -> bool:
    """Owners manage workspace rules; a personal rule is its owner's alone."""
    if rule.workspace_id != actor.workspace_id:
        return False
    if rule.is_personal:
        return rule.owner_id == actor.user_id
    return actor.has_role(Role.OWNER)


def can_see(rule: AlertRule, actor: Membership) -> bool:
    return rule.workspace_id == actor.workspace_id and (
        not rule.is_personal or rule.owner_id == actor.user_id
    )


def check_manage(rule: AlertRule, actor: Membership) -> None:
    if not can_see(rule, actor):
        raise NotFound(f"no alert rule {rule.pk} in this workspace")
    if not can_manage(rule, actor):
        raise Forbidden(
            f"{rule.name!r} is a workspace rule and your role is {actor.role}: only owners "
            "change workspace rules; mute it for yourself, or make a personal rule"
        )


def clean_status(value: Any) -> str:
    """'failed' -> 'Failed'; anything but Completed, Failed or Canceled is refused."""
    text = str(value).strip()
    for status in EVENT_STATUSES:
        if text.lower() == status.lower():
            return status
    raise ValidationFailed(
        f"unknown status {text[:40]!r}: a rule reports Completed, Failed or Canceled"
    )


def clean_email(value: Any) -> str:
    text = check_text(str(value).strip(), what="an email address")
    try:
        _email(text)
    except ValidationError:
        raise ValidationFailed(f"{text[:100]!r} is not an email address") from None
    return text


def clean_webhook(value: Any) -> str:
    text = check_text(str(value).strip(), what="the webhook URL")
    if len(text) > WEBHOOK_MAX:
        raise ValidationFailed(f"the webhook URL is longer than {WEBHOOK_MAX} characters")
    try:
        _url(text)
    except ValidationError:
        raise ValidationFailed(f"{text[:100]!r} is not an http:// or https:// URL") from None
    try:
        webhooks.check_literal(text)
    except webhooks.AddressRefused as exc:
        raise ValidationFailed(str(exc)) from None
    return text


def clean_filter(text: str) -> str:
    """The filter in its canonical text; BadFilter (with the position) if it does not parse."""
    text = check_text((text or "").strip(), what="filter", lines=True)
    if not text:
        return ""
    try:
        return query.describe(query.parse(text))
    except query.QueryError as exc:
        raise BadFilter(f"filter: {exc}") from None


def _clean_name(name: str, default: str) -> str:
    name = " ".join(check_text(name or "", what="a rule's name").split()) or default
    if len(name) > RULE_NAME_MAX:
        raise ValidationFailed(f"a rule's name has at most {RULE_NAME_MAX} characters")
    return name


def _bounded(label: str, value: int | None, top: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise ValidationFailed(f"{label} must be a whole number from 1 to {top:,}")
    return value


def _default_name(spec: RuleSpec, statuses: list[str]) -> str:
    events = list(statuses)
    if spec.running_hours:
        events.append(f"running > {spec.running_hours} h")
    if spec.silent_minutes:
        events.append(f"silent {spec.silent_minutes} min")
    where = f" in {spec.experiment}" if spec.experiment else ""
    return (", ".join(events) or "Runs") + where


def _apply(rule: AlertRule, spec: RuleSpec, actor: Membership) -> list:
    """Validate `spec` onto `rule` (unsaved changes); returns the member users to set."""
    ws = actor.workspace
    statuses = list(dict.fromkeys(clean_status(s) for s in spec.statuses))
    running = _bounded("runningLongerThanHours", spec.running_hours, MAX_RUNNING_HOURS)
    silent = _bounded("noHeartbeatMinutes", spec.silent_minutes, MAX_SILENT_MINUTES)
    if not statuses and running is None and silent is None:
        raise ValidationFailed(
            "a rule needs an event: a status (Completed, Failed, Canceled), "
            "running longer than N hours, or no heartbeat for N minutes"
        )
    scope = spec.scope or (
        AlertRule.Scope.WORKSPACE if actor.has_role(Role.OWNER) else AlertRule.Scope.PERSONAL
    )
    if scope not in AlertRule.Scope.values:
        raise ValidationFailed(f"scope is workspace or personal, not {str(scope)[:40]!r}")
    if scope == AlertRule.Scope.WORKSPACE and not actor.has_role(Role.OWNER):
        raise Forbidden(
            f"your role in {ws.slug} is {actor.role}: workspace rules are for owners; "
            "a personal rule (scope personal) emails you"
        )
    experiment = None
    if spec.experiment:
        experiment = Experiment.objects.filter(workspace=ws, name=spec.experiment).first()
        if experiment is None:
            raise ValidationFailed(f"there is no experiment {spec.experiment!r} in {ws.slug}")
    filter_text = clean_filter(spec.filter)
    run = None
    if spec.run_id:
        run = Run.objects.filter(workspace=ws, pk=spec.run_id.strip()).first()
        if run is None:
            raise ValidationFailed(f"there is no run {spec.run_id.strip()[:255]!r} in {ws.slug}")
    emails = list(dict.fromkeys(clean_email(e) for e in spec.emails if str(e).strip()))
    webhook = clean_webhook(spec.webhook) if (spec.webhook or "").strip() else ""
    users = []
    if scope == AlertRule.Scope.PERSONAL:
        owner = rule.owner if rule.pk else actor.user
        others = [e for e in emails if e.lower() != (owner.email or "").lower()]
        if others or webhook or spec.members or spec.all_members:
            raise Forbidden(
                "a personal rule emails only you (at your account's address"
                + (f", {owner.email}" if owner.email else "")
                + "): other addresses, members and webhooks are for workspace rules, "
                "which owners manage"
            )
        if not owner.email:
            raise ValidationFailed(
                "your account has no email address, so a personal rule could not reach you: "
                "ask an administrator to add one"
            )
        emails = []
    else:
        if len(emails) > MAX_EMAILS:
            raise ValidationFailed(f"a rule emails at most {MAX_EMAILS} other addresses")
        names = list(dict.fromkeys(n.strip() for n in spec.members if str(n).strip()))
        if len(names) > MAX_MEMBERS:
            raise ValidationFailed(f"a rule names at most {MAX_MEMBERS} members")
        if names:
            found = {
                m.user.get_username(): m.user
                for m in Membership.objects.filter(
                    workspace=ws, user__username__in=names
                ).select_related("user")
            }
            missing = [n for n in names if n not in found]
            if missing:
                raise ValidationFailed(f"{missing[0][:150]!r} is not a member of {ws.slug}")
            users = [found[n] for n in names]
        if not (users or spec.all_members or emails or webhook):
            raise ValidationFailed(
                "a workspace rule needs someone to tell: members, all members, "
                "email addresses or a webhook URL"
            )
    rule.scope = scope
    rule.name = _clean_name(spec.name, _default_name(spec, statuses))
    rule.experiment = experiment
    rule.filter = filter_text
    rule.run = run
    rule.mine_only = bool(spec.mine_only)
    rule.on_completed = "Completed" in statuses
    rule.on_failed = "Failed" in statuses
    rule.on_canceled = "Canceled" in statuses
    rule.running_hours = running
    rule.silent_minutes = silent
    rule.all_members = bool(spec.all_members) and scope == AlertRule.Scope.WORKSPACE
    rule.emails = emails
    rule.webhook = webhook
    return users


@transaction.atomic
def alert_rule_create(*, actor: Membership, spec: RuleSpec) -> AlertRule:
    """A new rule of the member's workspace (see RuleSpec for the defaults)."""
    rule = AlertRule(workspace=actor.workspace, owner=actor.user)
    users = _apply(rule, spec, actor)
    rule.save()
    rule.members.set(users)
    return rule


@transaction.atomic
def alert_rule_update(*, rule: AlertRule, actor: Membership, spec: RuleSpec) -> AlertRule:
    """Replace what the rule says with `spec` (the caller merges partial changes)."""
    check_manage(rule, actor)
    if spec.scope and spec.scope != rule.scope and rule.owner_id != actor.user_id:
        raise Forbidden("only the member who made a rule can make it personal")
    users = _apply(rule, spec, actor)
    rule.updated = timezone.now()
    rule.save()
    rule.members.set(users)
    return rule


def spec_of(rule: AlertRule) -> RuleSpec:
    """What the rule says now, as a spec (to change some of it)."""
    return RuleSpec(
        name=rule.name,
        scope=rule.scope,
        experiment=rule.experiment.name if rule.experiment_id else None,
        filter=rule.filter,
        run_id=rule.run_id,
        mine_only=rule.mine_only,
        statuses=rule.statuses,
        running_hours=rule.running_hours,
        silent_minutes=rule.silent_minutes,
        members=[u.get_username() for u in rule.members.all()],
        all_members=rule.all_members,
        emails=list(rule.emails),
        webhook=rule.webhook,
    )


def alert_rule_delete(*, rule: AlertRule, actor: Membership) -> None:
    """Delete the rule, its pending notifications and its delivery history."""
    check_manage(rule, actor)
    rule.delete()


def alert_rule_mute(*, rule: AlertRule, actor: Membership, muted: bool = True) -> bool:
    """Mute (or unmute) a workspace rule for the member: they get none of its email."""
    if not can_see(rule, actor):
        raise NotFound(f"no alert rule {rule.pk} in this workspace")
    if rule.is_personal:
        raise ValidationFailed("a personal rule cannot be muted: delete it instead")
    if muted:
        AlertMute.objects.get_or_create(rule=rule, user_id=actor.user_id)
    else:
        AlertMute.objects.filter(rule=rule, user_id=actor.user_id).delete()
    return muted


def spec_from_view(view) -> tuple[RuleSpec, list[str]]:
    """A rule watching the runs of a saved view (a personal rule on Failed by default),
    and notes on what of the view a rule cannot say.

    The view's conditions become the filter language; its status condition is left
    out (the rule's events say which statuses to report), and so is free text.
    """
    from runs.selectors.saved_views import saved_view_state

    params = saved_view_state(view)
    items: list[query.Node] = []
    notes: list[str] = []
    if params.filter_node is not None:
        items.append(params.filter_node)
    experiment = None
    if len(params.experiments) == 1:
        experiment = params.experiments[0]
    elif params.experiments:
        items.append(query.In(query.Field("field", "experiment"), tuple(params.experiments)))
    if params.targets:
        items.append(query.In(query.Field("field", "target"), tuple(params.targets)))
    if params.submitters:
        items.append(query.In(query.Field("field", "submittedBy"), tuple(params.submitters)))
    for spec in params.tags:
        key, sep, value = spec.partition(":")
        field_ = query.Field("tag", key)
        items.append(query.Compare(field_, "=", value) if sep else query.Exists(field_))
    if params.created_after:
        items.append(query.Compare(query.Field("field", "created"), ">=", params.created_after))
    if params.created_before:
        items.append(query.Compare(query.Field("field", "created"), "<", params.created_before))
    if params.statuses:
        notes.append(
            "The view's status condition ("
            + ", ".join(params.statuses)
            + ") is left out: the events below say which statuses to report."
        )
    if params.q:
        notes.append(
            f"The view's search text {params.q!r} is left out: a rule takes a filter; "
            "add a condition for it if you need one."
        )
    node = items[0] if len(items) == 1 else query.And(tuple(items)) if items else None
    spec = RuleSpec(
        name=f"Runs of {view.name}"[:RULE_NAME_MAX],
        scope=AlertRule.Scope.PERSONAL,
        experiment=experiment,
        filter=query.describe(node) if node is not None else "",
        statuses=["Failed"],
    )
    return spec, notes
