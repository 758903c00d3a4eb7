"""A bench-local PROTOTYPE of the proposed booking hot path. It is not the hub.

It answers ``POST /api/v1/bookings`` for a standalone-calendar clinic with the hub's cookie, body,
tables and answers (201 new, 200 repeat, 409 taken), to measure what the fixes proposed in
bench/README.md would buy: clinic, calendar and terms settings from a per-process cache, and the
booking itself in three statements (one check of key, terms acceptance and "already booked"; one
seat upsert; one insert of booking + calendar booking + audit line) instead of ~25 ORM round trips.
Left out, so not a drop-in: translated messages, the ``booking_changed`` listeners (notification
outbox), remote record systems and their fallback.
Served as ``lean_booking_app:create_app()`` with ``HUB_SECRET_KEY`` and ``BENCH_LEAN_DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request, session
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import IntegrityError

from clinic_adapters import NotFound as SlotNotFound
from clinic_adapters.timezones import to_local
from standalone_calendar.adapter import SlotKey
from standalone_calendar.generation import Absence, Window, generate

KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
SETTINGS_TTL = 5.0  # seconds an admin's change may take to reach this process (proposal: a version column)


@dataclass(frozen=True)
class ClinicSettings:
    clinic_id: int
    hsa_id: str
    name: str
    timezone: str
    bookable: bool  # case type "book" enabled
    visible: frozenset[str]  # slot type codes shown to citizens
    terms_version: int | None  # the approved booking terms citizens must have accepted
    calendar_id: int
    min_notice: timedelta
    horizon: timedelta
    slot_types: dict[int, dict[str, Any]]
    windows: dict[int, list[Window]]
    closed_days: list[date]
    absences: list[Absence]


def _load(conn: Connection, hsa_id: str) -> ClinicSettings | None:
    clinic = conn.execute(
        text("SELECT id, hsa_id, name, timezone, active FROM clinic WHERE hsa_id = :h"), {"h": hsa_id}
    ).one_or_none()
    calendar = conn.execute(
        text("SELECT id, min_notice_minutes, horizon_days FROM sc_calendar WHERE clinic_hsa_id = :h"),
        {"h": hsa_id},
    ).one_or_none()
    if clinic is None or not clinic.active or calendar is None:
        return None
    enabled = conn.execute(
        text("SELECT 1 FROM clinic_case_type WHERE clinic_id = :c AND case_type = 'book' AND enabled"),
        {"c": clinic.id},
    ).first()
    visible = conn.execute(
        text("SELECT code FROM clinic_slot_type WHERE clinic_id = :c AND visible"), {"c": clinic.id}
    ).scalars()
    slot_types = {
        r["id"]: dict(r)
        for r in conn.execute(
            text("SELECT id, code, duration_minutes, capacity FROM sc_slot_type WHERE calendar_id = :c"),
            {"c": calendar.id},
        ).mappings()
    }
    windows: dict[int, list[Window]] = {}
    for r in conn.execute(text("SELECT * FROM sc_opening_rule WHERE calendar_id = :c"), {"c": calendar.id}):
        kind = slot_types[r.slot_type_id]
        windows.setdefault(r.slot_type_id, []).append(
            Window(
                r.weekday, r.start_time, r.end_time, kind["duration_minutes"], r.capacity or kind["capacity"],
                r.practitioner_id, r.room, r.valid_from, r.valid_until,
            )
        )  # fmt: skip
    closed = conn.execute(text("SELECT day FROM sc_closed_date WHERE calendar_id = :c"), {"c": calendar.id})
    terms_version = conn.execute(
        text(
            "SELECT id FROM terms_version WHERE clinic_key = :h AND case_type = 'book' "
            "AND approved_at IS NOT NULL ORDER BY number DESC LIMIT 1"
        ),
        {"h": hsa_id},
    ).scalar_one_or_none()
    absences = conn.execute(
        text("SELECT starts_at, ends_at, practitioner_id FROM sc_closure WHERE calendar_id = :c"),
        {"c": calendar.id},
    )
    return ClinicSettings(
        clinic.id, clinic.hsa_id, clinic.name, clinic.timezone, enabled is not None, frozenset(visible),
        terms_version, calendar.id, timedelta(minutes=calendar.min_notice_minutes),
        timedelta(days=calendar.horizon_days),
        slot_types, windows, list(closed.scalars()),
        [Absence(a.starts_at.replace(tzinfo=UTC), a.ends_at.replace(tzinfo=UTC), a.practitioner_id)
         for a in absences],
    )  # fmt: skip


class SettingsCache:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[float, ClinicSettings | None]] = {}

    def get(self, hsa_id: str) -> ClinicSettings | None:
        hit = self.entries.get(hsa_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        with self.engine.connect() as conn:
            value = _load(conn, hsa_id)
        with self.lock:
            self.entries[hsa_id] = (time.monotonic() + SETTINGS_TTL, value)
        return value


# The earlier answer to this key, whether the citizen accepted the current terms, and whether
# they already hold this time: one round trip.
CHECK = text("""
SELECT (SELECT row_to_json(b) FROM (SELECT id, clinic_id, slot_id, status FROM booking
                                    WHERE citizen_id = :citizen AND idempotency_key = :key) b) AS earlier,
       CAST(:terms AS integer) IS NULL OR EXISTS (
           SELECT 1 FROM terms_acceptance WHERE version_id = :terms AND citizen_ref = :citizen) AS accepted,
       EXISTS (SELECT 1 FROM sc_booking WHERE calendar_id = :calendar AND slot_type_id = :slot_type
               AND starts_at = :start AND subject_ref = :citizen AND status = 'booked') AS already
""")

# Take a seat in one statement: the first booking creates the row, later ones add to it while
# booked < capacity. PostgreSQL re-checks the WHERE after waiting for a concurrent writer's lock.
TAKE_SEAT = text("""
INSERT INTO sc_seat_count (calendar_id, slot_type_id, starts_at, resource_key, capacity, booked)
VALUES (:calendar, :slot_type, :start, :resource, :capacity, 1)
ON CONFLICT (calendar_id, slot_type_id, starts_at, resource_key)
DO UPDATE SET booked = sc_seat_count.booked + 1, capacity = EXCLUDED.capacity
WHERE sc_seat_count.booked < EXCLUDED.capacity
RETURNING id
""")

RECORD = text("""
WITH b AS (
    INSERT INTO booking (id, citizen_id, clinic_id, idempotency_key, slot_id, slot_type_code, external_id,
                         timebook, starts_at, ends_at, status, created_at, updated_at)
    VALUES (:booking, :citizen, :clinic, :key, :slot_id, :code, :calendar_booking, 'standalone',
            :start, :end, 'booked', :now, :now)
    ON CONFLICT (citizen_id, idempotency_key) DO NOTHING
    RETURNING id
), c AS (
    INSERT INTO sc_booking (id, calendar_id, seat_count_id, slot_type_id, practitioner_id, starts_at, ends_at,
                            subject_ref, status, created_at)
    SELECT :calendar_booking, :calendar, :seat, :slot_type, :practitioner, :start, :end, :citizen,
           'booked', :now
    FROM b
), a AS (
    INSERT INTO audit_event (at, actor_kind, actor_id, action, clinic_id, citizen_id, booking_id, details)
    SELECT :now, 'citizen', :citizen, 'booking.created', :clinic, :citizen, b.id, '{}' FROM b
)
SELECT id FROM b
""")


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(code=code, message=message, fields={}), status


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)  # the tables keep naive UTC


def create_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ["HUB_SECRET_KEY"]  # reads the hub's session cookie
    engine = create_engine(os.environ["BENCH_LEAN_DATABASE_URL"], pool_size=10, max_overflow=50)
    settings = SettingsCache(engine)

    @app.post("/api/v1/bookings")
    def book() -> tuple[Response, int]:
        citizen = session.get("citizen_id")
        if not citizen:
            return _error(401, "not_logged_in", "Please log in first.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not request.is_json:
            return _error(415, "unsupported_media_type", "Send the request as JSON.")
        key, slot_id, hsa_id = body.get("idempotency_key"), body.get("slot_id"), body.get("clinic")
        if not (
            isinstance(key, str) and KEY.match(key) and isinstance(slot_id, str) and 0 < len(slot_id) <= 200
        ):
            return _error(422, "validation_failed", "Some of the information is missing or wrong.")
        clinic = settings.get(str(hsa_id).strip().upper())
        if clinic is None:
            return _error(404, "not_found", "There is no clinic with that id.")
        if not clinic.bookable:
            return _error(422, "not_allowed", "The clinic does not offer this online.")
        try:
            slot = SlotKey.decode(slot_id)
        except SlotNotFound:
            return _error(404, "not_found", "That time or booking does not exist.")
        kind = clinic.slot_types.get(slot.slot_type_id)
        if kind is None or kind["code"] not in clinic.visible:
            return _error(404, "not_found", "That time or booking does not exist.")
        now = datetime.now(UTC)
        if slot.start < now + clinic.min_notice or slot.start > now + clinic.horizon:
            return _error(422, "not_allowed", "That time cannot be booked online.")
        windows = [w for w in clinic.windows.get(kind["id"], []) if w.practitioner_id == slot.practitioner_id]
        found = [
            c
            for c in generate(
                windows, clinic.timezone, slot.start, slot.start + timedelta(minutes=1),
                closed_days=clinic.closed_days, absences=clinic.absences,
            )
            if c.start == slot.start
        ]  # fmt: skip
        if not found:
            return _error(404, "not_found", "That time or booking does not exist.")
        candidate = found[0]
        values = {
            "citizen": citizen, "key": key, "calendar": clinic.calendar_id, "slot_type": kind["id"],
            "start": _naive(candidate.start), "end": _naive(candidate.end),
            "resource": candidate.resource_key, "capacity": candidate.capacity, "clinic": clinic.clinic_id,
            "slot_id": slot_id, "code": kind["code"], "practitioner": candidate.practitioner_id,
            "now": _naive(now), "terms": clinic.terms_version,
            "booking": str(uuid.uuid4()), "calendar_booking": str(uuid.uuid4()),
        }  # fmt: skip
        with engine.connect() as conn:  # closing without commit rolls back
            earlier, accepted, already = conn.execute(CHECK, values).one()
            if earlier is not None:
                if earlier["clinic_id"] != clinic.clinic_id or earlier["slot_id"] != slot_id:
                    return _error(409, "conflict", "This request was already used for another booking.")
                return jsonify(id=earlier["id"], status=earlier["status"], slot_id=slot_id), 200
            if not accepted:
                return _error(409, "terms_not_accepted", "Please read and accept the clinic's terms first.")
            if already:
                return _error(422, "not_allowed", "You already have this time.")
            values["seat"] = conn.execute(TAKE_SEAT, values).scalar_one_or_none()
            if values["seat"] is None:
                return _error(
                    409, "slot_taken", "Someone else just booked that time. Please choose another time."
                )
            try:
                booking_id = conn.execute(RECORD, values).scalar_one_or_none()
            except IntegrityError:  # the citizen row is gone: the session is stale
                return _error(401, "not_logged_in", "Please log in first.")
            if booking_id is None:  # the same key is being booked right now by another request
                return _error(409, "conflict", "This request is already being handled.")
            conn.commit()
        local = to_local(candidate.start, clinic.timezone)
        return jsonify(
            id=booking_id, status="booked", clinic={"hsa_id": clinic.hsa_id, "name": clinic.name},
            slot_id=slot_id, slot_type=kind["code"], start=candidate.start.isoformat(),
            end=candidate.end.isoformat(), local_start=local.isoformat(), performer=None, message=None,
            series_id=None,
        ), 201  # fmt: skip

    @app.get("/ready")
    def ready() -> Response:
        return jsonify(ok=True)

    return app
