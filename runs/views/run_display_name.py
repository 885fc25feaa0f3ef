"""Renaming a run (its display name) inline on the run page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from runs import services
from runs.exceptions import ValidationFailed
from runs.forms_detail import DisplayNameForm
from runs.http import StudioRequest
from runs.models import Role
from runs.views.helpers import announce, can, detail_url, forbidden, load_run
from runs.views.run_detail import TEMPLATE, base_context, render_page, title_context


@login_required
@require_POST
def run_display_name(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """Save the display name; an empty one falls back to the run id on every page."""
    ws, run = load_run(request, workspace, run_id)
    if not can(ws, Role.CONTRIBUTOR):
        return forbidden(request, ws, Role.CONTRIBUTOR, "renaming runs")
    form = DisplayNameForm(request.POST)
    if form.is_valid():
        try:
            services.run_update(
                run=run, display_name=form.cleaned_data["display_name"], actor=request.user
            )
        except ValidationFailed as exc:
            form.add_error("display_name", exc.message)
        else:
            if not request.htmx:
                return redirect(detail_url(ws, run))
            ctx = {**base_context(ws, run), **title_context(ws, run)}
            return announce(render(request, f"{TEMPLATE}#run-title", ctx), run)
    if not request.htmx:
        return render_page(request, ws, run.pk, status=422, name_form=form)
    ctx = {**base_context(ws, run), **title_context(ws, run, form=form)}
    return render(request, f"{TEMPLATE}#run-title", ctx, status=422)
