"""Errors the SDK raises; API errors carry the server's code and message."""

from __future__ import annotations


class StudioError(Exception):
    """Something the studio refused, or could not be reached for."""

    def __init__(self, message: str, *, code: str = "Error", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code != "Error" else self.message


class ConfigError(StudioError):
    """No or bad configuration (URL, token, workspace)."""


class AuthError(StudioError):
    """The token is missing, wrong, or may not do this (401/403)."""


class NotFoundError(StudioError):
    """No such workspace, run, metric or file (404)."""


class ConflictError(StudioError):
    """A refused status move or an immutable property (409)."""


class ValidationError(StudioError):
    """The request was malformed or broke a rule (400, 413)."""


class ServerUnavailable(StudioError):
    """The server could not be reached, or kept failing, within the retry budget."""


def from_response(status: int, payload: object, fallback: str) -> StudioError:
    """The error for an API answer `{"error": {"code", "message"}}` with HTTP `status`."""
    code, message = "Error", fallback
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code = str(payload["error"].get("code") or code)
        message = str(payload["error"].get("message") or message)
    cls = {
        401: AuthError,
        403: AuthError,
        404: NotFoundError,
        409: ConflictError,
    }.get(status, ValidationError if 400 <= status < 500 else ServerUnavailable)
    return cls(message, code=code, status=status)
