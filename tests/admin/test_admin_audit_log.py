"""The audit log is append-only: the database itself refuses to change a line."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from hub.models import AuditEvent


def test_an_audit_line_cannot_be_changed_or_deleted(db) -> None:
    db.add(
        AuditEvent(actor_kind="staff", actor_id="k" * 64, action="admin.case_type", details={"after": True})
    )
    db.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(update(AuditEvent).values(action="admin.nothing_happened"))
        db.flush()
    db.rollback()
    if db.get_bind().dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(delete(AuditEvent))
        db.rollback()


def test_migrations_go_down_and_up_again(database_url, app) -> None:
    from alembic import command

    from hub.migrate import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "0004_identity")
    upgrade(database_url)
