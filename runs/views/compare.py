"""Compare runs: a side-by-side table of tags, properties and latest metrics, and charts.

`/w/<workspace>/compare/?runs=a,b,c` is a shared link (a contract). Up to
MAX_COMPARE_RUNS runs; more is a 400 with a message, ids that are not runs of
the workspace are listed in a message (400, the other runs still compared).
`?format=csv` downloads the table. `?q=` searches runs to add (the htmx search
box swaps only its results). Chart choices ride in the query string too
(`metric`, `log`, `smooth`, `bar`, `x`, `y`, `dims`, `color`, `diff`), so a
comparison with its charts can be shared as a link.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from runs import selectors
from runs.http import StudioRequest
from runs.models import Workspace
from runs.selectors.compare import MAX_COMPARE_RUNS
from runs.spreadsheet import line_writer

TEMPLATE = "runs/compare.html"
MAX_RUN_ID = 255
MAX_FIELD = 300
# Chart choices kept in the URL: name -> how many characters it may have.
CHART_STATE = {
    "metric": MAX_FIELD,
    "bar": MAX_FIELD,
    "x": MAX_FIELD,
    "y": MAX_FIELD,
    "color": MAX_FIELD,
    "dims": 4000,
    "log": 1,
    "logx": 1,
    "logy": 1,
    "smooth": 4,
}


class RunIdsField(forms.Field):
    """`runs=a,b,c` (also repeated: `runs=a&runs=b`): unique ids in the order given."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_runs: int = MAX_COMPARE_RUNS, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.max_runs = max_runs

    def to_python(self, value) -> list[str]:
        ids = []
        for item in value or []:
            ids.extend(part.strip() for part in item.split(","))
        ids = list(dict.fromkeys(i for i in ids if i))
        for run_id in ids:
            if len(run_id) > MAX_RUN_ID or any(ord(c) < 32 for c in run_id):
                raise forms.ValidationError(f"{run_id[:40]!r} is not a run id")
        if len(ids) > self.max_runs:
            raise forms.ValidationError(
                f"{len(ids)} runs asked for; at most {self.max_runs} runs can be compared at once"
            )
        return ids

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise forms.ValidationError(
                "name the runs to compare: runs=<run id>,<run id>,...", code="required"
            )


class CompareForm(forms.Form):
    runs = RunIdsField()
    format = forms.ChoiceField(
        required=False, choices=[("", "page"), ("html", "page"), ("csv", "CSV")]
    )
    q = forms.CharField(required=False, max_length=200, strip=True)
    diff = forms.BooleanField(required=False)

    def clean_q(self) -> str:
        text = self.cleaned_data["q"]
        if any(ord(c) < 32 for c in text):
            raise forms.ValidationError("the search text contains a control character")
        return text


def form_message(form: forms.Form) -> list[str]:
    """Form errors as sentences naming the parameter: 'runs: at most 100 runs...'."""
    out = []
    for name, errors in form.errors.items():
        for error in errors:
            if name == "format":
                error = f"unknown format {form.data.get('format', '')[:20]!r}: use csv or html"
            out.append(error if error.startswith(f"{name} ") else f"{name}: {error}")
    return out


def compare_url(ws: Workspace, ids: list[str], **params: str) -> str:
    """The compare link for `ids` (commas left readable: run ids never contain them)."""
    url = reverse("runs:compare", args=[ws.slug])
    query = [f"runs={quote(','.join(ids), safe=',')}"] if ids else []
    rest = {k: v for k, v in params.items() if v}
    if rest:
        query.append(urlencode(rest))
    return f"{url}?{'&'.join(query)}" if query else url


def _chart_state(query: QueryDict) -> dict[str, str]:
    """The chart choices of the URL, cut to size; the page script checks them against the runs."""
    state = {}
    for name, limit in CHART_STATE.items():
        value = query.get(name, "")
        if value and len(value) <= limit and not any(ord(c) < 32 for c in value):
            state[name] = value
    return state


@login_required
@require_GET
@vary_on_headers("HX-Request")
def compare(request: StudioRequest, workspace: str) -> HttpResponse:
    ws = selectors.workspace_for_member(request.user, workspace)
    form = CompareForm(request.GET)
    ctx = {"workspace": ws, "form": form, "max_runs": MAX_COMPARE_RUNS}
    searching = request.htmx and request.htmx.target == "compare-search-results"
    if not form.is_valid():
        if request.GET.get("format") == "csv" and "format" not in form.errors:
            return _text(400, "\n".join(form_message(form)))
        ctx.update(errors=form_message(form), runs=[], ids=[])
        template = TEMPLATE
        if searching:
            template = "runs/includes/_compare_picker.html#compare-search-results"
        return render(request, template, ctx, status=400)
    ids = form.cleaned_data["runs"]
    text = form.cleaned_data["q"]
    if searching:
        ctx.update(_search(ws, ids, text))
        return render(request, "runs/includes/_compare_picker.html#compare-search-results", ctx)
    found = selectors.compare_runs(workspace=ws, ids=ids)
    sections = selectors.compare_table(runs=found.runs)
    if form.cleaned_data["format"] == "csv":
        if found.missing:
            return _text(400, _missing_message(ws, found.missing))
        return _csv_response(ws, found.runs, sections)
    values = selectors.compare_values(runs=found.runs)
    fields = selectors.compare_fields(runs=found.runs, values=values)
    found_ids = [r.pk for r in found.runs]
    ctx.update(
        runs=found.runs,
        ids=found_ids,
        columns=[
            (run, compare_url(ws, [i for i in found_ids if i != run.pk])) for run in found.runs
        ],
        missing=found.missing,
        missing_message=_missing_message(ws, found.missing) if found.missing else "",
        without_missing_url=compare_url(ws, found_ids),
        sections=sections,
        differing=sum(s.differing for s in sections),
        fields=fields,
        chart_values={"runs": values},
        chart_state=_chart_state(request.GET),
        only_diff=form.cleaned_data["diff"],
        csv_url=compare_url(ws, found_ids, format="csv"),
        series_url=reverse("runs:chart-series", args=[ws.slug]),
        # The page script fills in the run id and metric name of each download link.
        metric_csv_template=reverse("runs:metric-csv", args=[ws.slug, "RUN_ID", "METRIC"]),
        **_search(ws, found_ids, text, searched="q" in request.GET),
    )
    return render(request, TEMPLATE, ctx, status=400 if found.missing else 200)


def _search(ws: Workspace, ids: list[str], text: str, searched: bool = True) -> dict:
    """The run picker's results: runs matching `text`, each with the link that adds it."""
    if not searched:
        return {"search_text": text, "results": None}
    room = len(ids) < MAX_COMPARE_RUNS
    results = [
        (run, compare_url(ws, [*ids, run.pk]) if room else "")
        for run in selectors.compare_search(workspace=ws, text=text, exclude=ids)
    ]
    return {"search_text": text, "results": results, "room": room}


def _missing_message(ws: Workspace, missing: list[str]) -> str:
    shown = ", ".join(missing[:20]) + (
        f" and {len(missing) - 20} more" if len(missing) > 20 else ""
    )
    noun = "is not a run" if len(missing) == 1 else "are not runs"
    return f"{shown} {noun} of workspace {ws.slug}."


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _csv_response(ws: Workspace, runs, sections) -> StreamingHttpResponse:
    writer = line_writer()
    rows = selectors.compare_csv_rows(runs=runs, sections=sections)
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{ws.slug}-compare.csv"'
    return response
