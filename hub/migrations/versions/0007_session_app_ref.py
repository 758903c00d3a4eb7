"""identity sessions name the app's own id of their person (the hub: its citizen id) and the key
that sealed them

Revision ID: 0007_session_app_ref
Revises: 0006_settings_stamps
Create Date: 2026-11-28 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_session_app_ref"
down_revision: str | None = "0006_settings_stamps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Sessions started before stay unnamed; the hub reads them in full until they end.
    with op.batch_alter_table("identity_session") as batch:
        batch.add_column(sa.Column("app_ref", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("seal_key", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_session") as batch:
        batch.drop_column("seal_key")
        batch.drop_column("app_ref")
