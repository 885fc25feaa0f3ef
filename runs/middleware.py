"""Request guards in front of every view.

`PermissionsPolicyMiddleware`: the browser features the studio never uses, off.

`UnstorableTextMiddleware`: a NUL in a URL's path (or an API request's query
string) is refused with a 400 before any view reads it. PostgreSQL cannot hold a
NUL in text, not even as a query parameter, so a lookup by such an id or name would
fail there and not on SQLite; the answer is the same 400 on both. (JSON bodies are
checked by the API's parser, runs.api.parser; each field's own rules, runs.text,
refuse the other control characters with the field's name.)
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from runs.api.errors import error_response
from runs.text import UNSTORABLE, describe
from runs.views.errors import error_page


def _unstorable(request: HttpRequest) -> str | None:
    """Where the request holds a character no database stores, said for a person."""
    if found := UNSTORABLE.search(request.path):
        return f"the URL's path contains {describe(found.group())}"
    # The pages' query strings and forms are read by Django forms, whose text fields
    # refuse a NUL with a message beside the field.
    if request.path.startswith("/api/"):
        for name, values in request.GET.lists():
            for text in (name, *values):
                if found := UNSTORABLE.search(text):
                    return f"query parameter {name[:40]!r} contains {describe(found.group())}"
    return None


class UnstorableTextMiddleware:
    """400 for a NUL in the path, or in the query string of an API request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = _unstorable(request)
        if problem is None:
            return self.get_response(request)
        message = f"{problem}: the studio stores no NUL characters"
        if request.path.startswith("/api/"):
            return error_response(400, "BadRequest", message)
        return error_page(request, 400, message)


# Features the studio never uses, off for its pages and anything inside them.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "ambient-light-sensor", "autoplay", "battery", "bluetooth",
        "camera", "display-capture", "geolocation", "gyroscope", "hid", "idle-detection",
        "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
        "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
)  # fmt: skip


class PermissionsPolicyMiddleware:
    """`Permissions-Policy` on every answer: no camera, microphone, location, payment..."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
