"""Alembic, driven from code: the app never creates tables any other way outside tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def target_metadata() -> list[MetaData]:
    """Every package's tables, so autogenerate and ``alembic check`` see them all."""
    import hub.admin.models  # the admin pages' tables, on the hub's metadata
    import hub.models  # noqa: F401 - registers the hub's tables on its metadata
    from hub.db import Base
    from hub.notifications import models as _notifications  # noqa: F401 - their tables, same metadata
    from identity.models import Base as IdentityBase
    from standalone_calendar.models import Base as CalendarBase
    from terms.models import Base as TermsBase

    return [Base.metadata, CalendarBase.metadata, IdentityBase.metadata, TermsBase.metadata]


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations have drifted apart."""
    command.check(alembic_config(url))
