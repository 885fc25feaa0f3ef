"""Page forms: the run list's query string and its bulk actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from runs.exceptions import ValidationFailed
from runs.keys import check_key, check_value
from runs.list_state import MAX_VALUE_CHARS, MAX_VALUES, ListState, ListStateError

MAX_BULK_RUNS = 1000


class RunListForm:
    """The run list's query string as a page reads it: `ListState.parse`, with its errors
    per parameter for the page's error box and the text the user typed, which the search
    and filter boxes keep whatever is wrong."""

    def __init__(self, data: QueryDict | dict[str, Any]):
        self.data = data
        self.state: ListState | None = None
        self.errors: dict[str, list[str]] = {}
        self.filter_error_position: int | None = None
        self._messages: list[str] = []
        try:
            self.state = ListState.parse(data)
        except ListStateError as exc:
            self.errors = exc.errors
            self.filter_error_position = exc.filter_position
            self._messages = exc.messages()

    def is_valid(self) -> bool:
        return self.state is not None

    def error_messages(self) -> list[str]:
        """`parameter: message` lines for the page's error box."""
        return list(self._messages)

    def typed(self, name: str) -> str:
        """What the request says for `name` (its last value), as typed."""
        value = self.data.get(name, "")
        return "" if value is None else str(value)


class MultiValueField(forms.Field):
    """A repeatable parameter (runs=a&runs=b): a tuple of non-empty strings."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_values: int = MAX_VALUES, max_chars: int = MAX_VALUE_CHARS, **kw):
        kw.setdefault("required", False)
        super().__init__(**kw)
        self.max_values = max_values
        self.max_chars = max_chars

    def to_python(self, value) -> tuple[str, ...]:
        values = [v.strip() for v in (value or []) if v and v.strip()]
        if len(values) > self.max_values:
            raise forms.ValidationError(f"at most {self.max_values} values, not {len(values)}")
        for v in values:
            if len(v) > self.max_chars:
                raise forms.ValidationError(
                    f"{v[:30]!r}… is {len(v)} characters; the limit is {self.max_chars}"
                )
            if any(ord(c) < 32 for c in v):
                raise forms.ValidationError(f"{v[:30]!r} contains a control character")
        return tuple(dict.fromkeys(values))


def _error_lines(form: forms.Form) -> list[str]:
    """`field: message` lines (a message that already names its field keeps its words)."""
    out = []
    for name, errors in form.errors.items():
        for error in errors:
            out.append(error if name == "__all__" or error.startswith(name) else f"{name}: {error}")
    return out


def chart_from_fields(data: QueryDict) -> dict:
    """The chart an "Add chart" form describes (`type`, `metric`, `x`, `y`, `dimensions`,
    `color`, `logY`, `title`); runs.list_state.parse_charts validates it with the others."""
    kind = data.get("type", "")
    chart: dict = {"type": kind}
    if data.get("title", "").strip():
        chart["title"] = data["title"]
    if kind in ("line", "bar"):
        chart["metric"] = data.get("metric", "")
    elif kind == "scatter":
        chart["x"], chart["y"] = data.get("x", ""), data.get("y", "")
    elif kind == "parallel":
        chart["dimensions"] = [d for d in data.getlist("dimensions") if d]
        if data.get("color"):
            chart["color"] = data["color"]
    if kind in ("line", "scatter") and data.get("logY"):
        chart["logY"] = True
    return chart


class BulkForm(forms.Form):
    """One bulk action over selected runs: add or remove a tag, cancel, or undo a tag change."""

    ACTIONS = ("tag-add", "tag-remove", "cancel", "undo")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    runs = MultiValueField(max_values=MAX_BULK_RUNS)
    key = forms.CharField(required=False, max_length=300, strip=False)
    value = forms.CharField(required=False, max_length=1100, strip=False)
    token = forms.CharField(required=False, max_length=200_000)

    def clean(self) -> dict:
        data = super().clean()
        action = data.get("action")
        if action in ("tag-add", "tag-remove", "cancel") and not data.get("runs"):
            raise forms.ValidationError("select at least one run")
        if action in ("tag-add", "tag-remove"):
            try:
                data["key"] = check_key("tag", data.get("key", ""))
                value = data.get("value", "")
                data["value"] = (
                    check_value("tag", data["key"], value, nullable=True) if value else None
                )
            except ValidationFailed as exc:
                raise forms.ValidationError(exc.message) from None
        if action == "undo" and not data.get("token"):
            raise forms.ValidationError("nothing to undo")
        return data

    def error_messages(self) -> list[str]:
        return _error_lines(self)
