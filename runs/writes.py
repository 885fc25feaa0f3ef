"""Rows written by statements written once, for the hottest writes: a run's create, its
end (the last points, the status change and its activity row), a tag change.

bulk_create, update() and save() build and compile their SQL on every call: 0.2-0.5 ms
of Python a statement on this machine, where the database takes 0.02-0.1 ms to run it
(bench/README.md). Here each statement is written once per model, fields and database,
and the values are prepared as the ORM prepares them (each field's pre_save and
get_db_prep_save), so the rows are those the ORM would have written.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model


def row_lock(connection: BaseDatabaseWrapper) -> str:
    """The clause that locks the rows a SELECT reads, as select_for_update(no_key=True)
    writes it: FOR NO KEY UPDATE on PostgreSQL (no key changes, so the KEY SHARE locks
    of rows referring to them neither wait nor deadlock); nothing on SQLite, whose
    IMMEDIATE transactions already serialise writers."""
    return " FOR NO KEY UPDATE" if connection.features.has_select_for_update else ""


class Insert:
    """INSERT of a model's rows, every concrete field but an automatic primary key.

    Rows come as unsaved instances (their defaults filled in by the model, as for
    bulk_create); their automatic primary keys are not read back. `skip_conflicts`:
    a row that would break a unique constraint is left out (ON CONFLICT DO NOTHING,
    as bulk_create(ignore_conflicts=True)), and the transaction goes on.
    """

    def __init__(self, model: type[Model], *, skip_conflicts: bool = False):
        self.model = model
        self.skip_conflicts = skip_conflicts
        auto = model._meta.pk if model._meta.pk.db_returning else None
        self.fields = [f for f in model._meta.concrete_fields if f is not auto]
        self._sql: dict[str, str] = {}

    def _for(self, using: str) -> str:
        sql = self._sql.get(using)
        if sql is None:
            quote = connections[using].ops.quote_name
            columns = ", ".join(quote(f.column) for f in self.fields)
            marks = ", ".join(["%s"] * len(self.fields))
            sql = f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608 - names
            if self.skip_conflicts:
                sql += " ON CONFLICT DO NOTHING"
            self._sql[using] = sql
        return sql

    def save(self, objs: Iterable[Model], using: str = "default") -> int:
        """Insert `objs` (nothing when there are none); they are then saved instances, as
        after bulk_create (but an automatic primary key stays None; and, as there, those
        skipped for a conflict are marked saved too). Returns how many rows were written
        (fewer than `objs` only when conflicts are skipped)."""
        connection = connections[using]
        objs = list(objs)
        rows = [
            [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self.fields]
            for obj in objs
        ]
        if not rows:
            return 0
        with connection.cursor() as cursor:
            if len(rows) == 1:
                cursor.execute(self._for(using), rows[0])
            else:
                cursor.executemany(self._for(using), rows)
            written = cursor.rowcount
        for obj in objs:
            obj._state.adding, obj._state.db = False, using
        return written


class Update:
    """UPDATE of some fields of one row, found by its primary key."""

    def __init__(self, model: type[Model], fields: tuple[str, ...]):
        self.model = model
        self.fields = [model._meta.get_field(name) for name in fields]
        self._sql: dict[str, str] = {}

    def _for(self, using: str) -> str:
        sql = self._sql.get(using)
        if sql is None:
            quote = connections[using].ops.quote_name
            sets = ", ".join(f"{quote(f.column)} = %s" for f in self.fields)
            pk = quote(self.model._meta.pk.column)
            sql = f"UPDATE {quote(self.model._meta.db_table)} SET {sets} WHERE {pk} = %s"  # noqa: S608 - names
            self._sql[using] = sql
        return sql

    def save(self, obj: Model, using: str = "default") -> None:
        """Write these fields of `obj`, as it holds them, to its row."""
        connection = connections[using]
        values = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in self.fields]
        with connection.cursor() as cursor:
            cursor.execute(self._for(using), [*values, obj.pk])
