"""Helpers shared by the studio's page modules: access, permissions, announcements.

Non-members get 404 for every page, partial and POST of a workspace (run ids of
another workspace too). Members whose role is too low for a write get 403 with a
message saying which role it needs.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import trigger_client_event

from runs import selectors
from runs.http import StudioRequest
from runs.models import Run, Workspace
from runs.views.errors import error_page


def same_site_path(value: str, default: str) -> str:
    """`value` if it is a path on this site ("/w/team/runs/?q=x"), else `default`.

    Only a path that starts with one "/" will do: not "//host" or "/\\host" (browsers
    read a backslash as a slash), not a scheme, not a control character, which
    browsers drop before reading the URL ("/\t/host")."""
    if (
        not value.startswith("/")
        or value[1:2] in ("/", "\\")
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
        or not url_has_allowed_host_and_scheme(value, allowed_hosts=None)
    ):
        return default
    return value


def load_run(request: StudioRequest, workspace: str, run_id: str) -> tuple[Workspace, Run]:
    """The member's workspace and its run `run_id`; Http404 for non-members and other runs."""
    ws = selectors.workspace_for_member(request.user, workspace)
    return ws, selectors.run_for_detail(workspace=ws, run_id=run_id)


def can(ws: Workspace, role: str) -> bool:
    """Whether the requesting member has at least `role` in `ws`."""
    return ws.membership.has_role(role)


def forbidden(request: StudioRequest, ws: Workspace, needed: str, action: str) -> HttpResponse:
    """403 naming the role an action needs: a toast for htmx, else the studio's 403 page."""
    message = (
        f"Your role in {ws.slug} is {ws.membership.role}: {action} needs the {needed} role "
        "or higher. Ask a workspace owner."
    )
    if not request.htmx:
        return error_page(request, 403, message)
    response = HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    return trigger_client_event(response, "showToast", {"message": message})


def detail_url(ws: Workspace, run: Run, fragment: str = "") -> str:
    url = reverse("runs:run-detail", args=[ws.slug, run.pk])
    return f"{url}#{fragment}" if fragment else url


def announce(response: HttpResponse, run: Run) -> HttpResponse:
    """Tell the page's other regions that the run changed."""
    return trigger_client_event(response, "runChanged", {"runId": run.pk})
