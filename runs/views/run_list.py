"""The run list: all runs of a workspace, or of one experiment; its children and live rows.

The page's whole state is its query string (RunListForm). htmx requests get
the `run-table` partial and the canonical URL to push; the same URL without
htmx is the full page. Bad parameters render the page with a message and 400.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling, push_url

from runs import selectors
from runs.forms import RunListForm
from runs.http import StudioRequest
from runs.models import Experiment, Role, Run, Workspace
from runs.selectors.run_list import (
    BUILTIN_COLUMNS,
    DEFAULT_COLUMNS,
    MAX_PER_PAGE,
    RunListParams,
    column_for,
)
from runs.status import Status

TEMPLATE = "runs/run_list.html"
LIST_PARAMS = (
    "q",
    "filter",
    "status",
    "experiment",
    "target",
    "submitter",
    "tag",
    "created_after",
    "created_before",
    "sort",
    "cols",
    "page",
    "per_page",
)
CHIP_LABELS = {
    "status": "status",
    "experiment": "experiment",
    "target": "target",
    "submitter": "submitted by",
    "tag": "tag",
}


def _raw_items(query: QueryDict) -> list[tuple[str, str]]:
    """Non-empty list parameters as sent (to keep a bad state editable)."""
    return [(n, v) for n in LIST_PARAMS if n != "page" for v in query.getlist(n) if v.strip()]


def _chips(params: RunListParams) -> list[tuple[str, str]]:
    chips = []
    for name, values in (
        ("status", params.statuses),
        ("experiment", params.experiments),
        ("target", params.targets),
        ("submitter", params.submitters),
        ("tag", params.tags),
    ):
        for value in values:
            chips.append(
                (f"{CHIP_LABELS[name]}: {value}", params.querystring(without=(name, value)))
            )
    if params.created_after_text:
        chips.append(
            (
                f"created ≥ {params.created_after_text}",
                params.querystring(without=("created_after", params.created_after_text)),
            )
        )
    if params.created_before_text:
        chips.append(
            (
                f"created < {params.created_before_text}",
                params.querystring(without=("created_before", params.created_before_text)),
            )
        )
    return chips


def table_context(
    request: StudioRequest,
    ws: Workspace,
    experiment: Experiment | None,
    query: QueryDict,
) -> tuple[dict, int]:
    """Everything the `run-table` partial draws for the state in `query`, and the status."""
    form = RunListForm(query)
    list_path = (
        reverse("runs:experiment-runs", args=[ws.slug, experiment.name])
        if experiment
        else reverse("runs:run-list", args=[ws.slug])
    )
    runs_base = reverse("runs:run-list", args=[ws.slug])
    ctx: dict = {
        "workspace": ws,
        "experiment": experiment,
        "form": form,
        "list_path": list_path,
        "runs_base": runs_base,
        "live_url": reverse("runs:run-list-live", args=[ws.slug]),
        "bulk_url": reverse("runs:run-bulk", args=[ws.slug]),
        "can_edit": ws.membership.has_role(Role.CONTRIBUTOR),
        "statuses": Status.values,
        "exp_base": reverse("runs:workspace-home", args=[ws.slug]) + "experiments/",
    }
    if form.is_valid():
        params = form.params()
        page = selectors.run_list_page(workspace=ws, params=params, experiment=experiment)
        metric_names, property_keys = selectors.run_list_column_choices(
            workspace=ws, experiment=experiment
        )
        state_items = params.items(page=False)
        ctx.update(
            params=params,
            page=page,
            columns=params.columns,
            headers=_headers(params),
            page_qs=params.querystring(page=page.number),
            prev_qs=params.querystring(page=page.number - 1),
            next_qs=params.querystring(page=page.number + 1),
            per_page_choices=sorted({25, 50, 100, 200, params.per_page}),
            chips=_chips(params),
            state_items=state_items,
            page_state=params.items(),
            children_qs=params.querystring(),
            live_qs=params.querystring(),
            column_choices=_column_choices(params, metric_names, property_keys),
            canonical=list_path + params.querystring(page=page.number).rstrip("?"),
        )
        return ctx, 200
    raw = _raw_items(query)
    ctx.update(
        params=None,
        page=None,
        columns=[column_for(k) for k in DEFAULT_COLUMNS],
        headers=[(column_for(k), None, "") for k in DEFAULT_COLUMNS],
        page_qs="?" + query.urlencode(),
        chips=[],
        state_items=raw,
        page_state=raw,
        errors=form.error_messages(),
        filter_error_position=getattr(form, "filter_error_position", None),
        filter_text=query.get("filter", ""),
        filter_caret=_caret(getattr(form, "filter_error_position", None)),
        column_choices=[],
        canonical=request.get_full_path(),
    )
    return ctx, 400


def _headers(params: RunListParams) -> list[tuple]:
    """(column, sort link or None, arrow) of each column header."""
    out = []
    for col in params.columns:
        key = col.sort_key
        arrow = ""
        if key and params.sort_field == key:
            arrow = "↓" if params.sort_desc else "↑"
        out.append((col, params.sort_querystring(key) if key else None, arrow))
    return out


def _caret(position: int | None) -> str:
    """A line with ^ under the filter's error position."""
    if position is None or position < 0:
        return ""
    return " " * min(position, 2000) + "^"


def _column_choices(
    params: RunListParams, metric_names: list[str], property_keys: list[str]
) -> list[dict]:
    chosen = set(params.cols)
    keys = [k for k in BUILTIN_COLUMNS if k != "id"]
    keys += [f"metrics.{n}" for n in metric_names]
    keys += [f"properties.{k}" for k in property_keys]
    # Columns in the URL stay listed even when the recent runs lack them.
    keys += [k for k in params.cols if k not in keys and k != "id"]
    return [
        {
            "key": k,
            "label": column_for(k).label,
            "group": column_for(k).kind,
            "checked": k in chosen,
        }
        for k in keys
    ]


@login_required
@require_GET
@vary_on_headers("HX-Request")
def run_list(request: StudioRequest, workspace: str, experiment: str | None = None) -> HttpResponse:
    """Roots of matching runs, sorted, a page at a time; the table alone for htmx."""
    ws = selectors.workspace_for_member(request.user, workspace)
    exp = get_object_or_404(Experiment, workspace=ws, name=experiment) if experiment else None
    ctx, code = table_context(request, ws, exp, request.GET)
    template = TEMPLATE
    partial = request.htmx and not request.htmx.history_restore_request
    if partial:
        template += "#run-table"
    response = render(request, template, ctx, status=code)
    if partial:
        # Forms send every field (empty ones too): push the clean, shareable URL instead.
        push_url(response, ctx["canonical"])
    return response


@login_required
@require_GET
def run_children(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """The direct children of a run as table rows, in the list's order and columns."""
    ws = selectors.workspace_for_member(request.user, workspace)
    parent = get_object_or_404(Run, workspace=ws, pk=run_id)
    ctx, code = table_context_rows(request, ws)
    if code == 200:
        rows, total = selectors.run_children_rows(workspace=ws, params=ctx["params"], parent=parent)
        ctx.update(rows=rows, total=total, parent=parent, hidden=max(0, total - len(rows)))
    return render(request, TEMPLATE + "#run-children", ctx, status=code)


def table_context_rows(request: StudioRequest, ws: Workspace) -> tuple[dict, int]:
    """The bits of the table context that row partials need (no page, no chooser)."""
    form = RunListForm(request.GET)
    ctx: dict = {
        "workspace": ws,
        "form": form,
        "runs_base": reverse("runs:run-list", args=[ws.slug]),
        "can_edit": ws.membership.has_role(Role.CONTRIBUTOR),
    }
    if not form.is_valid():
        ctx.update(errors=form.error_messages(), columns=[column_for(k) for k in DEFAULT_COLUMNS])
        return ctx, 400
    params = form.params()
    ctx.update(
        params=params,
        columns=params.columns,
        children_qs=params.querystring(),
        exp_base=reverse("runs:workspace-home", args=[ws.slug]) + "experiments/",
    )
    return ctx, 200


@login_required
@require_GET
def run_list_live(request: StudioRequest, workspace: str) -> HttpResponse:
    """Fresh status, duration and metric cells of the active runs on screen (?live=<id>...).

    Answers with out-of-band cell swaps; 286 (stop polling) once none of them is active.
    """
    ws = selectors.workspace_for_member(request.user, workspace)
    ctx, code = table_context_rows(request, ws)
    ids = [i for i in request.GET.getlist("live") if i][: MAX_PER_PAGE * 2]
    if code != 200:
        return HttpResponseStopPolling()
    rows = selectors.run_list_live(workspace=ws, params=ctx["params"], run_ids=ids)
    ctx["rows"] = rows
    response = render(request, TEMPLATE + "#run-live-cells", ctx)
    if not any(r.active for r in rows):
        response.status_code = HttpResponseStopPolling.status_code
    return response
