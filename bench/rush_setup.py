"""What a booking rush needs before the clock starts: its own database, a campaign clinic with a
standalone calendar, logged-in citizens (session cookies), and the baseline's seat table."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

import psycopg
from flask import Flask
from sqlalchemy import insert, text
from sqlalchemy.orm import Session
from stdnum import luhn

from clinic_adapters.timezones import utc_now
from hub import create_app
from hub.citizens import Identity, lookup_key, seal
from hub.db import database
from hub.migrate import upgrade
from hub.models import CaseType, Citizen, Clinic, ClinicCaseType, ClinicSlotType
from standalone_calendar.models import Calendar, OpeningRule, SlotType

CLINIC_HSA_ID = "SE2321000016-BNCH"
SLOT_TYPE = "VACCINATION"
SLOT_MINUTES = 5
HORIZON_DAYS = 400  # room for the fresh slots of many rounds and of a 10-minute soak


def recreate_database(admin_url: str, name: str) -> None:
    """Drop and create the benchmark's own database; the test databases are never touched."""
    if name in {"test", "postgres", "template0", "template1"}:
        raise ValueError(f"refusing to recreate database {name!r}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# How the served hub is configured. Citizens are logged in as in production, with server-side
# e-ID sessions (``login="eid"``: the hub reads the identity session and the citizen on every
# request; the test login is off), or with the development login's signed cookie ("dev").
def server_environment(
    database_url: str, secret_key: str, instance_path: str, identity_file: Path, login: str
) -> dict[str, str]:
    return {
        "HUB_DATABASE_URL": database_url,
        "HUB_SECRET_KEY": secret_key,
        "HUB_ENV": "development",
        "HUB_DEV_LOGIN": "1" if login == "dev" else "0",
        "HUB_IDENTITY_FILE": str(identity_file),
        "HUB_INSTANCE_PATH": instance_path,
    }


def write_identity_file(folder: Path) -> Path:
    """e-ID settings with one citizen OpenID provider, which nothing contacts: sessions are minted."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "identity.json"
    settings = {
        "public_url": "http://127.0.0.1/identity",
        "secret_key": secrets.token_urlsafe(32),
        "cookie_secure": False,  # plain http on 127.0.0.1
        "oidc_providers": [
            {
                "key": "bench-eid",
                "label": "Bench e-ID",
                "issuer": "http://127.0.0.1:9/bench-eid",
                "client_id": "hub",
                "client_secret": secrets.token_urlsafe(16),
            }
        ],
    }
    path.write_text(json.dumps(settings))
    return path


def make_app(database_url: str, secret_key: str, identity_file: Path | None = None) -> Flask:
    """The hub as the server runs it, for setup in this process: the same keys sign the cookies."""
    upgrade(database_url)
    config = {
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "HUB_ENV": "development",
        "DEV_LOGIN": True,
    }
    if identity_file is not None:
        config["IDENTITY_FILE"] = str(identity_file)
    return create_app(config)


def create_campaign_clinic(db: Session, capacity: int) -> Clinic:
    """A clinic on the standalone calendar with vaccination times every 5 minutes, all day, every day."""
    clinic = Clinic(
        hsa_id=CLINIC_HSA_ID,
        name="Vaccinationskampanj (benchmark)",
        municipality="Solna",
        city="Solna",
        timezone="Europe/Stockholm",
        connection="standalone",
    )
    db.add(clinic)
    db.flush()
    for case_type in (CaseType.BOOK, CaseType.REBOOK_CANCEL, CaseType.CAMPAIGN):
        db.add(ClinicCaseType(clinic_id=clinic.id, case_type=case_type, enabled=True))
    db.add(
        ClinicSlotType(
            clinic_id=clinic.id,
            code=SLOT_TYPE,
            visible=True,
            names={"sv": "Vaccination", "en": "Vaccination", "de": "Impfung"},
        )
    )
    calendar = Calendar(
        clinic_hsa_id=CLINIC_HSA_ID,
        timezone="Europe/Stockholm",
        horizon_days=HORIZON_DAYS,
        min_notice_minutes=0,
    )
    db.add(calendar)
    db.flush()
    kind = SlotType(
        calendar_id=calendar.id,
        code=SLOT_TYPE,
        name="Vaccination",
        duration_minutes=SLOT_MINUTES,
        capacity=capacity,
    )
    db.add(kind)
    db.flush()
    for weekday in range(7):
        db.add(
            OpeningRule(
                calendar_id=calendar.id,
                slot_type_id=kind.id,
                weekday=weekday,
                start_time=time(0, 0),
                end_time=time(23, 55),
            )
        )
    db.flush()
    return clinic


def personal_number(n: int) -> str:
    """A distinct, Luhn-valid 12-digit test number for citizen ``n`` (up to ~10 million)."""
    born = date(1940, 1, 1) + timedelta(days=n // 999)
    number = f"{born:%Y%m%d}{n % 999 + 1:03d}"
    return number + luhn.calc_check_digit(number[2:])


def create_citizens(app: Flask, count: int) -> list[str]:
    """Store ``count`` citizens as a first login would (keyed hash, sealed identity); return their ids.

    One bulk insert instead of ``citizen_for_login`` per person: 50,000 logins one by one take
    longer than the rush itself, and the rows are the same.
    """
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with app.app_context():
        rows = [
            {
                "id": citizen_id,
                "lookup_key": lookup_key(personal_number(n)),
                "sealed_identity": seal(Identity(personal_number(n), f"Test{n}", "Bench")),
            }
            for n, citizen_id in enumerate(ids)
        ]
        with database(app).session_scope() as db:
            for start in range(0, count, 5000):
                db.execute(insert(Citizen), rows[start : start + 5000])
    return ids


def session_cookies(app: Flask, citizen_ids: Sequence[str]) -> list[str]:
    """Each citizen's ``Cookie`` header after the development login (see test_concurrency)."""
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    return [f"session={serializer.dumps({'citizen_id': c, 'login_method': 'dev'})}" for c in citizen_ids]


def eid_session_cookies(app: Flask, citizen_ids: Sequence[str]) -> list[str]:
    """Each citizen's ``Cookie`` header after an e-ID login: a server-side identity session for
    citizen ``n`` (personal number :func:`personal_number`, id ``citizen_ids[n]``), started as a
    verified login starts it and naming the citizen as the hub's login does (``link_session``)."""
    from identity import sessions
    from identity.subject import Audience, VerifiedSubject

    service = app.extensions["identity"]
    name = service.settings.session_cookie_name
    now = utc_now()
    headers = []
    with app.app_context(), database(app).session_scope() as db:
        for n, citizen_id in enumerate(citizen_ids):
            subject = VerifiedSubject(
                personal_number=personal_number(n),
                given_name=f"Test{n}",
                family_name="Bench",
                display_name=f"Test{n} Bench",
                loa="http://id.elegnamnden.se/loa/1.0/loa3",
                idp="bench-eid",
                birth_date=None,
                audience=Audience.CITIZEN,
            )
            token = sessions.start(
                db, service.policy, subject, protocol="oidc", idp_session={}, idp_subject=None, now=now
            )
            if hasattr(sessions, "link"):  # served commits from before sessions named their citizen lack it
                sessions.link(db, sessions.hash_of(token), citizen_id)
            headers.append(f"{name}={token}")
    return headers


# Called once per run after the citizens exist, so that the hub's terms gate runs its full check
# (current approved version + this citizen's acceptance) on every booking attempt.
TermsHook = Callable[[Flask, str, Sequence[str]], None]


def accept_campaign_terms(app: Flask, clinic_hsa_id: str, citizen_ids: Sequence[str]) -> None:
    """Give the clinic approved booking terms (written and approved by two people, as the admin
    pages require) and record every citizen's acceptance of them, in one bulk insert."""
    import terms

    now = utc_now()
    text = {
        language: ["Jag har läst informationen om vaccinationen (benchmark)."] for language in terms.LANGUAGES
    }
    with app.app_context(), database(app).session_scope() as db:
        version = terms.save_draft(db, clinic_hsa_id, CaseType.BOOK, text, author_key="bench-author", now=now)
        terms.approve(db, version, approver_key="bench-approver", now=now)
        rows = [{"version_id": version.id, "citizen_ref": c, "accepted_at": now} for c in citizen_ids]
        for start in range(0, len(rows), 5000):
            db.execute(insert(terms.Acceptance), rows[start : start + 5000])


@dataclass(frozen=True, slots=True)
class SlotRef:
    id: str
    capacity: int


def list_free_slots(app: Flask, count: int, first_day: date) -> list[SlotRef]:
    """Read ``count`` free times through the hub's own API, 60 days per request."""
    client = app.test_client()
    found: list[SlotRef] = []
    day = first_day
    while len(found) < count:
        last = day + timedelta(days=59)
        response = client.get(
            f"/api/v1/clinics/{CLINIC_HSA_ID}/slots?slot_type={SLOT_TYPE}&from={day}&to={last}"
        )
        if response.status_code != 200:
            raise RuntimeError(f"listing free times failed: {response.status_code} {response.get_data()!r}")
        slots = response.get_json()["slots"]
        if not slots:
            raise RuntimeError(f"only {len(found)} free times found, {count} needed")
        found.extend(SlotRef(s["id"], s["capacity"]) for s in slots)
        day = last + timedelta(days=1)
    return found[:count]


def create_baseline_seats(app: Flask, count: int, capacity: int) -> list[int]:
    """Fresh rows in the baseline's own table; return their ids in order."""
    from baseline_app import CREATE_TABLE, TABLE

    with database(app).engine.begin() as conn:
        conn.execute(text(CREATE_TABLE))
        rows = conn.execute(
            text(f"INSERT INTO {TABLE} (capacity) SELECT :capacity FROM generate_series(1, :n) RETURNING id"),
            {"capacity": capacity, "n": count},
        )
        return sorted(r.id for r in rows)
