"""The workspace's members: everyone sees the list, owners invite, re-role and remove.

Owners invite by username or email address; the page answers the same whether
or not such an account exists, and the invitee joins only by accepting the
invitation on their home page (runs.views.invitations).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from runs import selectors, services
from runs.exceptions import ValidationFailed
from runs.forms_detail import MemberRemoveForm, MemberRoleForm
from runs.forms_settings import InvitationForm, MemberInviteForm
from runs.http import StudioRequest
from runs.models import Invitation, Membership, Role, Workspace
from runs.views.helpers import can, forbidden

TEMPLATE = "runs/members.html"


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def members(request: StudioRequest, workspace: str) -> HttpResponse:
    """GET lists members; POST `action=invite` (invitee, role), `uninvite` (invitation_id),
    `role` (user_id, role), `remove` (user_id). htmx gets the `member-table` partial,
    forms a redirect."""
    ws = selectors.workspace_for_member(request.user, workspace)
    if request.method == "GET":
        return _render(request, ws)
    if not can(ws, Role.OWNER):
        return forbidden(request, ws, Role.OWNER, "managing members")
    action = request.POST.get("action", "")
    if action == "invite":
        form = MemberInviteForm(request.POST)
        if not form.is_valid():
            return _render(request, ws, invite_form=form, status=422)
        try:
            invitation = services.invitation_create(
                workspace=ws,
                invitee=form.cleaned_data["invitee"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except ValidationFailed as exc:
            form.add_error("invitee", _sentence(exc.message))
            return _render(request, ws, invite_form=form, status=422)
        return _done(
            request,
            ws,
            f"Invited {invitation.invitee} as {invitation.role}: they become a member "
            "when they accept.",
        )
    if action == "uninvite":
        form = InvitationForm(request.POST)
        invitation = None
        if form.is_valid():
            invitation = Invitation.objects.filter(
                workspace=ws, pk=form.cleaned_data["invitation_id"]
            ).first()
        if invitation is None:
            return _render(request, ws, error="There is no such invitation.", status=422)
        invitation.delete()
        return _done(request, ws, f"Withdrew the invitation of {invitation.invitee}.")
    if action in ("role", "remove"):
        form = MemberRoleForm(request.POST) if action == "role" else MemberRemoveForm(request.POST)
        if not form.is_valid():
            message = next(iter(form.errors.values()))[0]
            return _render(request, ws, error=message, status=422)
        membership = Membership.objects.filter(
            workspace=ws, user_id=form.cleaned_data["user_id"]
        ).first()
        if membership is None:
            return _render(
                request, ws, error="That user is not a member of this workspace.", status=422
            )
        user = membership.user
        try:
            if action == "role":
                role = form.cleaned_data["role"]
                services.membership_set(workspace=ws, user=user, role=role)
                message = f"{user.get_username()} is now {role}."
            else:
                services.membership_remove(workspace=ws, user=user)
                message = f"Removed {user.get_username()} from {ws.slug}."
        except ValidationFailed as exc:
            return _render(request, ws, error=_sentence(exc.message), status=422)
        if user == request.user and action == "remove":
            return _left(request, message)
        return _done(request, ws, message)
    return _render(
        request,
        ws,
        error=f"Unknown action {action[:40]!r}: use invite, uninvite, role or remove.",
        status=400,
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _render(
    request: StudioRequest,
    ws: Workspace,
    *,
    invite_form: MemberInviteForm | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    manage = can(ws, Role.OWNER)
    ctx = {
        "workspace": ws,
        "settings_tab": "members",
        "members": selectors.workspace_members(workspace=ws),
        "invitations": selectors.workspace_invitations(workspace=ws) if manage else [],
        "can_manage": manage,
        "invite_form": invite_form or MemberInviteForm(initial={"role": Role.READER}),
        "roles": Role.choices,
        "error": error,
        "notice": notice,
    }
    template = TEMPLATE
    if request.htmx and not request.htmx.history_restore_request:
        template += "#member-table"
    return render(request, template, ctx, status=status)


def _done(request: StudioRequest, ws: Workspace, message: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, message)
        return redirect(reverse("runs:members", args=[ws.slug]))
    # The caller's own role may have changed: re-read it for the controls.
    ws = selectors.workspace_for_member(request.user, ws.slug)
    return trigger_client_event(
        _render(request, ws, notice=message), "showToast", {"message": message}
    )


def _left(request: StudioRequest, message: str) -> HttpResponse:
    """An owner removed themselves: the workspace is gone for them."""
    messages.success(request, message)
    url = reverse("runs:home")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
