"""Model instances from the rows of a statement written once, for the hottest reads.

The ORM builds and compiles a query's SQL on every call: about 1-2 ms of Python for a
select of a few joined models, ten times what the database takes to answer it. The
reads every request makes (its token or session, its membership, the run it names) and
the run page's (the run with its neighbours, tags, properties, latest values, files,
events) are written once instead: their columns taken from the models, their values
converted as the ORM converts them (the backend's converters, then the fields'), so
the instances are those the ORM would have made.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connections
from django.db.models import Model


class Table:
    """A model's concrete columns under an alias in a hand-written SELECT."""

    def __init__(self, model: type[Model], alias: str, only: tuple[str, ...] = ()):
        """`only`: these fields (attnames) alone; the others are deferred, as with
        QuerySet.only(). The primary key must be among them."""
        self.model, self.alias = model, alias
        fields = model._meta.concrete_fields
        self.fields = [f for f in fields if f.attname in only] if only else list(fields)
        self.attnames = [field.attname for field in self.fields]
        self.pk_index = self.fields.index(model._meta.pk)

    @property
    def name(self) -> str:
        return self.model._meta.db_table

    def columns(self, quote) -> str:
        """The SELECT list of its columns, in field order."""
        return ", ".join(f"{quote(self.alias)}.{quote(field.column)}" for field in self.fields)

    def converters(self, using: str) -> list[tuple[int, list]]:
        """(index, converters) of the fields whose database values need converting."""
        connection = connections[using]
        found = []
        for i, field in enumerate(self.fields):
            column = field.get_col(self.alias)
            pairs = [
                (convert, column)
                for convert in connection.ops.get_db_converters(column)
                + column.get_db_converters(connection)
            ]
            if pairs:
                found.append((i, pairs))
        return found

    def instance(self, values: list, using: str, converters: list[tuple[int, list]]):
        """The model instance of `values` (this table's slice of a row)."""
        connection = connections[using]
        for i, pairs in converters:
            value = values[i]
            for convert, column in pairs:
                value = convert(value, column, connection)
            values[i] = value
        return self.model.from_db(using, self.attnames, values)


class Statement:
    """SQL over several Tables, written by `write(quote)` (quote: the database's
    quote_name) and its converters worked out once per database."""

    def __init__(self, tables: list[Table], write: Callable[[Callable[[str], str]], str]):
        self.tables, self.write = tables, write
        self._prepared: dict[str, tuple[str, list]] = {}

    def _for(self, using: str) -> tuple[str, list]:
        prepared = self._prepared.get(using)
        if prepared is None:
            sql = self.write(connections[using].ops.quote_name)
            prepared = self._prepared[using] = (sql, [t.converters(using) for t in self.tables])
        return prepared

    def rows(self, params: list, using: str = "default") -> list[list]:
        """Each row as one model instance per table (None for a table outer-joined
        to nothing: its primary key is NULL)."""
        sql, converters = self._for(using)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        result = []
        for row in fetched:
            start, instances = 0, []
            for table, table_converters in zip(self.tables, converters, strict=True):
                values = list(row[start : start + len(table.fields)])
                start += len(table.fields)
                instances.append(
                    None
                    if values[table.pk_index] is None
                    else table.instance(values, using, table_converters)
                )
            result.append(instances)
        return result
