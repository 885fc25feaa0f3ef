"""The run's files: downloads streamed from storage, and the live log tail."""

from __future__ import annotations

import posixpath

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from runs import selectors
from runs.file_content import open_run_file
from runs.forms_detail import LogOffsetForm
from runs.http import StudioRequest
from runs.views.helpers import load_run
from runs.views.run_detail import TEMPLATE, base_context


@login_required
@require_GET
def run_file(request: StudioRequest, workspace: str, run_id: str, path: str) -> FileResponse:
    """Stream one of the run's files as an attachment (members of its workspace only)."""
    ws, run = load_run(request, workspace, run_id)
    rf = selectors.run_file_get(run=run, path=path)
    try:
        fh = open_run_file(rf)
    except OSError:
        raise Http404("The file is listed but missing from storage.") from None
    return FileResponse(fh, as_attachment=True, filename=posixpath.basename(rf.path))


@login_required
@require_GET
def run_log(request: StudioRequest, workspace: str, run_id: str, file_id: int) -> HttpResponse:
    """The log bytes after `offset`, appended by htmx to the log viewer.

    The answer carries a fresh poller (out of band) that asks from the new
    offset; once the run is terminal and the log is read to its end, the
    answer is 286 and polling stops.
    """
    ws, run = load_run(request, workspace, run_id)
    rf = selectors.run_file_get(run=run, file_id=file_id)
    form = LogOffsetForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            form.errors["offset"][0], status=400, content_type="text/plain; charset=utf-8"
        )
    try:
        chunk = selectors.run_log_chunk(run_file=rf, offset=form.cleaned_data["offset"])
    except OSError:
        raise Http404("The log is listed but missing from storage.") from None
    done = run.is_terminal and chunk.at_end
    ctx = {**base_context(ws, run), "log": rf, "chunk": chunk, "poll": not done}
    response = render(request, f"{TEMPLATE}#log-append", ctx)
    if done:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    return response
