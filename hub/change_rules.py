"""Whether a citizen may still move or cancel a booking online, and until when.

The pages show the deadline before the citizen tries, instead of letting them find out from a
refusal. The built-in calendar keeps the clinic's rule per slot type; a remote record system
decides for itself (the contract carries no deadline), so for those clinics the deadline is
unknown here and the record system's answer stays the final word.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hub.models import Booking, CaseType
from standalone_calendar.models import CalendarBooking


@dataclass(frozen=True, slots=True)
class ChangeRules:
    can_rebook: bool
    can_cancel: bool
    deadline: datetime | None  # last instant for a change online; None when the record system decides
    too_late: bool  # the booking is changeable in principle, but the deadline has passed


def _calendar_row(db: Session, booking: Booking) -> CalendarBooking | None:
    # A booking held by the built-in calendar (standalone clinics, or a reserve-calendar booking).
    if booking.timebook != "standalone" or not booking.external_id:
        return None
    return db.get(CalendarBooking, booking.external_id)


def change_rules(db: Session, booking: Booking, now: datetime) -> ChangeRules:
    """Return what the citizen may do with their booking now."""
    offered = CaseType.REBOOK_CANCEL in booking.clinic.enabled_case_types()
    upcoming = booking.starts_at is not None and booking.starts_at > now
    if not (booking.is_active and offered and upcoming):
        return ChangeRules(False, False, None, False)
    row = _calendar_row(db, booking)
    if row is None:
        return ChangeRules(True, True, None, False)
    assert booking.starts_at is not None
    deadline = booking.starts_at - timedelta(minutes=row.slot_type.cancel_deadline_minutes)
    if now > deadline:
        return ChangeRules(False, False, deadline, True)
    return ChangeRules(row.slot_type.rebook_allowed, row.slot_type.cancel_allowed, deadline, False)
