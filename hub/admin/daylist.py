"""The day list: a clinic's upcoming visits per day and practitioner, and marking how they went.

Showing a citizen's name to staff is a read of their data: each one shown is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters.timezones import local_day_bounds_utc, to_local, utc_now
from hub import audit
from hub.admin.access import changed
from hub.admin.models import VisitOutcome
from hub.citizens import unseal
from hub.errors import NotFound, ValidationFailed
from hub.models import Booking, BookingState, Clinic
from identity.roles import Actor

SHOWN_STATES = (BookingState.BOOKED, BookingState.PENDING_SYNC, BookingState.CONFLICT)
OUTCOMES = ("done", "no_show")


@dataclass
class Visit:
    booking: Booking
    name: str = field(repr=False)
    personal_number: str = field(repr=False)
    slot_type_name: str
    outcome: str | None


@dataclass
class Day:
    day: date
    practitioners: list[tuple[str, list[Visit]]]


def day_list(db: Session, actor: Actor, clinic: Clinic, first_day: date, days: int) -> list[Day]:
    """Return the visits of ``days`` local days from ``first_day``; audit every citizen shown."""
    start, _ = local_day_bounds_utc(first_day, clinic.timezone)
    _, end = local_day_bounds_utc(first_day + timedelta(days=days - 1), clinic.timezone)
    bookings = list(
        db.scalars(
            select(Booking)
            .where(
                Booking.clinic_id == clinic.id,
                Booking.status.in_(SHOWN_STATES),
                Booking.starts_at >= start,
                Booking.starts_at < end,
            )
            .order_by(Booking.starts_at)
        )
    )
    outcomes: dict[str, str] = {
        booking_id: outcome
        for booking_id, outcome in db.execute(
            select(VisitOutcome.booking_id, VisitOutcome.outcome).where(
                VisitOutcome.booking_id.in_([b.id for b in bookings])
            )
        )
    }
    names = {s.code: s for s in clinic.slot_types}
    visits = []
    for booking in bookings:
        identity = unseal(booking.citizen)
        slot_type = names.get(booking.slot_type_code or "")
        visits.append(
            Visit(
                booking=booking,
                name=f"{identity.given_name} {identity.family_name}",
                personal_number=identity.personal_number,
                slot_type_name=slot_type.name_in("sv") if slot_type else (booking.slot_type_code or ""),
                outcome=outcomes.get(booking.id),
            )
        )
        audit.record(
            db,
            actor_kind="staff",
            actor_id=actor.subject_key,
            action="admin.day_list_read",
            clinic_id=clinic.id,
            citizen_id=booking.citizen_id,
            booking_id=booking.id,
        )
    result = []
    for day, in_day in groupby(visits, key=lambda v: _local_day(v, clinic)):
        by_practitioner = sorted(in_day, key=lambda v: (v.booking.performer_name or "", v.booking.starts_at))
        groups = [
            (name, list(group))
            for name, group in groupby(by_practitioner, key=lambda v: v.booking.performer_name or "")
        ]
        result.append(Day(day, groups))
    return result


def _local_day(visit: Visit, clinic: Clinic) -> date:
    assert visit.booking.starts_at is not None
    return to_local(visit.booking.starts_at, clinic.timezone).date()


def mark_outcome(db: Session, actor: Actor, clinic: Clinic, booking_id: str, outcome: str) -> None:
    """Mark a visit of this clinic as done or a no-show, once its time has come."""
    booking = db.get(Booking, booking_id)
    if booking is None or booking.clinic_id != clinic.id or booking.status not in SHOWN_STATES:
        raise NotFound(_l("We could not find that booking."))
    if outcome not in OUTCOMES:
        raise ValidationFailed(fields={"outcome": [_l("This value is not valid.")]})
    if booking.starts_at is None or booking.starts_at > utc_now():
        raise ValidationFailed(fields={"outcome": [_l("A visit can be marked once its time has come.")]})
    row = db.scalar(select(VisitOutcome).where(VisitOutcome.booking_id == booking.id))
    before: Any = row.outcome if row else None
    if row is None:
        row = VisitOutcome(booking_id=booking.id, outcome=outcome, marked_by=actor.subject_key)
        db.add(row)
    row.outcome, row.marked_by, row.marked_at = outcome, actor.subject_key, utc_now()
    db.flush()
    changed(
        actor,
        "visit_outcome",
        clinic,
        before=before,
        after=outcome,
        booking_id=booking.id,
        citizen_id=booking.citizen_id,
    )
