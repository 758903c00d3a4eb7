"""Pooled PostgreSQL connections: one that sat idle is tested before use, a busy one is not;
prepared statements outlive rolled-back transactions."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.db import make_engine


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("the pool's liveness test is PostgreSQL's (SQLite has no server to lose)")
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
