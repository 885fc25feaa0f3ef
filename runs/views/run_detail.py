"""The run detail page and its read-only partials (status badge, toolbar, overview, ...).

Permissions: non-members get 404 for every page, partial and POST of a
workspace (run ids of another workspace too). Members whose role is too low
for a write get 403 with a message saying which role it needs; readers never
see the controls in the first place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from runs import selectors
from runs.durations import duration_text
from runs.forms_detail import DescriptionForm, DisplayNameForm, StatusSeenForm, TagForm
from runs.http import StudioRequest
from runs.models import Role, Run, RunFile, Workspace
from runs.selectors.run_detail import MAX_CHARTS, LogChunk, RunDetail
from runs.views.helpers import can, detail_url, load_run

TEMPLATE = "runs/run_detail.html"


# -- context pieces, shared by the page and the partials ---------------------------------


def overview_context(run: Run) -> dict:
    details = run.error_details
    return {
        "duration": duration_text(run.duration),
        "error_json": json.dumps(details, indent=2, sort_keys=True, default=str)
        if details not in (None, "", {}, [])
        else "",
    }


def tags_context(
    ws: Workspace,
    run: Run,
    *,
    tags: list | None = None,
    edit_tag: str | None = None,
    tag_form: TagForm | None = None,
) -> dict:
    can_edit = can(ws, Role.CONTRIBUTOR)
    tags = selectors.run_tags(run=run) if tags is None else tags
    edit_tag = edit_tag if can_edit and edit_tag in {t.key for t in tags} else None
    add_form = tag_form if tag_form is not None and not tag_form.data.get("original_key") else None
    edit_form = tag_form if tag_form is not None and tag_form.data.get("original_key") else None
    if edit_tag and edit_form is None:
        tag = next(t for t in tags if t.key == edit_tag)
        edit_form = TagForm(
            initial={"key": tag.key, "value": tag.value or "", "original_key": tag.key}
        )
    return {
        "tags": tags,
        "edit_tag": edit_tag,
        "tag_form": add_form or TagForm(),
        "tag_edit_form": edit_form,
    }


def description_context(
    ws: Workspace, run: Run, *, editing: bool = False, form: DescriptionForm | None = None
) -> dict:
    editing = editing and can(ws, Role.CONTRIBUTOR)
    preview_html = run.description_html
    if form is not None and form.is_bound:
        editing = True
        preview_html = ""
    return {
        "editing_description": editing,
        "description_form": form or DescriptionForm(initial={"description": run.description}),
        "preview_html": preview_html,
    }


def title_context(
    ws: Workspace, run: Run, *, editing: bool = False, form: DisplayNameForm | None = None
) -> dict:
    editing = (editing or form is not None) and can(ws, Role.CONTRIBUTOR)
    return {
        "editing_name": editing,
        "name_form": form or DisplayNameForm(initial={"display_name": run.display_name}),
    }


@dataclass
class LogView:
    file: RunFile
    chunk: LogChunk | None
    live: bool
    missing: bool = False


def log_views(run: Run, files: list[RunFile]) -> list[LogView]:
    out = []
    for f in files:
        try:
            chunk = selectors.run_log_tail(run_file=f)
        except OSError:
            out.append(LogView(file=f, chunk=None, live=False, missing=True))
            continue
        out.append(LogView(file=f, chunk=chunk, live=not run.is_terminal))
    return out


def base_context(ws: Workspace, run: Run) -> dict:
    return {
        "workspace": ws,
        "run": run,
        "can_edit": can(ws, Role.CONTRIBUTOR),
        "detail_path": detail_url(ws, run),
    }


def page_context(
    ws: Workspace,
    detail: RunDetail,
    *,
    edit: str = "",
    edit_tag: str | None = None,
    tag_form: TagForm | None = None,
    description_form: DescriptionForm | None = None,
    name_form: DisplayNameForm | None = None,
) -> dict:
    run = detail.run
    numeric = [m for m in detail.latest_metrics if m.text is None]
    texts = [m for m in detail.latest_metrics if m.text is not None]
    values = selectors.run_text_values(run=run, names=[m.name for m in texts])
    return {
        **base_context(ws, run),
        **overview_context(run),
        **tags_context(ws, run, tags=detail.tags, edit_tag=edit_tag, tag_form=tag_form),
        **description_context(ws, run, editing=edit == "description", form=description_form),
        **title_context(ws, run, editing=edit == "name", form=name_form),
        "properties": detail.properties,
        "latest_metrics": numeric,
        "chart_metrics": numeric[:MAX_CHARTS],
        "text_metrics": [(m, values.get(m.name, [])) for m in texts],
        "metric_count": len(detail.latest_metrics),
        "output_files": detail.output_files,
        "snapshot": detail.snapshot,
        "logs": log_views(run, detail.log_files),
        "tree": detail.tree,
        "active_descendants": detail.tree.active,
        "events": detail.events,
    }


def render_page(
    request: StudioRequest, ws: Workspace, run_id: str, *, status: int = 200, **kwargs
) -> HttpResponse:
    """The whole page (also the no-JavaScript answer to a bad form, with status 422)."""
    detail = selectors.run_detail(workspace=ws, run_id=run_id)
    return render(request, TEMPLATE, page_context(ws, detail, **kwargs), status=status)


# -- views -------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def run_detail(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """Overview, tags, description, metrics, files and logs, children, activity.

    `?edit=name`, `?edit=description` and `?edit_tag=<key>` open the editors
    without JavaScript.
    """
    ws = selectors.workspace_for_member(request.user, workspace)
    return render_page(
        request,
        ws,
        run_id,
        edit=request.GET.get("edit", ""),
        edit_tag=request.GET.get("edit_tag"),
    )


def _part_context(part: str, request: StudioRequest, ws: Workspace, run: Run) -> dict:
    editing = request.GET.get("edit") == "1"
    if part == "run-title":
        return title_context(ws, run, editing=editing)
    if part == "run-toolbar":
        return {"active_descendants": selectors.run_active_descendant_count(run=run)}
    if part == "run-overview":
        return {**overview_context(run), "snapshot": selectors.run_snapshot(run=run)}
    if part == "run-tags":
        return tags_context(ws, run, edit_tag=request.GET.get("edit_tag"))
    if part == "run-description":
        return description_context(ws, run, editing=editing)
    if part == "run-children":
        return {"tree": selectors.run_tree(run=run)}
    if part == "run-activity":
        return {"events": selectors.run_events(run=run)}
    if part == "run-logs":
        return {"logs": log_views(run, selectors.run_log_files(run=run))}
    raise Http404("No such part of the run page.")


PARTS = (
    "run-title",
    "run-toolbar",
    "run-overview",
    "run-tags",
    "run-description",
    "run-children",
    "run-activity",
    "run-logs",
)


@login_required
@require_GET
def run_part(request: StudioRequest, workspace: str, run_id: str, part: str) -> HttpResponse:
    """One region of the page, for htmx: refreshed on `runChanged` or opened for editing."""
    if part not in PARTS:
        raise Http404("No such part of the run page.")
    ws, run = load_run(request, workspace, run_id)
    ctx = {**base_context(ws, run), **_part_context(part, request, ws, run)}
    return render(request, f"{TEMPLATE}#{part}", ctx)


@login_required
@require_GET
def run_status(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """The status badge, polled every 2 s while the run is not terminal.

    `seen` is the status the page shows; when it differs, the other regions are
    told (`runChanged`, after the swap so the new badge does not ask again). A
    terminal run answers 286 so htmx stops polling.
    """
    ws, run = load_run(request, workspace, run_id)
    form = StatusSeenForm(request.GET)
    seen = form.cleaned_data["seen"] if form.is_valid() else ""
    ctx = base_context(ws, run)
    response = render(request, f"{TEMPLATE}#run-status", ctx)
    if run.is_terminal:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        response = stop
    if seen and seen != run.status:
        trigger_client_event(response, "runChanged", {"runId": run.pk}, after="swap")
    return response
