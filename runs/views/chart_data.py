"""Chart data for the studio's charts (static/js/charts.js), and raw series as CSV.

- `/w/<ws>/charts/series.json?runs=a,b,c&metric=loss&points=2000`: one metric of
  several runs, `{"runs": [{runId, displayName, steps, values, total}]}`. Series
  longer than `points` are downsampled on the server with numpy (runs.downsample.minmax:
  the endpoints and each bucket's minimum and maximum), so a line is at most `points`
  points whatever its length; `total` is the length before. `start`/`end` limit the
  steps (a zoomed chart). Values carry 7 significant digits (float32 precision: more
  than a chart shows; the CSV has every digit); NaN and infinities are null (gaps).
- `/w/<ws>/charts/values.json?runs=a,b,c`: latest metrics and numeric properties of
  each run, `{"runs": [{runId, displayName, status, metrics, properties}]}`, for bar,
  scatter and parallel-coordinates charts.
- `/w/<ws>/runs/<id>/metrics/<name>.csv`: every point of one series, streamed:
  `step,value,time` (ISO 8601, UTC); a text series' values as text (booleans
  `true`/`false`), quoted where needed and never a spreadsheet formula.

Errors are JSON `{"error": {"code", "message"}}` with 400 (a CSV download gets
the message as text); non-members get 404 like everywhere in a workspace.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from datetime import UTC, datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from runs import downsample, selectors
from runs.exceptions import StudioError
from runs.http import StudioRequest
from runs.services.tags import check_key
from runs.spreadsheet import line_writer, safe_cell
from runs.views.compare import RunIdsField, form_message

MIN_POINTS = 10
MAX_POINTS = 10_000
CHART_DIGITS = 7
STEP_LIMIT = 2**63 - 1
ACCEPTS_GZIP = re.compile(r"\bgzip\b")


class SeriesForm(forms.Form):
    runs = RunIdsField(required=True)
    metric = forms.CharField(max_length=255, strip=False)
    points = forms.IntegerField(
        required=False,
        min_value=MIN_POINTS,
        max_value=MAX_POINTS,
        error_messages={
            "invalid": f"points must be a whole number from {MIN_POINTS} to {MAX_POINTS:,}",
            "min_value": f"points must be a whole number from {MIN_POINTS} to {MAX_POINTS:,}",
            "max_value": f"points must be a whole number from {MIN_POINTS} to {MAX_POINTS:,}",
        },
    )
    start = forms.IntegerField(required=False, min_value=-STEP_LIMIT, max_value=STEP_LIMIT)
    end = forms.IntegerField(required=False, min_value=-STEP_LIMIT, max_value=STEP_LIMIT)

    def clean_metric(self) -> str:
        name = self.cleaned_data["metric"]
        try:
            check_key("metric", name)
        except StudioError as exc:
            raise forms.ValidationError(exc.message) from None
        return name

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and start > end:
            raise forms.ValidationError("start must not be after end")
        return data


class ValuesForm(forms.Form):
    runs = RunIdsField(required=True)


def error(status: int, code: str, message: str, **extra) -> JsonResponse:
    """The one error shape of the studio's JSON endpoints (the API's shape)."""
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


def _bad_form(form: forms.Form) -> JsonResponse:
    return error(400, "BadRequest", "; ".join(form_message(form)))


def _missing(workspace: str, missing: list[str]) -> JsonResponse:
    noun = "is not a run" if len(missing) == 1 else "are not runs"
    message = f"{', '.join(missing[:20])}{' …' if len(missing) > 20 else ''} {noun} of {workspace}"
    return error(400, "UnknownRuns", message, runIds=missing)


def _numbers(values: list[float]) -> str:
    """JSON array items for chart values: 7 significant digits, non-finite as null.

    One %-format call for the whole list runs its loop in C: several times faster than
    rounding floats and letting json.dumps write them (a 10-run chart has 20,000 values).
    """
    if not values:
        return ""
    text = (f"%.{CHART_DIGITS}g," * len(values)) % tuple(values)
    text = text[:-1]
    # Only nan and inf contain an 'n' ('%g' writes exponents with 'e').
    if "n" in text:
        text = ",".join("null" if "n" in item else item for item in text.split(","))
    return text


def _integers(steps: list[int]) -> str:
    return (("%d," * len(steps)) % tuple(steps))[:-1] if steps else ""


def encode_series(series: list[dict]) -> bytes:
    """The series.json document, written by hand around the number arrays."""
    parts = []
    for s in series:
        head = json.dumps(
            {"runId": s["runId"], "displayName": s["displayName"]}, separators=(",", ":")
        )[:-1]
        parts.append(
            f'{head},"total":{s["total"]},"steps":[{_integers(s["steps"])}],'
            f'"values":[{_numbers(s["values"])}]}}'
        )
    return ('{"runs":[' + ",".join(parts) + "]}").encode()


def _gzipped(request: StudioRequest, response: HttpResponse) -> HttpResponse:
    """The response gzipped at level 1 when the client accepts it.

    Ten runs of 2,000 points are ~320 KB of JSON; level 1 makes them ~150 KB in
    3 ms, where Django's gzip_page (level 6) takes ~20 ms for 4% fewer bytes. The
    body holds no secret (no CSRF token, no session data), so BREACH does not apply.
    """
    patch_vary_headers(response, ("Accept-Encoding",))
    if not ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
        return response
    response.content = gzip.compress(response.content, compresslevel=1, mtime=0)
    response["Content-Encoding"] = "gzip"
    response["Content-Length"] = str(len(response.content))
    return response


@login_required
@require_GET
def chart_series(request: StudioRequest, workspace: str) -> HttpResponse:
    """One metric of several runs, at most `points` points a run (default 2,000)."""
    ws = selectors.workspace_for_member(request.user, workspace)
    form = SeriesForm(request.GET)
    if not form.is_valid():
        return _bad_form(form)
    data = form.cleaned_data
    found = selectors.compare_runs(workspace=ws, ids=data["runs"], detail=False)
    if found.missing:
        return _missing(ws.slug, found.missing)
    series = selectors.compare_series(
        runs=found.runs,
        name=data["metric"],
        max_points=data["points"] or downsample.DEFAULT_MAX_POINTS,
        start_step=data["start"],
        end_step=data["end"],
    )
    response = HttpResponse(encode_series(series), content_type="application/json")
    response["Cache-Control"] = "private, no-cache"
    return _gzipped(request, response)


@login_required
@require_GET
def chart_values(request: StudioRequest, workspace: str) -> JsonResponse:
    """Latest metrics and numeric properties of several runs."""
    ws = selectors.workspace_for_member(request.user, workspace)
    form = ValuesForm(request.GET)
    if not form.is_valid():
        return _bad_form(form)
    found = selectors.compare_runs(workspace=ws, ids=form.cleaned_data["runs"])
    if found.missing:
        return _missing(ws.slug, found.missing)
    response = JsonResponse({"runs": selectors.compare_values(runs=found.runs)})
    response["Cache-Control"] = "private, no-cache"
    return _gzipped(request, response)


@login_required
@require_GET
def metric_csv(request: StudioRequest, workspace: str, run_id: str, name: str) -> HttpResponse:
    """Every point of one metric series as CSV (step,value,time), streamed chunk by chunk."""
    ws = selectors.workspace_for_member(request.user, workspace)
    run = selectors.run_get(workspace=ws, run_id=run_id)
    kind = selectors.metric_kind(run=run, name=name)
    if kind is None:
        return HttpResponse(
            f"Run {run.pk} has no metric {name!r}.",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    lines = _csv_lines(run, name) if kind == "number" else _text_csv_lines(run, name)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{run.pk}-{name}")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _csv_lines(run, name: str):
    yield "step,value,time\r\n"
    stamps = IsoTimes()
    for steps, values, times in selectors.metric_chunks(run=run, name=name):
        yield "".join(
            f"{step},{'NaN' if value != value else repr(value)},{stamps.text(when)}\r\n"
            for step, value, when in zip(steps, values, times, strict=True)
        )


def _text_csv_lines(run, name: str, batch: int = 1000):
    yield "step,value,time\r\n"
    stamps = IsoTimes()
    writer = line_writer()
    lines = []
    for step, value, when in selectors.text_points(run=run, name=name):
        lines.append(writer.writerow([step, safe_cell(value), stamps.text(when)]))
        if len(lines) >= batch:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


class IsoTimes:
    """Unix seconds as `datetime.fromtimestamp(t, UTC).isoformat()` writes them, the
    date and time of each whole second formatted once (a series logs many points a
    second): a 100,000-point CSV spent most of its time making datetimes."""

    def __init__(self) -> None:
        self.seconds: dict[int, str] = {}

    def text(self, when: float) -> str:
        # As datetime.fromtimestamp rounds: to the microsecond, half to even.
        frac, whole = math.modf(when)
        micro = round(frac * 1e6)
        if micro >= 1_000_000:
            whole, micro = whole + 1, micro - 1_000_000
        elif micro < 0:
            whole, micro = whole - 1, micro + 1_000_000
        second = int(whole)
        head = self.seconds.get(second)
        if head is None:
            head = self.seconds[second] = datetime.fromtimestamp(second, tz=UTC).isoformat()[:-6]
        return f"{head}.{micro:06d}+00:00" if micro else f"{head}+00:00"
