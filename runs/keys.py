"""Keys and values of tags, properties and metric names: the rules every writer and the
run list's state check."""

from __future__ import annotations

from runs.exceptions import ValidationFailed
from runs.text import check_text

MAX_KEY = 255
MAX_VALUE = 1000


def check_key(kind: str, key) -> str:
    """A tag or property key: a non-empty string of at most 255 characters."""
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed(f"{kind} keys must be non-empty strings, not {key!r}")
    if len(key) > MAX_KEY:
        raise ValidationFailed(
            f"{kind} key {key[:40]!r}… is {len(key)} characters; the limit is {MAX_KEY}"
        )
    check_text(key, what=f"{kind} key {key[:40]!r}")
    return key.strip()


def check_value(kind: str, key: str, value, *, nullable: bool) -> str | None:
    """A tag or property value: text (numbers and booleans are turned into text)."""
    if value is None:
        if nullable:
            return None
        raise ValidationFailed(f"{kind} {key!r} needs a value")
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int | float):
        value = repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise ValidationFailed(
            f"{kind} {key!r}: values must be text or numbers, not {type(value).__name__}"
        )
    if len(value) > MAX_VALUE:
        raise ValidationFailed(
            f"{kind} {key!r} value is {len(value)} characters; the limit is {MAX_VALUE}"
        )
    return check_text(value, what=f"{kind} {key!r} value")
