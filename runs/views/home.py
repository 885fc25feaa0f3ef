"""The start page and a workspace's home: its experiments with run counts."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from runs import selectors
from runs.http import StudioRequest


@login_required
@require_GET
def home(request: StudioRequest) -> HttpResponse:
    """The user's workspaces and the invitations waiting for them; straight to the
    workspace when there is only one and nothing to answer."""
    workspaces = list(selectors.workspaces_of(request.user))
    invitations = list(selectors.invitations_for(request.user))
    if len(workspaces) == 1 and not invitations:
        return redirect("runs:workspace-home", workspaces[0].slug)
    ctx = {"workspaces": workspaces, "invitations": invitations}
    return render(request, "runs/home.html", ctx)


@login_required
@require_GET
def workspace_home(request: StudioRequest, workspace: str) -> HttpResponse:
    """Experiments with run counts by status and last activity."""
    ws = selectors.workspace_for_member(request.user, workspace)
    experiments = selectors.experiment_summaries(workspace=ws)
    return render(
        request, "runs/workspace_home.html", {"workspace": ws, "experiments": experiments}
    )
