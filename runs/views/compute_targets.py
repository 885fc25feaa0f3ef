"""The workspace's compute targets: each with its queue and the workers seen lately;
owners add and remove them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from runs import selectors, services
from runs.exceptions import StudioError
from runs.forms_compute import ComputeTargetDeleteForm, ComputeTargetForm
from runs.http import StudioRequest
from runs.models import Role, Workspace
from runs.views.helpers import can, forbidden

TEMPLATE = "runs/compute_targets.html"


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def compute_targets(request: StudioRequest, workspace: str) -> HttpResponse:
    """GET lists the targets (htmx polls the `target-table` partial); POST `action=create`
    (name, executor, description) or `delete` (name), owners only."""
    ws = selectors.workspace_for_member(request.user, workspace)
    if request.method == "GET":
        return _render(request, ws)
    if not can(ws, Role.OWNER):
        return forbidden(request, ws, Role.OWNER, "changing compute targets")
    action = request.POST.get("action", "")
    if action == "create":
        form = ComputeTargetForm(request.POST)
        if not form.is_valid():
            return _render(request, ws, form=form, status=422)
        try:
            target = services.compute_target_create(
                workspace=ws,
                name=form.cleaned_data["name"],
                executor=form.cleaned_data["executor"],
                description=form.cleaned_data["description"],
                actor=request.user,
            )
        except StudioError as exc:
            form.add_error("name", exc.message)
            return _render(request, ws, form=form, status=422)
        return _done(request, ws, f"Added compute target {target.name} ({target.executor}).")
    if action == "delete":
        form = ComputeTargetDeleteForm(request.POST)
        if not form.is_valid():
            return _render(request, ws, error="Say which target to remove.", status=422)
        try:
            target = selectors.compute_target_get(workspace=ws, name=form.cleaned_data["name"])
        except Http404 as exc:
            return _render(request, ws, error=str(exc), status=422)
        try:
            services.compute_target_delete(target=target)
        except StudioError as exc:
            return _render(request, ws, error=exc.message, status=422)
        return _done(request, ws, f"Removed compute target {target.name}.")
    return _render(request, ws, error=f"Unknown action {action!r}.", status=400)


def _render(
    request: StudioRequest,
    ws: Workspace,
    *,
    form: ComputeTargetForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    ctx = {
        "workspace": ws,
        "targets": selectors.compute_target_summaries(workspace=ws),
        "form": form or ComputeTargetForm(),
        "error": error,
        "can_manage": can(ws, Role.OWNER),
        "settings_tab": "compute",
    }
    template = TEMPLATE
    if request.htmx and not request.htmx.history_restore_request:
        template += "#target-table"
    return render(request, template, ctx, status=status)


def _done(request: StudioRequest, ws: Workspace, message: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, message)
        return redirect(reverse("runs:compute-targets", args=[ws.slug]))
    response = _render(request, ws)
    return trigger_client_event(response, "showToast", {"message": message})
