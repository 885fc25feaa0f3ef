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

The state comes from runs.list_state; its conditions are compiled in
list_conditions, ordered with list_sql, and drawn as rows by list_rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connections
from django.db.models import Exists, OuterRef, QuerySet

from runs.list_state import DEFAULT_SORT, ListState
from runs.models import Experiment, LatestMetric, Property, Run, Tag, Workspace
from runs.selectors.list_conditions import (
    INDEXED,
    RunCondition,
    lead_and_rest,
    lead_sql,
    list_condition,
)
from runs.selectors.list_rows import RunRow, tree_rows
from runs.selectors.list_sql import EPOCH, marks, order_by, ordered, qn, select, table

# Trees (matching ones, or all roots) are counted up to this many with the page
# (further when a page past it is asked for); beyond, the page says "1,000+" and
# fetches the exact total in a second request (run_list_count), which reads every
# match: the table never waits for it.
COUNT_CAP = 1_000
# Up to this many matching trees (at most COUNT_CAP), the page is sorted from their
# ids; more are met in sort order instead where an index gives that order (each root
# tested until the page is full, cheap when they are many: 1% of the roots or more at
# 100,000 runs), else all of them are taken from the conditions' indexes and sorted.
FEW_MATCHES = 1_000
CHOOSER_RECENT_RUNS = 500
CHOOSER_CAP = 200
CHOOSER_CACHE_SECONDS = 30
# The alias of the listed runs in the paging queries.
_ROOT = "rl_root"


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
    r = qn(alias)
    sql, params = f"{r}.{qn('workspace_id')} = %s", [workspace.pk]
    if experiment is not None:
        sql += f" AND {r}.{qn('experiment_id')} = %s"
        params.append(experiment.pk)
    sql += f" AND {r}.{qn('parent_id')} IS NULL"
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
    ((count,),) = select(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {table(Run)} {qn(_ROOT)} "  # noqa: S608
        f"WHERE {where} LIMIT %s) AS counted",
        [*args, limit],
    )
    return (limit - 1, False) if count >= limit else (count, True)


def run_list_count(
    *, workspace: Workspace, state: ListState, experiment: Experiment | None = None
) -> int:
    """The exact number of trees the list shows for `params` (all its pages): what a
    page counted only up to COUNT_CAP. Reads every match: up to all the runs."""
    if not state.filtering:
        return _roots(workspace, experiment).count()
    condition = list_condition(state)
    tables, where, args = _matching_sql(workspace, experiment, state, condition)
    ((count,),) = select(
        f"SELECT COUNT(DISTINCT {qn(_ROOT)}.{qn('root_id')}) FROM {tables} "  # noqa: S608
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
    state: ListState,
    condition: RunCondition,
) -> tuple[str, str, list]:
    """(tables, where, parameters) selecting the runs that match, on the alias _ROOT.

    A tag, property or metric condition leads: alone, a join (SQLite walks its
    index and looks each run up); beside others, `id IN (...)` (for a join SQLite
    would rather scan the runs).
    """
    lead, rest = lead_and_rest(state)
    r, v = qn(_ROOT), qn("rl_lead")
    where, args = f"{r}.{qn('workspace_id')} = %s", [workspace.pk]
    if experiment is not None:
        where += f" AND {r}.{qn('experiment_id')} = %s"
        args.append(experiment.pk)
    tables = f"{table(Run)} {r}"
    if lead is not None:
        lead_where, lead_args = lead_sql(lead, "rl_lead")
        model = INDEXED[lead[0]][1]
        if rest:
            where += (
                f" AND {r}.{qn('id')} IN (SELECT {v}.{qn('run_id')} "  # noqa: S608
                f"FROM {table(model)} {v} WHERE {lead_where})"
            )
        else:
            tables += f" INNER JOIN {table(model)} {v} ON {v}.{qn('run_id')} = {r}.{qn('id')}"
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
    state: ListState,
    condition: RunCondition,
    number: int,
) -> tuple[list[str] | None, int, bool]:
    """(the matching trees' root ids when at most FEW_MATCHES, else None; how many; exact?)

    One query, driven by the conditions' indexes (_matching_sql): the distinct
    roots of the matching runs, counted up to COUNT_CAP (or to the page asked
    for, if further), and their ids when there are at most FEW_MATCHES.
    """
    limit = max(COUNT_CAP, number * state.per_page) + 1
    tables, where, args = _matching_sql(workspace, experiment, state, condition)
    r = qn(_ROOT)
    # The roots once (a CTE used twice is materialised) and counted; their ids
    # only when they are few: (root id, count) rows, or one (NULL, count) row.
    rows = select(
        f"WITH m AS (SELECT DISTINCT {r}.{qn('root_id')} AS root_id FROM {tables} "  # noqa: S608
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
    rows = ordered(sort, ("pk",), where[0], where[1], offset=offset, limit=per_page)
    return [pk for (pk,) in rows]


def _walked(sort: str) -> bool:
    """Whether an index gives the runs in this order (creation, a metric's values):
    testing the roots in that order stops once the page is full. Any other order
    sorts every match."""
    key = sort.lstrip("-")
    return key == "created" or key.startswith("metrics.")


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
    m, r = qn("rl_metric"), qn(_ROOT)
    rows: list[tuple] = select(
        f"SELECT {m}.{qn('run_id')}, {m}.{qn('value')} "  # noqa: S608 - names, parameters apart
        f"FROM {table(LatestMetric)} {m} WHERE {m}.{qn('name')} = %s "
        f"AND {m}.{qn('value')} IS NOT NULL AND EXISTS (SELECT 1 FROM {table(Run)} {r} "
        f"WHERE {r}.{qn('id')} = {m}.{qn('run_id')} AND {walk[0]}) "
        f"ORDER BY {m}.{qn('value')} {'DESC' if desc else 'ASC'} LIMIT %s",
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
    *, workspace: Workspace, state: ListState, experiment: Experiment | None = None
) -> RunPage:
    """The page `state.page` of the list (the last page when it is past the end).

    Without a condition: the roots counted (up to COUNT_CAP) and the page's ids in
    sort order. With one: the matching trees' roots from the conditions' indexes
    (counted up to COUNT_CAP); a few are sorted by id, many are met in sort order
    (testing each root until the page is full). The condition is compiled once.
    """
    number, per_page, sort = state.page, state.per_page, state.sort
    runs_table = Run._meta.db_table
    condition = list_condition(state) if state.filtering else None
    if condition is None:
        count, exact = _count_roots(workspace, experiment, number * per_page)
        if exact:
            number = min(number, _last_page(count, per_page))
        many = count > FEW_MATCHES or not exact
        walk = _roots_sql(workspace, experiment, None) if many else None
        ids = _sorted_ids(
            lambda: _roots(workspace, experiment),
            _roots_sql(workspace, experiment, None, runs_table),
            sort,
            number,
            per_page,
            walk=walk,
        )
    else:
        found, count, exact = _matching_roots(workspace, experiment, state, condition, number)
        if exact:
            number = min(number, _last_page(count, per_page))
        if found is not None:
            few = (f"{table(Run)}.{qn('id')} IN ({marks(found)})", found) if found else None
            ids = _sorted_ids(None, few, sort, number, per_page) if few else []
        elif not _walked(sort):
            # Every matching tree is sorted anyway: they come from the conditions'
            # indexes instead of each root being tested.
            tables, where, args = _matching_sql(workspace, experiment, state, condition)
            matching = (
                f"{table(Run)}.{qn('id')} IN (SELECT {qn(_ROOT)}.{qn('root_id')} "  # noqa: S608
                f"FROM {tables} WHERE {where})",
                args,
            )
            ids = _sorted_ids(None, matching, sort, number, per_page)
        else:
            ids = _sorted_ids(
                lambda: _roots(workspace, experiment).filter(condition.run_filter(tree=True)),
                _roots_sql(workspace, experiment, condition, runs_table),
                sort,
                number,
                per_page,
                walk=_roots_sql(workspace, experiment, condition),
            )
    rows = tree_rows(state=state, root_ids=ids, condition=condition)
    return RunPage(rows=rows, number=number, per_page=per_page, count=count, count_exact=exact)


def run_list_column_choices(
    *, workspace: Workspace, experiment: Experiment | None = None
) -> tuple[list[str], list[str]]:
    """Metric names and property keys of the workspace's recent runs, for the column chooser."""
    names = run_list_names(workspace=workspace, experiment=experiment)
    return names["metrics"], names["properties"]


def run_list_names(
    *, workspace: Workspace, experiment: Experiment | None = None
) -> dict[str, list[str]]:
    """Metric names, property keys and tag keys of the workspace's recent runs (the column
    chooser, the filter box's completion), each sorted, at most CHOOSER_CAP of each.

    Kept CHOOSER_CACHE_SECONDS in Django's cache: a name logged since shows up
    a little later (columns in the URL are listed anyway). The key holds the
    creation times, so a workspace made again under the same id starts afresh.
    """
    key = f"run-list-names:{workspace.pk}:{workspace.created.timestamp()}"
    if experiment is not None:
        key += f":{experiment.pk}:{experiment.created.timestamp()}"
    names = cache.get(key)
    if names is None:
        names = _names(workspace, experiment)
        cache.set(key, names, CHOOSER_CACHE_SECONDS)
    return names


def _names(workspace: Workspace, experiment: Experiment | None) -> dict[str, list[str]]:
    """One query, bounded: the names found on the CHOOSER_RECENT_RUNS newest runs (a
    distinct over every LatestMetric row would scan them all). Plain SQL, parameters
    bound: the ORM's union took longer to build than to run."""
    connection = connections[Run.objects.db]
    qn = connection.ops.quote_name
    scope, params = f"{qn('workspace_id')} = %s", [workspace.pk]
    if experiment is not None:
        scope += f" AND {qn('experiment_id')} = %s"
        params.append(experiment.pk)
    recent = f"{qn('run_id')} IN (SELECT {qn('id')} FROM recent)"  # noqa: S608 - names
    sql = (
        f"WITH recent AS (SELECT {qn('id')} FROM {qn(Run._meta.db_table)} "  # noqa: S608 - names, parameters apart
        f"WHERE {scope} ORDER BY {qn('created')} DESC LIMIT %s) "
        f"SELECT 'm', {qn('name')} FROM {qn(LatestMetric._meta.db_table)} WHERE {recent} "
        f"UNION SELECT 'p', {qn('key')} FROM {qn(Property._meta.db_table)} WHERE {recent} "
        f"UNION SELECT 't', {qn('key')} FROM {qn(Tag._meta.db_table)} WHERE {recent} "
        "ORDER BY 1, 2 LIMIT %s"
    )
    found: dict[str, list[str]] = {"m": [], "p": [], "t": []}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, CHOOSER_RECENT_RUNS, 3 * CHOOSER_CAP])
        for kind, name in cursor.fetchall():
            if len(found[kind]) < CHOOSER_CAP:
                found[kind].append(name)
    return {"metrics": found["m"], "properties": found["p"], "tags": found["t"]}
