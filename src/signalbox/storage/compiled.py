"""Core statements compiled once per dialect and run on the transaction's DBAPI cursor.

    _CLOSE = CompiledStatement(update(holds).where(...).values(...))
    closed = _CLOSE.execute(uow.connection, {"hold_id": 7, ...})  # rows changed
    view = _VIEW.first(uow.connection, {"name": "dev"})             # a named tuple, or None

For the statements every hold request runs (``repositories.holds``, the event insert):
``Connection.execute`` spends more of a small statement's time in SQLAlchemy than in the
database (an execution context, the compiled cache's key, parameter and result set-up,
events), about 40 us a statement on this machine. A ``CompiledStatement`` keeps, per dialect,
the statement's SQL text, the order of its parameters, their default values (literals the
statement binds, such as a status) and each parameter's and result column's type
processing, all taken from SQLAlchemy's own compilation (so a ``UtcDateTime`` or a ``JSON``
column is written exactly as ``Connection.execute`` writes it), and sends the text straight to
the DBAPI cursor of the connection, inside the connection's transaction.

What it leaves out, so it is for plain statements only: SQLAlchemy's statement events (none
are registered on signalbox's engines), Python-side column defaults (give every column), and
the translation of DBAPI errors into ``sqlalchemy.exc`` ones (a failure raises the driver's
own error; the unit of work rolls back on any exception all the same).
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ColumnElement, Executable, Select
from sqlalchemy.sql.dml import UpdateBase

__all__ = ["CompiledStatement", "insert_of"]

_Processor = Callable[[Any], Any] | None


class _Form:
    """A statement as one dialect runs it: SQL text, parameters, result rows."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        if compiled.escaped_bind_names:
            raise ValueError("CompiledStatement: parameter names that need escaping")
        self.sql: str = compiled.string
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        self.names: list[str] = list(compiled.positiontup) if compiled.positional else list(by_name)
        self.positional: bool = compiled.positional
        self.defaults: dict[str, Any] = {
            name: bind.effective_value for name, bind in by_name.items() if not bind.required
        }
        self.processors: list[tuple[str, _Processor]] = [
            (name, by_name[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in self.names
        ]
        columns = _result_columns(statement)
        self.row_type: Any = namedtuple("Row", [column.key for column in columns])  # type: ignore[misc]
        self.result_processors: list[_Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self.plain_rows = all(processor is None for processor in self.result_processors)

    def parameters(self, given: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = []
        for name, process in self.processors:
            value = given[name] if name in given else self.defaults[name]
            values.append(value if process is None or value is None else process(value))
        return tuple(values) if self.positional else dict(zip(self.names, values, strict=True))

    def row(self, raw: tuple[Any, ...]) -> Any:
        if self.plain_rows:
            return self.row_type._make(raw)
        return self.row_type._make(
            value if process is None or value is None else process(value)
            for process, value in zip(self.result_processors, raw, strict=True)
        )


def _result_columns(statement: Executable) -> list[ColumnElement[Any]]:
    if isinstance(statement, Select):
        return list(statement.selected_columns)
    if isinstance(statement, UpdateBase):
        return list(statement.exported_columns)
    raise TypeError(f"CompiledStatement: not a SELECT, INSERT, UPDATE or DELETE: {statement!r}")


class CompiledStatement:
    """``statement`` (a Core SELECT, INSERT, UPDATE or DELETE whose parameters are all
    ``bindparam``s or literals), compiled once for each dialect that runs it."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect)
        if form is None:  # two threads may both compile it: the same text, either is kept
            form = self._forms[dialect] = _Form(self.statement, dialect)
        return form

    def execute(self, connection: Connection, parameters: Mapping[str, Any]) -> int:
        """Run the statement with ``parameters`` in ``connection``'s transaction (which must
        have begun); the number of rows it changed (the DBAPI's ``rowcount``)."""
        form = self._form(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(form.sql, form.parameters(parameters))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def first(self, connection: Connection, parameters: Mapping[str, Any]) -> Any | None:
        """The first row (a named tuple: ``row.column``), or None when there is none."""
        form = self._form(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(form.sql, form.parameters(parameters))
            raw = cursor.fetchone()
        finally:
            cursor.close()
        return None if raw is None else form.row(raw)

    def one(self, connection: Connection, parameters: Mapping[str, Any]) -> Any:
        """The only row; LookupError when there is none."""
        row = self.first(connection, parameters)
        if row is None:
            raise LookupError("CompiledStatement.one: no row")
        return row


def insert_of(table: Table, columns: tuple[str, ...]) -> CompiledStatement:
    """An INSERT into ``table`` whose parameters are ``columns``, each given by name."""
    return CompiledStatement(insert(table).values({name: bindparam(name) for name in columns}))
