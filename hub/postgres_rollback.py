"""PostgreSQL connections whose prepared statements outlive a rolled-back transaction.

psycopg prepares a statement on a connection after it has run five times, so that PostgreSQL
parses and plans it once. But ``Connection.rollback()`` forgets every prepared statement and has
the server drop them all (``DEALLOCATE ALL``), to be safe after DDL that a rollback undid. The hub
answers every refusal by rolling its request back, and in a booking rush nine attempts of ten are
refused: the booking path's statements were parsed and planned anew on almost every attempt, and
a rolled-back request cost PostgreSQL about 0.3 ms instead of 0.09 ms (bench/README.md).

PostgreSQL itself keeps prepared statements across ``ROLLBACK`` (they belong to the session, not
to the transaction), and psycopg records a statement as prepared only after the server accepted
it, so nothing the cache names can be missing after a rollback. The hub's requests run no DDL; the
migrations do, and psycopg still forgets everything after any ``DROP`` or ``ALTER`` it runs.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy import Engine, event

_OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


class KeepsPreparedStatements(psycopg.Connection[Any]):
    """A psycopg connection that rolls back with a plain ``ROLLBACK`` and keeps its statements."""

    def rollback(self) -> None:
        if self.pgconn.transaction_status not in _OPEN:
            super().rollback()  # nothing to end here; psycopg's own handling of odd states
            return
        with self.lock:
            result = self.pgconn.exec_(b"ROLLBACK")
        if result.status != ExecStatus.COMMAND_OK:
            message = (result.error_message or b"").decode(errors="replace")
            raise psycopg.OperationalError(f"rollback failed: {message}")


def keep_prepared_statements_across_rollbacks(engine: Engine) -> None:
    """Make ``engine`` (SQLAlchemy's psycopg dialect) open :class:`KeepsPreparedStatements`."""

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> psycopg.Connection[Any]:
        return KeepsPreparedStatements.connect(*cargs, **cparams)
