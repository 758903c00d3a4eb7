"""Each process keeps a calendar's settings; an edit anywhere reaches the very next booking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters import ClinicRef, NotFound, SlotTaken, Subject
from clinic_adapters.timezones import local_day_bounds_utc
from standalone_calendar import Calendar, ClosedDate, SlotType, StandaloneCalendarAdapter
from standalone_calendar.settings import note_stamp

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
MONDAY = date(2026, 3, 23)


@pytest.fixture
def clinic(create_clinic: Callable) -> ClinicRef:
    made = create_clinic(capacity=1, opens=time(8), closes=time(10))
    return ClinicRef(made.hsa_id, made.timezone)


def _monday_slot(timebook: StandaloneCalendarAdapter, clinic: ClinicRef, index: int = 0) -> str:
    start, end = local_day_bounds_utc(MONDAY, clinic.timezone)
    return timebook.available_slots(clinic, "LAKARBESOK", start, end)[index].id


def _stamp(session: Session, clinic: ClinicRef) -> str:
    stamp = session.scalar(select(Calendar.settings_stamp).where(Calendar.clinic_hsa_id == clinic.hsa_id))
    session.commit()  # end the read, as a request would: SQLite cannot turn an old read into a write
    return stamp


def test_a_day_closed_elsewhere_cannot_be_booked_by_the_next_request(db, elsewhere, clinic) -> None:
    timebook = StandaloneCalendarAdapter(session=lambda: db, clock=lambda: NOW)
    first, second = _monday_slot(timebook, clinic, 0), _monday_slot(timebook, clinic, 1)
    timebook.make_booking(clinic, first, Subject("citizen-1"))  # the settings are now kept
    db.commit()

    calendar_id = elsewhere.scalar(select(Calendar.id).where(Calendar.clinic_hsa_id == clinic.hsa_id))
    elsewhere.add(ClosedDate(calendar_id=calendar_id, day=MONDAY, reason="Studiedag"))
    elsewhere.commit()

    with pytest.raises(NotFound):
        timebook.make_booking(clinic, second, Subject("citizen-2"))
    db.rollback()

    elsewhere.delete(elsewhere.scalar(select(ClosedDate)))
    elsewhere.commit()
    assert timebook.make_booking(clinic, second, Subject("citizen-2")).booking.slot.id == second


def test_a_time_asked_about_before_its_day_was_closed_is_refused_after(db, elsewhere, clinic) -> None:
    """The snapshot remembers the times it worked out (a rush asks about each one many times);
    a closed day must still refuse them."""
    timebook = StandaloneCalendarAdapter(session=lambda: db, clock=lambda: NOW)
    first, second = _monday_slot(timebook, clinic, 0), _monday_slot(timebook, clinic, 1)
    timebook.make_booking(clinic, first, Subject("citizen-1"))
    db.commit()
    assert timebook.seat_probe(clinic, second) is not None  # worked out, and remembered

    calendar_id = elsewhere.scalar(select(Calendar.id).where(Calendar.clinic_hsa_id == clinic.hsa_id))
    elsewhere.add(ClosedDate(calendar_id=calendar_id, day=MONDAY, reason="Studiedag"))
    elsewhere.commit()

    with pytest.raises(NotFound):
        timebook.make_booking(clinic, second, Subject("citizen-2"))
    assert timebook.seat_probe(clinic, second) is None
    db.rollback()


def test_more_seats_set_elsewhere_are_offered_by_the_next_request(db, elsewhere, clinic) -> None:
    timebook = StandaloneCalendarAdapter(session=lambda: db, clock=lambda: NOW)
    slot = _monday_slot(timebook, clinic)
    timebook.make_booking(clinic, slot, Subject("citizen-1"))
    with pytest.raises(SlotTaken):
        timebook.make_booking(clinic, slot, Subject("citizen-2"))
    db.commit()

    elsewhere.scalar(select(SlotType)).capacity = 2
    elsewhere.commit()

    assert timebook.make_booking(clinic, slot, Subject("citizen-2")).booking.slot.id == slot


def test_settings_edits_change_the_stamp_and_bookings_do_not(db, elsewhere, clinic) -> None:
    timebook = StandaloneCalendarAdapter(session=lambda: db, clock=lambda: NOW)
    before = _stamp(elsewhere, clinic)
    timebook.make_booking(clinic, _monday_slot(timebook, clinic), Subject("citizen-1"))
    db.commit()
    assert _stamp(elsewhere, clinic) == before

    elsewhere.scalar(select(Calendar).where(Calendar.clinic_hsa_id == clinic.hsa_id)).horizon_days = 60
    elsewhere.commit()
    after_calendar_edit = _stamp(elsewhere, clinic)
    assert after_calendar_edit != before

    elsewhere.scalar(select(SlotType)).name = "Läkarbesök, 20 minuter"
    elsewhere.commit()
    assert _stamp(elsewhere, clinic) not in {before, after_calendar_edit}


def test_a_stamp_noted_in_an_earlier_transaction_proves_nothing(db, elsewhere, clinic) -> None:
    timebook = StandaloneCalendarAdapter(session=lambda: db, clock=lambda: NOW)
    first, second = _monday_slot(timebook, clinic, 0), _monday_slot(timebook, clinic, 1)
    timebook.make_booking(clinic, first, Subject("citizen-1"))
    calendar_id = db.scalar(select(Calendar.id).where(Calendar.clinic_hsa_id == clinic.hsa_id))
    note_stamp(db, clinic.hsa_id, calendar_id, _stamp(db, clinic))  # read, then that transaction ends

    elsewhere.add(ClosedDate(calendar_id=calendar_id, day=MONDAY, reason="Studiedag"))
    elsewhere.commit()

    with pytest.raises(NotFound):  # the note is from a finished transaction: the stamp is read anew
        timebook.make_booking(clinic, second, Subject("citizen-2"))
