"""Engine, per-request session and the declarative base of the hub's own tables.

One transaction per request: views and operations only flush; the request is committed in one
place (``commit_or_rollback``) and rolled back on any error answer or exception.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import psycopg
from flask import Flask, Response, current_app, g, request
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker

from hub.postgres_rollback import keep_prepared_statements_across_rollbacks

# The hub shares the calendar's storage conventions (constraint names, UTC instants).
from standalone_calendar.models import NAMING_CONVENTION, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Whether new SQLite transactions take the write lock at once: yes, unless the work at hand only
# reads (safe HTTP methods), so that readers never queue behind or block writers.
sqlite_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=True)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine; SQLite gets write-safe transactions (one writer, no lock upgrades)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **options)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's begin event, not pysqlite, open transactions.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # IMMEDIATE takes the write lock up front, so two bookings never race to upgrade a
            # read lock (which SQLite answers with "database is locked" instead of waiting).
            connection.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_intent.get() else "BEGIN")

        return engine
    # At least the threads of a worker, so that connections are kept rather than opened and closed.
    options.setdefault("pool_size", 20)
    options.setdefault("max_overflow", 50)
    ping_after_idle = options.pop("ping_after_idle_seconds", PING_AFTER_IDLE_SECONDS)
    engine = create_engine(url, **options)
    _ping_connections_that_sat_idle(engine, ping_after_idle)
    if engine.dialect.driver == "psycopg":
        keep_prepared_statements_across_rollbacks(engine)
    return engine


IDLE = TransactionStatus.IDLE

#: A pooled connection used less than this long ago is handed out without a test query.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_connections_that_sat_idle(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection before use only when it has been idle for a while.

    ``pool_pre_ping`` tests every checkout: one more round trip per request, 7 % of a booking
    attempt's CPU (bench/attempt_cost.py). A connection that served a request seconds ago is
    alive but for a server restart at that very moment; such a failure is answered with an
    error, the request is rolled back, and SQLAlchemy then discards every older connection of
    the pool at once. A connection that sat idle (a quiet night, a restart meanwhile) is tested,
    and a dead one is replaced before the request sees it.
    """

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get("last_used")
        if last_used is not None and time.monotonic() - last_used < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead link
            raise DisconnectionError("the pooled connection is gone") from exc  # the pool retries

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["last_used"] = time.monotonic()


class Database:
    """The app's engine and session factory."""

    def __init__(self, url: str, **options: Any) -> None:
        self.engine = make_engine(url, **options)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A session outside a request (CLI, jobs): committed on success, rolled back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


Mapped = TypeVar("Mapped")


def adopt_stored(session: Session, mapped: type[Mapped], row: Mapping[str, Any]) -> Mapped:
    """An object of ``session`` for a row the caller has just read or inserted with a Core
    statement, taken as stored: the session neither inserts nor reloads it. Columns the row
    leaves out are loaded when first used."""
    instance = mapped(**row)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["hub.db"]


def session() -> Session:
    """Return the current request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


@contextmanager
def bound_session(bound: Session) -> Iterator[Session]:
    """Let the request-scoped helpers use ``bound`` (workers and CLI jobs have no request)."""
    previous = g.pop("db_session", None)
    g.db_session = bound
    try:
        yield bound
    finally:
        g.pop("db_session", None)
        if previous is not None:
            g.db_session = previous


def commit_or_rollback(response: Response) -> Response:
    """Commit the request's work when the answer is a success, roll it back otherwise."""
    current = g.get("db_session")
    if current is not None:
        if response.status_code < 400:
            current.commit()
        else:
            roll_back_now()
    return response


def roll_back_now() -> None:
    """Roll the request's work back before its error answer is rendered rather than after, so that
    the row locks it took are released at once; the request's end then finds nothing to undo.
    Closing rolls back too, and skips restoring the session's objects, which nothing uses once
    the error answer is rendered (a refusal is nine booking attempts of ten in a rush)."""
    current = g.pop("db_session", None)
    if current is not None:
        current.close()


@contextmanager
def reads_before_transaction(db: Session) -> Iterator[None]:
    """Run the reads in the block without opening the request's transaction on PostgreSQL, when
    none is open yet: each statement then commits on its own.

    A request whose first statements only read, and which is then refused (nine booking
    attempts of ten in a rush), costs PostgreSQL one round trip instead of three (``BEGIN``,
    the read, ``ROLLBACK``). Under READ COMMITTED, the hub's isolation level, every statement
    sees its own snapshot anyway, so a read in a transaction of its own sees what it would have
    seen as the transaction's first statement. Writes must not run in the block: each would
    commit at once. SQLite keeps its ``BEGIN IMMEDIATE`` (see :func:`make_engine`).
    """
    raw = db.connection().connection.driver_connection
    if not isinstance(raw, psycopg.Connection) or raw.info.transaction_status != IDLE:
        yield
        return
    raw.autocommit = True
    try:
        yield
    finally:
        # Otherwise the link broke (nothing else leaves a transaction open in autocommit), and
        # SQLAlchemy's disconnect handling has already taken it out of the pool.
        if raw.info.transaction_status == IDLE:
            raw.autocommit = False


def close_session(_exc: BaseException | None) -> None:
    current = g.pop("db_session", None)
    if current is not None:
        current.rollback()
        current.close()
    token = g.pop("write_intent_token", None)
    if token is not None:
        sqlite_write_intent.reset(token)


def declare_write_intent() -> None:
    g.write_intent_token = sqlite_write_intent.set(request.method not in SAFE_METHODS)


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    options: dict[str, Any] = {}
    if app.config.get("DATABASE_POOL_SIZE") is not None and not url.startswith("sqlite"):
        options["pool_size"] = int(app.config["DATABASE_POOL_SIZE"])
    app.extensions["hub.db"] = Database(url, **options)
    app.before_request(declare_write_intent)
    app.after_request(commit_or_rollback)
    app.teardown_appcontext(close_session)


__all__ = [
    "Base",
    "Database",
    "UTCDateTime",
    "adopt_stored",
    "bound_session",
    "database",
    "init_app",
    "make_engine",
    "session",
]
