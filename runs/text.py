"""Text the studio stores: no control characters, no NUL, no unpaired surrogates.

Names, tags, properties and the like are one line: every control character is
refused (C0, DEL and C1). Text people write in lines (descriptions, error
messages, text metric values) may hold tabs and line breaks, nothing else. A NUL
is refused everywhere: PostgreSQL cannot store one in a text column, so SQLite
must not either. An unpaired surrogate (JSON's `"\\ud800"` decodes to one) is no
character at all and no database encodes it.
"""

from __future__ import annotations

import re

from runs.exceptions import ValidationFailed

_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Tab, line feed and carriage return (a browser's text area sends CRLF) are allowed.
_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What the database cannot store, whatever the field: checked on whole requests.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def describe(char: str) -> str:
    """'a NUL character (U+0000)', 'a control character (U+0007)', ..."""
    code = f"U+{ord(char):04X}"
    if char == "\x00":
        return f"a NUL character ({code})"
    if "\ud800" <= char <= "\udfff":
        return f"an unpaired surrogate ({code})"
    return f"a control character ({code})"


def check_text(value: str, *, what: str, lines: bool = False) -> str:
    """`value` unchanged, or ValidationFailed naming `what`, the character and where it is.

    With `lines`, tabs and line breaks are allowed."""
    found = (_LINES if lines else _ONE_LINE).search(value)
    if found is None:
        return value
    allowed = " (tabs and line breaks are allowed)" if lines else ""
    raise ValidationFailed(
        f"{what} contains {describe(found.group())} at character {found.start() + 1}: "
        f"control characters are not allowed{allowed}"
    )


def check_texts(values, *, what: str, lines: bool = False) -> None:
    """check_text for each of `values` (None is skipped)."""
    for value in values:
        if value is not None:
            check_text(value, what=what, lines=lines)


def find_unstorable(data, path: str = "") -> tuple[str, str] | None:
    """The first place in JSON-like `data` (keys included) holding a character no
    database stores: (".a.0", "\\x00"), or None."""
    if isinstance(data, str):
        found = UNSTORABLE.search(data)
        return (path, found.group()) if found else None
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and (found := UNSTORABLE.search(key)):
                return (f"{path}.{key!r}", found.group())
            if (inner := find_unstorable(value, f"{path}.{key}")) is not None:
                return inner
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            if (inner := find_unstorable(value, f"{path}.{i}")) is not None:
                return inner
    return None


# Terminal colour and cursor sequences (ESC [ ... letter) in a script's output.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def printable(text: str) -> str:
    """`text` without terminal sequences and control characters (tabs and line breaks
    kept): a script's output made fit to store as an error message."""
    return _LINES.sub("", _ANSI.sub("", text))
