"""Saved views: list, create, read, change, delete, restore, and the runs of a view.

Readers may save private views here too (the services decide who may change
what); tokens limited to one run's tree have no business with views (403).
"""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Query, Router, Status
from pydantic import Field

from runs.api.auth import member_workspace, refuse_run_scoped
from runs.api.documents import run_document_model
from runs.api.errors import ERRORS
from runs.api.schemas import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    NOT_BLANK,
    In,
    Out,
    QueryParams,
    RunListOut,
    UtcTime,
)
from runs.models import SavedView, Workspace
from runs.selectors import saved_views as view_selectors
from runs.services import saved_views as view_services

router = Router(tags=["views"], by_alias=True)


class ViewOut(Out):
    """A saved view: the run list's state (query parameters, normalised) and its charts."""

    id: int
    name: str
    visibility: str
    owner: str
    state: dict[str, Any]
    charts: list[dict[str, Any]]
    version: int
    created_utc: UtcTime
    updated_utc: UtcTime
    updated_by: str | None
    # Whether the caller owns it.
    mine: bool
    # Pinned by a workspace owner: what "All runs" shows every member.
    is_default: bool
    url: str


class ViewsOut(Out):
    views: list[ViewOut]


# Checked by the service (its message lists them); stated here for clients.
Visibility = Annotated[str, Field(json_schema_extra={"enum": SavedView.Visibility.values})]


# A view's name: one line, not blank (the service says why not).
ViewName = Annotated[str, Field(json_schema_extra={"minLength": 1, "pattern": NOT_BLANK})]


class ViewCreateIn(In):
    name: ViewName
    visibility: Visibility = SavedView.Visibility.PRIVATE
    state: dict[str, Any] = {}
    charts: list[Any] = []


class ViewUpdateIn(In):
    name: ViewName | None = None
    visibility: Visibility | None = None
    state: dict[str, Any] | None = None
    charts: list[Any] | None = None
    # The version this change was made from: a 409 if someone saved since.
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class RestoreIn(In):
    version: int = Field(ge=1, le=2**31 - 1)


class ViewListQuery(QueryParams):
    name: str | None = None


class ViewRunsQuery(QueryParams):
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)


VIEW = {200: ViewOut, **ERRORS}


def _workspace(request: HttpRequest, ws: str) -> Workspace:
    workspace = member_workspace(request, ws)
    refuse_run_scoped(request, "use saved views")
    return workspace


def _view(request: HttpRequest, ws: str, view_id: int) -> tuple[Workspace, SavedView]:
    """The workspace and the view, if the token's user may open it; a deleted view is a 404
    that says so."""
    workspace = _workspace(request, ws)
    view = view_selectors.saved_view_get(
        workspace=workspace, actor=workspace.membership, view_id=view_id
    )
    if view.is_deleted:
        who = view.deleted_by.get_username() if view.deleted_by else "someone"
        when = view.deleted_at.strftime("%Y-%m-%d %H:%M UTC")
        raise Http404(f"view {view_id} ({view.name!r}) was deleted by {who} on {when}")
    return workspace, view


def view_out(view: SavedView, workspace: Workspace) -> ViewOut:
    path = reverse("runs:saved-view", args=[workspace.slug, view.pk])
    return ViewOut(
        id=view.pk,
        name=view.name,
        visibility=view.visibility,
        owner=view.owner.get_username(),
        state=view.state,
        charts=view.charts,
        version=view.version,
        created_utc=view.created,
        updated_utc=view.updated,
        updated_by=view.updated_by.get_username() if view.updated_by else None,
        mine=view.owner_id == workspace.membership.user_id,
        is_default=workspace.default_view_id == view.pk,
        url=settings.STUDIO_BASE_URL + path,
    )


def _reloaded(workspace: Workspace, view: SavedView) -> ViewOut:
    """The view as stored now (a change may have made it private to another owner: the
    answer still shows the change)."""
    fresh = SavedView.objects.select_related("owner", "updated_by").get(pk=view.pk)
    return view_out(fresh, workspace)


@router.get("/w/{ws}/views", response={200: ViewsOut, **ERRORS}, url_name="view-list")
def view_list(request: HttpRequest, ws: str, params: Query[ViewListQuery]) -> ViewsOut:
    """The caller's views and the workspace's shared ones: theirs first, then by name."""
    workspace = _workspace(request, ws)
    views = view_selectors.saved_views_visible(workspace=workspace, actor=workspace.membership)
    if params.name is not None:
        views = views.filter(name=" ".join(params.name.split()))
    return ViewsOut(views=[view_out(v, workspace) for v in views])


@router.post("/w/{ws}/views", response={201: ViewOut, **ERRORS}, url_name="view-create")
def view_create(request: HttpRequest, ws: str, body: ViewCreateIn) -> Status:
    """Save a view (readers too: private ones)."""
    workspace = _workspace(request, ws)
    view = view_services.saved_view_create(
        actor=workspace.membership,
        name=body.name,
        visibility=body.visibility,
        state=body.state,
        charts=body.charts,
    )
    return Status(201, _reloaded(workspace, view))


@router.get("/w/{ws}/views/{view_id}", response=VIEW, url_name="view-detail")
def view_detail(request: HttpRequest, ws: str, view_id: int) -> ViewOut:
    """One view."""
    workspace, view = _view(request, ws, view_id)
    return view_out(view, workspace)


@router.patch("/w/{ws}/views/{view_id}", response=VIEW, url_name="view-update")
def view_update(request: HttpRequest, ws: str, view_id: int, body: ViewUpdateIn) -> ViewOut:
    """Change the name, visibility, state or charts (each a new version)."""
    workspace, view = _view(request, ws, view_id)
    # null is "leave it as it is", as elsewhere in the API's PATCHes.
    changes = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"version"})
    view_services.saved_view_update(
        view=view, actor=workspace.membership, expected_version=body.version, **changes
    )
    return _reloaded(workspace, view)


@router.delete("/w/{ws}/views/{view_id}", response={204: None, **ERRORS}, url_name="view-delete")
def view_delete(request: HttpRequest, ws: str, view_id: int) -> Status:
    """Delete the view (its link then says it was deleted)."""
    workspace, view = _view(request, ws, view_id)
    view_services.saved_view_delete(view=view, actor=workspace.membership)
    return Status(204, None)


@router.post("/w/{ws}/views/{view_id}/restore", response=VIEW, url_name="view-restore")
def view_restore(request: HttpRequest, ws: str, view_id: int, body: RestoreIn) -> ViewOut:
    """Bring back an earlier version's name, state and charts, as a new version."""
    workspace, view = _view(request, ws, view_id)
    view_services.saved_view_restore(view=view, actor=workspace.membership, version=body.version)
    return _reloaded(workspace, view)


@router.get(
    "/w/{ws}/views/{view_id}/runs", response={200: RunListOut, **ERRORS}, url_name="view-runs"
)
def view_runs(
    request: HttpRequest, ws: str, view_id: int, params: Query[ViewRunsQuery]
) -> RunListOut:
    """The runs of the view in its sort order: the top-level runs, or with a condition every
    run that matches it; documents and pages as the run list."""
    workspace, view = _view(request, ws, view_id)
    qs = view_selectors.saved_view_runs(workspace=workspace, view=view)
    total = qs.count()
    start = (params.page - 1) * params.per_page
    runs = list(qs[start : start + params.per_page]) if start < total else []
    return RunListOut(
        runs=[run_document_model(r) for r in runs],
        page=params.page,
        per_page=params.per_page,
        total=total,
        has_more=start + len(runs) < total,
    )
