"""Saved views in the studio: open one, change its list, save, share, rename, chart, delete.

URLs (the first is a contract: links people share):

- `/w/<ws>/views/<id>/` the view as saved: its runs, columns, sort and charts;
- `/w/<ws>/views/<id>/list/?<run list parameters>` the view with its list changed
  (every control of the list on a view page leads here, so the URL stays shareable).
  The page compares that state with the saved one and says "modified", with Save
  (where permitted), Save as new and Reset (back to the saved URL). Without
  parameters it is the view's list with no condition at all, as on the run list;
- `/w/<ws>/views/` every view the member can open; `menu/` the switcher's list.

A deleted view's URL answers 410 with a page saying so (private views of others
stay 404). "All runs" without parameters shows the workspace's pinned default view
to every member, with a link to the plain list (`?default=none`); the Views menu,
the index and the view's page mark it.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from runs import selectors
from runs.exceptions import StudioError, ValidationFailed
from runs.forms import chart_from_fields
from runs.http import StudioRequest
from runs.list_state import canonical_items, parse_charts
from runs.models import Role, SavedView, Workspace
from runs.selectors import saved_views as view_selectors
from runs.services import saved_views as view_services
from runs.views.helpers import same_site_path
from runs.views.list_charts import charts_context
from runs.views.run_table import table_context

TEMPLATE = "runs/saved_view.html"


def _view_or_tombstone(request: StudioRequest, ws: Workspace, view_id: int):
    """The view, or the 410 page of a deleted one."""
    view = view_selectors.saved_view_get(workspace=ws, actor=ws.membership, view_id=view_id)
    if view.is_deleted:
        ctx = {"workspace": ws, "view": view}
        return None, render(request, "runs/saved_view_deleted.html", ctx, status=410)
    return view, None


def _saved_query(view: SavedView) -> QueryDict:
    """The view's saved state as a run list query string."""
    query = QueryDict(mutable=True)
    for name, value in canonical_items(view.state):
        query.appendlist(name, value)
    return query


def _view_charts(view: SavedView):
    """The view's charts (stored validated; one that no longer is shows none)."""
    try:
        return parse_charts(view.charts)
    except ValidationFailed:
        return ()


def _without_charts(query: QueryDict) -> QueryDict:
    if "charts" not in query:
        return query
    query = query.copy()
    del query["charts"]
    return query


def view_context(
    request: StudioRequest, ws: Workspace, view: SavedView, query: QueryDict | None
) -> tuple[dict, int]:
    """The run list of `view` with the state `query` (None: as saved), and the view's bar."""
    as_saved = query is None
    # The view's charts are its own: a `charts` parameter is for plain lists.
    state_query = _saved_query(view) if as_saved else _without_charts(query)
    # Every control of the list (sorts, chips, pages, columns) leads to the view's list.
    list_path = reverse("runs:saved-view-list", args=[ws.slug, view.pk])
    view_path = reverse("runs:saved-view", args=[ws.slug, view.pk])
    ctx, code = table_context(request, ws, None, state_query, links=list_path)
    if code == 200:
        state = ctx["state"]
        modified = state.canonical() != view.state
        current_qs = state.with_(page=1).querystring().lstrip("?")
    else:
        modified, current_qs = True, ""
    editable = view_services.can_edit(view, ws.membership)
    ctx.update(
        view=view,
        view_path=view_path,
        view_url=request.build_absolute_uri(view_path),
        modified=modified,
        as_saved=as_saved,
        can_edit_view=editable,
        can_share=ws.membership.has_role(Role.CONTRIBUTOR),
        can_pin=ws.membership.has_role(Role.OWNER) and view.is_shared,
        is_default=ws.default_view_id == view.pk,
        current_qs=current_qs,
        **charts_context(ctx, charts := _view_charts(view), ctx.get("page"), [None] * len(charts)),
    )
    return ctx, code


def _render_view(request: StudioRequest, ctx: dict, code: int) -> HttpResponse:
    partial = request.htmx and not request.htmx.history_restore_request
    if not partial:
        return render(request, TEMPLATE, ctx, status=code)
    # The table, and the view's bar and charts out of band: both follow the list's state.
    html = render_to_string("runs/run_list.html#run-table", ctx, request=request)
    html += render_to_string("runs/includes/_views_bar.html", {**ctx, "oob": True}, request)
    html += render_to_string("runs/includes/_views_charts.html", {**ctx, "oob": True}, request)
    response = HttpResponse(html, status=code)
    push_url(response, ctx["canonical"])
    return response


@login_required
@require_GET
@vary_on_headers("HX-Request")
def saved_view(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """The view as saved: its runs, columns, sort and charts."""
    ws = selectors.workspace_for_member(request.user, workspace)
    view, gone = _view_or_tombstone(request, ws, view_id)
    if gone:
        return gone
    ctx, code = view_context(request, ws, view, None)
    return _render_view(request, ctx, code)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def saved_view_list(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """The view with its list changed by the query string (marked modified if it differs)."""
    ws = selectors.workspace_for_member(request.user, workspace)
    view, gone = _view_or_tombstone(request, ws, view_id)
    if gone:
        return gone
    ctx, code = view_context(request, ws, view, request.GET)
    return _render_view(request, ctx, code)


def default_view_response(request: StudioRequest, ws: Workspace) -> HttpResponse | None:
    """ "All runs" without parameters: the workspace's pinned default view, for every
    member, with a notice linking to the plain list (None: no default to show)."""
    if ws.default_view_id is None:
        return None
    try:
        view = view_selectors.saved_view_get(
            workspace=ws, actor=ws.membership, view_id=ws.default_view_id
        )
    except Http404:
        return None
    if view.is_deleted:
        return None
    ctx, code = view_context(request, ws, view, None)
    ctx["default_notice"] = True
    ctx["plain_list_url"] = reverse("runs:run-list", args=[ws.slug]) + "?default=none"
    return render(request, TEMPLATE, ctx, status=code)


# --- lists of views --------------------------------------------------------------------


def _split(ws: Workspace, views) -> tuple[list[SavedView], list[SavedView]]:
    mine = [v for v in views if v.owner_id == ws.membership.user_id]
    shared = [v for v in views if v.owner_id != ws.membership.user_id]
    return mine, shared


@login_required
@require_GET
def saved_view_index(request: StudioRequest, workspace: str) -> HttpResponse:
    """Every view the member can open: theirs, then the workspace's shared ones."""
    ws = selectors.workspace_for_member(request.user, workspace)
    views = list(view_selectors.saved_views_visible(workspace=ws, actor=ws.membership))
    mine, shared = _split(ws, views)
    ctx = {"workspace": ws, "mine": mine, "shared": shared}
    return render(request, "runs/saved_view_index.html", ctx)


@login_required
@require_GET
def saved_view_menu(request: StudioRequest, workspace: str) -> HttpResponse:
    """The view switcher's list (loaded when it is opened: the run list pays nothing)."""
    ws = selectors.workspace_for_member(request.user, workspace)
    views = list(view_selectors.saved_views_visible(workspace=ws, actor=ws.membership))
    mine, shared = _split(ws, views)
    current = request.GET.get("current", "")
    ctx = {"workspace": ws, "mine": mine, "shared": shared, "current": current}
    return render(request, "runs/includes/_views_menu.html", ctx)


# --- writes ------------------------------------------------------------------------------


def _fail(request: StudioRequest, ws: Workspace, exc: StudioError, back: str) -> HttpResponse:
    """A refused write: a page with the message, a link back, and the error's status."""
    ctx = {"workspace": ws, "message": exc.message, "back": back}
    return render(request, "runs/saved_view_refused.html", ctx, status=exc.http_status)


def _back(request: StudioRequest, default: str) -> str:
    """The page a form came from (a path on this site only)."""
    return same_site_path(request.POST.get("next", ""), default)


def _posted_state(request: StudioRequest) -> QueryDict:
    """The run list state a form posts: `state` (a query string) and `experiment_page`."""
    query = QueryDict(request.POST.get("state", "").lstrip("?"), mutable=True)
    state = view_services.state_from_query(query)
    experiment = request.POST.get("experiment_page", "").strip()
    if experiment and experiment not in state.getlist("experiment"):
        state.appendlist("experiment", experiment)
    return state


def _posted_charts(request: StudioRequest) -> object:
    """The `charts` of the posted list state, parsed (the service validates them)."""
    text = QueryDict(request.POST.get("state", "").lstrip("?")).get("charts", "")
    try:
        return json.loads(text) if text.strip() else []
    except (ValueError, RecursionError):
        return text  # refused by the service with what a chart list looks like


@login_required
@require_POST
def saved_view_create(request: StudioRequest, workspace: str) -> HttpResponse:
    """Save the list's state as a new view (Save view, Save as new); readers too."""
    ws = selectors.workspace_for_member(request.user, workspace)
    back = _back(request, reverse("runs:run-list", args=[ws.slug]))
    source_id = request.POST.get("charts_from", "")
    if source_id.isdigit():
        source = view_selectors.saved_view_get(
            workspace=ws, actor=ws.membership, view_id=int(source_id)
        )
        charts = source.charts
    else:
        # A plain list's charts ride in its state (the `charts` parameter), as JSON.
        charts = _posted_charts(request)
    try:
        view = view_services.saved_view_create(
            actor=ws.membership,
            name=request.POST.get("name", ""),
            visibility=(
                SavedView.Visibility.WORKSPACE
                if request.POST.get("share")
                else SavedView.Visibility.PRIVATE
            ),
            state=_posted_state(request),
            charts=charts,
        )
    except StudioError as exc:
        return _fail(request, ws, exc, back)
    messages.success(request, f"Saved view {view.name!r}.")
    return HttpResponseRedirect(reverse("runs:saved-view", args=[ws.slug, view.pk]))


def _editable_view(request: StudioRequest, workspace: str, view_id: int):
    ws = selectors.workspace_for_member(request.user, workspace)
    view = view_selectors.saved_view_get(workspace=ws, actor=ws.membership, view_id=view_id)
    if view.is_deleted:
        raise Http404(f"view {view_id} was deleted")
    return ws, view


def _version(request: StudioRequest) -> int | None:
    text = request.POST.get("version", "")
    return int(text) if text.isdigit() else None


@login_required
@require_POST
def saved_view_save(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """Save: the view takes the list's current state (a new version)."""
    ws, view = _editable_view(request, workspace, view_id)
    view_path = reverse("runs:saved-view", args=[ws.slug, view.pk])
    back = _back(request, view_path)
    try:
        view_services.saved_view_update(
            view=view,
            actor=ws.membership,
            state=_posted_state(request),
            expected_version=_version(request),
        )
    except StudioError as exc:
        return _fail(request, ws, exc, back)
    messages.success(request, f"Saved {view.name!r} (version {view.version}).")
    return HttpResponseRedirect(view_path)


@login_required
@require_POST
def saved_view_settings(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """Rename, share or make private."""
    ws, view = _editable_view(request, workspace, view_id)
    back = _back(request, reverse("runs:saved-view", args=[ws.slug, view.pk]))
    changes = {}
    if "name" in request.POST:
        changes["name"] = request.POST["name"]
    if "visibility" in request.POST:
        changes["visibility"] = request.POST["visibility"]
    try:
        view_services.saved_view_update(
            view=view, actor=ws.membership, expected_version=_version(request), **changes
        )
    except StudioError as exc:
        return _fail(request, ws, exc, back)
    if "visibility" in changes:
        shared = view.is_shared
        messages.success(
            request,
            f"{view.name!r} is shared with the workspace: copy its link to send it."
            if shared
            else f"{view.name!r} is private now.",
        )
    else:
        messages.success(request, f"Renamed to {view.name!r}.")
    return HttpResponseRedirect(back)


@login_required
@require_POST
def saved_view_charts(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """Add a chart (`action=add`) or remove one (`action=remove&index=i`)."""
    ws, view = _editable_view(request, workspace, view_id)
    back = _back(request, reverse("runs:saved-view", args=[ws.slug, view.pk]))
    charts = list(view.charts)
    action = request.POST.get("action")
    try:
        if action == "add":
            charts.append(chart_from_fields(request.POST))
        elif action == "remove":
            index = request.POST.get("index", "")
            if not index.isdigit() or int(index) >= len(charts):
                raise ValidationFailed("no such chart to remove")
            charts.pop(int(index))
        else:
            raise ValidationFailed("action is add or remove")
        view_services.saved_view_update(
            view=view, actor=ws.membership, charts=charts, expected_version=_version(request)
        )
    except StudioError as exc:
        return _fail(request, ws, exc, back)
    return HttpResponseRedirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def saved_view_delete(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """GET: ask; POST: delete (the view's link then says it was deleted)."""
    ws, view = _editable_view(request, workspace, view_id)
    view_path = reverse("runs:saved-view", args=[ws.slug, view.pk])
    if request.method == "GET":
        try:
            view_services.check_edit(view, ws.membership)
        except StudioError as exc:
            return _fail(request, ws, exc, view_path)
        ctx = {"workspace": ws, "view": view, "view_path": view_path}
        return render(request, "runs/saved_view_delete.html", ctx)
    try:
        view_services.saved_view_delete(view=view, actor=ws.membership)
    except StudioError as exc:
        return _fail(request, ws, exc, view_path)
    messages.success(request, f"Deleted view {view.name!r}.")
    return HttpResponseRedirect(reverse("runs:run-list", args=[ws.slug]))


@login_required
@require_GET
def saved_view_history(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """Every version: who saved it, when, and what changed; restore any of them."""
    ws, view = _editable_view(request, workspace, view_id)
    ctx = {
        "workspace": ws,
        "view": view,
        "view_path": reverse("runs:saved-view", args=[ws.slug, view.pk]),
        "history": view_selectors.saved_view_history(view=view),
        "can_edit_view": view_services.can_edit(view, ws.membership),
    }
    return render(request, "runs/saved_view_history.html", ctx)


@login_required
@require_POST
def saved_view_restore(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """Restore a version (as a new version)."""
    ws, view = _editable_view(request, workspace, view_id)
    history = reverse("runs:saved-view-history", args=[ws.slug, view.pk])
    text = request.POST.get("version_to_restore", "")
    try:
        if not text.isdigit():
            raise ValidationFailed("choose a version to restore")
        view_services.saved_view_restore(view=view, actor=ws.membership, version=int(text))
    except StudioError as exc:
        return _fail(request, ws, exc, history)
    messages.success(request, f"Restored version {text} as version {view.version}.")
    return HttpResponseRedirect(reverse("runs:saved-view", args=[ws.slug, view.pk]))


@login_required
@require_POST
def saved_view_default(request: StudioRequest, workspace: str, view_id: int) -> HttpResponse:
    """Pin the view as the workspace's default (`pin=1`), or unpin it. Owners only."""
    ws, view = _editable_view(request, workspace, view_id)
    view_path = reverse("runs:saved-view", args=[ws.slug, view.pk])
    pin = request.POST.get("pin") == "1"
    try:
        view_services.saved_view_set_default(
            workspace=ws, actor=ws.membership, view=view if pin else None
        )
    except StudioError as exc:
        return _fail(request, ws, exc, view_path)
    messages.success(
        request,
        f"{view.name!r} is the workspace's default view."
        if pin
        else "The workspace has no default view now.",
    )
    return HttpResponseRedirect(view_path)
