"""The Alerts pages: rules (list, create, edit, delete, mute, delivery history),
the workspace's status changes, and the embedded outbox's messages.

Every member sees the workspace's rules and their own personal ones, and may
make personal rules and mute workspace rules; owners manage workspace rules.
A saved view's "Alert me" link opens the editor with the view's conditions.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from runs import selectors
from runs.exceptions import StudioError
from runs.forms_settings import AlertRuleForm
from runs.http import StudioRequest
from runs.models import AlertRule, Experiment, Role, Workspace
from runs.selectors import alerts as alert_selectors
from runs.selectors import saved_views as view_selectors
from runs.services import alerts as alert_services
from runs.status import Status

DELIVERIES_PER_PAGE = 50
EVENTS_PER_PAGE = 50


def _tabs(ws: Workspace, tab: str) -> dict:
    return {"workspace": ws, "settings_tab": "alerts", "alerts_tab": tab}


def summary(rule: AlertRule, *, manage: bool) -> dict[str, list[str]]:
    """The rule in words: which runs, which events, who (addresses for its managers only)."""
    runs = []
    if rule.experiment_id:
        runs.append(f"experiment {rule.experiment.name}")
    if rule.run_id:
        runs.append(f"run {rule.run_id} and its descendants")
    if rule.mine_only:
        runs.append(f"submitted by {rule.owner.get_username()}")
    if rule.filter:
        runs.append(f"matching {rule.filter}")
    events = list(rule.statuses)
    if rule.running_hours:
        events.append(f"running longer than {rule.running_hours} h")
    if rule.silent_minutes:
        events.append(f"no heartbeat for {rule.silent_minutes} min")
    if rule.is_personal:
        who = [f"{rule.owner.get_username()} (personal)"]
    else:
        who = ["all members"] if rule.all_members else []
        who += [u.get_username() for u in rule.members.all()]
        if manage:
            who += list(rule.emails)
        elif rule.emails:
            who.append(f"{len(rule.emails)} other address{'es' if len(rule.emails) > 1 else ''}")
        if rule.webhook:
            who.append(f"webhook {urlsplit(rule.webhook).netloc}")
    return {"runs": runs or ["every run"], "events": events, "who": who}


# --- rules ---------------------------------------------------------------------------


@login_required
@require_GET
def alerts(request: StudioRequest, workspace: str) -> HttpResponse:
    """The rules the member sees, with their deliveries counted."""
    ws = selectors.workspace_for_member(request.user, workspace)
    rules = list(alert_selectors.alert_rules_visible(actor=ws.membership))
    rows = [
        {
            "rule": rule,
            "summary": summary(rule, manage=alert_services.can_manage(rule, ws.membership)),
            "can_manage": alert_services.can_manage(rule, ws.membership),
            "muted": any(m.user_id == request.user.pk for m in rule.mutes.all()),
        }
        for rule in rules
    ]
    ctx = {
        **_tabs(ws, "rules"),
        "rows": rows,
        "is_owner": ws.membership.has_role(Role.OWNER),
        "has_email": bool(request.user.email),
    }
    return render(request, "runs/alerts.html", ctx)


def _form(ws: Workspace, data: QueryDict | None = None, initial: dict | None = None):
    experiments = list(
        Experiment.objects.filter(workspace=ws).order_by("name").values_list("name", flat=True)
    )
    members = [m.user.get_username() for m in selectors.workspace_members(workspace=ws)]
    return AlertRuleForm(data, initial=initial, experiments=experiments, members=members)


def _editor(
    request: StudioRequest,
    ws: Workspace,
    form: AlertRuleForm,
    *,
    rule: AlertRule | None = None,
    notes: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    ctx = {
        **_tabs(ws, "rules"),
        "form": form,
        "rule": rule,
        "notes": notes or [],
        "is_owner": ws.membership.has_role(Role.OWNER),
        "user_email": request.user.email,
    }
    return render(request, "runs/alert_edit.html", ctx, status=status)


def _save(request: StudioRequest, ws: Workspace, rule: AlertRule | None) -> HttpResponse:
    form = _form(ws, request.POST)
    if not form.is_valid():
        return _editor(request, ws, form, rule=rule, status=422)
    try:
        if rule is None:
            rule = alert_services.alert_rule_create(actor=ws.membership, spec=form.spec())
            message = f"Created the alert rule {rule.name!r}."
        else:
            rule = alert_services.alert_rule_update(
                rule=rule, actor=ws.membership, spec=form.spec()
            )
            message = f"Saved the alert rule {rule.name!r}."
    except StudioError as exc:
        form.add_error(None, exc.message)
        code = 422 if exc.http_status == 400 else exc.http_status
        return _editor(request, ws, form, rule=rule, status=code)
    messages.success(request, message)
    return redirect("runs:alert-detail", ws.slug, rule.pk)


@login_required
@require_http_methods(["GET", "POST"])
def alert_create(request: StudioRequest, workspace: str) -> HttpResponse:
    """The editor for a new rule; the query string may prefill it (name, experiment,
    filter, run_id, statuses, ...)."""
    ws = selectors.workspace_for_member(request.user, workspace)
    if request.method == "POST":
        return _save(request, ws, None)
    initial = {
        k: request.GET[k] for k in ("name", "experiment", "filter", "run_id") if k in request.GET
    }
    initial["statuses"] = request.GET.getlist("statuses") or ["Failed"]
    initial["mine_only"] = request.GET.get("mine_only") == "1"
    owner = ws.membership.has_role(Role.OWNER)
    initial["scope"] = request.GET.get("scope") or ("workspace" if owner else "personal")
    return _editor(request, ws, _form(ws, initial=initial))


@login_required
@require_GET
def alert_from_view(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """ "Alert me about this view": the editor, prefilled with the saved view's conditions."""
    ws = selectors.workspace_for_member(request.user, workspace)
    view = view_selectors.saved_view_get(workspace=ws, actor=ws.membership, view_id=view_id)
    if view.is_deleted:
        raise Http404("This view was deleted.")
    try:
        spec, notes = alert_services.spec_from_view(view)
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect("runs:saved-view", ws.slug, view.pk)
    form = _form(ws, initial=AlertRuleForm.initial_of(spec))
    return _editor(request, ws, form, notes=notes)


def _rule(request: StudioRequest, workspace: str, rule_id: int) -> tuple[Workspace, AlertRule]:
    ws = selectors.workspace_for_member(request.user, workspace)
    return ws, alert_selectors.alert_rule_get(actor=ws.membership, rule_id=rule_id)


def _refused(ws: Workspace, message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@login_required
@require_http_methods(["GET", "POST"])
def alert_edit(request: StudioRequest, workspace: str, rule_id: int) -> HttpResponse:
    """Change a rule: owners for workspace rules, the owner of a personal one."""
    ws, rule = _rule(request, workspace, rule_id)
    if not alert_services.can_manage(rule, ws.membership):
        return _refused(
            ws,
            f"Your role in {ws.slug} is {ws.membership.role}: only owners change workspace "
            "rules. Mute it for yourself on the Alerts page, or make a personal rule.",
            403,
        )
    if request.method == "POST":
        return _save(request, ws, rule)
    form = _form(ws, initial=AlertRuleForm.initial_of(alert_services.spec_of(rule)))
    return _editor(request, ws, form, rule=rule)


@login_required
@require_GET
def alert_detail(request: StudioRequest, workspace: str, rule_id: int) -> HttpResponse:
    """A rule and, for those who manage it, its delivery history."""
    ws, rule = _rule(request, workspace, rule_id)
    manage = alert_services.can_manage(rule, ws.membership)
    page = None
    if manage:
        deliveries = alert_selectors.alert_deliveries(rule=rule)
        page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    ctx = {
        **_tabs(ws, "rules"),
        "rule": rule,
        "summary": summary(rule, manage=manage),
        "can_manage": manage,
        "muted": any(m.user_id == request.user.pk for m in rule.mutes.all()),
        "page": page,
    }
    return render(request, "runs/alert_detail.html", ctx)


@login_required
@require_POST
def alert_delete(request: StudioRequest, workspace: str, rule_id: int) -> HttpResponse:
    ws, rule = _rule(request, workspace, rule_id)
    try:
        alert_services.alert_rule_delete(rule=rule, actor=ws.membership)
    except StudioError as exc:
        return _refused(ws, exc.message, exc.http_status)
    messages.success(request, f"Deleted the alert rule {rule.name!r}.")
    return redirect("runs:alerts", ws.slug)


@login_required
@require_POST
def alert_mute(request: StudioRequest, workspace: str, rule_id: int) -> HttpResponse:
    """`muted=1` mutes a workspace rule for the member, `muted=0` unmutes it."""
    ws, rule = _rule(request, workspace, rule_id)
    muted = request.POST.get("muted", "1") != "0"
    try:
        alert_services.alert_rule_mute(rule=rule, actor=ws.membership, muted=muted)
    except StudioError as exc:
        return _refused(ws, exc.message, exc.http_status)
    verb = "Muted" if muted else "Unmuted"
    messages.success(request, f"{verb} {rule.name!r} for you.")
    back = request.POST.get("next", "")
    if back == "detail":
        return redirect("runs:alert-detail", ws.slug, rule.pk)
    return redirect("runs:alerts", ws.slug)


# --- the status-change feed ------------------------------------------------------------


@login_required
@require_GET
def status_events(request: StudioRequest, workspace: str) -> HttpResponse:
    """The workspace's status changes, newest first, filtered by experiment and status."""
    ws = selectors.workspace_for_member(request.user, workspace)
    experiment = request.GET.get("experiment", "").strip()[:100]
    statuses = [s for s in request.GET.getlist("status") if s in Status.values]
    events = alert_selectors.status_events(
        workspace=ws, experiment=experiment or None, statuses=statuses or None
    )
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    experiments = Experiment.objects.filter(workspace=ws).order_by("name")
    ctx = {
        **_tabs(ws, "events"),
        "page": page,
        "experiment": experiment,
        "statuses": statuses,
        "all_statuses": Status.values,
        "experiments": experiments.values_list("name", flat=True),
        "api_path": reverse("api:status-events", args=[ws.slug]),
    }
    return render(request, "runs/status_events.html", ctx)


# --- the embedded outbox -------------------------------------------------------------------


@login_required
@require_GET
def alert_outbox(request: StudioRequest, workspace: str) -> HttpResponse:
    """The messages the embedded email backend wrote (no SMTP server configured):
    owners see all of the workspace's, members those addressed to them."""
    ws = selectors.workspace_for_member(request.user, workspace)
    enabled = alert_selectors.outbox_enabled()
    found = alert_selectors.outbox_messages(actor=ws.membership) if enabled else []
    ctx = {
        **_tabs(ws, "outbox"),
        "enabled": enabled,
        "outbox": found,
        "is_owner": ws.membership.has_role(Role.OWNER),
    }
    return render(request, "runs/alert_outbox.html", ctx)
