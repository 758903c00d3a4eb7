"""Booking commands and queries; they flush, the request commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic_adapters import BookingResult, SeriesRequest, Slot, normalize_hsa_id
from clinic_adapters.timezones import local_day_bounds_utc, to_local, utc_now
from hub import audit
from hub.booking.events import booking_changed
from hub.booking.timebooks import clinic_ref, timebook_for
from hub.citizens import subject_of
from hub.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from hub.models import Booking, BookingState, CaseType, Citizen, Clinic, ClinicSlotType


def _record_change(db: Session, booking: Booking, change: str, **details: object) -> None:
    """Audit a citizen's change and tell listeners, in the booking's own transaction."""
    audit.record(
        db,
        actor_kind="citizen",
        actor_id=booking.citizen_id,
        action=f"booking.{change}",
        clinic_id=booking.clinic_id,
        citizen_id=booking.citizen_id,
        booking_id=booking.id,
        **details,
    )
    booking_changed.send(current_app._get_current_object(), db=db, booking=booking, change=change)


def list_clinics(db: Session, municipality: str | None = None, query: str | None = None) -> list[Clinic]:
    stmt = select(Clinic).where(Clinic.active.is_(True)).order_by(Clinic.municipality, Clinic.name)
    if municipality:
        stmt = stmt.where(func.lower(Clinic.municipality) == municipality.strip().lower())
    if query:
        stmt = stmt.where(func.lower(Clinic.name).contains(query.strip().lower()))
    return list(db.scalars(stmt))


def municipalities(db: Session) -> list[str]:
    return list(
        db.scalars(
            select(Clinic.municipality)
            .where(Clinic.active.is_(True))
            .distinct()
            .order_by(Clinic.municipality)
        )
    )


def get_clinic(db: Session, hsa_id: str) -> Clinic:
    clinic = db.scalar(select(Clinic).where(Clinic.hsa_id == normalize_hsa_id(hsa_id)))
    if clinic is None or not clinic.active:
        raise NotFound(_l("There is no clinic with that id."))
    return clinic


def require_case_type(clinic: Clinic, case_type: CaseType) -> None:
    if case_type not in clinic.enabled_case_types():
        raise NotAllowed(_l("The clinic does not offer this online."))


def shown_slot_types(clinic: Clinic) -> list[ClinicSlotType]:
    return sorted((s for s in clinic.slot_types if s.visible), key=lambda s: s.code)


def shown_slot_type(clinic: Clinic, code: str) -> ClinicSlotType:
    for slot_type in shown_slot_types(clinic):
        if slot_type.code == code:
            return slot_type
    raise NotFound(_l("The clinic does not offer that kind of time online."))


def search_days(clinic: Clinic, first_day: date | None, last_day: date | None) -> tuple[date, date]:
    """Check and complete the local days a citizen asks free times for."""
    today = to_local(utc_now(), clinic.timezone).date()
    first_day = first_day or today
    last_day = last_day or first_day + timedelta(days=current_app.config["SLOT_SEARCH_DAYS"] - 1)
    problems: dict[str, list[object]] = {}
    if first_day < today:
        problems["from"] = [_l("The first day cannot be in the past.")]
    if last_day < first_day:
        problems["to"] = [_l("The last day must not be before the first day.")]
    elif (last_day - first_day).days >= current_app.config["SLOT_SEARCH_MAX_DAYS"]:
        problems["to"] = [
            _l("Search at most %(days)s days at a time.", days=current_app.config["SLOT_SEARCH_MAX_DAYS"])
        ]
    if problems:
        raise ValidationFailed(fields=problems)
    return first_day, last_day


def free_slots(
    clinic: Clinic, slot_type_code: str, first_day: date | None = None, last_day: date | None = None
) -> list[Slot]:
    """Return the free times of a shown slot type between two local days, inclusive."""
    require_case_type(clinic, CaseType.BOOK)
    shown_slot_type(clinic, slot_type_code)
    first_day, last_day = search_days(clinic, first_day, last_day)
    start, _ = local_day_bounds_utc(first_day, clinic.timezone)
    _, end = local_day_bounds_utc(last_day, clinic.timezone)
    return timebook_for(clinic).available_slots(
        clinic_ref(clinic), slot_type_code, max(start, utc_now()), end
    )


def _existing(db: Session, citizen: Citizen, idempotency_key: str) -> Booking | None:
    return db.scalar(
        select(Booking).where(Booking.citizen_id == citizen.id, Booking.idempotency_key == idempotency_key)
    )


def _claim_key(db: Session, booking: Booking) -> Booking | None:
    """Insert the pending booking; return the earlier one if this key was used already."""
    try:
        with db.begin_nested():
            db.add(booking)
            db.flush()
    except IntegrityError:
        return _existing(db, booking.citizen, booking.idempotency_key)
    return None


def _apply(booking: Booking, result: BookingResult, timebook_key: str) -> None:
    slot = result.booking.slot
    booking.external_id = result.booking.booking_id
    booking.slot_id = slot.id
    booking.slot_type_code = slot.time_type_id
    booking.starts_at = slot.start
    booking.ends_at = slot.end
    booking.performer_name = slot.performer_name
    booking.timebook = timebook_key
    booking.message = result.message
    booking.status = BookingState.BOOKED


def book(
    db: Session, citizen: Citizen, clinic: Clinic, slot_id: str, idempotency_key: str
) -> tuple[Booking, bool]:
    """Book a time once per idempotency key; return the booking and whether it is new."""
    existing = _existing(db, citizen, idempotency_key)
    if existing is None:
        require_case_type(clinic, CaseType.BOOK)
        timebook = timebook_for(clinic)
        booking = Booking(
            citizen=citizen,
            clinic=clinic,
            idempotency_key=idempotency_key,
            slot_id=slot_id,
            timebook=timebook.key,
            status=BookingState.PENDING,
        )
        existing = _claim_key(db, booking)
        if existing is None:
            result = timebook.make_booking(clinic_ref(clinic), slot_id, subject_of(citizen))
            shown_slot_type(clinic, result.booking.slot.time_type_id)  # hidden types are never bookable
            _apply(booking, result, timebook.key)
            db.flush()
            _record_change(db, booking, "created")
            return booking, True
    if existing.clinic_id != clinic.id or existing.slot_id != slot_id:
        raise Conflict(_l("This request was already used for another booking."))
    return existing, False


def book_series(
    db: Session, citizen: Citizen, clinic: Clinic, slot_ids: Sequence[str], idempotency_key: str
) -> tuple[list[Booking], bool]:
    """Book linked times (dose 1 and dose 2) together: all of them or none."""
    keys = [f"{idempotency_key}#{n}" for n in range(1, len(slot_ids) + 1)]
    earlier = [b for b in (_existing(db, citizen, k) for k in keys) if b is not None]
    if earlier:
        if [b.slot_id for b in earlier] != list(slot_ids) or any(b.clinic_id != clinic.id for b in earlier):
            raise Conflict(_l("This request was already used for another booking."))
        return earlier, False
    require_case_type(clinic, CaseType.BOOK)
    timebook = timebook_for(clinic)
    bookings = [
        Booking(citizen=citizen, clinic=clinic, idempotency_key=k, slot_id=s, timebook=timebook.key)
        for k, s in zip(keys, slot_ids, strict=True)
    ]
    for booking in bookings:
        if _claim_key(db, booking) is not None:
            raise Conflict(_l("This request is already being handled."))
    results = timebook.book_series(
        clinic_ref(clinic), SeriesRequest(slot_ids=list(slot_ids)), subject_of(citizen)
    )
    series_id = results[0].booking.booking_id
    for booking, result in zip(bookings, results, strict=True):
        shown_slot_type(clinic, result.booking.slot.time_type_id)
        _apply(booking, result, timebook.key)
        booking.series_id = series_id
    db.flush()
    for booking in bookings:
        _record_change(db, booking, "created", series=True)
    return bookings, True


def own_booking(db: Session, citizen: Citizen, booking_id: str) -> Booking:
    booking = db.get(Booking, booking_id)
    if booking is None or booking.citizen_id != citizen.id:
        raise NotFound(_l("We could not find that booking."))
    return booking


def _changeable(booking: Booking) -> None:
    if not booking.is_active:
        raise Conflict(_l("This booking is already cancelled."))
    require_case_type(booking.clinic, CaseType.REBOOK_CANCEL)


def rebook(db: Session, citizen: Citizen, booking_id: str, new_slot_id: str) -> Booking:
    """Move a booking to another time; the old time is kept until the new one is confirmed."""
    booking = own_booking(db, citizen, booking_id)
    _changeable(booking)
    clinic = booking.clinic
    timebook = timebook_for(clinic)
    result = timebook.update_booking(
        clinic_ref(clinic), booking.external_id or "", new_slot_id, subject_of(citizen)
    )
    old_start = booking.starts_at
    _apply(booking, result, timebook.key)
    db.flush()
    _record_change(
        db,
        booking,
        "rebooked",
        before=old_start.isoformat() if old_start else None,
        after=booking.starts_at.isoformat() if booking.starts_at else None,
    )
    return booking


def cancel(db: Session, citizen: Citizen, booking_id: str) -> Booking:
    """Cancel a booking; the time is free for others at once."""
    booking = own_booking(db, citizen, booking_id)
    _changeable(booking)
    clinic = booking.clinic
    result = timebook_for(clinic).cancel_booking(
        clinic_ref(clinic), booking.external_id or "", subject_of(citizen)
    )
    booking.status = BookingState.CANCELLED
    booking.message = result.message
    db.flush()
    _record_change(db, booking, "cancelled")
    return booking


def my_bookings(db: Session, citizen: Citizen) -> list[Booking]:
    """Return the citizen's bookings, soonest first (pending attempts left out)."""
    return list(
        db.scalars(
            select(Booking)
            .where(Booking.citizen_id == citizen.id, Booking.status != BookingState.PENDING)
            .order_by(Booking.starts_at)
        )
    )
