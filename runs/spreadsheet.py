"""CSV cells a spreadsheet will not run (OWASP, "CSV Injection").

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a
formula to Excel, LibreOffice and Google Sheets: run names, tags, properties and
descriptions are anyone's text, so such text gets a leading `'` (shown as text,
not run). The csv module quotes cells that need it. Numbers are written as
numbers: a metric of -0.5 stays -0.5. `line_writer()` writes the lines of a streamed
CSV answer one row at a time.
"""

from __future__ import annotations

import csv
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, with text a spreadsheet would read as a formula prefixed with `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: list[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


class _Echo:
    """A file-like object whose write returns the line: csv.writer without a buffer."""

    def write(self, value: str) -> str:
        return value


def line_writer():
    """A csv.writer whose writerow() returns the line it wrote (for streamed responses)."""
    return csv.writer(_Echo())
