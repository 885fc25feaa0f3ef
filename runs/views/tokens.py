"""API tokens: create one (its secret shown once), list them, revoke them.

Tokens made here reach this workspace only. Every member lists and revokes
their own (and sees their older all-workspace tokens); owners also see and
revoke everyone's tokens of the workspace. Tokens handed to submitted scripts
are not listed: they end with their run.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from runs import selectors, services
from runs.exceptions import StudioError
from runs.forms_settings import TokenCreateForm, TokenRevokeForm
from runs.http import StudioRequest
from runs.models import ApiToken, Role, Workspace

TEMPLATE = "runs/settings_tokens.html"


def _tokens(ws: Workspace) -> list[ApiToken]:
    mine = Q(user_id=ws.membership.user_id) & (Q(workspace=ws) | Q(workspace__isnull=True))
    visible = mine | Q(workspace=ws) if ws.membership.has_role(Role.OWNER) else mine
    return list(
        ApiToken.objects.filter(visible, run__isnull=True)
        .select_related("user", "workspace", "revoked_by")
        .order_by("revoked_at", "-created", "-id")
    )


def _render(
    request: StudioRequest,
    ws: Workspace,
    *,
    form: TokenCreateForm | None = None,
    secret: str = "",
    created: ApiToken | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    ctx = {
        "workspace": ws,
        "settings_tab": "tokens",
        "tokens": _tokens(ws),
        "form": form or TokenCreateForm(),
        "secret": secret,
        "created_token": created,
        "is_owner": ws.membership.has_role(Role.OWNER),
        "error": error,
        "studio_url": settings.STUDIO_BASE_URL,
    }
    return render(request, TEMPLATE, ctx, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: StudioRequest, workspace: str) -> HttpResponse:
    """GET lists the tokens; POST creates one and shows its secret, once."""
    ws = selectors.workspace_for_member(request.user, workspace)
    if request.method == "GET":
        return _render(request, ws)
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _render(request, ws, form=form, status=422)
    try:
        token, secret = services.token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            workspace=ws,
            expires=form.cleaned_data["expires"],
        )
    except StudioError as exc:
        form.add_error(None, exc.message)
        return _render(request, ws, form=form, status=exc.http_status)
    # Rendered, not redirected: the secret exists only in this answer (never cached).
    return _render(request, ws, secret=secret, created=token, status=201)


@login_required
@require_POST
def token_revoke(request: StudioRequest, workspace: str) -> HttpResponse:
    """Revoke a token (`token_id`): requests bearing it get 401 from now on."""
    ws = selectors.workspace_for_member(request.user, workspace)
    form = TokenRevokeForm(request.POST)
    if not form.is_valid():
        return _render(request, ws, error="Which token? No token was sent.", status=400)
    token = next((t for t in _tokens(ws) if t.pk == form.cleaned_data["token_id"]), None)
    if token is None:
        return _render(request, ws, error="There is no such token in this list.", status=404)
    try:
        services.token_revoke(token=token, actor=ws.membership)
    except StudioError as exc:
        return _render(request, ws, error=exc.message, status=exc.http_status)
    messages.success(request, f"Revoked {token.name!r} ({token.prefix}…).")
    return redirect("runs:tokens", ws.slug)
