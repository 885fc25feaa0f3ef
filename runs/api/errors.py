"""One error shape for the whole API: {"error": {"code", "message"}} with a 4xx status."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable

from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.exceptions import (
    ValidationError as DjangoValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from runs.api.schemas import ErrorOut
from runs.exceptions import StudioError

logger = logging.getLogger(__name__)

# How many field problems one message lists; the rest are counted.
MAX_LISTED_PROBLEMS = 3

_CODE_BY_STATUS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    507: "InsufficientStorage",
}

# The error answers an operation can give, for the OpenAPI document.
ERRORS = dict.fromkeys((400, 401, 403, 404, 409, 413, 429), ErrorOut)
# ... and those of operations that write files: the storage may be full.
FILE_ERRORS = {**ERRORS, 507: ErrorOut}


class ApiError(Exception):
    """An error the API answers as is: `raise ApiError(403, "Forbidden", "...")`."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str) -> JsonResponse:
    """The one error shape. A 401 says which scheme to use (RFC 6750): `WWW-Authenticate:
    Bearer realm="studio"`, with `error="invalid_token"` when a token was sent."""
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="studio"'
    return response


def _invalid_token(response: HttpResponse) -> HttpResponse:
    response["WWW-Authenticate"] = 'Bearer realm="studio", error="invalid_token"'
    return response


_PARAMETER_NAMES = {("body", "body"), ("query", "params"), ("file", "file")}


def _field_path(loc: tuple) -> str:
    """`("body", "body", "series", 0, "values", 3)` -> "body.series.0.values.3".

    Operations name their JSON body parameter `body` and their query-string
    model `params`; ninja may put that name after the source, where it means
    nothing to the client.
    """
    parts = list(loc)
    if len(parts) >= 2 and (parts[0], parts[1]) in _PARAMETER_NAMES:
        parts.pop(1)
    return ".".join(str(p) for p in parts)


# Metric values are numbers or text (runs.api.schemas.SeriesBody): pydantic reports a bad
# value under each branch of that union; the number branch's report is the one to show.
_NUMBER_BRANCH = "list[float]"
_TEXT_BRANCH = "list[union[str,bool]]"


def _one_branch(errors: list[dict]) -> list[dict]:
    out = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if _TEXT_BRANCH in loc:
            continue
        if _NUMBER_BRANCH in loc:
            err = {**err, "loc": tuple(p for p in loc if p != _NUMBER_BRANCH)}
        out.append(err)
    return out


def validation_message(errors: list[dict]) -> str:
    """Ninja's validation errors as one line naming each field and its problem."""
    problems = []
    for err in _one_branch(errors):
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "missing" and loc in (("body",), ("body", "body")):
            problems.append("a JSON object body is required")
            continue
        if err.get("type") == "missing" and len(loc) == 2 and loc[0] in ("file", "form"):
            problems.append(f"{loc[1]}: required, as a part of a multipart/form-data body")
            continue
        problems.append(f"{_field_path(loc)}: {err.get('msg', 'invalid')}")
    message = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    if len(problems) > MAX_LISTED_PROBLEMS:
        message += f" (and {len(problems) - MAX_LISTED_PROBLEMS} more problems)"
    return message


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, StudioError):  # the parser's own refusal (runs.api.parser)
        return error_response(cause.http_status, cause.code, cause.message)
    if isinstance(cause, json.JSONDecodeError):
        content_type = request.content_type or ""
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            message = f"the body must be JSON (Content-Type: application/json), not {content_type}"
            return error_response(400, "BadRequest", message)
        return error_response(400, "BadRequest", f"malformed JSON body: {cause}")
    if isinstance(cause, UnicodeDecodeError):
        return error_response(400, "BadRequest", "the body is not UTF-8 encoded JSON")
    if exc.status_code == 400 and cause is not None:
        return error_response(400, "BadRequest", f"cannot parse the request body: {cause}")
    code = _CODE_BY_STATUS.get(exc.status_code, "BadRequest")
    return error_response(exc.status_code, code, str(exc))


def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if request.headers.get("Authorization"):
        message = "the token is not valid (revoked, mistyped, or its user is inactive)"
        return _invalid_token(error_response(401, "Unauthorized", message))
    message = "authentication required: send the header 'Authorization: Bearer <token>'"
    return error_response(401, "Unauthorized", message)


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error_response(exc.status, exc.code, exc.message)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _studio_error(request: HttpRequest, exc: StudioError) -> HttpResponse:
    response = error_response(exc.http_status, exc.code, exc.message)
    # A 401 from the domain is a token that is no longer good (revoked, expired).
    return _invalid_token(response) if exc.http_status == 401 else response


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Input that slipped past validation is still the client's error; anything else is ours."""
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "PayloadTooLarge", f"the request body is too large: {exc}")
    if isinstance(exc, TooManyFieldsSent | MultiPartParserError | SuspiciousOperation):
        return error_response(400, "BadRequest", f"cannot parse the request: {exc}")
    if isinstance(exc, DjangoValidationError):
        return error_response(400, "ValidationError", "; ".join(exc.messages))
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "ServerError", "the server failed; the error has been logged")


def install(api: NinjaAPI) -> None:
    """Answer every exception the operations raise in the one error shape."""
    api.add_exception_handler(ApiError, _api_error)
    api.add_exception_handler(StudioError, _studio_error)
    api.add_exception_handler(
        Http404,
        lambda request, exc: error_response(404, "NotFound", str(exc) or "not found"),
    )
    api.add_exception_handler(
        NinjaValidationError,
        lambda request, exc: error_response(400, "BadRequest", validation_message(exc.errors)),
    )
    api.add_exception_handler(AuthenticationError, _authentication_error)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Exception, _unexpected)


def json_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Give ninja's own answers outside operations (405, the bare root's 404) the error shape."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return not_found(request)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            out = error_response(
                405, "MethodNotAllowed", f"{request.method} is not allowed here; use {allowed}"
            )
            out["Allow"] = allowed
            return out
        return response

    return wrapped


def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any path under /api/ that no operation serves."""
    return error_response(
        404, "NotFound", f"no API endpoint at {request.path}; the endpoints are listed at /api/docs"
    )
