"""The run list: all runs of a workspace, or of one experiment; its children and live rows.

The page's whole state is its query string (RunListForm). htmx requests get
the `run-table` partial and the canonical URL to push; the same URL without
htmx is the full page. Bad parameters render the page with a message and 400.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
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
    LIST_PARAMS,
    MAX_PER_PAGE,
    RunListParams,
    RunPage,
    RunRow,
    TagValue,
    column_for,
)
from runs.status import Status
from runs.views.list_charts import add_chart, list_charts_context

TEMPLATE = "runs/run_list.html"
CHIP_LABELS = {
    "status": "status",
    "experiment": "experiment",
    "target": "target",
    "submitter": "submitted by",
    "tag": "tag",
}


STATUS_LABELS = dict(Status.choices)


def _when(value: datetime | None, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


class RowRenderer:
    """The cells of run rows as HTML, built in Python.

    A page draws 50-200 rows of up to 30 columns; through template tags (an
    `if` chain and a partial per cell, a `{% url %}` per link) that was most of
    the partial's time.
    """

    def __init__(self, *, runs_base: str, exp_base: str, children_qs: str, experiment) -> None:
        self.runs_base = runs_base
        self.exp_base = exp_base
        self.children_qs = escape(children_qs)
        self.link_experiment = experiment is None
        # As the template's date filter: in the current time zone.
        self.tz = timezone.get_current_timezone()
        self.experiment_links: dict[str, str] = {}
        # Tags, statuses, targets and submitters repeat down a page: escaped once each.
        self.escaped: dict[str, str] = {}
        self.tag_spans: dict[TagValue, str] = {}

    def esc(self, text: str) -> str:
        """escape(text), remembered for the page."""
        out = self.escaped.get(text)
        if out is None:
            out = self.escaped[text] = escape(text)
        return out

    def render(self, rows: list[RunRow]) -> None:
        """Set `row.html` (its `<tr>`) on every row."""
        for row in rows:
            rid = escape(row.run.pk)
            classes = (
                "run-row" + ("" if row.matches else " nomatch") + (" child" if row.depth else "")
            )
            ancestors = escape(" ".join(row.ancestors))
            # Every member selects rows (to compare them); only editors get tag and cancel.
            select = (
                f'<td class="sel"><input type="checkbox" name="runs" value="{rid}" '
                f'form="run-bulk" aria-label="Select {rid}"></td>'
            )
            cells = "".join(self._cells(row, rid, oob=False))
            row.html = SafeString(
                f'<tr id="row-{rid}" class="{classes}" data-run="{rid}" '
                f'data-ancestors="{ancestors}" data-href="{self.runs_base}{rid}/">'
                f"{select}{cells}</tr>\n"
            )

    def render_live(self, rows: list[RunRow]) -> None:
        """Set `row.html` to the row's live cells as out-of-band swaps."""
        for row in rows:
            row.html = SafeString("".join(self._cells(row, escape(row.run.pk), oob=True)))

    def _cells(self, row: RunRow, rid: str, *, oob: bool):
        run = row.run
        # Live cells have ids (`id="c<index>-<run>"`), so that polling can swap them out of band.
        swap = ' hx-swap-oob="true"' if oob else ""
        for index, (col, value) in enumerate(row.cells):
            if oob and not col.live:
                continue
            key = col.key
            if key == "id":
                yield self._run_cell(row, rid)
            elif key == "experiment":
                name = run.experiment_name
                if self.link_experiment:
                    link = self.experiment_links.get(name)
                    if link is None:
                        url = escape(self.exp_base + quote(name, safe="/"))
                        link = f'<td><a href="{url}/" class="plain">{escape(name)}</a></td>'
                        self.experiment_links[name] = link
                    yield link
                else:
                    yield f"<td>{escape(name)}</td>"
            elif key == "status":
                value = self.esc(run.status)
                label = self.esc(STATUS_LABELS.get(run.status, run.status))
                yield (
                    f'<td id="c{index}-{rid}"{swap}>'
                    f'<span class="status status-{value}">{label}</span></td>'
                )
            elif key == "submitter":
                user = run.submitter_name
                yield f"<td>{self.esc(user) if user else ''}</td>"
            elif key == "target":
                yield f"<td>{self.esc(run.compute_target)}</td>"
            elif key == "created":
                local = run.created.astimezone(self.tz)
                yield (
                    f'<td class="num" title="{local.isoformat()}">'
                    f"{local.strftime('%Y-%m-%d %H:%M')}</td>"
                )
            elif key == "started":
                when = _when(run.started, self.tz)
                yield f'<td id="c{index}-{rid}" class="num"{swap}>{when}</td>'
            elif key == "ended":
                when = _when(run.ended, self.tz)
                yield f'<td id="c{index}-{rid}" class="num"{swap}>{when}</td>'
            elif key == "duration":
                yield f'<td id="c{index}-{rid}" class="num"{swap}>{row.duration_text}</td>'
            elif key == "tags":
                yield f'<td class="col-tags">{self._tags_html(row)}</td>'
            elif key == "description":
                line = escape(row.description_line)
                yield f'<td class="col-desc" title="{line}">{line}</td>'
            elif col.kind == "metric":
                yield f'<td id="c{index}-{rid}" class="num"{swap}>{escape(value)}</td>'
            else:
                yield f'<td class="col-{col.kind}">{escape(value)}</td>'

    def _tags_html(self, row: RunRow) -> str:
        spans = self.tag_spans
        out = []
        for tag in row.tags:
            span = spans.get(tag)
            if span is None:
                value = (
                    ""
                    if tag.value is None
                    else f'<span class="tag-value">{escape(tag.value)}</span>'
                )
                span = spans[tag] = (
                    f'<span class="tag" title="{escape(str(tag))}">'
                    f'<span class="tag-key">{escape(tag.key)}</span>{value}</span> '
                )
            out.append(span)
        return "".join(out)

    def _run_cell(self, row: RunRow, rid: str) -> str:
        run = row.run
        href = f"{self.runs_base}{rid}/"
        parts = [f'<td class="col-run" style="--depth: {row.depth}">']
        if row.active:
            parts.append(f'<input type="hidden" name="live" value="{rid}">')
        parts.append('<span class="tree">')
        summary = row.summary
        if summary:
            expanded = "true" if row.expanded else "false"
            loaded = ' data-loaded="1"' if row.expanded else ""
            parts.append(
                f'<a class="caret" href="{href}" role="button" aria-expanded="{expanded}" '
                f'aria-label="Children of {rid}" '
                f'data-children-url="{href}children/{self.children_qs}"{loaded} '
                'hx-push-url="false"></a>'
            )
        parts.append("</span>")
        name = run.display_name
        parts.append(f'<a class="run-link" href="{href}">{escape(name) if name else rid}</a>')
        if name:
            parts.append(f' <span class="run-id">{rid}</span>')
        if summary:
            word = "child" if summary.total == 1 else "children"
            counts = ",".join(
                f' <span class="st-text st-{escape(s)}">{n} {escape(s)}</span>'
                for s, n in summary.status_counts
            )
            parts.append(
                f'<span class="kids" title="{escape(str(summary))}">'
                f"{summary.total} {word}:{counts}</span>"
            )
        parts.append("</td>")
        return "".join(parts)


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
    list_path = _list_path(ws, experiment)
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
        RowRenderer(
            runs_base=runs_base,
            exp_base=ctx["exp_base"],
            children_qs=params.querystring(charts=None),
            experiment=experiment,
        ).render(page.rows)
        ctx.update(
            params=params,
            page=page,
            columns=params.columns,
            headers=(headers := _headers(params)),
            header_html=_header_html(headers, list_path),
            rows_html=SafeString("".join(row.html for row in page.rows)),
            page_qs=params.querystring(page=page.number),
            prev_qs=params.querystring(page=page.number - 1),
            next_qs=params.querystring(page=page.number + 1),
            per_page_choices=sorted({25, 50, 100, 200, params.per_page}),
            chips=_chips(params),
            state_items=state_items,
            page_state=params.items(),
            state_qs=params.querystring(),
            # Children and live rows need the list's conditions and columns, not its charts.
            children_qs=params.querystring(charts=None),
            live_qs=params.querystring(charts=None),
            column_choices=(choices := _column_choices(params, metric_names, property_keys)),
            column_choices_html=_column_choices_html(choices),
            canonical=list_path + params.querystring(page=page.number).rstrip("?"),
            count_url=list_path + "count/" + params.querystring(charts=None).rstrip("?"),
            export_url=list_path + "export.csv" + params.querystring(charts=None).rstrip("?"),
        )
        return ctx, 200
    raw = _raw_items(query)
    ctx.update(
        params=None,
        page=None,
        columns=[column_for(k) for k in DEFAULT_COLUMNS],
        headers=(headers := [(column_for(k), None, "") for k in DEFAULT_COLUMNS]),
        header_html=_header_html(headers, list_path),
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
        export_url=list_path + "export.csv",
    )
    return ctx, 400


def _header_html(headers: list[tuple], list_path: str) -> SafeString:
    """The header cells (`<th>`s) of `headers`, built in Python as the rows are."""
    cells = []
    for col, qs, arrow in headers:
        classes = f"col-{col.kind}" + (" num" if col.numeric else "")
        sort = ""
        if arrow:
            sort = f' aria-sort="{"descending" if arrow == "↓" else "ascending"}"'
        label = escape(col.label)
        if qs:
            href = escape(list_path + qs)
            mark = f' <span class="arrow">{arrow}</span>' if arrow else ""
            label = f'<a href="{href}" hx-get="{href}" title="Sort by {label}">{label}{mark}</a>'
        cells.append(f'<th class="{escape(classes)}"{sort} scope="col">{label}</th>')
    return SafeString("".join(cells))


COLUMN_GROUPS = {
    "builtin": "Run",
    "metric": "Metrics (latest value)",
    "property": "Properties",
    "tag": "Tags",
}


def _column_choices_html(choices: list[dict]) -> SafeString:
    """The column chooser's checkboxes under a heading a group (_column_choices)."""
    out, group = [], None
    for c in choices:
        if c["group"] != group:
            group = c["group"]
            out.append(f'\n    <div class="col-group">{COLUMN_GROUPS.get(group, "Tags")}</div>')
        checked = " checked" if c["checked"] else ""
        out.append(
            f'\n    <label class="check"><input type="checkbox" name="cols" '
            f'value="{escape(c["key"])}"{checked}> {escape(c["label"])}</label>'
        )
    return SafeString("".join(out) + "\n")


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
    if ws.default_view_id and not experiment and not request.GET and not request.htmx:
        # "All runs" without parameters: the pinned default view, for newcomers.
        from runs.views.saved_views import default_view_response

        response = default_view_response(request, ws)
        if response is not None:
            return response
    exp = get_object_or_404(Experiment, workspace=ws, name=experiment) if experiment else None
    query, chart_error = request.GET, None
    if "add_chart" in query:
        list_path = _list_path(ws, exp)
        added = add_chart(list_path, query)
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
    if not form.is_valid():
        message = "; ".join(form.error_messages())
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    params = form.params()
    count = selectors.run_list_count(workspace=ws, params=params, experiment=exp)
    page = RunPage(rows=[], number=1, per_page=params.per_page, count=count)
    ctx = {"page": page, "params": params, "oob": True}
    return render(request, TEMPLATE + "#run-count", ctx)


def _list_path(ws: Workspace, experiment: Experiment | None) -> str:
    if experiment:
        return reverse("runs:experiment-runs", args=[ws.slug, experiment.name])
    return reverse("runs:run-list", args=[ws.slug])


@login_required
@require_GET
def run_children(request: StudioRequest, workspace: str, run_id: str) -> HttpResponse:
    """The direct children of a run as table rows, in the list's order and columns."""
    ws = selectors.workspace_for_member(request.user, workspace)
    parent = get_object_or_404(Run, workspace=ws, pk=run_id)
    ctx, code = table_context_rows(request, ws)
    if code == 200:
        rows, total = selectors.run_children_rows(workspace=ws, params=ctx["params"], parent=parent)
        _renderer(ctx).render(rows)
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
        children_qs=params.querystring(charts=None),
        exp_base=reverse("runs:workspace-home", args=[ws.slug]) + "experiments/",
    )
    return ctx, 200


def _renderer(ctx: dict) -> RowRenderer:
    """The row renderer of a children or live request (rows link their experiment)."""
    return RowRenderer(
        runs_base=ctx["runs_base"],
        exp_base=ctx["exp_base"],
        children_qs=ctx["children_qs"],
        experiment=None,
    )


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
    _renderer(ctx).render_live(rows)
    ctx["rows"] = rows
    response = render(request, TEMPLATE + "#run-live-cells", ctx)
    if not any(r.active for r in rows):
        response.status_code = HttpResponseStopPolling.status_code
    return response
