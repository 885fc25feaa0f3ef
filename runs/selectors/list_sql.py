"""The run list's ordering, and the plain SQL its queries are built with.

Sort keys come from runs.list_state (SORT_KEYS, validated there); here they
become SQL. Every ordering ends with created time and id, so pages never
shuffle; nullable values sort last either way (SQLite and PostgreSQL disagree
otherwise); status sorts in lifecycle order (NotStarted ... Canceled).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Func,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Now

from runs.lifecycle import LIFECYCLE
from runs.models import LatestMetric, Run

# Sort key -> model field; duration and status are computed (_sort_value).
SORT_FIELDS = {
    "id": "id",
    "name": "display_name",
    "experiment": "experiment__name",
    "submitter": "submitted_by__username",
    "target": "compute_target",
    "created": "created",
    "started": "started",
    "ended": "ended",
}
NULLABLE_SORTS = {"submitter", "started", "ended", "duration"}
# Sorts before every run's created time (a stand-in where it does not matter).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The ordering every list ends with, so pages never shuffle.
TIEBREAK = (F("created").desc(), F("id").desc())


def _lifecycle_rank() -> Case:
    """A status's place in the lifecycle (runs.lifecycle.LIFECYCLE): 0 for NotStarted."""
    whens = [When(status=s, then=Value(i)) for i, s in enumerate(LIFECYCLE)]
    return Case(*whens, default=Value(len(LIFECYCLE)), output_field=IntegerField())


def _sort_value(key: str, vendor: str):
    prefix, _, name = key.partition(".")
    if prefix == "metrics" and name:
        return Subquery(
            LatestMetric.objects.filter(run=OuterRef("pk"), name=name).values("value")[:1]
        )
    if key == "duration":
        return _duration(vendor)
    return F(SORT_FIELDS[key])


def _duration(vendor: str):
    """How long a run ran, or has run while it is active; NULL before it starts.

    On SQLite in days, by its own julianday(): Django's duration arithmetic there calls
    a Python function on every row (sorting 100,000 runs took 375-400 ms). Only the
    order is used.
    """
    end = Coalesce(F("ended"), Now())
    if vendor == "sqlite":
        days = FloatField()
        return Func(end, function="julianday", output_field=days) - Func(
            F("started"), function="julianday", output_field=days
        )
    return ExpressionWrapper(end - F("started"), output_field=DurationField())


def order_by(qs: QuerySet[Run], sort: str) -> QuerySet[Run]:
    """Order by a whitelisted key (nulls last either way), then newest first, then id."""
    key = sort.lstrip("-")
    desc = sort.startswith("-")
    if key == "created":
        return qs.order_by(*(TIEBREAK if desc else (F("created").asc(), F("id").asc())))
    if key in SORT_FIELDS and key not in NULLABLE_SORTS:
        expr = F(SORT_FIELDS[key])
        return qs.order_by(expr.desc() if desc else expr.asc(), *TIEBREAK)
    if key == "status":
        rank = _lifecycle_rank()
        return qs.order_by(rank.desc() if desc else rank.asc(), *TIEBREAK)
    prefix, _, name = key.partition(".")
    if prefix in ("tags", "properties") and name:
        # A join, not a subquery per run: (run, key) is unique, so at most one row a run,
        # and the database reads the key's rows once (a tag sort of a million runs on
        # PostgreSQL: 1.75 -> 0.59 s).
        qs = qs.annotate(sort_row=FilteredRelation(prefix, condition=Q(**{f"{prefix}__key": name})))
        qs = qs.annotate(sort_value=F("sort_row__value"))
    else:
        qs = qs.annotate(sort_value=_sort_value(key, connections[qs.db].vendor))
    primary: OrderBy = (
        F("sort_value").desc(nulls_last=True) if desc else F("sort_value").asc(nulls_last=True)
    )
    return qs.order_by(primary, *TIEBREAK)


_WHERE_MARK = "__rl_where__"


@lru_cache(maxsize=256)
def _ordered_sql(vendor: str, sort: str, fields: tuple[str, ...]) -> tuple[str, tuple, tuple]:
    """order_by(runs, sort).values_list(*fields) compiled once per sort, its WHERE left
    to fill in (ordered): (SQL, parameters before the WHERE, parameters after it).
    Building the query through the ORM took ten times as long as running it."""
    mark = RawSQL(_WHERE_MARK, (), output_field=BooleanField())  # noqa: S611 - a name
    sql, params = (
        order_by(Run.objects.filter(mark), sort).values_list(*fields).query.sql_with_params()
    )
    before = len(re.findall("%s", sql[: sql.index(_WHERE_MARK)].replace("%%", "")))
    return sql, tuple(params[:before]), tuple(params[before:])


def ordered(
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
    return select(sql, args)


# Plain SQL where building a query through the ORM took longer than running it.
# Names quoted, parameters always bound.


def qn(name: str) -> str:
    return connections[Run.objects.db].ops.quote_name(name)


def table(model) -> str:
    return qn(model._meta.db_table)


def marks(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def select(sql: str, params: list) -> list[tuple]:
    with connections[Run.objects.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
