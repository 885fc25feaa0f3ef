"""Cancelling a run (and its unfinished descendants) from the run page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from runs import selectors, services
from runs.exceptions import InvalidTransition
from runs.http import StudioRequest
from runs.models import Role
from runs.views.helpers import announce, can, detail_url, forbidden, load_run
from runs.views.run_detail import TEMPLATE, base_context


@login_required
@require_POST
def run_cancel(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """Cancel through runs.services.run_cancel; answers the toolbar (409 for a finished run)."""
    ws, run = load_run(request, workspace, run_id)
    if not can(ws, Role.CONTRIBUTOR):
        return forbidden(request, ws, Role.CONTRIBUTOR, "cancelling runs")
    reached = selectors.run_active_descendant_count(run=run)
    try:
        services.run_cancel(run=run, actor=request.user)
    except InvalidTransition:
        message = f"Run {run.pk} is already {run.status}; there is nothing to cancel."
        if not request.htmx:
            messages.error(request, message)
            return redirect(detail_url(ws, run))
        response = HttpResponse(message, status=409, content_type="text/plain; charset=utf-8")
        return trigger_client_event(response, "showToast", {"message": message})
    run.refresh_from_db(fields=["status", "ended"])
    also = f" and {reached} unfinished child run{'s' if reached != 1 else ''}" if reached else ""
    message = f"Cancel requested for this run{also}."
    if not request.htmx:
        messages.success(request, message)
        return redirect(detail_url(ws, run))
    ctx = {**base_context(ws, run), "active_descendants": 0}
    response = render(request, f"{TEMPLATE}#run-toolbar", ctx)
    trigger_client_event(response, "showToast", {"message": message})
    return announce(response, run)
