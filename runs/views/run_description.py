"""The run's markdown description: save, and a live preview that saves nothing."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from runs import services
from runs.exceptions import ValidationFailed
from runs.forms_detail import DescriptionForm
from runs.http import StudioRequest
from runs.markdown import render_description
from runs.models import Role
from runs.views.helpers import announce, can, detail_url, forbidden, load_run
from runs.views.run_detail import TEMPLATE, base_context, description_context, render_page


@login_required
@require_POST
def run_description(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """Save the description (HTML rendered and cached by the service)."""
    ws, run = load_run(request, workspace, run_id)
    if not can(ws, Role.CONTRIBUTOR):
        return forbidden(request, ws, Role.CONTRIBUTOR, "editing the description")
    form = DescriptionForm(request.POST)
    if form.is_valid():
        try:
            services.run_update(
                run=run, description=form.cleaned_data["description"], actor=request.user
            )
        except ValidationFailed as exc:
            form.add_error("description", exc.message)
        else:
            if not request.htmx:
                return redirect(detail_url(ws, run, "run-description"))
            ctx = {**base_context(ws, run), **description_context(ws, run)}
            return announce(render(request, f"{TEMPLATE}#run-description", ctx), run)
    if not request.htmx:
        return render_page(request, ws, run.pk, status=422, description_form=form)
    ctx = {**base_context(ws, run), **description_context(ws, run, form=form)}
    return render(request, f"{TEMPLATE}#run-description", ctx, status=422)


@login_required
@require_POST
def run_description_preview(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """The `description-preview` partial for the text being typed; nothing is stored."""
    ws, run = load_run(request, workspace, run_id)
    if not can(ws, Role.CONTRIBUTOR):
        return forbidden(request, ws, Role.CONTRIBUTOR, "editing the description")
    form = DescriptionForm(request.POST)
    ctx = base_context(ws, run)
    if not form.is_valid():
        ctx["preview_error"] = form.errors["description"][0]
        return render(request, f"{TEMPLATE}#description-preview", ctx, status=422)
    ctx["preview_html"] = render_description(
        form.cleaned_data["description"], workspace_slug=ws.slug
    )
    return render(request, f"{TEMPLATE}#description-preview", ctx)
