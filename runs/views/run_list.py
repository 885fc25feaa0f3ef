"""The run list: all runs of a workspace, or of one experiment; its children, live rows
and exact count.

The page's whole state is its query string (runs.list_state.ListState, read by
RunListForm); the table is drawn by runs.views.run_table. htmx requests get the
`run-table` partial and the canonical URL to push; the same URL without htmx is
the full page. Bad parameters render the page with a message and 400.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling, push_url

from runs import query, selectors
from runs.forms import RunListForm
from runs.http import StudioRequest
from runs.lifecycle import Status
from runs.list_state import MAX_PER_PAGE
from runs.models import Experiment, Run
from runs.selectors.run_list import RunPage
from runs.views.list_charts import add_chart, list_charts_context
from runs.views.run_table import list_path, row_renderer, rows_context, table_context
from runs.views.saved_views import default_view_response

TEMPLATE = "runs/run_list.html"


@login_required
@require_GET
@vary_on_headers("HX-Request")
def run_list(request: StudioRequest, workspace: str, experiment: str | None = None) -> HttpResponse:
    """Roots of matching runs, sorted, a page at a time; the table alone for htmx."""
    ws = selectors.workspace_for_member(request.user, workspace)
    if ws.default_view_id and not experiment and not request.GET and not request.htmx:
        # "All runs" without parameters: the pinned default view, for every member.
        response = default_view_response(request, ws)
        if response is not None:
            return response
    exp = get_object_or_404(Experiment, workspace=ws, name=experiment) if experiment else None
    query, chart_error = request.GET, None
    if "add_chart" in query:
        added = add_chart(list_path(ws, exp), query)
        if isinstance(added, HttpResponse):
            return added
        # Show the list the form came from, with what is wrong with the chart.
        query, chart_error = QueryDict(query.get("state", "").lstrip("?")), added
    ctx, code = table_context(request, ws, exp, query)
    ctx.update(list_charts_context(ctx), chart_error=chart_error)
    if chart_error:
        code = 400
    partial = request.htmx and not request.htmx.history_restore_request
    if not partial:
        return render(request, TEMPLATE, ctx, status=code)
    # The table, and the charts out of band: they draw the runs of the new page.
    html = render_to_string(TEMPLATE + "#run-table", ctx, request=request)
    html += render_to_string("runs/includes/_views_charts.html", {**ctx, "oob": True}, request)
    response = HttpResponse(html, status=code)
    # Forms send every field (empty ones too): push the clean, shareable URL instead.
    push_url(response, ctx["canonical"])
    return response


@login_required
@require_GET
def run_list_count(
    request: StudioRequest, workspace: str, experiment: str | None = None
) -> HttpResponse:
    """The exact number of trees of a list state, for a page that counted only up to
    COUNT_CAP ("1,000+"): its count, and its pagination's totals out of band."""
    ws = selectors.workspace_for_member(request.user, workspace)
    exp = get_object_or_404(Experiment, workspace=ws, name=experiment) if experiment else None
    form = RunListForm(request.GET)
    if form.state is None:
        message = "; ".join(form.error_messages())
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    state = form.state
    count = selectors.run_list_count(workspace=ws, state=state, experiment=exp)
    page = RunPage(rows=[], number=1, per_page=state.per_page, count=count)
    ctx = {"page": page, "state": state, "oob": True}
    return render(request, TEMPLATE + "#run-count", ctx)


@login_required
@require_GET
def run_children(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """The direct children of a run as table rows, in the list's order and columns."""
    ws = selectors.workspace_for_member(request.user, workspace)
    parent = get_object_or_404(Run, workspace=ws, pk=run_id)
    ctx, code = rows_context(request, ws)
    if code == 200:
        state = ctx["state"]
        children = selectors.run_children_rows(workspace=ws, state=state, parent=parent)
        row_renderer(ctx).render(children.rows)
        children_url = reverse("runs:run-children", args=[ws.slug, parent.pk])
        ctx.update(
            rows=children.rows,
            children=children,
            parent=parent,
            hidden=max(0, children.total - len(children.rows)),
            # "Show them": the children without the list's conditions.
            unfiltered_url=children_url + state.unfiltered().querystring().rstrip("?"),
        )
    return render(request, TEMPLATE + "#run-children", ctx, status=code)


@login_required
@require_GET
def run_list_live(request: StudioRequest, workspace: str) -> HttpResponse:
    """Fresh status, duration and metric cells of the active runs on screen (?live=<id>...).

    Answers with out-of-band cell swaps; 286 (stop polling) once none of them is active.
    """
    ws = selectors.workspace_for_member(request.user, workspace)
    ctx, code = rows_context(request, ws)
    ids = [i for i in request.GET.getlist("live") if i][: MAX_PER_PAGE * 2]
    if code != 200:
        return HttpResponseStopPolling()
    rows = selectors.run_list_live(workspace=ws, state=ctx["state"], run_ids=ids)
    row_renderer(ctx).render_live(rows)
    ctx["rows"] = rows
    response = render(request, TEMPLATE + "#run-live-cells", ctx)
    if not any(r.active for r in rows):
        response.status_code = HttpResponseStopPolling.status_code
    return response


@login_required
@require_GET
def filter_names(request: StudioRequest, workspace: str) -> JsonResponse:
    """What the filter box completes: the filter language's fields and the workspace's
    tag keys, metric names and property keys (of its recent runs)."""
    ws = selectors.workspace_for_member(request.user, workspace)
    names = selectors.run_list_names(workspace=ws)
    return JsonResponse(
        {
            "fields": [*query.FIELDS, "children."],
            "tags": names["tags"],
            "metrics": names["metrics"],
            "properties": names["properties"],
            "statuses": Status.values,
        }
    )
