"""Page forms: the run list's query string and its bulk actions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

from django import forms
from django.http import QueryDict
from django.utils.dateparse import parse_date, parse_datetime

from runs import query
from runs.exceptions import ValidationFailed
from runs.selectors.run_list import (
    BUILTIN_COLUMNS,
    DEFAULT_COLUMNS,
    DEFAULT_SORT,
    MAX_PER_PAGE,
    PER_PAGE,
    RunListParams,
    is_dynamic,
    normalise_key,
    sort_is_valid,
)
from runs.services.saved_views import charts_text, normalise_charts
from runs.services.tags import check_key, check_value
from runs.status import Status

MAX_Q = 500
MAX_FILTER = 2000
MAX_VALUES = 20
MAX_VALUE_CHARS = 255
MAX_COLUMNS = 30
MAX_PAGE = 1_000_000
MAX_BULK_RUNS = 1000
MAX_CHARTS_TEXT = 8000


class MultiValueField(forms.Field):
    """A repeatable query parameter (?tag=a&tag=b): a tuple of non-empty strings."""

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


def _parse_when(text: str, *, name: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC when it names no zone)."""
    value = None
    try:
        value = parse_datetime(text)
        if value is None:
            day = parse_date(text)
            value = datetime.combine(day, time.min) if day else None
    except ValueError:
        value = None
    if value is None:
        raise forms.ValidationError(
            f"{name} must be an ISO date like 2026-01-31 (or a date-time), not {text[:40]!r}"
        )
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class RunListForm(forms.Form):
    """Every query parameter of the run list, validated; `params()` is the result."""

    q = forms.CharField(required=False, max_length=MAX_Q, strip=True)
    filter = forms.CharField(required=False, max_length=MAX_FILTER, strip=True)
    status = MultiValueField()
    experiment = MultiValueField()
    target = MultiValueField()
    submitter = MultiValueField()
    tag = MultiValueField(max_chars=MAX_VALUE_CHARS * 2)
    created_after = forms.CharField(required=False, max_length=40)
    created_before = forms.CharField(required=False, max_length=40)
    sort = forms.CharField(required=False, max_length=300)
    cols = MultiValueField(max_values=MAX_COLUMNS, max_chars=MAX_COLUMNS * 260)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    per_page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PER_PAGE)
    charts = forms.CharField(required=False, max_length=MAX_CHARTS_TEXT, strip=True)

    def clean_q(self) -> str:
        q = self.cleaned_data["q"]
        if any(ord(c) < 32 for c in q):
            raise forms.ValidationError("the search text contains a control character")
        return q

    def clean_filter(self) -> str:
        text = self.cleaned_data["filter"]
        self.filter_node = None
        if text:
            try:
                self.filter_node = query.parse(text)
            except query.QueryError as exc:
                self.filter_error_position = getattr(exc, "position", None)
                raise forms.ValidationError(str(exc)) from None
        return text

    def clean_status(self) -> tuple[str, ...]:
        statuses = self.cleaned_data["status"]
        bad = [s for s in statuses if s not in Status.values]
        if bad:
            raise forms.ValidationError(
                f"{bad[0][:40]!r} is not a status; use one of {', '.join(Status.values)}"
            )
        return statuses

    def clean_tag(self) -> tuple[str, ...]:
        tags = self.cleaned_data["tag"]
        for spec in tags:
            if not spec.partition(":")[0].strip():
                raise forms.ValidationError(f"{spec[:40]!r}: a tag filter is key or key:value")
        return tags

    def clean_created_after(self) -> datetime | None:
        text = self.cleaned_data["created_after"].strip()
        return _parse_when(text, name="created_after") if text else None

    def clean_created_before(self) -> datetime | None:
        text = self.cleaned_data["created_before"].strip()
        return _parse_when(text, name="created_before") if text else None

    def clean_sort(self) -> str:
        raw = self.cleaned_data["sort"].strip()
        if not raw:
            return DEFAULT_SORT
        desc = raw.startswith("-")
        key = normalise_key(raw.lstrip("-"))
        if not sort_is_valid(key):
            raise forms.ValidationError(
                f"cannot sort by {raw[:60]!r}; use a column (created, status, duration, ...) "
                "or metrics.<name>, properties.<key>, tags.<key>, with - for descending"
            )
        return f"-{key}" if desc else key

    def clean_cols(self) -> tuple[str, ...]:
        keys: list[str] = []
        for chunk in self.cleaned_data["cols"]:
            keys += [normalise_key(k.strip()) for k in chunk.split(",") if k.strip()]
        if not keys:
            return DEFAULT_COLUMNS
        if len(keys) > MAX_COLUMNS:
            raise forms.ValidationError(f"at most {MAX_COLUMNS} columns, not {len(keys)}")
        for key in keys:
            if key == "name":
                continue
            if key not in BUILTIN_COLUMNS and not is_dynamic(key):
                raise forms.ValidationError(
                    f"no column {key[:60]!r}; use {', '.join(BUILTIN_COLUMNS)}, "
                    "metrics.<name>, properties.<key> or tags.<key>"
                )
            if len(key) > 260:
                raise forms.ValidationError(f"column {key[:40]!r}… is too long")
        keys = ["id" if k == "name" else k for k in keys]
        # The run link is always the first column.
        return ("id", *dict.fromkeys(k for k in keys if k != "id"))

    def clean_charts(self) -> str:
        """A JSON list of chart specs (as a saved view keeps them), made canonical."""
        text = self.cleaned_data["charts"]
        if not text:
            return ""
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):
            raise forms.ValidationError(
                'a JSON list of charts, like [{"type": "line", "metric": "loss"}]'
            ) from None
        try:
            return charts_text(normalise_charts(raw))
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self) -> dict:
        data = super().clean()
        after, before = data.get("created_after"), data.get("created_before")
        if after and before and after >= before:
            raise forms.ValidationError("created_after must be earlier than created_before")
        return data

    def params(self) -> RunListParams:
        """The validated state (call after is_valid())."""
        d = self.cleaned_data
        return RunListParams(
            q=d["q"],
            filter=d["filter"],
            filter_node=getattr(self, "filter_node", None),
            statuses=d["status"],
            experiments=d["experiment"],
            targets=d["target"],
            submitters=d["submitter"],
            tags=d["tag"],
            created_after=d["created_after"],
            created_before=d["created_before"],
            created_after_text=self.data.get("created_after", "").strip(),
            created_before_text=self.data.get("created_before", "").strip(),
            sort=d["sort"],
            cols=d["cols"],
            page=d["page"] or 1,
            per_page=d["per_page"] or PER_PAGE,
            charts_text=d["charts"],
        )

    def error_messages(self) -> list[str]:
        """`field: message` lines for the page's error box."""
        return _error_lines(self)


def _error_lines(form: forms.Form) -> list[str]:
    """`field: message` lines (a message that already names its field keeps its words)."""
    out = []
    for name, errors in form.errors.items():
        for error in errors:
            out.append(error if name == "__all__" or error.startswith(name) else f"{name}: {error}")
    return out


def chart_from_fields(data: QueryDict) -> dict:
    """The chart an "Add chart" form describes (`type`, `metric`, `x`, `y`, `dimensions`,
    `color`, `logY`, `title`); normalise_charts validates it with the others."""
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
