"""The run list: roots of matching runs, a page at a time, with their matching trees.

Without a condition the list is the top-level runs. With one (free text,
filter language, structured filters, dates) it is the roots of the runs that
match, each followed by its matching descendants and the ancestors between
them; rows that are shown only to place a match in its tree are marked
`matches=False` (greyed in the page).

Query shapes, whatever the page size (see bench/README.md for the figures):
the trees counted up to COUNT_CAP (with a condition, the matching roots from
the conditions' indexes, and their ids when few), the page's ids in sort
order, the page's trees' children by status, their matching runs, the rows,
their tags, the column chooser names (cached). The exact total beyond the cap
is run_list_count, a request of its own.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    BooleanField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Concat, Now, Substr

from runs.markdown import first_line
from runs.models import Experiment, LatestMetric, Property, Run, Tag, Workspace
from runs.status import TERMINAL, Status

# The run list's state, in the order its query string lists them: what a saved view keeps.
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
PER_PAGE = 50
MAX_PER_PAGE = 200
# Trees (matching ones, or all roots) are counted up to this many with the page
# (further when a page past it is asked for); beyond, the page says "1,000+" and
# fetches the exact total in a second request (run_list_count), which reads every
# match: the table never waits for it.
COUNT_CAP = 1_000
# Up to this many matching trees (at most COUNT_CAP), the page is sorted from their
# ids; more are met in sort order instead (each root tested until the page is full,
# cheap when they are many: 1% of the roots or more at 100,000 runs).
FEW_MATCHES = 1_000
MAX_CHILDREN_SHOWN = 200
CHOOSER_RECENT_RUNS = 500
CHOOSER_CAP = 200
CHOOSER_CACHE_SECONDS = 30

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
# Sort key -> model field; duration is computed (SORT_EXPRESSIONS).
SORT_FIELDS = {
    "id": "id",
    "name": "display_name",
    "experiment": "experiment__name",
    "status": "status",
    "submitter": "submitted_by__username",
    "target": "compute_target",
    "created": "created",
    "started": "started",
    "ended": "ended",
}
NULLABLE_SORTS = {"submitter", "started", "ended", "duration"}
DEFAULT_SORT = "-created"
# The statuses in lifecycle order (Status.values builds a new list at each use).
LIFECYCLE = tuple(Status.values)
# Sorts before every run's created time (a stand-in where it does not matter).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The ordering every list ends with, so pages never shuffle.
TIEBREAK = (F("created").desc(), F("id").desc())


def normalise_key(key: str) -> str:
    """A column or sort key with the filter language's synonyms mapped to ours."""
    return ALIASES.get(key, key)


def is_dynamic(key: str) -> bool:
    prefix, _, name = key.partition(".")
    return f"{prefix}." in DYNAMIC_PREFIXES and bool(name)


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


@dataclass(frozen=True)
class RunListParams:
    """The run list's whole state: what its query string says, validated."""

    q: str = ""
    filter: str = ""
    # The parsed filter (runs.query), or None.
    filter_node: Any = field(default=None, compare=False)
    statuses: tuple[str, ...] = ()
    experiments: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    submitters: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # "key:value" or "key"
    created_after: datetime | None = None
    created_before: datetime | None = None
    # Original text of the dates, for the query string.
    created_after_text: str = ""
    created_before_text: str = ""
    sort: str = DEFAULT_SORT
    cols: tuple[str, ...] = DEFAULT_COLUMNS
    page: int = 1
    per_page: int = PER_PAGE
    # The charts above the list (plain lists; a saved view keeps its own), canonical JSON.
    charts_text: str = ""

    @property
    def charts(self) -> list[dict[str, Any]]:
        return json.loads(self.charts_text) if self.charts_text else []

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

    def items(self, *, page: bool = True) -> list[tuple[str, str]]:
        """The canonical query string's (name, value) pairs; defaults are left out."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        if self.filter:
            out.append(("filter", self.filter))
        for name, values in (
            ("status", self.statuses),
            ("experiment", self.experiments),
            ("target", self.targets),
            ("submitter", self.submitters),
            ("tag", self.tags),
        ):
            out += [(name, v) for v in values]
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
        if self.charts_text:
            out.append(("charts", self.charts_text))
        if page and self.page != 1:
            out.append(("page", str(self.page)))
        return out

    def querystring(
        self,
        *,
        without: tuple[str, str] | None = None,
        page: int | None = None,
        **replace: str | None,
    ) -> str:
        """`?...` of this state, minus one (name, value) pair, with names replaced.

        Changing anything but the page goes back to the first page.
        """
        items = [
            (n, v)
            for n, v in self.items(page=page is not None)
            if (n, v) != without and n not in replace and n != "page"
        ]
        items += [(n, v) for n, v in replace.items() if v]
        if page and page != 1:
            items.append(("page", str(page)))
        return "?" + urlencode(items) if items else "?"

    def sort_querystring(self, key: str) -> str:
        """The link of a column header: descending first, then ascending."""
        new = key if self.sort == f"-{key}" else f"-{key}"
        return self.querystring(sort=None if new == DEFAULT_SORT else new)


def sort_is_valid(key: str) -> bool:
    return key in SORT_FIELDS or key == "duration" or is_dynamic(key)


# --- conditions ----------------------------------------------------------------------


def _text_q(text: str) -> Q:
    """Every word appears in the id, name, description, experiment, submitter, status or tags.

    One LIKE over Run.search_text (lowercased; a trigram index serves it on
    PostgreSQL), or the statuses whose name holds the word (an indexed IN).
    """
    cond = Q()
    for word in text.split()[:10]:
        hit = Q(search_text__contains=word.lower())
        statuses = [s for s in Status.values if word.lower() in s.lower()]
        if statuses:
            hit |= Q(status__in=statuses)
        cond &= hit
    return cond


def _tag_q(spec: str) -> Q:
    key, sep, value = spec.partition(":")
    hit = Tag.objects.filter(run=OuterRef("pk"), key=key)
    if sep:
        hit = hit.filter(value=value)
    return Q(Exists(hit))


def _tag_index_leaf(spec: str) -> tuple[str, dict]:
    key, sep, value = spec.partition(":")
    return ("tag", {"key": key, "value": value} if sep else {"key": key})


# Per kind of condition: Run's relation, its model, the key column.
_INDEXED = {
    "tag": ("tags", Tag, "key"),
    "property": ("properties", Property, "key"),
    "metric": ("latest_metrics", LatestMetric, "name"),
}


def _index_leaf(node: Any) -> tuple[str, dict] | None:
    """A positive tag, property or metric condition as (kind, lookups on its rows), or
    None: the same runs as runs.query's EXISTS form, found from the (key, value, run)
    or (name, value) index instead of by testing each run. A run has one row per
    tag key, property key or metric name, so a join on them never repeats a run."""
    from runs import query

    field = getattr(node, "field", None)
    if field is None or field.kind == "field" or field.children:
        return None
    key = {_INDEXED[field.kind][2]: field.name}
    number = float if field.kind == "metric" else str
    if isinstance(node, query.Exists):
        return None if node.negated else (field.kind, key)
    if isinstance(node, query.In):
        if node.negated:
            return None
        return (field.kind, {**key, "value__in": [number(v) for v in node.values]})
    if isinstance(node, query.Compare):
        suffix = {"=": "", "<": "__lt", "<=": "__lte", ">": "__gt", ">=": "__gte"}.get(node.op)
        if suffix is None or (suffix and field.kind != "metric"):
            return None
        return (field.kind, {**key, f"value{suffix}": number(node.value)})
    return None


def _field_q(params: RunListParams) -> Q:
    cond = Q()
    if params.statuses:
        cond &= Q(status__in=params.statuses)
    # Subqueries rather than joins: RunCondition keeps a condition without joins inline.
    if params.experiments:
        cond &= Q(experiment__in=Experiment.objects.filter(name__in=params.experiments))
    if params.targets:
        cond &= Q(compute_target__in=params.targets)
    if params.submitters:
        users = get_user_model().objects.filter(username__in=params.submitters)
        cond &= Q(submitted_by__in=users)
    if params.created_after:
        cond &= Q(created__gte=params.created_after)
    if params.created_before:
        cond &= Q(created__lt=params.created_before)
    return cond


def match_q(params: RunListParams) -> Q:
    """What a run must satisfy to match the list's conditions (empty Q: everything).

    Tags, properties and metrics are EXISTS subqueries: cheap for testing the
    runs met in sort order (a page). _matching_sql finds every match instead.
    """
    cond = _field_q(params)
    if params.q:
        cond &= _text_q(params.q)
    if params.filter_node is not None:
        from runs import query

        cond &= query.to_q(params.filter_node)
    for spec in params.tags:
        cond &= _tag_q(spec)
    return cond


def _lead_and_rest(params: RunListParams) -> tuple[tuple[str, dict] | None, Q]:
    """match_q split for finding every match: the first positive tag, property or
    metric condition of the top level (kind, lookups on its rows), which drives the
    query from its index; and the rest, tested on the runs found."""
    from runs import query

    rest, lead = _field_q(params), None
    if params.q:
        rest &= _text_q(params.q)
    if params.filter_node is not None:
        node = params.filter_node
        for item in node.items if isinstance(node, query.And) else (node,):
            leaf = _index_leaf(item) if lead is None else None
            if leaf is None:
                rest &= query.to_q(item)
            else:
                lead = leaf
    for spec in params.tags:
        if lead is None:
            lead = _tag_index_leaf(spec)
        else:
            rest &= _tag_q(spec)
    return lead, rest


_LEAD_OPS = {"": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _lead_sql(lead: tuple[str, dict], alias: str) -> tuple[str, list]:
    """The lead condition on its rows (tags, properties or latest metrics) of `alias`."""
    parts, params = [], []
    for lookup, value in lead[1].items():
        column, _, op = lookup.partition("__")
        ref = f"{_qn(alias)}.{_qn(column)}"
        if op == "in":
            parts.append(f"{ref} IN ({_marks(value)})" if value else "1 = 0")
            params += value
        else:
            parts.append(f"{ref} {_LEAD_OPS[op]} %s")
            params.append(value)
    return " AND ".join(parts), params


def root_match_q(params: RunListParams) -> Q:
    """A top-level run is listed when it matches or one of its descendants does."""
    cond = match_q(params)
    below = Run.objects.filter(root_id=OuterRef("pk"), parent__isnull=False).filter(cond)
    return cond | Q(Exists(below))


# --- the condition as SQL ------------------------------------------------------------

# Stands for the tested run's table alias in a compiled condition.
_TESTED = "__tested_run__"
_ROOT, _BELOW = "rl_root", "rl_below"


@dataclass(frozen=True)
class RunCondition:
    """A condition on runs compiled once to SQL, to test the run of any table alias.

    A page tests its condition in up to four queries (count, sort walk, tree
    rows); building each through the ORM took far longer than running it.
    Inline when the condition needs no join (the usual case), else an EXISTS on
    the run's id. Values stay bound parameters; only aliases go into the text.
    """

    sql: str
    params: tuple

    @classmethod
    def of(cls, cond: Q) -> RunCondition:
        base = _table(Run)
        try:
            sql, params = Run.objects.filter(cond).order_by().values("id").query.sql_with_params()
        except EmptyResultSet:
            return cls("1 = 0", ())
        start = sql.find(" FROM ")
        if sql.startswith(f" FROM {base} WHERE ", start):
            # The run's own columns only; its subqueries alias their tables (U0...).
            where = sql[start + len(f" FROM {base} WHERE ") :]
            return cls(where.replace(f"{base}.", f"{_qn(_TESTED)}."), tuple(params))
        if sql.endswith(f" FROM {base}") and start == len(sql) - len(f" FROM {base}"):
            return cls("1 = 1", ())  # nothing left to test
        tested = RawSQL(f"{_qn(_TESTED)}.{_qn('id')}", ())  # noqa: S611 - names only
        inner = Run.objects.filter(cond, pk=tested).order_by().values("id")
        sql, params = inner.query.sql_with_params()
        return cls(f"EXISTS ({sql})", tuple(params))

    def on(self, alias: str, *, tested_only: bool = False) -> tuple[str, list]:
        """The condition on the run of table alias `alias`. `tested_only`: as a CASE,
        tested on the runs the other conditions find, never used by SQLite to pick an
        index of its own (a status index, say, that steps through every Failed run
        where a tree's few runs were asked for)."""
        sql = self.sql.replace(_qn(_TESTED), _qn(alias))
        if tested_only:
            sql = f"CASE WHEN {sql} THEN 1 ELSE 0 END = 1"
        return sql, list(self.params)

    def on_tree(self, alias: str) -> tuple[str, list]:
        """The run of `alias` (a root) or one of its descendants matches."""
        own, own_params = self.on(alias)
        below, below_params = self.on(_BELOW)
        b = _qn(_BELOW)
        sql = (
            f"({own} OR EXISTS (SELECT 1 FROM {_table(Run)} {b} "  # noqa: S608 - aliases only
            f"WHERE {b}.{_qn('root_id')} = {_qn(alias)}.{_qn('id')} "
            f"AND {b}.{_qn('parent_id')} IS NOT NULL AND {below}))"
        )
        return sql, [*own_params, *below_params]

    def run_filter(self, *, tree: bool = False) -> RawSQL:
        """on() (or on_tree()) as a filter of a top-level queryset of Run; not of one
        used as a subquery, where Django renames the runs table."""
        sql, params = (self.on_tree if tree else self.on)(Run._meta.db_table)
        return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - compiled


# Compiled list conditions, by what they say (_condition_key); the oldest go first.
CONDITION_CACHE_SIZE = 256
_conditions: dict[tuple, RunCondition] = {}
_conditions_lock = threading.Lock()


def _condition_key(params: RunListParams) -> tuple | None:
    """What match_q(params) depends on, or None when it also depends on the time
    (a filter on `duration` compares with now)."""
    from runs import query

    node = params.filter_node
    if node is not None and query.depends_on_time(node):
        return None
    return (
        connections[Run.objects.db].vendor,
        params.q,
        node,
        params.statuses,
        params.experiments,
        params.targets,
        params.submitters,
        params.tags,
        params.created_after,
        params.created_before,
    )


def list_condition(params: RunListParams) -> RunCondition:
    """RunCondition.of(match_q(params)), compiled once for the last CONDITION_CACHE_SIZE
    conditions: paging, sorting and counting a list repeat its condition, and its
    compilation took as long as the page's queries. Only SQL text and values are
    kept (names, never ids or rows), so a condition means the same in any workspace."""
    key = _condition_key(params)
    if key is None:
        return RunCondition.of(match_q(params))
    with _conditions_lock:
        condition = _conditions.get(key)
    if condition is None:
        condition = RunCondition.of(match_q(params))
        with _conditions_lock:
            if len(_conditions) >= CONDITION_CACHE_SIZE:
                _conditions.pop(next(iter(_conditions)))
            _conditions[key] = condition
    return condition


# --- ordering ------------------------------------------------------------------------


def _sort_value(key: str):
    prefix, _, name = key.partition(".")
    if prefix == "metrics" and name:
        return Subquery(
            LatestMetric.objects.filter(run=OuterRef("pk"), name=name).values("value")[:1]
        )
    if prefix == "properties" and name:
        return Subquery(Property.objects.filter(run=OuterRef("pk"), key=name).values("value")[:1])
    if prefix == "tags" and name:
        return Subquery(Tag.objects.filter(run=OuterRef("pk"), key=name).values("value")[:1])
    if key == "duration":
        return ExpressionWrapper(
            Coalesce(F("ended"), Now()) - F("started"), output_field=DurationField()
        )
    return F(SORT_FIELDS[key])


def order_by(qs: QuerySet[Run], sort: str) -> QuerySet[Run]:
    """Order by a whitelisted key (nulls last either way), then newest first, then id."""
    key = sort.lstrip("-")
    desc = sort.startswith("-")
    if key == "created":
        return qs.order_by(*(TIEBREAK if desc else (F("created").asc(), F("id").asc())))
    if key in SORT_FIELDS and key not in NULLABLE_SORTS:
        expr = F(SORT_FIELDS[key])
        return qs.order_by(expr.desc() if desc else expr.asc(), *TIEBREAK)
    qs = qs.annotate(sort_value=_sort_value(key))
    primary: OrderBy = (
        F("sort_value").desc(nulls_last=True) if desc else F("sort_value").asc(nulls_last=True)
    )
    return qs.order_by(primary, *TIEBREAK)


_WHERE_MARK = "__rl_where__"


@lru_cache(maxsize=256)
def _ordered_sql(vendor: str, sort: str, fields: tuple[str, ...]) -> tuple[str, tuple, tuple]:
    """order_by(runs, sort).values_list(*fields) compiled once per sort, its WHERE left
    to fill in (_ordered): (SQL, parameters before the WHERE, parameters after it).
    Building the query through the ORM took ten times as long as running it."""
    mark = RawSQL(_WHERE_MARK, (), output_field=BooleanField())  # noqa: S611 - a name
    sql, params = (
        order_by(Run.objects.filter(mark), sort).values_list(*fields).query.sql_with_params()
    )
    before = len(re.findall("%s", sql[: sql.index(_WHERE_MARK)].replace("%%", "")))
    return sql, tuple(params[:before]), tuple(params[before:])


def _ordered(
    sort: str,
    fields: tuple[str, ...],
    where: str,
    params: list,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[tuple]:
    """`fields` of the runs where `where` (SQL on the runs table, unaliased), in the
    list's order (as order_by), from `offset` on, at most `limit` of them."""
    vendor = connections[Run.objects.db].vendor
    sql, before, after = _ordered_sql(vendor, sort, fields)
    sql, args = sql.replace(_WHERE_MARK, f"({where})"), [*before, *params, *after]
    if limit is not None:
        sql += " LIMIT %s OFFSET %s"
        args += [limit, offset]
    return _select(sql, args)


# --- the list ------------------------------------------------------------------------


def run_list(
    *, workspace: Workspace, params: RunListParams, experiment: Experiment | None = None
) -> QuerySet[Run]:
    """The list's top-level rows, ordered: top-level runs, or the roots of matching runs."""
    scope = Run.objects.filter(workspace=workspace)
    if experiment is not None:
        scope = scope.filter(experiment=experiment)
    roots = scope.filter(parent__isnull=True)
    if params.filtering:
        roots = roots.filter(root_match_q(params))
    return order_by(roots, params.sort)


@dataclass
class ChildSummary:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def status_counts(self) -> list[tuple[str, int]]:
        """(status, count) in lifecycle order, non-zero only."""
        return [(s, self.by_status[s]) for s in LIFECYCLE if self.by_status.get(s)]

    def __str__(self) -> str:
        word = "child" if self.total == 1 else "children"
        parts = ", ".join(f"{n} {s}" for s, n in self.status_counts)
        return f"{self.total} {word}: {parts}"


class TagValue(NamedTuple):
    """A tag as the list draws it (a key-only tag has the value None)."""

    key: str
    value: str | None

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


@dataclass
class RunRow:
    run: Run | ListedRun
    depth: int = 0
    matches: bool = True
    ancestors: tuple[str, ...] = ()
    summary: ChildSummary | None = None
    # The row's children follow it in the list (revealed by a condition).
    expanded: bool = False
    tags: list[TagValue] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    # (column, value) in column order, for the template.
    cells: list[tuple[Column, Any]] = field(default_factory=list)
    # The row as HTML (its `<tr>`, or its live cells), set by the view (RowRenderer).
    html: str = ""

    @property
    def active(self) -> bool:
        return self.run.status not in TERMINAL

    @property
    def duration_text(self) -> str:
        return format_duration(self.run.duration)

    @property
    def description_line(self) -> str:
        head = getattr(self.run, "description_head", None)
        return first_line(self.run.description if head is None else head, limit=100)


def format_duration(value: timedelta | None) -> str:
    """`4h 02m`, `3m 12s`, `45s`: short and sortable by eye."""
    if value is None:
        return ""
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_value(column: Column, value: Any) -> str:
    """A metric, property or tag cell as text ('' when the run has none)."""
    if value is None:
        return ""
    if column.kind == "metric" and isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


@dataclass
class RunPage:
    """One page of the list, with what the template needs to draw it."""

    rows: list[RunRow]
    number: int
    per_page: int
    count: int
    # False when `count` is a lower bound: more trees match than were counted
    # (COUNT_CAP, or as far as the page asked for); the page shows "5,000+".
    count_exact: bool = True

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages or not self.count_exact

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.count else 0

    @property
    def end_index(self) -> int:
        return min(self.count, self.number * self.per_page)

    @property
    def active_ids(self) -> list[str]:
        return [r.run.id for r in self.rows if r.active]


def _last_page(count: int, per_page: int) -> int:
    return max(1, -(-count // per_page))


def _roots_sql(
    workspace: Workspace,
    experiment: Experiment | None,
    condition: RunCondition | None,
    alias: str = _ROOT,
) -> tuple[str, list]:
    """The listed top-level runs as SQL on `alias`: the scope, and with a condition,
    the trees where some run matches."""
    r = _qn(alias)
    sql, params = f"{r}.{_qn('workspace_id')} = %s", [workspace.pk]
    if experiment is not None:
        sql += f" AND {r}.{_qn('experiment_id')} = %s"
        params.append(experiment.pk)
    sql += f" AND {r}.{_qn('parent_id')} IS NULL"
    if condition is not None:
        tree, tree_params = condition.on_tree(alias)
        sql += f" AND {tree}"
        params += tree_params
    return sql, params


def _count_roots(
    workspace: Workspace, experiment: Experiment | None, reach: int
) -> tuple[int, bool]:
    """(how many top-level runs, exact?): counted up to COUNT_CAP or `reach`, the
    runs up to the end of the page asked for, whichever is further."""
    limit = max(COUNT_CAP, reach) + 1
    where, args = _roots_sql(workspace, experiment, None)
    ((count,),) = _select(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {_table(Run)} {_qn(_ROOT)} "  # noqa: S608
        f"WHERE {where} LIMIT %s) AS counted",
        [*args, limit],
    )
    return (limit - 1, False) if count >= limit else (count, True)


def run_list_count(
    *, workspace: Workspace, params: RunListParams, experiment: Experiment | None = None
) -> int:
    """The exact number of trees the list shows for `params` (all its pages): what a
    page counted only up to COUNT_CAP. Reads every match: up to all the runs."""
    if not params.filtering:
        return _roots(workspace, experiment).count()
    condition = list_condition(params)
    tables, where, args = _matching_sql(workspace, experiment, params, condition)
    ((count,),) = _select(
        f"SELECT COUNT(DISTINCT {_qn(_ROOT)}.{_qn('root_id')}) FROM {tables} "  # noqa: S608
        f"WHERE {where}",
        args,
    )
    return count


def _roots(workspace: Workspace, experiment: Experiment | None) -> QuerySet[Run]:
    """The list's top-level runs."""
    scope = Run.objects.filter(workspace=workspace, parent__isnull=True)
    return scope if experiment is None else scope.filter(experiment=experiment)


def _matching_sql(
    workspace: Workspace,
    experiment: Experiment | None,
    params: RunListParams,
    condition: RunCondition,
) -> tuple[str, str, list]:
    """(tables, where, parameters) selecting the runs that match, on the alias _ROOT.

    A tag, property or metric condition leads: alone, a join (SQLite walks its
    index and looks each run up); beside others, `id IN (...)` (for a join SQLite
    would rather scan the runs).
    """
    lead, rest = _lead_and_rest(params)
    r, v = _qn(_ROOT), _qn("rl_lead")
    where, args = f"{r}.{_qn('workspace_id')} = %s", [workspace.pk]
    if experiment is not None:
        where += f" AND {r}.{_qn('experiment_id')} = %s"
        args.append(experiment.pk)
    tables = f"{_table(Run)} {r}"
    if lead is not None:
        lead_where, lead_args = _lead_sql(lead, "rl_lead")
        model = _INDEXED[lead[0]][1]
        if rest:
            where += (
                f" AND {r}.{_qn('id')} IN (SELECT {v}.{_qn('run_id')} "  # noqa: S608
                f"FROM {_table(model)} {v} WHERE {lead_where})"
            )
        else:
            tables += f" INNER JOIN {_table(model)} {v} ON {v}.{_qn('run_id')} = {r}.{_qn('id')}"
            where += f" AND {lead_where}"
        args += lead_args
    if rest:
        rest_sql, rest_args = (condition if lead is None else RunCondition.of(rest)).on(_ROOT)
        where += f" AND {rest_sql}"
        args += rest_args
    return tables, where, args


def _matching_roots(
    workspace: Workspace,
    experiment: Experiment | None,
    params: RunListParams,
    condition: RunCondition,
    number: int,
) -> tuple[list[str] | None, int, bool]:
    """(the matching trees' root ids when at most FEW_MATCHES, else None; how many; exact?)

    One query, driven by the conditions' indexes (_matching_sql): the distinct
    roots of the matching runs, counted up to COUNT_CAP (or to the page asked
    for, if further), and their ids when there are at most FEW_MATCHES.
    """
    limit = max(COUNT_CAP, number * params.per_page) + 1
    tables, where, args = _matching_sql(workspace, experiment, params, condition)
    r = _qn(_ROOT)
    # The roots once (a CTE used twice is materialised) and counted; their ids
    # only when they are few: (root id, count) rows, or one (NULL, count) row.
    rows = _select(
        f"WITH m AS (SELECT DISTINCT {r}.{_qn('root_id')} AS root_id FROM {tables} "  # noqa: S608
        f"WHERE {where} LIMIT %s), n AS (SELECT COUNT(*) AS c FROM m) "
        "SELECT m.root_id, n.c FROM m, n WHERE n.c <= %s "
        "UNION ALL SELECT NULL, n.c FROM n WHERE n.c > %s",
        [*args, limit, FEW_MATCHES, FEW_MATCHES],
    )
    total = rows[0][1] if rows else 0
    found = [row[0] for row in rows] if total <= FEW_MATCHES else None
    if total >= limit:
        return found, limit - 1, False
    return found, total, True


def _sorted_ids(
    runs: Callable[[], QuerySet[Run]] | None,
    where: tuple[str, list],
    sort: str,
    number: int,
    per_page: int,
    *,
    walk: tuple[str, list] | None = None,
) -> list[str]:
    """The ids of page `number` of the runs `where` (SQL on the runs table) in the
    list's order. `walk`: the same runs as SQL on the alias _ROOT (_roots_sql), given
    when there are too many to sort them all for a metric (more than FEW_MATCHES):
    then the metric's index is walked (and `runs()`, their queryset, sorts the ties)."""
    offset = (number - 1) * per_page
    prefix, _, name = sort.lstrip("-").partition(".")
    if walk is not None and prefix == "metrics" and name:
        return _metric_sorted_ids(runs(), walk, name, sort.startswith("-"), offset, per_page)
    rows = _ordered(sort, ("pk",), where[0], where[1], offset=offset, limit=per_page)
    return [pk for (pk,) in rows]


def _metric_sorted_ids(
    qs: QuerySet[Run], walk: tuple[str, list], name: str, desc: bool, offset: int, limit: int
) -> list[str]:
    """A page sorted by a metric, walking the (name, value) index.

    The database walks the metric's values in order and tests each run (`walk`,
    SQL on the alias _ROOT), so it stops once the page is full; runs with equal
    values are put newest first, then by id, here: those fetched plus every run
    of `qs` tied with the page's last value. Runs of `qs` without a value follow,
    newest first (nulls last either way, as order_by sorts).
    """
    m, r = _qn("rl_metric"), _qn(_ROOT)
    rows: list[tuple] = _select(
        f"SELECT {m}.{_qn('run_id')}, {m}.{_qn('value')} "  # noqa: S608 - names, parameters apart
        f"FROM {_table(LatestMetric)} {m} WHERE {m}.{_qn('name')} = %s "
        f"AND {m}.{_qn('value')} IS NOT NULL AND EXISTS (SELECT 1 FROM {_table(Run)} {r} "
        f"WHERE {r}.{_qn('id')} = {m}.{_qn('run_id')} AND {walk[0]}) "
        f"ORDER BY {m}.{_qn('value')} {'DESC' if desc else 'ASC'} LIMIT %s",
        [name, *walk[1], offset + limit + 1],
    )
    exhausted = len(rows) <= offset + limit
    seen = Counter(value for _, value in rows)
    tied = {value for value, n in seen.items() if n > 1}
    if not exhausted and rows[offset + limit][1] == rows[offset + limit - 1][1]:
        tied.add(rows[offset + limit - 1][1])
    if tied:
        # Equal values need their runs' created time; the edge's group may go on.
        group = qs.filter(latest_metrics__name=name, latest_metrics__value__in=tied)
        rows = [(pk, value, EPOCH) for pk, value in rows if value not in tied]
        rows += group.order_by().values_list("pk", "latest_metrics__value", "created")
        rows.sort(key=lambda r: (r[2], r[0]), reverse=True)
    rows.sort(key=lambda r: r[1], reverse=desc)  # stable: ties stay newest first
    ids = [r[0] for r in rows[offset : offset + limit]]
    if exhausted and len(ids) < limit:
        has_value = LatestMetric.objects.filter(run=OuterRef("pk"), name=name, value__isnull=False)
        lacking = order_by(qs.exclude(Exists(has_value)), DEFAULT_SORT)
        start = max(0, offset - len(rows))
        ids += lacking.values_list("pk", flat=True)[start : start + limit - len(ids)]
    return ids


def run_list_page(
    *, workspace: Workspace, params: RunListParams, experiment: Experiment | None = None
) -> RunPage:
    """The page `params.page` of the list (the last page when it is past the end).

    Without a condition: the roots counted (up to COUNT_CAP) and the page's ids in
    sort order. With one: the matching trees' roots from the conditions' indexes
    (counted up to COUNT_CAP); a few are sorted by id, many are met in sort order
    (testing each root until the page is full). The condition is compiled once.
    """
    number, per_page, sort = params.page, params.per_page, params.sort
    table = Run._meta.db_table
    condition = list_condition(params) if params.filtering else None
    if condition is None:
        count, exact = _count_roots(workspace, experiment, number * per_page)
        if exact:
            number = min(number, _last_page(count, per_page))
        many = count > FEW_MATCHES or not exact
        walk = _roots_sql(workspace, experiment, None) if many else None
        ids = _sorted_ids(
            lambda: _roots(workspace, experiment),
            _roots_sql(workspace, experiment, None, table),
            sort,
            number,
            per_page,
            walk=walk,
        )
    else:
        found, count, exact = _matching_roots(workspace, experiment, params, condition, number)
        if exact:
            number = min(number, _last_page(count, per_page))
        if found is not None:
            few = (f"{_table(Run)}.{_qn('id')} IN ({_marks(found)})", found) if found else None
            ids = _sorted_ids(None, few, sort, number, per_page) if few else []
        else:
            ids = _sorted_ids(
                lambda: _roots(workspace, experiment).filter(condition.run_filter(tree=True)),
                _roots_sql(workspace, experiment, condition, table),
                sort,
                number,
                per_page,
                walk=_roots_sql(workspace, experiment, condition),
            )
    rows = _tree_rows(params=params, root_ids=ids, condition=condition)
    return RunPage(rows=rows, number=number, per_page=per_page, count=count, count_exact=exact)


# What a row draws of its run (the description only as far as its first line can be).
ROW_FIELDS = (
    "id",
    "workspace_id",
    "experiment_id",
    "parent_id",
    "root_id",
    "display_name",
    "status",
    "submitted_by_id",
    "compute_target",
    "created",
    "started",
    "ended",
)
DESCRIPTION_HEAD = 1000
DATETIME_FIELDS = ("created", "started", "ended")


def _runs_for_rows(qs: QuerySet[Run], columns: list[Column] = ()) -> QuerySet[Run]:
    """The runs with what their rows draw: the experiment's name and the submitter's
    username as `experiment_name` and `submitter_name` (no model objects for them);
    metric and property columns as `column_value_<i>` (a small subquery each, instead
    of a query each)."""
    values = {}
    for i, col in enumerate(columns):
        if col.kind == "metric":
            rows = LatestMetric.objects.filter(run=OuterRef("pk"), name=col.name)
        elif col.kind == "property":
            rows = Property.objects.filter(run=OuterRef("pk"), key=col.name)
        else:
            continue
        values[f"column_value_{i}"] = Subquery(rows.values("value")[:1])
    return qs.only(*ROW_FIELDS).annotate(
        experiment_name=F("experiment__name"),
        submitter_name=F("submitted_by__username"),
        description_head=Substr("description", 1, DESCRIPTION_HEAD),
        **values,
    )


_ROW_DATETIMES = tuple(i for i, name in enumerate(ROW_FIELDS) if name in DATETIME_FIELDS)


class ListedRun:
    """A run as its list row draws it: ROW_FIELDS and the annotations of _runs_for_rows,
    as attributes (and `pk`, `duration` as on Run). Not a model instance: building
    those took longer than reading the rows."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values

    @property
    def pk(self) -> str:
        return self.id

    duration = Run.duration


def _rows_by_id(ids: list[str], columns: list[Column]) -> list[ListedRun]:
    """The runs `ids` as _runs_for_rows has them (in no order), from one plain query:
    through the ORM, building the query and the runs took ~3 ms of a page's rows."""
    connection = connections[Run.objects.db]
    select = [f"r.{_qn(name)}" for name in ROW_FIELDS]
    select += [f"e.{_qn('name')}", f"u.{_qn('username')}", f"SUBSTR(r.{_qn('description')}, 1, %s)"]
    params: list = [DESCRIPTION_HEAD]
    names = ["experiment_name", "submitter_name", "description_head"]
    for i, col in enumerate(columns):
        if col.kind == "metric":
            model, key = LatestMetric, "name"
        elif col.kind == "property":
            model, key = Property, "key"
        else:
            continue
        select.append(
            f"(SELECT v.{_qn('value')} FROM {_table(model)} v "  # noqa: S608
            f"WHERE v.{_qn('run_id')} = r.{_qn('id')} AND v.{_qn(key)} = %s LIMIT 1)"
        )
        params.append(col.name)
        names.append(f"column_value_{i}")
    user = _table(get_user_model())
    sql = (
        f"SELECT {', '.join(select)} FROM {_table(Run)} r "  # noqa: S608
        f"INNER JOIN {_table(Experiment)} e ON r.{_qn('experiment_id')} = e.{_qn('id')} "
        f"LEFT OUTER JOIN {user} u ON r.{_qn('submitted_by_id')} = u.{_qn('id')} "
        f"WHERE r.{_qn('id')} IN ({_marks(ids)})"
    )
    tz = connection.timezone if settings.USE_TZ else None
    names = [*ROW_FIELDS, *names]
    runs = []
    for values in _select(sql, [*params, *ids]):
        fields = list(values)
        for i in _ROW_DATETIMES:
            fields[i] = _datetime(fields[i], tz)
        runs.append(ListedRun(dict(zip(names, fields, strict=True))))
    return runs


def _datetime(value: Any, tz) -> datetime | None:
    """A datetime column read with plain SQL, as the ORM gives it (aware in `tz`)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and tz is not None and value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def _tree_rows(
    *, params: RunListParams, root_ids: list[str], condition: RunCondition | None
) -> list[RunRow]:
    """The page's roots in order, each followed by its revealed (matching) descendants.

    Without a condition: the roots. With one, a root without descendants is listed
    because it matches; under the roots with descendants, the runs that match are
    found (one query), and the rows are those, their ancestors (ids nest: a
    child's id is its parent's plus `_<n>`) and the roots.
    """
    if not root_ids:
        return []
    groups = _child_groups(root_ids)
    shown, matching = set(root_ids), None
    with_kids = [pk for pk in root_ids if pk in groups]
    if condition is not None and with_kids:
        # The condition tested on the trees' runs (found by root), in the list's
        # order, which the rows then keep.
        tested, tested_params = condition.on(Run._meta.db_table, tested_only=True)
        found = _ordered(
            params.sort,
            ("pk", "root_id"),
            f"{_table(Run)}.{_qn('root_id')} IN ({_marks(with_kids)}) AND {tested}",
            [*with_kids, *tested_params],
        )
        rank: dict[str, int] = {}
        for pk, root_id in found:
            rank[pk] = len(rank)
            shown.update(_ancestors(pk, root_id))
        matching = set(rank)
        shown |= matching
    if matching is None or shown <= matching | set(root_ids):
        # Ids only (no workspace condition): they come from the workspace, and SQLite
        # would otherwise walk the workspace index instead of looking the ids up.
        runs = _rows_by_id(list(shown), params.columns)
        if matching:
            runs.sort(key=lambda r: rank.get(r.pk, -1))  # children in list order
    else:
        # Runs shown only to place a deeper match: the list's order from the database.
        qs = order_by(Run.objects.filter(pk__in=shown), params.sort)
        runs = list(_runs_for_rows(qs, params.columns))
    by_parent: dict[str | None, list[Run]] = defaultdict(list)
    for run in runs:
        by_parent[run.parent_id].append(run)
    position = {pk: i for i, pk in enumerate(root_ids)}
    top = sorted(by_parent.get(None, []), key=lambda r: position.get(r.pk, 0))
    rows: list[RunRow] = []

    def walk(run: Run, depth: int, ancestors: tuple[str, ...]) -> None:
        kids = by_parent.get(run.pk, [])
        # Without descendants a listed root matches; with them, `matching` says.
        matches = run.pk in matching if matching is not None and run.root_id in groups else True
        rows.append(
            RunRow(run=run, depth=depth, matches=matches, ancestors=ancestors, expanded=bool(kids))
        )
        for kid in kids:
            walk(kid, depth + 1, (*ancestors, run.pk))

    for run in top:
        walk(run, 0, ())
    _decorate(rows, params, groups=groups)
    return rows


def _ancestors(run_id: str, root_id: str) -> list[str]:
    """The ids above a run, from its root down (ids nest: `<parent>_<n>`)."""
    chain = [root_id]
    for step in run_id[len(root_id) + 1 :].split("_")[:-1]:
        chain.append(f"{chain[-1]}_{step}")
    return chain if run_id != root_id else []


def _decorate(rows: list[RunRow], params: RunListParams, *, groups: dict) -> None:
    """Tags (one query), children summaries (from `groups`) and the cells of every column."""
    if not rows:
        return
    tags: dict[str, list[TagValue]] = defaultdict(list)
    run_ids = [r.run.pk for r in rows]
    for run_id, key, value in _select(
        f"SELECT {_qn('run_id')}, {_qn('key')}, {_qn('value')} FROM {_table(Tag)} "  # noqa: S608
        f"WHERE {_qn('run_id')} IN ({_marks(run_ids)}) ORDER BY {_qn('key')}",
        run_ids,
    ):
        tags[run_id].append(TagValue(key, value))
    summaries = _child_summaries(groups, [r.run.pk for r in rows])
    for row in rows:
        row.tags = tags.get(row.run.pk, [])
        row.summary = summaries.get(row.run.pk)
    _cells(rows, params.columns)


def _cells(rows: list[RunRow], columns: list[Column]) -> None:
    """Each row's values and (column, text) cells, from the run's `column_value_<i>`
    annotations (metrics, properties) and its tags."""
    annotated = [(f"column_value_{i}", c) for i, c in enumerate(columns) if c.kind != "tag"]
    annotated = [(name, c) for name, c in annotated if c.kind in ("metric", "property")]
    tagged = [c for c in columns if c.kind == "tag"]
    for row in rows:
        values = {}
        for name, col in annotated:
            values[col.key] = getattr(row.run, name, None)
        for col in tagged:
            values[col.key] = next((t.value or "" for t in row.tags if t.key == col.name), None)
        row.values = values
        row.cells = [
            (c, format_value(c, values[c.key]) if c.key in values else "") for c in columns
        ]


def _child_groups(root_ids: list[str]) -> dict[str, dict[str, int]]:
    """{parent id: {status: children}} under the roots, from one query grouped by
    (parent, status): small even under a sweep of thousands of children."""
    roots = list(dict.fromkeys(root_ids))
    rows = _select(
        f"SELECT {_qn('parent_id')}, {_qn('status')}, COUNT(*) FROM {_table(Run)} "  # noqa: S608
        f"WHERE {_qn('parent_id')} IS NOT NULL AND {_qn('root_id')} IN ({_marks(roots)}) "
        f"GROUP BY {_qn('parent_id')}, {_qn('status')}",
        roots,
    )
    per_parent: dict[str, dict[str, int]] = defaultdict(dict)
    for parent_id, run_status, n in rows:
        per_parent[parent_id][run_status] = n
    return per_parent


# Plain SQL for the row queries without conditions: building them through the ORM
# took several times as long as running them. Names quoted, parameters always bound.


def _qn(name: str) -> str:
    return connections[Run.objects.db].ops.quote_name(name)


def _table(model) -> str:
    return _qn(model._meta.db_table)


def _marks(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def _select(sql: str, params: list) -> list[tuple]:
    with connections[Run.objects.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _child_summaries(
    per_parent: dict[str, dict[str, int]], run_ids: list[str]
) -> dict[str, ChildSummary]:
    """Descendants of each run by status, summed up the tree from _child_groups (ids
    nest: a child's id is its parent's id plus `_<n>`)."""
    out: dict[str, ChildSummary] = {}
    for run_id in run_ids:
        prefix = f"{run_id}_"
        summary = ChildSummary()
        for parent_id, counts in per_parent.items():
            if parent_id == run_id or parent_id.startswith(prefix):
                for s, n in counts.items():
                    summary.by_status[s] = summary.by_status.get(s, 0) + n
                    summary.total += n
        if summary.total:
            out[run_id] = summary
    return out


def run_children_rows(
    *, workspace: Workspace, params: RunListParams, parent: Run
) -> tuple[list[RunRow], int]:
    """Direct children of `parent` in the list's order (those that match or hold a
    match when a condition is set), at most MAX_CHILDREN_SHOWN; and how many there are."""
    qs = Run.objects.filter(workspace=workspace, parent=parent)
    if params.filtering:
        cond = match_q(params)
        below = Run.objects.filter(
            root_id=OuterRef("root_id"),
            parent__isnull=False,
            id__startswith=Concat(OuterRef("id"), Value("_")),
        ).filter(cond)
        qs = qs.annotate(is_match=ExpressionWrapper(cond, output_field=BooleanField())).filter(
            Q(is_match=True) | Q(Exists(below))
        )
    qs = order_by(qs, params.sort).annotate(total=Window(Count("pk")))
    runs = list(_runs_for_rows(qs, params.columns)[:MAX_CHILDREN_SHOWN])
    total = runs[0].total if runs else 0
    steps = parent.id[len(parent.root_id) + 1 :].split("_") if parent.parent_id else []
    chain = [parent.root_id]
    for step in steps:
        chain.append(f"{chain[-1]}_{step}")
    depth = len(chain)
    rows = [
        RunRow(
            run=run,
            depth=depth,
            matches=bool(getattr(run, "is_match", True)),
            ancestors=tuple(chain),
        )
        for run in runs
    ]
    _decorate(rows, params, groups=_child_groups([parent.root_id]))
    return rows, total


def run_list_live(
    *, workspace: Workspace, params: RunListParams, run_ids: list[str]
) -> list[RunRow]:
    """Fresh rows of runs on screen, for polling their status, duration and metrics."""
    qs = Run.objects.filter(workspace=workspace, pk__in=run_ids)
    rows = [RunRow(run=run) for run in _runs_for_rows(qs, params.columns)]
    _cells(rows, params.columns)
    return rows


def run_list_column_choices(
    *, workspace: Workspace, experiment: Experiment | None = None
) -> tuple[list[str], list[str]]:
    """Metric names and property keys of the workspace's recent runs, for the column chooser.

    Kept CHOOSER_CACHE_SECONDS in Django's cache: a name logged since shows up
    a little later (columns in the URL are listed anyway). The key holds the
    creation times, so a workspace made again under the same id starts afresh.
    """
    key = f"run-list-columns:{workspace.pk}:{workspace.created.timestamp()}"
    if experiment is not None:
        key += f":{experiment.pk}:{experiment.created.timestamp()}"
    names = cache.get(key)
    if names is None:
        names = _column_names(workspace, experiment)
        cache.set(key, names, CHOOSER_CACHE_SECONDS)
    return names


def _column_names(
    workspace: Workspace, experiment: Experiment | None
) -> tuple[list[str], list[str]]:
    """One query, bounded: the names found on the CHOOSER_RECENT_RUNS newest runs (a
    distinct over every LatestMetric row would scan them all). Plain SQL, parameters
    bound: the ORM's union took longer to build than to run."""
    connection = connections[Run.objects.db]
    qn = connection.ops.quote_name
    scope, params = f"{qn('workspace_id')} = %s", [workspace.pk]
    if experiment is not None:
        scope += f" AND {qn('experiment_id')} = %s"
        params.append(experiment.pk)
    sql = (
        f"WITH recent AS (SELECT {qn('id')} FROM {qn(Run._meta.db_table)} "  # noqa: S608 - names, parameters apart
        f"WHERE {scope} ORDER BY {qn('created')} DESC LIMIT %s) "
        f"SELECT 'm', {qn('name')} FROM {qn(LatestMetric._meta.db_table)} "
        f"WHERE {qn('run_id')} IN (SELECT {qn('id')} FROM recent) "
        f"UNION SELECT 'p', {qn('key')} FROM {qn(Property._meta.db_table)} "
        f"WHERE {qn('run_id')} IN (SELECT {qn('id')} FROM recent) "
        "ORDER BY 1, 2 LIMIT %s"
    )
    names: dict[str, list[str]] = {"m": [], "p": []}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, CHOOSER_RECENT_RUNS, 2 * CHOOSER_CAP])
        for kind, name in cursor.fetchall():
            if len(names[kind]) < CHOOSER_CAP:
                names[kind].append(name)
    return names["m"], names["p"]
