"""The workspace's members: everyone sees the list, owners add, re-role and remove."""

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
from runs.forms_detail import MemberAddForm, MemberRemoveForm, MemberRoleForm
from runs.http import StudioRequest
from runs.models import Membership, Role, Workspace
from runs.views.run_detail import can, forbidden

TEMPLATE = "runs/members.html"


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def members(request: StudioRequest, workspace: str) -> HttpResponse:
    """GET lists members; POST `action=add` (username, role), `role` (user_id, role),
    `remove` (user_id). htmx gets the `member-table` partial, forms a redirect."""
    ws = selectors.workspace_for_member(request.user, workspace)
    if request.method == "GET":
        return _render(request, ws)
    if not can(ws, Role.OWNER):
        return forbidden(ws, Role.OWNER, "managing members")
    action = request.POST.get("action", "")
    if action == "add":
        form = MemberAddForm(request.POST, workspace=ws)
        if not form.is_valid():
            return _render(request, ws, add_form=form, status=422)
        user, role = form.cleaned_data["username"], form.cleaned_data["role"]
        services.membership_set(workspace=ws, user=user, role=role)
        return _done(request, ws, f"Added {user.get_username()} as {role}.")
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
        request, ws, error=f"Unknown action {action[:40]!r}: use add, role or remove.", status=400
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _render(
    request: StudioRequest,
    ws: Workspace,
    *,
    add_form: MemberAddForm | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    ctx = {
        "workspace": ws,
        "members": selectors.workspace_members(workspace=ws),
        "can_manage": can(ws, Role.OWNER),
        "add_form": add_form or MemberAddForm(initial={"role": Role.READER}),
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
