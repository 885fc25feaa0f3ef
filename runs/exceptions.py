"""Domain errors. Services raise these; the API and views map them to 4xx."""


class StudioError(Exception):
    """Base of the domain errors; `code` is the API's error code."""

    code = "BadRequest"
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidTransition(StudioError):
    code = "InvalidTransition"
    http_status = 409

    def __init__(self, current: str, requested: str):
        super().__init__(f"cannot move a run from {current} to {requested}")
        self.current = current
        self.requested = requested


class PropertyConflict(StudioError):
    code = "PropertyConflict"
    http_status = 409

    def __init__(self, key: str, existing: str, new: str):
        super().__init__(
            f"property {key!r} is immutable: it is {existing!r}, cannot set it to {new!r}"
        )
        self.key = key


class ValidationFailed(StudioError):
    """Input that parses but breaks a rule (a too-long tag key, an empty name)."""

    code = "ValidationError"
    http_status = 400


class PayloadTooLarge(StudioError):
    code = "PayloadTooLarge"
    http_status = 413


class NotFound(StudioError):
    code = "NotFound"
    http_status = 404


class Forbidden(StudioError):
    """A member whose role or ownership does not allow the change (a reader, another's view)."""

    code = "Forbidden"
    http_status = 403


class Conflict(StudioError):
    """A change that clashes with the current state (an edit based on an old version)."""

    code = "Conflict"
    http_status = 409


class BadFilter(StudioError):
    """A filter-language text that does not parse (the message has the position)."""

    code = "BadFilter"
    http_status = 400


class Unauthorized(StudioError):
    """A credential that is no longer good: a revoked or expired API token."""

    code = "Unauthorized"
    http_status = 401


class StorageFull(StudioError):
    """The file storage has no space left (ENOSPC, a quota): nothing was stored."""

    code = "InsufficientStorage"
    http_status = 507
