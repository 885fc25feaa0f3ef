"""Bulk actions on the run list: add a tag, remove a tag, cancel; undo a tag change.

One POST per action, in one transaction. Tag changes are all or nothing; a
cancel cancels every selected run the status machine lets cancel and lists the
ones it skipped (finished runs) with why. Only contributors and owners may act:
readers get 403, non-members 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from runs import services
from runs.exceptions import StudioError
from runs.forms import BulkForm
from runs.http import StudioRequest
from runs.models import Experiment, Role, Run, Tag, Workspace
from runs.selectors import workspace_for_member
from runs.views.run_table import table_context

TEMPLATE = "runs/run_list.html"

UNDO_SALT = "runs.run-bulk.undo"
UNDO_MAX_AGE = 24 * 3600


def _list_target(ws: Workspace, path: str) -> Experiment | None:
    """The experiment of the list page the action came from (None: all runs)."""
    try:
        match = resolve(path or "/")
    except Resolver404:
        return None
    if match.url_name == "experiment-runs" and match.kwargs.get("workspace") == ws.slug:
        return Experiment.objects.filter(workspace=ws, name=match.kwargs["experiment"]).first()
    return None


def _is_view_list(ws: Workspace, path: str) -> bool:
    """Whether `path` is the list of one of the workspace's saved views."""
    try:
        match = resolve(path or "/")
    except Resolver404:
        return False
    return match.url_name == "saved-view-list" and match.kwargs.get("workspace") == ws.slug


def _runs(ws: Workspace, ids: tuple[str, ...]) -> list[Run]:
    runs = list(Run.objects.filter(workspace=ws, pk__in=ids).order_by("id"))
    missing = sorted(set(ids) - {r.pk for r in runs})
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise StudioError(f"no such runs in this workspace: {shown}")
    return runs


def _previous(runs: list[Run], key: str) -> dict[str, list]:
    """Each run's [had the key, its value] before the change."""
    had = dict(Tag.objects.filter(run__in=runs, key=key).values_list("run_id", "value"))
    return {r.pk: [r.pk in had, had.get(r.pk)] for r in runs}


def _undo_token(key: str, previous: dict[str, list]) -> str:
    return signing.dumps({"key": key, "prev": previous}, salt=UNDO_SALT, compress=True)


@transaction.atomic
def _tag_add(runs: list[Run], key: str, value: str | None, actor) -> str:
    previous = _previous(runs, key)
    for run in runs:
        services.run_set_tags(run=run, tags={key: value}, actor=actor)
    return _undo_token(key, previous)


@transaction.atomic
def _tag_remove(runs: list[Run], key: str, actor) -> str:
    previous = _previous(runs, key)
    for run in runs:
        if previous[run.pk][0]:
            services.run_set_tags(run=run, remove=[key], actor=actor)
    return _undo_token(key, previous)


@transaction.atomic
def _undo(ws: Workspace, token: str, actor) -> int:
    try:
        data = signing.loads(token, salt=UNDO_SALT, max_age=UNDO_MAX_AGE)
    except signing.BadSignature:
        raise StudioError("this undo is no longer valid") from None
    key, previous = data["key"], data["prev"]
    runs = _runs(ws, tuple(previous))
    for run in runs:
        had, value = previous[run.pk]
        if had:
            services.run_set_tags(run=run, tags={key: value}, actor=actor)
        else:
            services.run_set_tags(run=run, remove=[key], actor=actor)
    return len(runs)


def _respond(
    request: StudioRequest,
    ws: Workspace,
    *,
    message: str,
    status: int = 200,
    errors: list[str] | None = None,
    refusals: list[tuple[str, str]] | None = None,
    undo: str | None = None,
) -> HttpResponse:
    list_path = request.POST.get("list_path", "")
    experiment = _list_target(ws, list_path)
    if not request.htmx:
        level = messages.SUCCESS if status == 200 else messages.ERROR
        text = message
        if errors:
            text += " " + " ".join(errors)
        if refusals:
            text += " " + "; ".join(f"{pk}: {why}" for pk, why in refusals)
        messages.add_message(request, level, text)
        if experiment is None:
            url = reverse("runs:run-list", args=[ws.slug])
        else:
            url = reverse("runs:experiment-runs", args=[ws.slug, experiment.name])
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}" if query else url)
    # On a saved view's page the redrawn table's controls stay in the view.
    links = list_path if _is_view_list(ws, list_path) else None
    ctx, code = table_context(request, ws, experiment, request.GET, links=links)
    ctx.update(
        bulk_message=message,
        bulk_ok=status == 200,
        bulk_errors=errors or [],
        bulk_refusals=refusals or [],
    )
    response = render(request, TEMPLATE + "#run-table", ctx, status=status)
    if status == 200:
        trigger_client_event(response, "runsBulkDone", {"message": message, "undo": undo or ""})
    return response


def _cancelled(request: StudioRequest, ws: Workspace, result: services.CancelResult):
    """What a bulk cancel did: the runs cancelled, and the ones skipped with why (422 when
    nothing could be cancelled)."""
    done, skipped = len(result.cancelled), len(result.skipped)
    if not done:
        message = f"Nothing was cancelled: {skipped} run{'s' * (skipped != 1)} skipped."
        return _respond(request, ws, message=message, status=422, refusals=result.skipped)
    message = f"Cancel requested for {done} run{'s' * (done != 1)}"
    message += f"; {skipped} skipped:" if skipped else "."
    return _respond(request, ws, message=message, refusals=result.skipped)


@login_required
@require_POST
def run_bulk(request: StudioRequest, workspace: str) -> HttpResponse:
    """Apply one action to the selected runs (POST runs=<id>..., action=...)."""
    ws = workspace_for_member(request.user, workspace)
    if not ws.membership.has_role(Role.CONTRIBUTOR):
        raise PermissionDenied("Readers cannot change runs.")
    form = BulkForm(request.POST)
    if not form.is_valid():
        return _respond(
            request, ws, message="Nothing was changed.", status=400, errors=form.error_messages()
        )
    d = form.cleaned_data
    action, user = d["action"], request.user
    try:
        if action == "undo":
            n = _undo(ws, d["token"], user)
            return _respond(request, ws, message=f"Undone on {n} run{'s' * (n != 1)}.")
        runs = _runs(ws, d["runs"])
        n = len(runs)
        runs_word = f"{n} run{'s' * (n != 1)}"
        if action == "tag-add":
            token = _tag_add(runs, d["key"], d["value"], user)
            shown = d["key"] if d["value"] is None else f"{d['key']}={d['value']}"
            return _respond(request, ws, message=f"Tagged {runs_word} {shown}.", undo=token)
        if action == "tag-remove":
            token = _tag_remove(runs, d["key"], user)
            return _respond(
                request, ws, message=f"Removed tag {d['key']} from {runs_word}.", undo=token
            )
        return _cancelled(request, ws, services.runs_cancel(runs=runs, actor=user))
    except StudioError as exc:
        return _respond(
            request, ws, message="Nothing was changed.", status=400, errors=[exc.message]
        )
