"""The run list: all runs of a workspace, or of one experiment."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from runs import selectors
from runs.http import StudioRequest
from runs.models import Experiment

PER_PAGE = 50


@login_required
@require_GET
@vary_on_headers("HX-Request")
def run_list(request: StudioRequest, workspace: str, experiment: str | None = None) -> HttpResponse:
    """Top-level runs, newest first, a page at a time."""
    ws = selectors.workspace_for_member(request.user, workspace)
    exp = get_object_or_404(Experiment, workspace=ws, name=experiment) if experiment else None
    runs = selectors.run_search(workspace=ws, experiment=exp.name if exp else None)
    page = Paginator(runs, PER_PAGE).get_page(request.GET.get("page"))
    template = "runs/run_list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#run-table"
    return render(request, template, {"workspace": ws, "experiment": exp, "page": page})
