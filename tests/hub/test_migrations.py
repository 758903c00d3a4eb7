"""The schema comes from Alembic, and the models never drift from the migrations."""

from __future__ import annotations

from hub.migrate import check


def test_models_and_migrations_agree(app, database_url) -> None:
    check(database_url)  # raises when autogenerate would find anything to do
