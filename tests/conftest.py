"""Shared fixtures: the app on a migrated database (SQLite, or PostgreSQL when asked), clients,
login and factories. Every storage test starts from empty tables.

``HUB_TEST_DATABASE_URL`` selects PostgreSQL; the test command runs the ``storage`` tests a second
time that way. Each run works in a schema of its own, so parallel runs never meet.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from web_support import csrf_token

STORAGE_FIXTURES = {"app", "db", "database_url", "create_clinic", "client", "login"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = bool(os.environ.get("HUB_TEST_DATABASE_URL"))
    for item in items:
        if STORAGE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.storage)
        if on_postgres and item.get_closest_marker("once"):
            item.add_marker(pytest.mark.skip(reason="runs once, in the SQLite pass"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "hub.sqlite3")
        return
    schema = f"hubtest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from hub import create_app
    from hub.migrate import upgrade

    upgrade(database_url)  # the schema comes from the migrations, as in production
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "DEV_LOGIN": True,
        }
    )
    yield app
    from hub.db import database

    database(app).engine.dispose()


def _empty_all_tables(app: Flask) -> None:
    from hub.db import database
    from hub.migrate import target_metadata

    engine = database(app).engine
    tables = [t for metadata in target_metadata() for t in metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


@pytest.fixture
def app(migrated_app: Flask) -> Iterator[Flask]:
    from hub.booking.cache import SlotCache

    _empty_all_tables(migrated_app)
    # Ids restart in an emptied database: nothing cached about an earlier test's clinic 1 may survive.
    migrated_app.extensions.pop("hub.adapters", None)
    migrated_app.extensions.pop("hub.health", None)
    migrated_app.extensions["hub.slot_cache"] = SlotCache(
        float(migrated_app.config["FREE_SLOT_CACHE_SECONDS"])
    )
    yield migrated_app


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session for arranging and checking data; committed by the factories that use it."""
    from hub.db import database, sqlite_write_intent

    # Arranging and checking must not hold SQLite's write lock while the app under test writes.
    token = sqlite_write_intent.set(False)
    session = database(app).sessions()
    yield session
    sqlite_write_intent.reset(token)
    session.rollback()
    session.close()


@pytest.fixture
def elsewhere(app: Flask) -> Iterator[Session]:
    """Another session of the same database: an administrator's request in another process, say."""
    from hub.db import database

    session = database(app).sessions()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login() -> Callable[[FlaskClient, str], None]:
    def _login(client: FlaskClient, person: str = "tolvan") -> None:
        response = client.post("/dev-login", data={"person": person, "csrf_token": csrf_token(client)})
        assert response.status_code == 302, response.get_data(as_text=True)

    return _login


WEEKDAYS = tuple(range(7))


@pytest.fixture
def create_clinic(db: Session) -> Callable[..., Any]:
    """Create a standalone-calendar clinic with one slot type open every day."""
    from hub.models import CaseType, Clinic, ClinicCaseType, ClinicSlotType
    from standalone_calendar.models import Calendar, OpeningRule, SlotType

    counter = iter(range(1, 10_000))

    def _create(
        *,
        hsa_id: str | None = None,
        municipality: str = "Solna",
        slot_type: str = "LAKARBESOK",
        capacity: int = 1,
        minutes: int = 20,
        opens: time = time(8, 0),
        closes: time = time(16, 0),
        weekdays: tuple[int, ...] = WEEKDAYS,
        cancel_deadline_minutes: int = 24 * 60,
        min_notice_minutes: int = 60,
        horizon_days: int = 28,
        series_days: tuple[int, int] | None = None,
        case_types: tuple[CaseType, ...] = (CaseType.BOOK, CaseType.REBOOK_CANCEL),
        visible: bool = True,
        timezone: str = "Europe/Stockholm",
    ) -> Clinic:
        n = next(counter)
        hsa_id = hsa_id or f"SE2321000016-T{n:03d}"
        clinic = Clinic(
            hsa_id=hsa_id.upper(),
            name=f"Testmottagningen {n}",
            municipality=municipality,
            city=municipality,
            timezone=timezone,
            connection="standalone",
        )
        db.add(clinic)
        db.flush()
        for case_type in case_types:
            db.add(ClinicCaseType(clinic_id=clinic.id, case_type=case_type, enabled=True))
        db.add(
            ClinicSlotType(
                clinic_id=clinic.id,
                code=slot_type,
                visible=visible,
                names={"sv": "Läkarbesök", "en": "Doctor's appointment", "de": "Arzttermin"},
            )
        )
        calendar = Calendar(
            clinic_hsa_id=clinic.hsa_id,
            timezone=timezone,
            horizon_days=horizon_days,
            min_notice_minutes=min_notice_minutes,
        )
        db.add(calendar)
        db.flush()
        kind = SlotType(
            calendar_id=calendar.id,
            code=slot_type,
            name="Läkarbesök",
            duration_minutes=minutes,
            capacity=capacity,
            cancel_deadline_minutes=cancel_deadline_minutes,
            series_min_days=series_days[0] if series_days else None,
            series_max_days=series_days[1] if series_days else None,
        )
        db.add(kind)
        db.flush()
        for weekday in weekdays:
            db.add(
                OpeningRule(
                    calendar_id=calendar.id,
                    slot_type_id=kind.id,
                    weekday=weekday,
                    start_time=opens,
                    end_time=closes,
                )
            )
        db.commit()
        return clinic

    return _create
