"""The studio's own error pages (404, 403, CSRF failures, 500), whatever DEBUG says.

Django shows its debug pages under DEBUG and bare ones without; people who
follow an old link or a link to a private view should see the studio, with a
way back, either way. The JSON API keeps its own error shape (runs.api.errors).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from runs.models import Workspace
from runs.text import UNSTORABLE

TITLES = {
    400: "That request cannot be answered",
    403: "You cannot do that here",
    404: "Nothing here",
    500: "Something went wrong",
}
MESSAGES = {
    403: "Your role in this workspace does not allow this page or action.",
    404: (
        "There is no such page, or it belongs to a workspace you are not a member of "
        "(a run, a workspace, or another member's private view)."
    ),
    500: "The studio could not answer this request. Try again in a moment.",
}
# Paths with their own error answers: the JSON API, the admin, files.
OWN_ERRORS = ("/api/", "/admin/", "/static/", "/media/")


def _workspace(request: HttpRequest) -> Workspace | None:
    """The workspace of the URL if the user is a member (its header links then show)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    try:
        slug = resolve(request.path_info).kwargs.get("workspace")
    except Resolver404:
        return None
    if not slug or UNSTORABLE.search(slug):
        return None
    return Workspace.objects.filter(slug=slug, memberships__user=user).first()


def error_page(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    """The studio's page for an error status, with a way back."""
    ctx = {
        "status": status,
        "title": TITLES.get(status, "Something went wrong"),
        "message": message or MESSAGES.get(status, ""),
        "workspace": _workspace(request),
        # No section of the header is the current one.
        "error_page": True,
    }
    response = render(request, "error.html", ctx, status=status)
    response.studio_page = True
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent without its security token, or with an old one."""
    return error_page(
        request,
        403,
        "The form was sent without a valid security token (it may have been open for a "
        "long time, or cookies are blocked). Go back, reload the page and try again.",
    )


class ErrorPagesMiddleware:
    """Answers a view's Http404 or PermissionDenied, and a URL that matches nothing,
    with the studio's pages (Django's debug pages otherwise); leaves the JSON API, the
    admin, and the error pages views render themselves alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        unresolved = getattr(request, "resolver_match", None) is None
        if response.status_code == 404 and unresolved and not _own_errors(request):
            return error_page(request, 404)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if _own_errors(request):
            return None
        if isinstance(exception, Http404):
            return error_page(request, 404)
        if isinstance(exception, PermissionDenied):
            return error_page(request, 403)
        return None


def _own_errors(request: HttpRequest) -> bool:
    return request.path.startswith(OWN_ERRORS)
