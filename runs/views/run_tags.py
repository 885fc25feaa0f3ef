"""Tag edits on the run page: add, change, delete (POST, htmx or plain forms)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from runs import services
from runs.exceptions import ValidationFailed
from runs.forms_detail import TagDeleteForm, TagForm
from runs.http import StudioRequest
from runs.models import Role
from runs.views.helpers import announce, can, detail_url, forbidden, load_run
from runs.views.run_detail import TEMPLATE, base_context, render_page, tags_context


@login_required
@require_POST
def run_tags(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """`action=add|edit` (key, value, original_key) or `action=delete` (key).

    Answers the `run-tags` partial (422 with the bound form and its message),
    or redirects back to the page for plain form posts.
    """
    ws, run = load_run(request, workspace, run_id)
    if not can(ws, Role.CONTRIBUTOR):
        return forbidden(request, ws, Role.CONTRIBUTOR, "editing tags")
    action = request.POST.get("action", "add")
    if action == "delete":
        delete = TagDeleteForm(request.POST)
        if not delete.is_valid():
            return HttpResponse(
                delete.errors["key"][0], status=400, content_type="text/plain; charset=utf-8"
            )
        services.run_set_tags(run=run, remove=[delete.cleaned_data["key"]], actor=request.user)
        return _done(request, ws, run)
    if action not in ("add", "edit"):
        return HttpResponse(
            f"Unknown tag action {action[:40]!r}: use add, edit or delete.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    form = TagForm(request.POST)
    if form.is_valid():
        tags, remove = form.changes()
        try:
            services.run_set_tags(run=run, tags=tags, remove=remove, actor=request.user)
        except ValidationFailed as exc:
            form.add_error(None, exc.message)
        else:
            return _done(request, ws, run)
    edit_tag = form.data.get("original_key") or None
    if not request.htmx:
        return render_page(request, ws, run.pk, status=422, edit_tag=edit_tag, tag_form=form)
    ctx = {**base_context(ws, run), **tags_context(ws, run, edit_tag=edit_tag, tag_form=form)}
    return render(request, f"{TEMPLATE}#run-tags", ctx, status=422)


def _done(request: StudioRequest, ws, run) -> HttpResponse:
    if not request.htmx:
        return redirect(detail_url(ws, run, "run-tags"))
    ctx = {**base_context(ws, run), **tags_context(ws, run)}
    return announce(render(request, f"{TEMPLATE}#run-tags", ctx), run)
