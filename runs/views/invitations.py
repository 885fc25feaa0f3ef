"""Invitations to workspaces: the invitee accepts (and becomes a member) or declines."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from runs import selectors, services
from runs.http import StudioRequest
from runs.models import Invitation


def _mine(request: StudioRequest, invitation_id: int) -> Invitation:
    found = selectors.invitations_for(request.user).filter(pk=invitation_id).first()
    if found is None:
        raise Http404("No such invitation.")
    return found


@login_required
@require_POST
def invitation_accept(request: StudioRequest, invitation_id: int) -> HttpResponse:
    invitation = _mine(request, invitation_id)
    membership = services.invitation_accept(invitation=invitation, user=request.user)
    messages.success(request, f"You joined {membership.workspace.slug} as {membership.role}.")
    return redirect("runs:workspace-home", membership.workspace.slug)


@login_required
@require_POST
def invitation_decline(request: StudioRequest, invitation_id: int) -> HttpResponse:
    invitation = _mine(request, invitation_id)
    services.invitation_decline(invitation=invitation, user=request.user)
    messages.success(request, f"Declined the invitation to {invitation.workspace.slug}.")
    return redirect("runs:home")
