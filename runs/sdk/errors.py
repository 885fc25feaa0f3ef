"""The SDK's exceptions: one class per kind of API answer, each carrying the API's error."""

from __future__ import annotations

import datetime
import email.utils


class StudioError(Exception):
    """Anything the SDK or the API refused; `code` and `message` come from the API's answer.

    The API answers every error as `{"error": {"code", "message"}}`; `status` is
    the HTTP status (None when no answer came back).
    """

    default_code = "StudioError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.status = status
        # Seconds the studio asked to wait before sending again (429/503 Retry-After).
        self.retry_after = retry_after

    def __str__(self) -> str:
        prefix = f"{self.status} {self.code}" if self.status else self.code
        return f"{prefix}: {self.message}"


class ConfigError(StudioError):
    """The SDK does not know which studio or workspace to talk to, or with which token."""

    default_code = "ConfigError"


class StudioConnectionError(StudioError):
    """The studio could not be reached (or stopped answering) after the retries."""

    default_code = "ConnectionError"


class BadRequestError(StudioError):
    """400: the request was malformed or invalid (the message names the field)."""

    default_code = "BadRequest"


class AuthError(StudioError):
    """401: no token, or a token the studio does not accept."""

    default_code = "Unauthorized"


class ForbiddenError(AuthError):
    """403: the token's user may not do this (a reader writing, a run-scoped token)."""

    default_code = "Forbidden"


class NotFoundError(StudioError):
    """404: no such workspace, experiment, run, metric or file (for this token)."""

    default_code = "NotFound"


class ConflictError(StudioError):
    """409: the status machine refused a move, or an immutable property differs."""

    default_code = "Conflict"


class PayloadTooLargeError(StudioError):
    """413: a batch or a file over the studio's limits."""

    default_code = "PayloadTooLarge"


class TooManyRequestsError(StudioError):
    """429: the token's request budget is spent for now; `retry_after` says for how long."""

    default_code = "TooManyRequests"


class ServerError(StudioError):
    """5xx (or another unexpected answer) after the retries."""

    default_code = "ServerError"


_BY_STATUS: dict[int, type[StudioError]] = {
    400: BadRequestError,
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: TooManyRequestsError,
}
# The longest Retry-After honoured: a wait beyond it is taken as this (a misconfigured
# proxy must not park a training run for a day).
MAX_RETRY_AFTER = 600.0


def retry_after(value: str | None) -> float | None:
    """A Retry-After header's seconds (a number, or an HTTP date), capped; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def error_for(
    status: int, body: object, fallback: str = "", *, wait: float | None = None
) -> StudioError:
    """The exception for an HTTP error answer, from the API's `{"error": {...}}` body;
    `wait`: the answer's Retry-After, in seconds."""
    code = message = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        message = body["error"].get("message")
    if not message:
        message = fallback.strip()[:200] or f"HTTP {status}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else StudioError)
    return cls(str(message), code=str(code) if code else None, status=status, retry_after=wait)
