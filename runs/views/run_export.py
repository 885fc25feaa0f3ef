"""The run list's table as a CSV file: the same query string, every matching run.

Text cells that a spreadsheet would run as a formula are neutralised (runs.spreadsheet)."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from runs import selectors
from runs.forms import RunListForm
from runs.http import StudioRequest
from runs.list_state import Column
from runs.markdown import first_line
from runs.models import Experiment, Run
from runs.selectors.list_rows import TagValue
from runs.spreadsheet import line_writer, safe_row

STREAM_ROWS = 500

# Builtin columns -> (CSV header(s), value of a run). `id` is always first.
_BUILTIN = {
    "id": (
        ["runId", "displayName", "parentRunId"],
        lambda r: [r.id, r.display_name, r.parent_id or ""],
    ),
    "experiment": (["experiment"], lambda r: [r.experiment_name]),
    "status": (["status"], lambda r: [r.status]),
    "submitter": (["submittedBy"], lambda r: [r.submitter_name or ""]),
    "target": (["target"], lambda r: [r.compute_target]),
    "created": (["createdUtc"], lambda r: [_iso(r.created)]),
    "started": (["startTimeUtc"], lambda r: [_iso(r.started)]),
    "ended": (["endTimeUtc"], lambda r: [_iso(r.ended)]),
    "duration": (["durationSeconds"], lambda r: [_seconds(r)]),
    "description": (["description"], lambda r: [first_line(r.description, limit=500)]),
}  # fmt: skip


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def _seconds(run: Run) -> str:
    duration = run.duration
    return f"{duration.total_seconds():.0f}" if duration is not None else ""


def _tags_text(tags: list[TagValue]) -> str:
    return "; ".join(map(str, tags))


def _header(columns: list[Column]) -> list[str]:
    header: list[str] = []
    for c in columns:
        if c.key in _BUILTIN:
            header += _BUILTIN[c.key][0]
        elif c.key == "tags":
            header.append("tags")
        else:
            header.append(c.key)
    return header


def _rows(columns: list[Column], items) -> Iterator[list]:
    for run, tags, values in items:
        row: list = []
        for c in columns:
            if c.key in _BUILTIN:
                row += _BUILTIN[c.key][1](run)
            elif c.key == "tags":
                row.append(_tags_text(tags))
            elif c.kind == "tag":
                tag = next((t for t in tags if t.key == c.name), None)
                row.append("" if tag is None else (tag.value if tag.value is not None else ""))
            else:
                value = values.get(c.key)
                row.append("" if value is None else value)
        yield row


@login_required
@require_GET
def run_list_csv(
    request: StudioRequest, workspace: str, experiment: str | None = None
) -> HttpResponse:
    """`export.csv` beside a run list: its columns, for every run its conditions select."""
    ws = selectors.workspace_for_member(request.user, workspace)
    exp = get_object_or_404(Experiment, workspace=ws, name=experiment) if experiment else None
    form = RunListForm(request.GET)
    state = form.state
    if state is None:
        return HttpResponse(
            "Bad list parameters: " + " ".join(form.error_messages()) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    columns = state.columns
    writer = line_writer()
    items = selectors.run_export_rows(workspace=ws, state=state, experiment=exp)

    def stream() -> Iterator[str]:
        # A few hundred rows a piece: the response's per-piece work stays off each row.
        lines = [writer.writerow(_header(columns))]
        for row in _rows(columns, items):
            lines.append(writer.writerow(safe_row(row)))
            if len(lines) >= STREAM_ROWS:
                yield "".join(lines)
                lines = []
        if lines:
            yield "".join(lines)

    name = f"{ws.slug}-{exp.name if exp else 'runs'}.csv"
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
