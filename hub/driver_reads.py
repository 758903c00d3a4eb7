"""The hottest reads, run on psycopg's own cursor past SQLAlchemy's execution layers.

Every booking attempt starts with one large read (:mod:`hub.booking.clinic_settings`). Through
the ORM session, SQLAlchemy spent about 0.15 ms of CPU on it beyond what psycopg spends (the
cache key of a large statement, parameters, result metadata): more than PostgreSQL spends running
it, and a tenth of a refused attempt. A :class:`DriverRead` compiles its statement once per
dialect and then hands psycopg the SQL text and parameters directly, converting both with the
statement's own column types, so callers see what :meth:`Session.execute` would have returned.

It keeps what SQLAlchemy's path guarantees to the hub: pending changes are flushed first, errors
arrive as SQLAlchemy's exceptions (parameters hidden: they name e-ID sessions), and a lost link is
taken out of the pool. Where anything watches the engine's statements (execution event
listeners, ``echo``), and on any driver but psycopg (SQLite), the read goes SQLAlchemy's way so
that nothing is hidden from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.db import IDLE, reads_before_transaction


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    defaults: Mapping[str, Any]  # parameters with a value in the statement (a LIMIT, say)
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters the column type converts
    results: tuple[Callable[[Any], Any] | None, ...]  # by column

    def parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        values = {**self.defaults, **given}
        for name, convert in self.binds:
            values[name] = convert(values[name])
        return values

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            v if convert is None else convert(v) for v, convert in zip(raw, self.results, strict=True)
        )


class DriverRead:
    """One SELECT, read through psycopg's cursor when nothing watches the engine."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[Dialect, _Compiled] = {}

    def first(self, db: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The statement's first row (``None``: no row), as ``db.execute(…).first()`` gives it."""
        connection = db.connection()
        dialect = connection.dialect
        if dialect.driver != "psycopg" or _watched(connection.engine):
            row = db.execute(self.statement, params).first()
            return None if row is None else tuple(row)
        if db.autoflush:
            db.flush()  # as the session's own execute would: the read sees this request's changes
        return self._run(dialect, connection.connection.driver_connection, params, connection.invalidate)

    def first_before_transaction(self, db: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """As :meth:`first`, for a request's first statement, read as
        :func:`hub.db.reads_before_transaction` reads: in autocommit on PostgreSQL.

        While ``db`` has not begun and holds no change, the read takes a pooled connection of its
        own and gives it back at once: the session does not begin, and a request that ends with
        the read (a refused booking) never pays for the session's transaction and connection
        (60 of the 80 µs that beginning and closing them cost).
        """
        engine = db.get_bind()
        if (
            db.in_transaction()
            or db.new
            or db.dirty
            or db.deleted
            or engine.dialect.driver != "psycopg"
            or _watched(engine)
        ):
            with reads_before_transaction(db):
                return self.first(db, params)
        pooled = engine.raw_connection()
        raw = pooled.driver_connection
        try:
            raw.autocommit = True
            return self._run(engine.dialect, raw, params, pooled.invalidate)
        finally:
            if raw.info.transaction_status == IDLE:  # otherwise the link broke and is invalidated
                raw.autocommit = False
            pooled.close()

    def _run(
        self,
        dialect: Dialect,
        raw: psycopg.Connection,
        params: Mapping[str, Any],
        invalidate: Callable[[BaseException], None],
    ) -> tuple[Any, ...] | None:
        compiled = self._compiled.get(dialect) or self._compile(dialect)
        values = compiled.parameters(params)
        try:
            with raw.cursor() as cursor:
                cursor.execute(compiled.sql, values)
                found = cursor.fetchone()
        except psycopg.Error as exc:
            lost = dialect.is_disconnect(exc, raw, None)
            if lost:
                invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql,
                values,
                exc,
                psycopg.Error,
                hide_parameters=True,
                connection_invalidated=lost,
                dialect=dialect,
            ) from exc
        return None if found is None else compiled.row(found)

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        sql = str(compiled)
        names = compiled.bind_names  # the parameters as the SQL names them
        if "POSTCOMPILE" in sql or any(f"%({name})s" not in sql for name in names.values()):
            raise ValueError("DriverRead takes plain named parameters only (no IN lists)")
        binds = []
        for bind, name in names.items():
            convert = bind.type.bind_processor(dialect)
            if convert is not None:
                binds.append((name, convert))
        results = tuple(
            column.type.result_processor(dialect, None) for column in self.statement.selected_columns
        )
        made = _Compiled(
            sql,
            {k: v for k, v in compiled.params.items() if v is not None},
            tuple(binds),
            results,
        )
        self._compiled[dialect] = made
        return made


def _watched(engine: Engine) -> bool:
    return bool(engine.echo or engine.dispatch.before_cursor_execute or engine.dispatch.after_cursor_execute)
