"""Bearer-token authentication and what a token may reach.

Everything is scoped to the token user's workspace memberships, and to the
token's own workspace when it has one: another workspace, or a run outside a
run-scoped token's tree, answers 404 exactly as if it did not exist. Revoked
and expired tokens get 401 saying so (runs.services.token_authenticate).
Members who may read but not write get 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from ninja.security import HttpBearer

from runs import selectors, services
from runs.api import throttle
from runs.api.errors import ApiError, error_response
from runs.exceptions import Unauthorized
from runs.models import ApiToken, Role, Run, Workspace


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`, looked up by its hash."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = services.token_authenticate(token.strip())
        if found is not None and (wait := throttle.seconds_to_wait(found)) is not None:
            limit, window = settings.STUDIO_API_RATE_LIMIT, settings.STUDIO_API_RATE_WINDOW
            raise ApiError(
                429,
                "TooManyRequests",
                f"this token sent more than {limit:,} requests in {window:g} seconds: "
                f"send again in {wait} s (Retry-After)",
                headers={"Retry-After": str(wait)},
            )
        return found


def docs_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The API docs page and its schema: for signed-in people (or a valid token) when
    STUDIO_API_DOCS_LOGIN is on; the page sends others to sign in, the schema says 401."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.STUDIO_API_DOCS_LOGIN or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            try:
                if services.token_authenticate(secret.strip()) is not None:
                    return view(request, *args, **kwargs)
            except Unauthorized as exc:
                return error_response(401, "Unauthorized", exc.message)
        if request.path.endswith(".json"):
            message = "sign in to the studio, or send 'Authorization: Bearer <token>'"
            return error_response(401, "Unauthorized", message)
        return redirect_to_login(request.get_full_path())

    return wrapped


def token_of(request: HttpRequest) -> ApiToken:
    return request.auth


def member_workspace(request: HttpRequest, slug: str, *, write: bool = False) -> Workspace:
    """The workspace `slug` if the token's user is a member (404 otherwise).

    With `write`, readers get 403: they already know the workspace exists.
    """
    token = token_of(request)
    membership = selectors.membership_for(token.user, slug)
    if membership is None or (
        token.workspace_id is not None and membership.workspace_id != token.workspace_id
    ):
        raise Http404(f"workspace {slug!r} not found")
    if write and not membership.has_role(Role.CONTRIBUTOR):
        raise ApiError(
            403,
            "Forbidden",
            f"your role in workspace {slug!r} is {membership.role}: "
            "changing it needs contributor or owner",
        )
    ws = membership.workspace
    ws.membership = membership
    return ws


def scope_run(request: HttpRequest, ws: Workspace) -> Run | None:
    """The run a run-scoped token is limited to (None for other tokens).

    Its workspace must be `ws`: a run-scoped token sees no other workspace.
    """
    token = token_of(request)
    if token.run_id is None:
        return None
    if token.run.workspace_id != ws.pk:
        raise Http404(f"workspace {ws.slug!r} not found")
    return token.run


def refuse_run_scoped(request: HttpRequest, action: str) -> None:
    """Workspace-wide writes (new experiments, new top-level runs) need an unscoped token."""
    token = token_of(request)
    if token.run_id is not None:
        raise ApiError(
            403,
            "Forbidden",
            f"this token is limited to run {token.run_id} and its descendants: it cannot {action}",
        )


def member_run(
    request: HttpRequest,
    slug: str,
    run_id: str,
    *,
    write: bool = False,
    for_document: bool = False,
    lean: bool = False,
) -> tuple[Workspace, Run]:
    """The workspace and its run `run_id`, if the token may reach them (404 otherwise).

    `lean`: the run with its id and workspace only (see selectors.run_get)."""
    ws = member_workspace(request, slug, write=write)
    try:
        run = selectors.run_get(workspace=ws, run_id=run_id, for_document=for_document, lean=lean)
    except Http404:
        run = None
    if run is None or not token_of(request).allows_run(run):
        raise Http404(f"run {run_id!r} not found in workspace {slug!r}")
    return ws, run
