"""Pooled PostgreSQL connections: one that sat idle is tested before use, a busy one is not."""

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
