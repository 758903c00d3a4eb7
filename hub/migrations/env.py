"""Alembic environment: one history for the tables of every package."""

from __future__ import annotations

from alembic import context

from hub.db import make_engine
from hub.migrate import target_metadata

config = context.config


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Render our UTC type by its public path so migrations do not depend on where it lives.
    from standalone_calendar.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "hub.db.UTCDateTime()"
    return False


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata(),
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=_render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
