"""Metric series of a run as JSON for the page's charts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from runs import selectors
from runs.http import StudioRequest
from runs.views.helpers import load_run


@login_required
@require_GET
def run_metrics(request: StudioRequest, workspace: str, run_id: str) -> JsonResponse:
    """{name: {"steps": [...], "values": [...]}}, at most 2,000 points a series.

    Longer series are downsampled on the server (first and last point, and
    each bucket's minimum and maximum); `?name=` (repeatable) picks series.
    """
    ws, run = load_run(request, workspace, run_id)
    names = [n for n in request.GET.getlist("name") if n][:100]
    series = selectors.run_chart_series(run=run, names=names or None)
    response = JsonResponse(series)
    response["Cache-Control"] = "private, no-cache"
    return response
