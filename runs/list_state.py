"""The run list's state: what its query string says, as one immutable value.

Every page of a run list (all runs, an experiment's runs, a saved view), its
CSV export, children, live cells and count, and saved views read their state
here. `ListState.parse(query)` validates every parameter (a `ListStateError`
says what is wrong with each); `canonical()` is what a saved view stores;
`with_()`, `without()` and `querystring()` print any variation (sort by X,
page N, without chart K). Nothing here knows about requests, templates or SQL.

Parameters (DESIGN.md, "Studio pages and URL state"): `q`, `filter`, the
repeatable `status`, `experiment`, `target`, `submitter`, `tag`,
`created_after`, `created_before`, `sort`, `cols`, `per_page`, and beside the
state, `charts` (a JSON list of chart specs) and `page`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlencode

from django.utils.dateparse import parse_date, parse_datetime

from runs import query
from runs.exceptions import StudioError, ValidationFailed
from runs.keys import check_key
from runs.lifecycle import Status

# The state's parameters, in the order its query string lists them: what a saved view keeps.
STATE_PARAMS = (
    "q",
    "filter",
    "status",
    "experiment",
    "target",
    "submitter",
    "tag",
    "created_after",
    "created_before",
    "sort",
    "cols",
    "per_page",
)
# Every parameter of a run list's URL: its state, the charts above it, the page.
LIST_PARAMS = (*STATE_PARAMS, "charts", "page")
# Parameters that may repeat (?status=Failed&status=Canceled), and the chips they make.
MULTI_PARAMS = ("status", "experiment", "target", "submitter", "tag")
# ListState's attribute for each repeatable parameter.
_MULTI_ATTRS = {
    "status": "statuses",
    "experiment": "experiments",
    "target": "targets",
    "submitter": "submitters",
    "tag": "tags",
}

PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000
MAX_Q = 500
MAX_FILTER = query.MAX_LENGTH
MAX_VALUES = 20
MAX_VALUE_CHARS = 255
MAX_COLUMNS = 30
MAX_COLUMN_CHARS = 260
MAX_SORT = 300
MAX_DATE = 40
MAX_CHARTS_TEXT = 8000

# Column key -> header. `id` (the run link) is always the first column.
BUILTIN_COLUMNS: dict[str, str] = {
    "id": "Run",
    "experiment": "Experiment",
    "status": "Status",
    "submitter": "Submitted by",
    "target": "Target",
    "created": "Created",
    "started": "Started",
    "ended": "Ended",
    "duration": "Duration",
    "tags": "Tags",
    "description": "Description",
}
DEFAULT_COLUMNS = (
    "id",
    "experiment",
    "status",
    "submitter",
    "target",
    "created",
    "duration",
    "tags",
    "description",
)
# The filter language's identifiers, accepted as synonyms in `sort` and `cols`.
ALIASES = {
    "runId": "id",
    "displayName": "name",
    "submittedBy": "submitter",
    "compute_target": "target",
}
DYNAMIC_PREFIXES = ("metrics.", "properties.", "tags.")
# The keys a list sorts by besides metrics.<name>, properties.<key> and tags.<key>
# (`name` is the display name; `status` sorts in lifecycle order). The JSON API's
# run list takes the same keys.
SORT_KEYS = (
    "id",
    "name",
    "experiment",
    "status",
    "submitter",
    "target",
    "created",
    "started",
    "ended",
    "duration",
)
DEFAULT_SORT = "-created"


def normalise_key(key: str) -> str:
    """A column or sort key with the filter language's synonyms mapped to ours."""
    return ALIASES.get(key, key)


def is_dynamic(key: str) -> bool:
    """`metrics.<name>`, `properties.<key>` or `tags.<key>`."""
    prefix, _, name = key.partition(".")
    return f"{prefix}." in DYNAMIC_PREFIXES and bool(name)


def sort_is_valid(key: str) -> bool:
    """Whether `key` (without the `-`) is one a list sorts by."""
    return key in SORT_KEYS or is_dynamic(key)


def parse_sort(raw: str) -> str:
    """A sort as given (`-metrics.acc`, `displayName`) in our words; DEFAULT_SORT for none.
    ValidationFailed naming what a list sorts by otherwise."""
    raw = raw.strip()
    if not raw:
        return DEFAULT_SORT
    desc = raw.startswith("-")
    key = normalise_key(raw.removeprefix("-"))
    if not sort_is_valid(key):
        raise ValidationFailed(
            f"cannot sort by {raw[:60]!r}; use a column (created, status, duration, ...) "
            "or metrics.<name>, properties.<key>, tags.<key>, with - for descending"
        )
    return f"-{key}" if desc else key


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str  # builtin | metric | property | tag
    name: str = ""  # the metric name, property key or tag key

    @property
    def sort_key(self) -> str | None:
        if self.key in ("tags", "description"):
            return None
        return "name" if self.key == "id" else self.key

    @property
    def numeric(self) -> bool:
        return self.kind == "metric" or self.key == "duration"

    @property
    def live(self) -> bool:
        """Whether polling refreshes this column while the run is active."""
        return self.kind == "metric" or self.key in {"status", "duration", "started", "ended"}


def column_for(key: str) -> Column:
    """The column of a (validated) key."""
    if key in BUILTIN_COLUMNS:
        return Column(key, BUILTIN_COLUMNS[key], "builtin")
    prefix, _, name = key.partition(".")
    kind = {"metrics": "metric", "properties": "property", "tags": "tag"}[prefix]
    return Column(key, name, kind, name)


# --- charts ---------------------------------------------------------------------------

MAX_CHARTS = 12
MAX_DIMENSIONS = 12
MAX_TITLE = 100
CHART_TYPES = ("line", "bar", "scatter", "parallel")
# The keys each chart type takes besides `type` and `title`; booleans default to false.
CHART_KEYS = {
    "line": ("metric", "logY", "smoothing"),
    "bar": ("metric",),
    "scatter": ("x", "y", "logX", "logY"),
    "parallel": ("dimensions", "color"),
}


@dataclass(frozen=True)
class ChartSpec:
    """One chart above a list, validated; `as_dict()` is its canonical JSON form.

    `{"type": "line", "metric": "loss", "logY"?: bool, "smoothing"?: 0..0.99}`,
    `{"type": "bar", "metric": "acc"}`,
    `{"type": "scatter", "x": "properties.lr", "y": "metrics.acc", "logX"?, "logY"?}`,
    `{"type": "parallel", "dimensions": ["properties.lr", "metrics.acc"], "color"?: field}`;
    each may have a `title`.
    """

    type: str
    title: str = ""
    metric: str = ""
    x: str = ""
    y: str = ""
    dimensions: tuple[str, ...] = ()
    color: str = ""
    log_x: bool = False
    log_y: bool = False
    smoothing: float = 0.0

    @classmethod
    def parse(cls, raw: Any, index: int = 0) -> ChartSpec:
        """A chart spec as JSON gives it; ValidationFailed saying which key is wrong."""
        where = f"charts.{index}"
        if not isinstance(raw, Mapping):
            raise ValidationFailed(f"{where}: a chart is an object with a type")
        kind = raw.get("type")
        if kind not in CHART_TYPES:
            raise ValidationFailed(
                f"{where}.type: use one of {', '.join(CHART_TYPES)}, not {kind!r}"
            )
        allowed = ("type", "title", *CHART_KEYS[kind])
        unknown = [k for k in raw if k not in allowed]
        if unknown:
            raise ValidationFailed(
                f"{where}: a {kind} chart has no {str(unknown[0])[:40]!r}; "
                f"it takes {', '.join(allowed)}"
            )
        spec: dict[str, Any] = {"type": kind}
        title = raw.get("title")
        if title is not None:
            if not isinstance(title, str) or len(title) > MAX_TITLE:
                raise ValidationFailed(f"{where}.title: text of at most {MAX_TITLE} characters")
            if any(ord(c) < 32 for c in title):
                raise ValidationFailed(f"{where}.title contains a control character")
            spec["title"] = title.strip()
        if kind in ("line", "bar"):
            if "metric" not in raw:
                raise ValidationFailed(f"{where}: a {kind} chart needs a metric")
            spec["metric"] = _metric_name(f"{where}.metric", raw["metric"])
        if kind == "scatter":
            for axis in ("x", "y"):
                if axis not in raw:
                    raise ValidationFailed(f"{where}: a scatter chart needs x and y")
                spec[axis] = _chart_field(f"{where}.{axis}", raw[axis])
        if kind == "parallel":
            dims = raw.get("dimensions")
            if not isinstance(dims, list) or not 2 <= len(dims) <= MAX_DIMENSIONS:
                raise ValidationFailed(
                    f"{where}.dimensions: a list of 2 to {MAX_DIMENSIONS} "
                    "metrics.<name> or properties.<key>"
                )
            fields = [_chart_field(f"{where}.dimensions.{i}", d) for i, d in enumerate(dims)]
            spec["dimensions"] = tuple(dict.fromkeys(fields))
            if raw.get("color") is not None:
                spec["color"] = _chart_field(f"{where}.color", raw["color"])
        for key, attr in (("logX", "log_x"), ("logY", "log_y")):
            if key in raw:
                if not isinstance(raw[key], bool):
                    raise ValidationFailed(f"{where}.{key}: true or false")
                spec[attr] = raw[key]
        if raw.get("smoothing") is not None:
            value = raw["smoothing"]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= 0.99
            ):
                raise ValidationFailed(f"{where}.smoothing: a number from 0 to 0.99")
            spec["smoothing"] = round(float(value), 2)
        return cls(**spec)

    def as_dict(self) -> dict[str, Any]:
        """The canonical JSON form: defaults left out, keys in a fixed order."""
        out: dict[str, Any] = {"type": self.type}
        if self.title:
            out["title"] = self.title
        if self.metric:
            out["metric"] = self.metric
        if self.x:
            out["x"], out["y"] = self.x, self.y
        if self.dimensions:
            out["dimensions"] = list(self.dimensions)
        if self.color:
            out["color"] = self.color
        if self.log_x:
            out["logX"] = True
        if self.log_y:
            out["logY"] = True
        if self.smoothing:
            out["smoothing"] = self.smoothing
        return out

    @property
    def label(self) -> str:
        """The chart's caption: its title, or what it plots."""
        return chart_label(self.as_dict())


def _metric_name(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"{where}: a metric name is text")
    try:
        return check_key("metric", value)
    except StudioError as exc:
        raise ValidationFailed(f"{where}: {exc.message}") from None


def _chart_field(where: str, value: Any) -> str:
    """`metrics.<name>` or `properties.<key>`: what bar, scatter and parallel charts plot."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{where}: expected metrics.<name> or properties.<key>")
    prefix, dot, name = value.partition(".")
    if not dot or prefix not in ("metrics", "properties") or not name:
        raise ValidationFailed(f"{where}: {value[:60]!r} is not metrics.<name> or properties.<key>")
    try:
        check_key("metric" if prefix == "metrics" else "property", name)
    except StudioError as exc:
        raise ValidationFailed(f"{where}: {exc.message}") from None
    return value


def parse_charts(raw: Any) -> tuple[ChartSpec, ...]:
    """Chart specs as JSON gives them (a list; None for none), validated."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValidationFailed("charts: a list of chart specs")
    if len(raw) > MAX_CHARTS:
        raise ValidationFailed(f"charts: at most {MAX_CHARTS} charts, not {len(raw)}")
    return tuple(ChartSpec.parse(c, i) for i, c in enumerate(raw))


def charts_json(charts: Iterable[ChartSpec]) -> list[dict[str, Any]]:
    """Charts in their canonical JSON form (what a saved view stores)."""
    return [c.as_dict() for c in charts]


def charts_text(charts: Iterable[ChartSpec]) -> str:
    """Charts as the run list's `charts` parameter (canonical JSON; "" for none)."""
    specs = charts_json(charts)
    return json.dumps(specs, separators=(",", ":"), ensure_ascii=False) if specs else ""


def chart_label(chart: Mapping[str, Any]) -> str:
    """A chart's caption (of its canonical dict): its title, or what it plots."""
    if chart.get("title"):
        return chart["title"]
    if chart["type"] == "line":
        return f"{chart['metric']} over steps"
    if chart["type"] == "bar":
        return f"Latest {chart['metric']}"
    if chart["type"] == "scatter":
        return f"{chart['y']} by {chart['x']}"
    return f"Parallel: {', '.join(chart['dimensions'])}"


# --- the state ------------------------------------------------------------------------


class ListStateError(ValidationFailed):
    """A query string the run list refuses: `errors` maps each parameter (or `__all__`)
    to what is wrong with it; `filter_position` is where the filter stopped parsing."""

    def __init__(self, errors: dict[str, list[str]], filter_position: int | None = None):
        self.errors = errors
        self.filter_position = filter_position
        super().__init__("; ".join(self.messages()))

    def messages(self) -> list[str]:
        """`parameter: message` lines (a message that already names its parameter keeps
        its words)."""
        out = []
        for name, errors in self.errors.items():
            for error in errors:
                plain = name == "__all__" or error.startswith(name)
                out.append(error if plain else f"{name}: {error}")
        return out


@dataclass(frozen=True)
class ListState:
    """The run list's whole state: what its query string says, validated."""

    q: str = ""
    # The filter as written, and parsed (runs.query), or "" and None.
    filter: str = ""
    filter_node: query.Node | None = field(default=None, compare=False)
    statuses: tuple[str, ...] = ()
    experiments: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    submitters: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # "key:value" or "key"
    created_after: datetime | None = None
    created_before: datetime | None = None
    # The dates as written, for the query string.
    created_after_text: str = ""
    created_before_text: str = ""
    sort: str = DEFAULT_SORT
    cols: tuple[str, ...] = DEFAULT_COLUMNS
    page: int = 1
    per_page: int = PER_PAGE
    # The charts above a plain list (a saved view keeps its own).
    charts: tuple[ChartSpec, ...] = ()

    # --- reading -----------------------------------------------------------------

    @classmethod
    def parse(cls, data: Any) -> ListState:
        """The state of a query string (a QueryDict, or a mapping of names to a value or a
        list of values); ListStateError with a message per bad parameter."""
        return _Parser(data).state()

    @classmethod
    def from_canonical(cls, state: Mapping[str, Any], *, charts: Any = None) -> ListState:
        """The state a saved view stored (canonical()), with its charts (their JSON)."""
        parsed = cls.parse(dict(_canonical_items(state)))
        return dataclasses.replace(parsed, charts=parse_charts(charts) if charts else ())

    # --- what it says -------------------------------------------------------------

    @property
    def filtering(self) -> bool:
        """Whether any condition narrows the list (then the tree shows matches)."""
        return bool(
            self.q
            or self.filter
            or self.statuses
            or self.experiments
            or self.targets
            or self.submitters
            or self.tags
            or self.created_after
            or self.created_before
        )

    @property
    def columns(self) -> list[Column]:
        return [column_for(k) for k in self.cols]

    @property
    def sort_desc(self) -> bool:
        return self.sort.startswith("-")

    @property
    def sort_field(self) -> str:
        return self.sort.lstrip("-")

    @property
    def charts_text(self) -> str:
        return charts_text(self.charts)

    def values_of(self, name: str) -> tuple[str, ...]:
        """The values of a repeatable parameter (`status`, `tag`, ...)."""
        return getattr(self, _MULTI_ATTRS[name])

    # --- variations ----------------------------------------------------------------

    def with_(self, **changes: Any) -> ListState:
        """This state with `changes`; any change but the page goes back to the first page."""
        if "page" not in changes:
            changes["page"] = 1
        if "filter" in changes:
            text = changes["filter"] or ""
            changes["filter"] = text
            changes["filter_node"] = query.parse(text) if text else None
        return dataclasses.replace(self, **changes)

    def without(self, name: str, value: str = "") -> ListState:
        """This state less one condition: a value of a repeatable parameter, a date, the
        search text or the filter (on the first page)."""
        if name in _MULTI_ATTRS:
            values = tuple(v for v in self.values_of(name) if v != value)
            return self.with_(**{_MULTI_ATTRS[name]: values})
        if name in ("created_after", "created_before"):
            return self.with_(**{name: None, f"{name}_text": ""})
        if name in ("q", "filter"):
            return self.with_(**{name: ""})
        raise ValueError(f"{name!r} is not a condition of the run list")

    def unfiltered(self) -> ListState:
        """The same columns, sort and page size without any condition or chart."""
        return ListState(sort=self.sort, cols=self.cols, per_page=self.per_page)

    def sorted_by(self, key: str) -> ListState:
        """A column header's state: sorted by `key`, descending first, then ascending."""
        return self.with_(sort=key if self.sort == f"-{key}" else f"-{key}")

    def without_chart(self, index: int) -> ListState:
        """This state less its chart `index` (on the first page)."""
        return self.with_(charts=self.charts[:index] + self.charts[index + 1 :])

    # --- printing ------------------------------------------------------------------

    def items(self, *, page: bool = True, charts: bool = True) -> list[tuple[str, str]]:
        """The query string's (name, value) pairs in canonical order; defaults left out."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        if self.filter:
            out.append(("filter", self.filter))
        for name in MULTI_PARAMS:
            out += [(name, v) for v in self.values_of(name)]
        if self.created_after_text:
            out.append(("created_after", self.created_after_text))
        if self.created_before_text:
            out.append(("created_before", self.created_before_text))
        if self.sort != DEFAULT_SORT:
            out.append(("sort", self.sort))
        if self.cols != DEFAULT_COLUMNS:
            out.append(("cols", ",".join(self.cols)))
        if self.per_page != PER_PAGE:
            out.append(("per_page", str(self.per_page)))
        if charts and self.charts:
            out.append(("charts", self.charts_text))
        if page and self.page != 1:
            out.append(("page", str(self.page)))
        return out

    def querystring(self) -> str:
        """`?...` of this state (`?` alone for the defaults)."""
        items = self.items()
        return "?" + urlencode(items) if items else "?"

    def canonical(self) -> dict[str, Any]:
        """What a saved view stores: the state without its page and charts, normalised
        so that the same screen is the same dict whatever the parameters' order (the
        search text's spaces collapsed, repeatable values sorted, the filter in the
        filter language's canonical text, defaults left out)."""
        state: dict[str, Any] = {}
        if self.q:
            state["q"] = " ".join(self.q.split())
        if self.filter_node is not None:
            state["filter"] = query.describe(self.filter_node)
        for name in MULTI_PARAMS:
            values = self.values_of(name)
            if values:
                state[name] = sorted(set(values))
        if self.created_after_text:
            state["created_after"] = self.created_after_text
        if self.created_before_text:
            state["created_before"] = self.created_before_text
        if self.sort != DEFAULT_SORT:
            state["sort"] = self.sort
        if tuple(self.cols) != DEFAULT_COLUMNS:
            state["cols"] = list(self.cols)
        if self.per_page != PER_PAGE:
            state["per_page"] = self.per_page
        return state


def canonical_items(state: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (name, value) pairs of a canonical state's query string."""
    return [(name, value) for name, values in _canonical_items(state) for value in values]


def _canonical_items(state: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for key in STATE_PARAMS:
        value = state.get(key)
        if value is None or value == "" or value == []:
            continue
        if key == "cols":
            out.append((key, [",".join(value)]))
        elif key in MULTI_PARAMS:
            out.append((key, list(value)))
        else:
            out.append((key, [str(value)]))
    return out


def state_querystring(state: Mapping[str, Any]) -> str:
    """`?...` of a canonical state (a saved view's)."""
    items = canonical_items(state)
    return "?" + urlencode(items) if items else "?"


# --- parsing --------------------------------------------------------------------------

_TRAILING_ZEROS = re.compile(r"\.0*\s*$")


class _Parser:
    """ListState.parse: each parameter read and checked; errors collected per parameter."""

    def __init__(self, data: Any):
        self.data = data
        self.errors: dict[str, list[str]] = {}
        self.filter_position: int | None = None

    def getlist(self, name: str) -> list[str]:
        data = self.data
        if hasattr(data, "getlist"):
            return data.getlist(name)
        value = data.get(name) if isinstance(data, Mapping) else None
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]

    def get(self, name: str) -> str:
        """The last value of a parameter, as a form field reads it."""
        values = self.getlist(name)
        return values[-1] if values else ""

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def read(self, name: str, reader, default):
        try:
            return reader(name)
        except ValidationFailed as exc:
            self.fail(name, exc.message)
            return default

    def state(self) -> ListState:
        values = {
            "q": self.read("q", self.q, ""),
            "filter": self.read("filter", self.filter, ("", None)),
            "statuses": self.read("status", self.statuses, ()),
            "experiments": self.read("experiment", self.multi, ()),
            "targets": self.read("target", self.multi, ()),
            "submitters": self.read("submitter", self.multi, ()),
            "tags": self.read("tag", self.tags, ()),
            "created_after": self.read("created_after", self.date, ("", None)),
            "created_before": self.read("created_before", self.date, ("", None)),
            "sort": self.read("sort", self.sort, DEFAULT_SORT),
            "cols": self.read("cols", self.cols, DEFAULT_COLUMNS),
            "page": self.read("page", self.page, None) or 1,
            "per_page": self.read("per_page", self.per_page, None) or PER_PAGE,
            "charts": self.read("charts", self.charts, ()),
        }
        after, before = values["created_after"][1], values["created_before"][1]
        if after and before and after >= before:
            self.fail("__all__", "created_after must be earlier than created_before")
        if self.errors:
            raise ListStateError(self.errors, self.filter_position)
        values["filter"], values["filter_node"] = values["filter"]
        values["created_after_text"], values["created_after"] = values["created_after"]
        values["created_before_text"], values["created_before"] = values["created_before"]
        return ListState(**values)

    def text(self, name: str, limit: int) -> str:
        value = self.get(name).strip()
        if "\x00" in value:
            raise ValidationFailed("Null characters are not allowed.")
        if len(value) > limit:
            raise ValidationFailed(
                f"Ensure this value has at most {limit} characters (it has {len(value)})."
            )
        return value

    def q(self, name: str) -> str:
        text = self.text(name, MAX_Q)
        if any(ord(c) < 32 for c in text):
            raise ValidationFailed("the search text contains a control character")
        return text

    def filter(self, name: str) -> tuple[str, query.Node | None]:
        text = self.text(name, MAX_FILTER)
        if not text:
            return "", None
        try:
            return text, query.parse(text)
        except query.QueryError as exc:
            self.filter_position = exc.position
            raise ValidationFailed(str(exc)) from None

    def multi(
        self, name: str, *, max_values: int = MAX_VALUES, max_chars: int = MAX_VALUE_CHARS
    ) -> tuple[str, ...]:
        """A repeatable parameter: its non-empty values, stripped, each once."""
        values = [v.strip() for v in self.getlist(name) if v and v.strip()]
        if len(values) > max_values:
            raise ValidationFailed(f"at most {max_values} values, not {len(values)}")
        for v in values:
            if "\x00" in v:
                raise ValidationFailed("Null characters are not allowed.")
            if len(v) > max_chars:
                raise ValidationFailed(
                    f"{v[:30]!r}… is {len(v)} characters; the limit is {max_chars}"
                )
            if any(ord(c) < 32 for c in v):
                raise ValidationFailed(f"{v[:30]!r} contains a control character")
        return tuple(dict.fromkeys(values))

    def statuses(self, name: str) -> tuple[str, ...]:
        statuses = self.multi(name)
        bad = [s for s in statuses if s not in Status.values]
        if bad:
            raise ValidationFailed(
                f"{bad[0][:40]!r} is not a status; use one of {', '.join(Status.values)}"
            )
        return statuses

    def tags(self, name: str) -> tuple[str, ...]:
        tags = self.multi(name, max_chars=MAX_VALUE_CHARS * 2)
        for spec in tags:
            if not spec.partition(":")[0].strip():
                raise ValidationFailed(f"{spec[:40]!r}: a tag filter is key or key:value")
        return tags

    def date(self, name: str) -> tuple[str, datetime | None]:
        """(the text as written, the time): an ISO date (midnight UTC) or date-time (UTC
        when it names no zone)."""
        text = self.text(name, MAX_DATE)
        if not text:
            return "", None
        value = None
        try:
            value = parse_datetime(text)
            if value is None:
                day = parse_date(text)
                value = datetime.combine(day, time.min) if day else None
        except ValueError:
            value = None
        if value is None:
            raise ValidationFailed(
                f"{name} must be an ISO date like 2026-01-31 (or a date-time), not {text[:40]!r}"
            )
        return text, value if value.tzinfo else value.replace(tzinfo=UTC)

    def sort(self, name: str) -> str:
        return parse_sort(self.text(name, MAX_SORT))

    def cols(self, name: str) -> tuple[str, ...]:
        keys: list[str] = []
        chunks = self.multi(name, max_values=MAX_COLUMNS, max_chars=MAX_COLUMNS * MAX_COLUMN_CHARS)
        for chunk in chunks:
            keys += [normalise_key(k.strip()) for k in chunk.split(",") if k.strip()]
        if not keys:
            return DEFAULT_COLUMNS
        if len(keys) > MAX_COLUMNS:
            raise ValidationFailed(f"at most {MAX_COLUMNS} columns, not {len(keys)}")
        for key in keys:
            if key == "name":
                continue
            if key not in BUILTIN_COLUMNS and not is_dynamic(key):
                raise ValidationFailed(
                    f"no column {key[:60]!r}; use {', '.join(BUILTIN_COLUMNS)}, "
                    "metrics.<name>, properties.<key> or tags.<key>"
                )
            if len(key) > MAX_COLUMN_CHARS:
                raise ValidationFailed(f"column {key[:40]!r}… is too long")
        keys = ["id" if k == "name" else k for k in keys]
        # The run link is always the first column.
        return ("id", *dict.fromkeys(k for k in keys if k != "id"))

    def whole(self, name: str, maximum: int) -> int | None:
        text = self.get(name).strip()
        if not text:
            return None
        try:
            value = int(_TRAILING_ZEROS.sub("", text))
        except ValueError:
            value = None
        if value is None or not 1 <= value <= maximum:
            raise ValidationFailed(f"a whole number from 1 to {maximum:,}, not {text[:20]!r}")
        return value

    def page(self, name: str) -> int | None:
        return self.whole(name, MAX_PAGE)

    def per_page(self, name: str) -> int | None:
        return self.whole(name, MAX_PER_PAGE)

    def charts(self, name: str) -> tuple[ChartSpec, ...]:
        text = self.text(name, MAX_CHARTS_TEXT)
        if not text:
            return ()
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):
            raise ValidationFailed(
                'a JSON list of charts, like [{"type": "line", "metric": "loss"}]'
            ) from None
        return parse_charts(raw)
