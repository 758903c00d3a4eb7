"""What a booking needs to know of a clinic, kept per process and proven current on every use.

A booking attempt needs the clinic's timebook, case types and slot types, and whether the
citizen accepted the clinic's current terms. Read through the ORM that is two queries and most
of a refused attempt's time. Clinic settings change rarely, so each process keeps a frozen
snapshot per clinic and one Core statement per attempt reads the clinic's ``settings_stamp``
(a random token that every change of the clinic, its case types or slot types through the ORM
replaces, see :mod:`standalone_calendar.stamping`) together with the citizen's terms status. A
snapshot whose stamp differs is reloaded at once, so an edit reaches the next booking in every
process. The snapshot duck-types the parts of :class:`~hub.models.Clinic` the booking commands
read; it is never added to a session.

The same statement finds the logged-in citizen (checking their e-ID session on the way, see
:func:`identity.flask.checks_session_itself`), the booking the request's idempotency key made,
and the stamp of the clinic's built-in calendar, which it hands to that calendar's own snapshot
cache (:func:`standalone_calendar.settings.note_stamp`). It also asks whether the calendar time
the citizen wants is full (:data:`standalone_calendar.seats.IS_FULL`), so an attempt at a time
that was full before it began costs this statement alone.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

import terms
from hub.driver_reads import DriverRead
from hub.models import Booking, CaseType, Citizen, Clinic, ClinicCaseType, ClinicSlotType
from hub.terms_gate import TermsStatus
from identity.models import IdentitySession
from identity.sessions import CHECK_COLUMNS
from standalone_calendar.models import Calendar
from standalone_calendar.seats import IS_FULL, SeatProbe
from standalone_calendar.settings import note_stamp
from standalone_calendar.stamping import restamp_on_change


@dataclass(frozen=True)
class SlotTypeSettings:
    """What booking asks of a shown slot type: is it shown (its names are for pages)."""

    code: str
    visible: bool


@dataclass(frozen=True)
class ClinicSettings:
    id: int
    hsa_id: str
    name: str
    timezone: str
    connection: str
    connection_config: Mapping[str, Any]
    has_fallback_calendar: bool
    active: bool
    case_types: frozenset[CaseType]
    slot_types: tuple[SlotTypeSettings, ...]
    stamp: str

    def enabled_case_types(self) -> set[CaseType]:
        return set(self.case_types)

    @classmethod
    def of(cls, clinic: Clinic, stamp: str) -> ClinicSettings:
        return cls(
            id=clinic.id,
            hsa_id=clinic.hsa_id,
            name=clinic.name,
            timezone=clinic.timezone,
            connection=clinic.connection,
            connection_config=MappingProxyType(copy.deepcopy(dict(clinic.connection_config or {}))),
            has_fallback_calendar=clinic.has_fallback_calendar,
            active=clinic.active,
            case_types=frozenset(clinic.enabled_case_types()),
            slot_types=tuple(SlotTypeSettings(s.code, s.visible) for s in clinic.slot_types),
            stamp=stamp,
        )


def _context_statement(citizen_by: str) -> Any:
    """clinic ⟕ the citizen (by id, by lookup key, or through their e-ID session) ⟕ the clinic's
    calendar ⟕ its current approved terms for the case type ⟕ the citizen's acceptance of them,
    the booking the citizen's idempotency key made, and whether the calendar time asked for is
    full.

    Written on the tables, not the mapped classes: a Core statement skips the ORM's execution
    path, which costs more than the database does for this one.
    """
    clinic, citizen, calendar = Clinic.__table__.c, Citizen.__table__, Calendar.__table__.c
    version, acceptance = terms.TermsVersion.__table__, terms.Acceptance.__table__
    latest = version.alias("latest").c
    current = (
        select(latest.id)
        .where(
            latest.clinic_key == clinic.hsa_id,
            latest.case_type == bindparam("case_type"),
            latest.approved_at.is_not(None),
        )
        .order_by(latest.number.desc())
        .limit(1)
        .correlate(Clinic.__table__)
        .scalar_subquery()
    )
    # Subqueries on both columns of their unique keys. As an outer join, a generic plan of the
    # prepared statement looked the acceptance up by version alone and filtered the citizen out
    # of every citizen's acceptance: 2.8 ms per attempt at 5,000 acceptances, growing with them.
    accepted = (
        select(acceptance.c.id)
        .where(acceptance.c.version_id == version.c.id, acceptance.c.citizen_ref == citizen.c.id)
        .correlate(version, citizen)
        .scalar_subquery()
    )
    booking = Booking.__table__.c
    earlier = (
        select(booking.id)
        .where(booking.citizen_id == citizen.c.id, booking.idempotency_key == bindparam("idempotency_key"))
        .correlate(citizen)
        .scalar_subquery()
    )
    statement = (
        select(clinic.id, clinic.settings_stamp, version.c.number, accepted)
        .add_columns(calendar.id, calendar.settings_stamp, earlier, IS_FULL, citizen.c.id)
        .select_from(Clinic.__table__)
    )
    if citizen_by == "session":
        # The e-ID session, checked here rather than by a query of its own, and the citizen its
        # login named.
        session = IdentitySession.__table__
        statement = (
            statement.add_columns(*(session.c[name] for name in CHECK_COLUMNS))
            .outerjoin(session, session.c.id == bindparam("citizen"))
            .outerjoin(citizen, citizen.c.id == session.c.app_ref)
        )
    else:
        # Not joined to the clinic: the citizen by its own key.
        statement = statement.outerjoin(citizen, citizen.c[citizen_by] == bindparam("citizen"))
    return (
        statement.outerjoin(
            Calendar.__table__, calendar.clinic_hsa_id == clinic.hsa_id
        )  # the built-in timebook
        .outerjoin(version, version.c.id == current)
        .where(clinic.hsa_id == bindparam("hsa_id"))
    )


_CONTEXT = {by: DriverRead(_context_statement(by)) for by in ("id", "lookup_key", "session")}


@dataclass(frozen=True)
class BookingContext:
    clinic: ClinicSettings
    terms: TermsStatus
    citizen_id: str | None  # ``None``: no such citizen (any more)
    earlier_booking_id: str | None = None  # the booking the request's idempotency key made
    #: The built-in calendar's time asked for was full as this statement saw it (and, with no
    #: ``earlier_booking_id``, not by this key's booking): the shown slot type code, else ``None``.
    full_slot_type: str | None = None
    #: For a ("session", id) citizen: the session's :data:`identity.sessions.CHECK_COLUMNS`
    #: (``None``: no such session), for :func:`hub.auth.session_named_citizen`.
    session: Any = None


class ClinicSettingsCache:
    def __init__(self) -> None:
        self._snapshots: dict[str, ClinicSettings] = {}
        self._lock = threading.Lock()

    def for_booking(
        self,
        db: Session,
        hsa_id: str,
        citizen: tuple[str, str],
        case_type: CaseType,
        idempotency_key: str | None = None,
        seat: SeatProbe | None = None,
    ) -> BookingContext | None:
        """The clinic's settings, the citizen's id, terms status, the booking the idempotency
        key made and whether ``seat`` is full, in one statement (``None``: no such clinic).
        ``hsa_id`` is normalized (upper-case); ``citizen`` is ("id", id), ("lookup_key", key) or
        ("session", e-ID session id), as the login knows the citizen
        (:func:`hub.auth.citizen_reference`)."""
        by, value = citizen
        row = _CONTEXT[by].first_before_transaction(
            db,
            {
                "hsa_id": hsa_id,
                "citizen": value,
                "case_type": str(case_type),
                "idempotency_key": idempotency_key,
                **(seat.params() if seat is not None else SeatProbe.no_params()),
            },
        )
        if row is None:
            return None
        clinic_id, stamp, terms_version, accepted, calendar_id, calendar_stamp, earlier, full = row[:8]
        citizen_id = row[8]
        session = None
        if by == "session" and row[9] is not None:
            session = SimpleNamespace(**dict(zip(CHECK_COLUMNS, row[9:], strict=True)))
        # The probe was worked out from a snapshot of the calendar's settings: only the one this
        # statement proves current.
        full_slot_type = (
            seat.slot_type_code
            if full and seat is not None and (seat.calendar_id, seat.stamp) == (calendar_id, calendar_stamp)
            else None
        )
        if calendar_id is not None:
            note_stamp(db, hsa_id, calendar_id, calendar_stamp)
        snapshot = self._snapshots.get(hsa_id)
        if snapshot is None or snapshot.stamp != stamp or snapshot.id != clinic_id:
            snapshot = self._load(db, clinic_id, stamp)
        return BookingContext(
            snapshot,
            TermsStatus(terms_version, accepted is not None),
            citizen_id,
            earlier,
            full_slot_type,
            session,
        )

    def _load(self, db: Session, clinic_id: int, stamp: str) -> ClinicSettings:
        clinic = db.scalars(
            select(Clinic)
            .where(Clinic.id == clinic_id)
            .options(selectinload(Clinic.case_types), selectinload(Clinic.slot_types))
        ).one()
        snapshot = ClinicSettings.of(clinic, stamp)
        with self._lock:
            self._snapshots[clinic.hsa_id] = snapshot
        return snapshot


#: One per process; snapshots are keyed by HSA-id and proven by their random stamp.
clinic_settings = ClinicSettingsCache()


# Every change of a clinic, its case types or slot types replaces the clinic's stamp.
restamp_on_change(Clinic, (ClinicCaseType, ClinicSlotType), owner_key="clinic_id")
