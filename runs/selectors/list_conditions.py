"""The run list's conditions: what a run must satisfy, as a Q and compiled once to SQL.

A list state (runs.list_state) narrows the list by free text, the filter
language, structured filters (chips) and dates. `match_q` is that as one Q;
`lead_and_rest` splits off a tag, property or metric condition that can drive
a query from its index; `RunCondition` is the condition compiled once to SQL
to test the run of any table alias, kept for the last CONDITION_CACHE_SIZE
conditions (`list_condition`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL

from runs import query
from runs.lifecycle import Status
from runs.list_state import ListState
from runs.models import Experiment, LatestMetric, Property, Run, Tag
from runs.selectors.list_sql import marks, qn, table


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
INDEXED = {
    "tag": ("tags", Tag, "key"),
    "property": ("properties", Property, "key"),
    "metric": ("latest_metrics", LatestMetric, "name"),
}


def _index_leaf(node: Any) -> tuple[str, dict] | None:
    """A positive tag, property or metric condition as (kind, lookups on its rows), or
    None: the same runs as runs.query's EXISTS form, found from the (key, value, run)
    or (name, value) index instead of by testing each run. A run has one row per
    tag key, property key or metric name, so a join on them never repeats a run."""
    field = getattr(node, "field", None)
    if field is None or field.kind == "field" or field.children:
        return None
    key = {INDEXED[field.kind][2]: field.name}
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


def _field_q(state: ListState) -> Q:
    cond = Q()
    if state.statuses:
        cond &= Q(status__in=state.statuses)
    # Subqueries rather than joins: RunCondition keeps a condition without joins inline.
    if state.experiments:
        cond &= Q(experiment__in=Experiment.objects.filter(name__in=state.experiments))
    if state.targets:
        cond &= Q(compute_target__in=state.targets)
    if state.submitters:
        users = get_user_model().objects.filter(username__in=state.submitters)
        cond &= Q(submitted_by__in=users)
    if state.created_after:
        cond &= Q(created__gte=state.created_after)
    if state.created_before:
        cond &= Q(created__lt=state.created_before)
    return cond


def match_q(state: ListState) -> Q:
    """What a run must satisfy to match the list's conditions (empty Q: everything).

    Tags, properties and metrics are EXISTS subqueries: cheap for testing the
    runs met in sort order (a page). _matching_sql finds every match instead.
    """
    cond = _field_q(state)
    if state.q:
        cond &= _text_q(state.q)
    if state.filter_node is not None:
        cond &= query.to_q(state.filter_node)
    for spec in state.tags:
        cond &= _tag_q(spec)
    return cond


def lead_and_rest(state: ListState) -> tuple[tuple[str, dict] | None, Q]:
    """match_q split for finding every match: the first positive tag, property or
    metric condition of the top level (kind, lookups on its rows), which drives the
    query from its index; and the rest, tested on the runs found."""
    rest, lead = _field_q(state), None
    if state.q:
        rest &= _text_q(state.q)
    if state.filter_node is not None:
        node = state.filter_node
        for item in node.items if isinstance(node, query.And) else (node,):
            leaf = _index_leaf(item) if lead is None else None
            if leaf is None:
                rest &= query.to_q(item)
            else:
                lead = leaf
    for spec in state.tags:
        if lead is None:
            lead = _tag_index_leaf(spec)
        else:
            rest &= _tag_q(spec)
    return lead, rest


_LEAD_OPS = {"": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def lead_sql(lead: tuple[str, dict], alias: str) -> tuple[str, list]:
    """The lead condition on its rows (tags, properties or latest metrics) of `alias`."""
    parts, params = [], []
    for lookup, value in lead[1].items():
        column, _, op = lookup.partition("__")
        ref = f"{qn(alias)}.{qn(column)}"
        if op == "in":
            parts.append(f"{ref} IN ({marks(value)})" if value else "1 = 0")
            params += value
        else:
            parts.append(f"{ref} {_LEAD_OPS[op]} %s")
            params.append(value)
    return " AND ".join(parts), params


# --- the condition as SQL ------------------------------------------------------------

# Stands for the tested run's table alias in a compiled condition.
_TESTED = "__tested_run__"
# The runs table inside a condition's EXISTS: never the name of the table tested.
_INNER = "rl_cond"
_BELOW = "rl_below"


def _fence() -> str:
    """PostgreSQL: ends a tree's EXISTS so that it is tested root by root through the
    (root, parent) index. Without it the planner hashed every matching descendant
    of the workspace first, sized for all the roots where a page tests a few dozen
    (free text `vit` at 1,000,000 runs: a 25 ms page query, 0.5 ms with it)."""
    return " OFFSET 0" if connections[Run.objects.db].vendor == "postgresql" else ""


@dataclass(frozen=True)
class RunCondition:
    """A condition on runs compiled once to SQL, to test the run of any table alias.

    A page tests its condition in up to four queries (count, sort walk, tree
    rows); building each through the ORM took far longer than running it.
    Inline when the condition needs no join (the usual case), else an EXISTS on
    the run's id, whose runs table has an alias of its own: under the table's own
    name it would be the tested run itself wherever the tested alias is that name
    (every run would then match). Values stay bound parameters; only aliases go
    into the text.
    """

    sql: str
    params: tuple

    @classmethod
    def of(cls, cond: Q) -> RunCondition:
        base = table(Run)
        try:
            sql, params = Run.objects.filter(cond).order_by().values("id").query.sql_with_params()
        except EmptyResultSet:
            return cls("1 = 0", ())
        start = sql.find(" FROM ")
        if sql.startswith(f" FROM {base} WHERE ", start):
            # The run's own columns only; its subqueries alias their tables (U0...).
            where = sql[start + len(f" FROM {base} WHERE ") :]
            return cls(where.replace(f"{base}.", f"{qn(_TESTED)}."), tuple(params))
        if sql.endswith(f" FROM {base}") and start == len(sql) - len(f" FROM {base}"):
            return cls("1 = 1", ())  # nothing left to test
        tested = RawSQL(f"{qn(_TESTED)}.{qn('id')}", ())  # noqa: S611 - names only
        inner = Run.objects.filter(cond, pk=tested).order_by().values("id")
        sql, params = inner.query.sql_with_params()
        # Its own FROM is the first (it selects the id only); nested subqueries alias
        # their tables (U0...) and name this one by its table name, renamed with it.
        start = sql.index(f" FROM {base}")
        sql = sql[:start] + f" FROM {base} {qn(_INNER)}" + sql[start + len(f" FROM {base}") :]
        sql = sql.replace(f"{base}.", f"{qn(_INNER)}.")
        return cls(f"EXISTS ({sql})", tuple(params))

    def on(self, alias: str, *, tested_only: bool = False) -> tuple[str, list]:
        """The condition on the run of table alias `alias`. `tested_only`: as a CASE,
        tested on the runs the other conditions find, never used by SQLite to pick an
        index of its own (a status index, say, that steps through every Failed run
        where a tree's few runs were asked for)."""
        sql = self.sql.replace(qn(_TESTED), qn(alias))
        if tested_only:
            sql = f"CASE WHEN {sql} THEN 1 ELSE 0 END = 1"
        return sql, list(self.params)

    def on_tree(self, alias: str) -> tuple[str, list]:
        """The run of `alias` (a root) or one of its descendants matches."""
        own, own_params = self.on(alias)
        below, below_params = self.on(_BELOW)
        b = qn(_BELOW)
        sql = (
            f"({own} OR EXISTS (SELECT 1 FROM {table(Run)} {b} "  # noqa: S608 - aliases only
            f"WHERE {b}.{qn('root_id')} = {qn(alias)}.{qn('id')} "
            f"AND {b}.{qn('parent_id')} IS NOT NULL AND {below}{_fence()}))"
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


def _condition_key(state: ListState) -> tuple | None:
    """What match_q(state) depends on, or None when it also depends on the time
    (a filter on `duration` compares with now)."""
    node = state.filter_node
    if node is not None and query.depends_on_time(node):
        return None
    return (
        connections[Run.objects.db].vendor,
        state.q,
        node,
        state.statuses,
        state.experiments,
        state.targets,
        state.submitters,
        state.tags,
        state.created_after,
        state.created_before,
    )


def list_condition(state: ListState) -> RunCondition:
    """RunCondition.of(match_q(state)), compiled once for the last CONDITION_CACHE_SIZE
    conditions: paging, sorting and counting a list repeat its condition, and its
    compilation took as long as the page's queries. Only SQL text and values are
    kept (names, never ids or rows), so a condition means the same in any workspace."""
    key = _condition_key(state)
    if key is None:
        return RunCondition.of(match_q(state))
    with _conditions_lock:
        condition = _conditions.get(key)
    if condition is None:
        condition = RunCondition.of(match_q(state))
        with _conditions_lock:
            if len(_conditions) >= CONDITION_CACHE_SIZE:
                _conditions.pop(next(iter(_conditions)))
            _conditions[key] = condition
    return condition
