"""The run table as the page draws it: rows, header, column chooser, chips, and the
context of the `run-table` partial, for every page that shows a run list (all runs,
an experiment's runs, a saved view) and the bulk actions that redraw it.

The state comes parsed (runs.forms.RunListForm over runs.list_state.ListState);
the rows from runs.selectors. What a value says on screen (a duration, a number,
a status in words) is decided here.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from runs import selectors
from runs.durations import duration_short
from runs.forms import RunListForm
from runs.http import StudioRequest
from runs.lifecycle import LABELS as STATUS_LABELS
from runs.lifecycle import Status
from runs.list_state import (
    BUILTIN_COLUMNS,
    DEFAULT_COLUMNS,
    DEFAULT_SORT,
    LIST_PARAMS,
    MULTI_PARAMS,
    Column,
    ListState,
    column_for,
)
from runs.markdown import first_line
from runs.models import Experiment, Role, Workspace
from runs.selectors.list_rows import ChildSummary, ListedRun, RunRow, TagValue

CHIP_LABELS = {
    "status": "status",
    "experiment": "experiment",
    "target": "target",
    "submitter": "submitted by",
    "tag": "tag",
}
COLUMN_GROUPS = {
    "builtin": "Run",
    "metric": "Metrics (latest value)",
    "property": "Properties",
    "tag": "Tags",
}


# --- what values say --------------------------------------------------------------------


def format_value(column: Column, value: Any) -> str:
    """A metric, property or tag cell as text ('' when the run has none)."""
    if value is None:
        return ""
    if column.kind == "metric" and isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def description_line(run: ListedRun) -> str:
    """The description's first line as plain text, for the Description column."""
    head = getattr(run, "description_head", None)
    return first_line(run.description if head is None else head, limit=100)


def summary_text(summary: ChildSummary) -> str:
    """`12 children: 10 Completed, 2 Failed (48 runs below)`."""
    word = "child" if summary.total == 1 else "children"
    parts = ", ".join(f"{n} {STATUS_LABELS.get(s, s)}" for s, n in summary.status_counts)
    below = f" ({summary.descendants} runs below)" if summary.descendants > summary.total else ""
    return f"{summary.total} {word}: {parts}{below}"


def _when(value: datetime | None, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


# --- rows -------------------------------------------------------------------------------


class RowRenderer:
    """The cells of run rows as HTML, built in Python.

    A page draws 50-200 rows of up to 30 columns; through template tags (an
    `if` chain and a partial per cell, a `{% url %}` per link) that was most of
    the partial's time.
    """

    def __init__(
        self,
        *,
        columns: list[Column],
        runs_base: str,
        exp_base: str,
        children_qs: str,
        experiment: Experiment | None,
    ) -> None:
        self.columns = columns
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

    def label(self, status: str) -> str:
        """A status in words, escaped."""
        return self.esc(STATUS_LABELS.get(status, status))

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
        for index, col in enumerate(self.columns):
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
                label = self.label(run.status)
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
                text = duration_short(run.duration)
                yield f'<td id="c{index}-{rid}" class="num"{swap}>{text}</td>'
            elif key == "tags":
                yield f'<td class="col-tags">{self._tags_html(row)}</td>'
            elif key == "description":
                line = escape(description_line(run))
                yield f'<td class="col-desc" title="{line}">{line}</td>'
            elif col.kind == "metric":
                value = escape(format_value(col, row.values.get(key)))
                yield f'<td id="c{index}-{rid}" class="num"{swap}>{value}</td>'
            else:
                value = escape(format_value(col, row.values.get(key)))
                yield f'<td class="col-{col.kind}">{value}</td>'

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
        # The summary before the id: a narrow column cuts the id off first.
        if summary:
            word = "child" if summary.total == 1 else "children"
            counts = ",".join(
                f' <span class="st-text st-{escape(s)}">{n} {self.label(s)}</span>'
                for s, n in summary.status_counts
            )
            parts.append(
                f'<span class="kids" title="{escape(summary_text(summary))}">'
                f"{summary.total} {word}:{counts}</span>"
            )
        if name:
            parts.append(f' <span class="run-id">{rid}</span>')
        parts.append("</td>")
        return "".join(parts)


# --- the table ----------------------------------------------------------------------


def _raw_items(query: QueryDict) -> list[tuple[str, str]]:
    """Non-empty list parameters as sent (to keep a bad state editable)."""
    return [(n, v) for n in LIST_PARAMS if n != "page" for v in query.getlist(n) if v.strip()]


def _sort_chip(state: ListState) -> tuple[str, str] | None:
    """(label, query string in the default order) of a sort by a column not shown (a
    link, a saved view, the API's keys), whose header cannot show the arrow."""
    if state.sort == DEFAULT_SORT or any(col.sort_key == state.sort_field for col in state.columns):
        return None
    col = column_for(state.sort_field)
    # The Run column sorts by name; `id` is the run id's order.
    what = "run id" if col.key == "id" else col.label if col.kind == "builtin" else col.key
    label = f"sorted by {what} {'↓' if state.sort_desc else '↑'}"
    return label, state.with_(sort=DEFAULT_SORT).querystring()


def _chips(state: ListState) -> list[tuple[str, str]]:
    """(label, query string without it) of each structured filter, and of a sort by a
    column not shown."""
    chips = [chip] if (chip := _sort_chip(state)) else []
    for name in MULTI_PARAMS:
        for value in state.values_of(name):
            shown = STATUS_LABELS.get(value, value) if name == "status" else value
            label = f"{CHIP_LABELS[name]}: {shown}"
            chips.append((label, state.without(name, value).querystring()))
    if state.created_after_text:
        label = f"created ≥ {state.created_after_text}"
        chips.append((label, state.without("created_after").querystring()))
    if state.created_before_text:
        label = f"created < {state.created_before_text}"
        chips.append((label, state.without("created_before").querystring()))
    return chips


def list_path(ws: Workspace, experiment: Experiment | None) -> str:
    """The path of a plain run list: all runs, or an experiment's."""
    if experiment:
        return reverse("runs:experiment-runs", args=[ws.slug, experiment.name])
    return reverse("runs:run-list", args=[ws.slug])


def table_context(
    request: StudioRequest,
    ws: Workspace,
    experiment: Experiment | None,
    query: QueryDict,
    *,
    links: str | None = None,
) -> tuple[dict, int]:
    """Everything the `run-table` partial draws for the state in `query`, and the status.

    `links`: the path every control of the list leads to (a saved view's list; by
    default the plain list's). The count and the CSV export are the plain list's.
    """
    form = RunListForm(query)
    data_path = list_path(ws, experiment)
    links = links or data_path
    runs_base = reverse("runs:run-list", args=[ws.slug])
    ctx: dict = {
        "workspace": ws,
        "experiment": experiment,
        "form": form,
        "typed_q": form.typed("q"),
        "typed_filter": form.typed("filter"),
        "list_path": links,
        "runs_base": runs_base,
        "live_url": reverse("runs:run-list-live", args=[ws.slug]),
        "bulk_url": reverse("runs:run-bulk", args=[ws.slug]),
        "can_edit": ws.membership.has_role(Role.CONTRIBUTOR),
        "statuses": Status.choices,
        "exp_base": reverse("runs:workspace-home", args=[ws.slug]) + "experiments/",
    }
    state = form.state
    if state is not None:
        page = selectors.run_list_page(workspace=ws, state=state, experiment=experiment)
        metric_names, property_keys = selectors.run_list_column_choices(
            workspace=ws, experiment=experiment
        )
        # Children and live rows need the list's conditions and columns, not its charts.
        rows_qs = state.with_(charts=()).querystring()
        RowRenderer(
            columns=state.columns,
            runs_base=runs_base,
            exp_base=ctx["exp_base"],
            children_qs=rows_qs,
            experiment=experiment,
        ).render(page.rows)
        on_page = state.with_(page=page.number)
        ctx.update(
            state=state,
            page=page,
            columns=state.columns,
            headers=(headers := _headers(state)),
            header_html=_header_html(headers, links),
            rows_html=SafeString("".join(row.html for row in page.rows)),
            page_qs=on_page.querystring(),
            prev_qs=state.with_(page=page.number - 1).querystring(),
            next_qs=state.with_(page=page.number + 1).querystring(),
            per_page_choices=sorted({25, 50, 100, 200, state.per_page}),
            chips=_chips(state),
            state_items=state.items(page=False),
            state_qs=state.with_(page=1).querystring(),
            children_qs=rows_qs,
            live_qs=rows_qs,
            column_choices=(choices := _column_choices(state, metric_names, property_keys)),
            column_choices_html=_column_choices_html(choices, state, links),
            canonical=links + on_page.querystring().rstrip("?"),
            count_url=data_path + "count/" + rows_qs.rstrip("?"),
            export_url=data_path + "export.csv" + rows_qs.rstrip("?"),
        )
        return ctx, 200
    raw = _raw_items(query)
    ctx.update(
        state=None,
        page=None,
        columns=[column_for(k) for k in DEFAULT_COLUMNS],
        headers=(headers := [(column_for(k), None, "") for k in DEFAULT_COLUMNS]),
        header_html=_header_html(headers, links),
        page_qs="?" + query.urlencode(),
        chips=[],
        state_items=raw,
        errors=form.error_messages(),
        filter_error_position=form.filter_error_position,
        filter_text=query.get("filter", ""),
        filter_caret=_caret(form.filter_error_position),
        column_choices=[],
        canonical=request.get_full_path(),
        export_url=data_path + "export.csv",
    )
    return ctx, 400


def rows_context(request: StudioRequest, ws: Workspace) -> tuple[dict, int]:
    """The bits of the table context that row partials (children, live cells) need."""
    form = RunListForm(request.GET)
    ctx: dict = {
        "workspace": ws,
        "form": form,
        "runs_base": reverse("runs:run-list", args=[ws.slug]),
        "can_edit": ws.membership.has_role(Role.CONTRIBUTOR),
    }
    state = form.state
    if state is None:
        ctx.update(errors=form.error_messages(), columns=[column_for(k) for k in DEFAULT_COLUMNS])
        return ctx, 400
    ctx.update(
        state=state,
        columns=state.columns,
        children_qs=state.with_(charts=()).querystring(),
        exp_base=reverse("runs:workspace-home", args=[ws.slug]) + "experiments/",
    )
    return ctx, 200


def row_renderer(ctx: dict) -> RowRenderer:
    """The row renderer of a children or live request (rows link their experiment)."""
    return RowRenderer(
        columns=ctx["columns"],
        runs_base=ctx["runs_base"],
        exp_base=ctx["exp_base"],
        children_qs=ctx["children_qs"],
        experiment=None,
    )


def _header_html(headers: list[tuple], list_path: str) -> SafeString:
    """The header cells (`<th>`s) of `headers`, built in Python as the rows are."""
    cells = []
    for col, qs, arrow in headers:
        classes = f"col-{col.kind}" + (" col-run" if col.key == "id" else "")
        classes += " num" if col.numeric else ""
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


def _column_choices_html(choices: list[dict], state: ListState, links: str) -> SafeString:
    """The column chooser: the shown columns in their order, each with links moving it
    left or right, then the other columns under a heading a group (_column_choices).

    The other columns come first in the form (CSS shows them after): ticking one sends
    it before the shown ones, so a new column lands beside the run's name, in sight.
    """
    shown = [k for k in state.cols if k != "id"]
    by_key = {c["key"]: c for c in choices}
    more, group = [], None
    for c in choices:
        if c["checked"]:
            continue
        if c["group"] != group:
            group = c["group"]
            more.append(f'\n    <div class="col-group">{COLUMN_GROUPS.get(group, "Tags")}</div>')
        more.append(
            f'\n    <label class="check"><input type="checkbox" name="cols" '
            f'value="{escape(c["key"])}"> {escape(c["label"])}</label>'
        )
    order = ['\n    <div class="col-group">Shown, in order</div>']
    for i, key in enumerate(shown):
        label = by_key[key]["label"] if key in by_key else column_for(key).label
        moves = []
        for j, arrow, where in ((i - 1, "←", "left"), (i + 1, "→", "right")):
            if 0 <= j < len(shown):
                cols = list(shown)
                cols[i], cols[j] = cols[j], cols[i]
                href = escape(links + state.with_(cols=("id", *cols)).querystring())
                moves.append(
                    f'<a class="col-move" href="{href}" hx-get="{href}" '
                    f'aria-label="Move {escape(label)} {where}" title="Move {where}">{arrow}</a>'
                )
            else:
                moves.append('<span class="col-move" aria-hidden="true"></span>')
        order.append(
            f'\n    <div class="col-shown"><label class="check"><input type="checkbox" name="cols" '
            f'value="{escape(key)}" checked> {escape(label)}</label>{"".join(moves)}</div>'
        )
    return SafeString(
        f'<div class="col-more">{"".join(more)}\n  </div>'
        f'<div class="col-order">{"".join(order)}\n  </div>\n'
    )


def _headers(state: ListState) -> list[tuple]:
    """(column, sort link or None, arrow) of each column header."""
    out = []
    for col in state.columns:
        key = col.sort_key
        arrow = ""
        if key and state.sort_field == key:
            arrow = "↓" if state.sort_desc else "↑"
        out.append((col, state.sorted_by(key).querystring() if key else None, arrow))
    return out


def _caret(position: int | None) -> str:
    """A line with ^ under the filter's error position."""
    if position is None or position < 0:
        return ""
    return " " * min(position, 2000) + "^"


def _column_choices(
    state: ListState, metric_names: list[str], property_keys: list[str]
) -> list[dict]:
    chosen = set(state.cols)
    keys = [k for k in BUILTIN_COLUMNS if k != "id"]
    keys += [f"metrics.{n}" for n in metric_names]
    keys += [f"properties.{k}" for k in property_keys]
    # Columns in the URL stay listed even when the recent runs lack them.
    keys += [k for k in state.cols if k not in keys and k != "id"]
    return [
        {
            "key": k,
            "label": column_for(k).label,
            "group": column_for(k).kind,
            "checked": k in chosen,
        }
        for k in keys
    ]
