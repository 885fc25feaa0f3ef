"""Charts above a run list: what they draw, and "Add chart" on a plain list.

A saved view keeps its charts (and edits them with POSTs, see saved_views.py);
a plain run list keeps them in its URL, in the `charts` parameter (a JSON list
of the same specs), so that a list with charts is a link like any other and
"Save view" takes them along. Either way the charts draw the matching runs of
the page, up to what the chart endpoints take.
"""

from __future__ import annotations

import json

from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse

from runs.exceptions import ValidationFailed
from runs.forms import RunListForm, chart_from_fields
from runs.list_state import ChartSpec, ListState, charts_json, parse_charts
from runs.selectors.run_list import RunPage

MAX_CHART_RUNS = 100


def chart_fields(column_choices: list[dict]) -> dict[str, list[str]]:
    """The metrics (line, bar) and fields (scatter, parallel) the add-chart form offers."""
    metrics = [c["key"] for c in column_choices if c["group"] == "metric"]
    properties = [c["key"] for c in column_choices if c["group"] == "property"]
    return {
        "metrics": [m.partition(".")[2] for m in metrics],
        "fields": metrics + properties,
    }


def charts_context(
    ctx: dict,
    charts: tuple[ChartSpec, ...],
    page: RunPage | None,
    remove_urls: list[str | None],
) -> dict:
    """What the charts section (runs/includes/_views_charts.html) draws."""
    ws = ctx["workspace"]
    runs = [r.run.id for r in page.rows if r.matches][:MAX_CHART_RUNS] if page else []
    specs = charts_json(charts)
    return {
        "chart_runs": runs,
        "chart_fields": chart_fields(ctx.get("column_choices", [])),
        "charts": [
            (i, spec, chart.label, remove_urls[i])
            for i, (chart, spec) in enumerate(zip(charts, specs, strict=True))
        ],
        # In an attribute, not a json_script: htmx swaps this section, and swapped
        # content keeps no <script> element (htmx-config allowScriptTags is off).
        "charts_json": specs,
        "charts_attribute": json.dumps(specs),
        "chart_series_url": reverse("runs:chart-series", args=[ws.slug]),
        "chart_values_url": reverse("runs:chart-values", args=[ws.slug]),
    }


def list_charts_context(ctx: dict) -> dict:
    """The charts of a plain run list: its `charts` parameter, each removable by a link."""
    state: ListState | None = ctx.get("state")
    charts = state.charts if state else ()
    remove = [ctx["list_path"] + state.without_chart(i).querystring() for i in range(len(charts))]
    return charts_context(ctx, charts, ctx.get("page"), remove)


def add_chart(list_path: str, request_query: QueryDict) -> HttpResponse | str:
    """ "Add chart" on a plain list: the list's URL with one more chart (a redirect), or
    what is wrong with the chart (a message for the page).

    The form sends the list's state as `state` (the address bar's query string) and
    the chart's fields (chart_from_fields)."""
    form = RunListForm(QueryDict(request_query.get("state", "").lstrip("?")))
    state = form.state
    if state is None:
        return "the list's state is not valid: " + "; ".join(form.error_messages())
    try:
        charts = parse_charts([*charts_json(state.charts), chart_from_fields(request_query)])
    except ValidationFailed as exc:
        return exc.message
    return HttpResponseRedirect(
        list_path + state.with_(charts=charts, page=state.page).querystring()
    )
