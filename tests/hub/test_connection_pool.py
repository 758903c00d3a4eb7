"""Pooled PostgreSQL connections: one that sat idle is tested before use, a busy one is not;
prepared statements outlive rolled-back transactions; reads before a request's transaction
leave it whole."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.db import make_engine, reads_before_transaction


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's pooled connections (SQLite has no server to lose, no round trips to save)")
    return database_url


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def _terminate(url: str, pid: int) -> None:
    killer = make_engine(url, pool_size=1)
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
    killer.dispose()


def test_an_idle_connection_that_died_is_replaced_before_the_request_sees_it(postgres_url) -> None:
    engine = make_engine(postgres_url, pool_size=1, ping_after_idle_seconds=0)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_url, first)  # a server restart while the connection sat in the pool
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_tested_and_the_pool_recovers_after_one_failure(
    postgres_url,
) -> None:
    engine = make_engine(postgres_url, pool_size=2, ping_after_idle_seconds=3600)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_url, first)
        with pytest.raises(DBAPIError) as failed:  # that request is answered with an error …
            _backend_pid(engine)
        assert failed.value.connection_invalidated
        assert _backend_pid(engine) != first  # … and the next one gets a fresh connection
    finally:
        engine.dispose()


def _prepared_statements(conn) -> set[str]:
    return set(conn.scalars(text("SELECT statement FROM pg_prepared_statements")))


def test_statements_stay_prepared_when_requests_are_rolled_back(postgres_url) -> None:
    """Nine booking attempts of ten are refused and rolled back: their statements must not be
    parsed and planned again every time (psycopg's own rollback drops them all)."""
    engine = make_engine(postgres_url, pool_size=1)
    query = text("SELECT count(*) FROM pg_class WHERE relname = :name")
    try:
        for _ in range(8):  # psycopg prepares a statement on its sixth run
            with engine.connect() as conn:
                conn.execute(query, {"name": "pg_class"}).scalar_one()
                conn.rollback()
        with engine.connect() as conn:
            assert any("pg_class" in s for s in _prepared_statements(conn))
            assert conn.execute(query, {"name": "pg_class"}).scalar_one() == 1  # still answers
    finally:
        engine.dispose()


def test_a_failed_transaction_is_rolled_back_and_the_connection_serves_the_next_request(
    postgres_url,
) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    query = text("SELECT :n + 1")
    try:
        for n in range(6):
            with engine.connect() as conn:
                assert conn.execute(query, {"n": n}).scalar_one() == n + 1
                with pytest.raises(DBAPIError):
                    conn.execute(text("SELECT 1 / 0"))  # the transaction is now in error
                conn.rollback()
        with engine.connect() as conn:
            first = _backend_pid_of(conn)
            assert conn.execute(query, {"n": 41}).scalar_one() == 42
            assert conn.scalar(text("SELECT 'still usable'")) == "still usable"
        assert _backend_pid(engine) == first  # the same connection: rolled back, not replaced
    finally:
        engine.dispose()


def test_rollback_undoes_the_transaction(postgres_url) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TEMPORARY TABLE scratch (n int) ON COMMIT PRESERVE ROWS"))
            conn.commit()
            conn.execute(text("INSERT INTO scratch VALUES (1)"))
            conn.rollback()
            assert conn.scalar(text("SELECT count(*) FROM scratch")) == 0
    finally:
        engine.dispose()


def _backend_pid_of(conn) -> int:
    return conn.scalar(text("SELECT pg_backend_pid()"))


@pytest.fixture
def scratch_engine(postgres_url):
    """An engine with one pooled connection and an empty table ``reads_scratch``."""
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS reads_scratch"))
        conn.execute(text("CREATE TABLE reads_scratch (n int)"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE reads_scratch"))
    engine.dispose()


def _stored(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM reads_scratch"))


def _open_transaction(session: Session) -> bool:
    raw = session.connection().connection.driver_connection
    return raw.info.transaction_status != raw.info.transaction_status.IDLE


def test_a_read_before_the_request_writes_opens_no_transaction_and_the_writes_stay_one(
    scratch_engine,
) -> None:
    """A refused booking attempt only reads: it need not cost BEGIN and ROLLBACK. The writes of a
    request that goes on after such a read must still be undone together."""
    with Session(scratch_engine) as session:
        with reads_before_transaction(session):
            assert session.scalar(text("SELECT count(*) FROM reads_scratch")) == 0
            assert not _open_transaction(session)
        session.execute(text("INSERT INTO reads_scratch VALUES (1)"))
        session.execute(text("INSERT INTO reads_scratch VALUES (2)"))
        assert _open_transaction(session)
        session.rollback()
    assert _stored(scratch_engine) == 0

    with Session(scratch_engine) as session:  # the same pooled connection, used again
        session.execute(text("INSERT INTO reads_scratch VALUES (3)"))
        session.rollback()
    assert _stored(scratch_engine) == 0


def test_reads_once_the_transaction_is_open_stay_inside_it(scratch_engine) -> None:
    with Session(scratch_engine) as session:
        session.execute(text("INSERT INTO reads_scratch VALUES (1)"))
        with reads_before_transaction(session):
            assert session.scalar(text("SELECT count(*) FROM reads_scratch")) == 1  # its own write
        session.rollback()
    assert _stored(scratch_engine) == 0


def test_a_link_lost_during_the_reads_is_not_pooled_and_the_next_request_is_whole(
    scratch_engine, postgres_url
) -> None:
    with Session(scratch_engine) as session:
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        session.rollback()
        with pytest.raises(DBAPIError), reads_before_transaction(session):
            _terminate(postgres_url, pid)  # the server went away between two requests' reads
            session.execute(text("SELECT count(*) FROM reads_scratch"))
    with Session(scratch_engine) as session:
        assert session.scalar(text("SELECT pg_backend_pid()")) != pid
        session.execute(text("INSERT INTO reads_scratch VALUES (1)"))
        session.rollback()
    assert _stored(scratch_engine) == 0
