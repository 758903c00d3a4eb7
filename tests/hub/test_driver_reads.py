"""The booking's hottest read, run on psycopg's cursor, answers as SQLAlchemy's session would:
the same values and types, this request's pending changes, SQLAlchemy's errors with parameters
hidden, a lost link taken out of the pool, and statement listeners still seeing it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, bindparam, event, literal_column, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.db import database, make_engine
from hub.driver_reads import DriverRead
from hub.models import Citizen
from standalone_calendar.models import UTCDateTime

READ = DriverRead(
    select(
        Citizen.id,
        Citizen.created_at,
        Citizen.last_login_at,
        (Citizen.created_at < bindparam("before", type_=UTCDateTime)).label("earlier"),
    )
    .where(Citizen.lookup_key == bindparam("key"))
    .limit(1)
)


def _citizen(db, created_at: datetime) -> Citizen:
    citizen = Citizen(lookup_key=uuid.uuid4().hex, sealed_identity="sealed", created_at=created_at)
    db.add(citizen)  # pending: not flushed
    return citizen


def test_it_reads_what_the_session_reads_including_the_requests_own_changes(db, database_url) -> None:
    if database_url.startswith("postgresql"):
        # A server in local time, as many in Sweden are: instants must still be read as stored.
        db.execute(text("SET LOCAL TIME ZONE 'Europe/Stockholm'"))
    created = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
    citizen = _citizen(db, created)
    params = {"key": citizen.lookup_key, "before": created + timedelta(hours=1)}

    row = READ.first(db, params)

    assert row == (citizen.id, created, None, True)
    assert row[1].tzinfo is not None  # an instant, as the column type reads it back
    assert row == tuple(db.execute(READ.statement, params).one())
    assert READ.first(db, {**params, "before": created})[3] is False
    assert READ.first(db, {"key": "nobody", "before": created}) is None


@pytest.fixture
def postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite reads the SQLAlchemy way (the driver path is psycopg's)")
    return database_url


def test_a_failed_read_is_sqlalchemys_error_and_names_no_parameter(postgres, db) -> None:
    failing = DriverRead(
        select((literal_column("1") / bindparam("zero", type_=Integer)).label("n")).where(
            bindparam("session") != ""
        )
    )
    with pytest.raises(DBAPIError) as failed:
        failing.first(db, {"zero": 0, "session": "secret-e-id-session"})
    assert "division by zero" in str(failed.value)
    assert "secret-e-id-session" not in str(failed.value)
    assert not failed.value.connection_invalidated
    db.rollback()
    assert db.scalar(text("SELECT 1")) == 1  # the session goes on


def test_a_lost_link_is_taken_out_of_the_pool(postgres) -> None:
    engine = make_engine(postgres, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            pid = session.scalar(text("SELECT pg_backend_pid()"))
            killer = make_engine(postgres, pool_size=1)
            with killer.begin() as conn:  # the server went away under the request
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.dispose()
            with pytest.raises(DBAPIError) as failed:
                READ.first(session, {"key": "x", "before": datetime.now(UTC)})
            assert failed.value.connection_invalidated
        with Session(engine) as session:
            assert session.scalar(text("SELECT pg_backend_pid()")) != pid
            assert READ.first(session, {"key": "x", "before": datetime.now(UTC)}) is None
    finally:
        engine.dispose()


def test_statement_listeners_still_see_the_read(postgres, app, db) -> None:
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        citizen = _citizen(db, datetime.now(UTC))
        assert READ.first(db, {"key": citizen.lookup_key, "before": datetime.now(UTC)})[0] == citizen.id
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert any("FROM citizen" in s and "lookup_key" in s for s in seen)


def test_a_first_read_leaves_the_session_unbegun_and_its_connection_pooled(postgres) -> None:
    engine = make_engine(postgres, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            assert (
                READ.first_before_transaction(session, {"key": "nobody", "before": datetime.now(UTC)}) is None
            )
            assert not session.in_transaction()  # a refused request has nothing to roll back
            assert engine.pool.checkedout() == 0
            # The session's own connection, the same pooled one, is back out of autocommit: its
            # writes form one transaction.
            driver = session.connection().connection.driver_connection
            assert driver.autocommit is False
            session.execute(text("CREATE TEMPORARY TABLE scratch (n int)"))
            session.execute(text("INSERT INTO scratch VALUES (1)"))
            session.rollback()
            assert session.scalar(text("SELECT to_regclass('pg_temp.scratch')")) is None
    finally:
        engine.dispose()


def test_a_first_read_sees_the_requests_pending_changes(db) -> None:
    created = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
    citizen = _citizen(db, created)
    row = READ.first_before_transaction(db, {"key": citizen.lookup_key, "before": created})
    assert row == (citizen.id, created, None, False)


def test_a_link_lost_before_the_first_read_is_taken_out_of_the_pool(postgres) -> None:
    engine = make_engine(postgres, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        killer = make_engine(postgres, pool_size=1)
        with killer.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        with Session(engine) as session, pytest.raises(DBAPIError) as failed:
            READ.first_before_transaction(session, {"key": "x", "before": datetime.now(UTC)})
        assert failed.value.connection_invalidated
        with Session(engine) as session:
            assert READ.first_before_transaction(session, {"key": "x", "before": datetime.now(UTC)}) is None
            assert session.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        engine.dispose()
