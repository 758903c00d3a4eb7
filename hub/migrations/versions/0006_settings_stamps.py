"""settings stamps: tokens that every change of a calendar's or a clinic's settings replaces

Revision ID: 0006_settings_stamps
Revises: 0005_admin_terms
Create Date: 2026-11-28 00:50:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_settings_stamps"
down_revision: str | None = "0005_admin_terms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("sc_calendar", "clinic")


def upgrade() -> None:
    connection = op.get_bind()
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("settings_stamp", sa.String(length=32), nullable=True))
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("settings_stamp", sa.String))
        for (row_id,) in connection.execute(sa.select(table.c.id)).all():
            stamp = uuid.uuid4().hex
            connection.execute(table.update().where(table.c.id == row_id).values(settings_stamp=stamp))
        with op.batch_alter_table(name) as batch:
            batch.alter_column("settings_stamp", existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    for name in reversed(TABLES):
        with op.batch_alter_table(name) as batch:
            batch.drop_column("settings_stamp")
