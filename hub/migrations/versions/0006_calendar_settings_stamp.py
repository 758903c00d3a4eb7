"""calendar settings stamp: a token that every change of a calendar's settings replaces

Revision ID: 0006_calendar_settings_stamp
Revises: 0005_admin_terms
Create Date: 2026-11-28 00:50:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_calendar_settings_stamp"
down_revision: str | None = "0005_admin_terms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sc_calendar") as batch:
        batch.add_column(sa.Column("settings_stamp", sa.String(length=32), nullable=True))
    calendar = sa.table("sc_calendar", sa.column("id", sa.Integer), sa.column("settings_stamp", sa.String))
    connection = op.get_bind()
    for (calendar_id,) in connection.execute(sa.select(calendar.c.id)).all():
        connection.execute(
            calendar.update().where(calendar.c.id == calendar_id).values(settings_stamp=uuid.uuid4().hex)
        )
    with op.batch_alter_table("sc_calendar") as batch:
        batch.alter_column("settings_stamp", existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("sc_calendar") as batch:
        batch.drop_column("settings_stamp")
