"""The standalone calendar as a timebook: seats, deadlines, notice, horizon, series, rebooking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic_adapters import (
    ClinicRef,
    NotAllowed,
    NotFound,
    SeriesRequest,
    SlotTaken,
    Subject,
    TooLateToCancel,
)
from clinic_adapters.timezones import local_day_bounds_utc, to_local
from standalone_calendar import CalendarBooking, StandaloneCalendarAdapter
from standalone_calendar.models import SeatCount

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
TOLVAN = Subject(ref="citizen-1")
ANNA = Subject(ref="citizen-2")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def timebook(db: Session, clock: Clock) -> StandaloneCalendarAdapter:
    return StandaloneCalendarAdapter(session=lambda: db, clock=clock)


@pytest.fixture
def clinic(create_clinic: Callable) -> ClinicRef:
    made = create_clinic(capacity=1, opens=time(8), closes=time(10), series_days=(21, 42))
    return ClinicRef(made.hsa_id.lower(), made.timezone)  # ids compare case-insensitively


def _day_slots(timebook, clinic, day: date):
    start, end = local_day_bounds_utc(day, clinic.timezone)
    return timebook.available_slots(clinic, "LAKARBESOK", start, end)


def test_slots_on_spring_change_day_start_at_local_eight(timebook, clinic) -> None:
    slots = _day_slots(timebook, clinic, date(2026, 3, 29))
    assert [to_local(s.start, clinic.timezone).strftime("%H:%M") for s in slots][:2] == ["08:00", "08:20"]
    assert len(slots) == 6
    assert slots[0].start == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_slots_on_autumn_change_day_start_at_local_eight(timebook, clinic, clock) -> None:
    clock.now = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    slots = _day_slots(timebook, clinic, date(2026, 10, 25))
    assert slots[0].start == datetime(2026, 10, 25, 7, 0, tzinfo=UTC) and len(slots) == 6


def test_booking_takes_the_seat_and_a_second_is_refused(db, timebook, clinic) -> None:
    slot = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    result = timebook.make_booking(clinic, slot.id, TOLVAN)
    assert result.booking.slot.start == slot.start
    with pytest.raises(SlotTaken):
        timebook.make_booking(clinic, slot.id, ANNA)
    assert slot.id not in {s.id for s in _day_slots(timebook, clinic, date(2026, 3, 23))}
    assert [b.booking_id for b in timebook.subject_schedule(clinic, TOLVAN)] == [result.booking.booking_id]


def test_capacity_three_takes_three_subjects(db, timebook, create_clinic) -> None:
    made = create_clinic(capacity=3, slot_type="LAKARBESOK")
    clinic = ClinicRef(made.hsa_id, made.timezone)
    slot = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    assert slot.free == 3
    for n in range(3):
        timebook.make_booking(clinic, slot.id, Subject(ref=f"c{n}"))
    with pytest.raises(SlotTaken):
        timebook.make_booking(clinic, slot.id, Subject(ref="c4"))


def test_past_too_soon_and_beyond_horizon_are_refused(timebook, clinic, clock) -> None:
    slot = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    clock.now = slot.start + timedelta(minutes=1)
    with pytest.raises(NotAllowed, match="passed"):
        timebook.make_booking(clinic, slot.id, TOLVAN)
    clock.now = slot.start - timedelta(minutes=30)  # notice is 60 minutes
    with pytest.raises(NotAllowed, match="too soon"):
        timebook.make_booking(clinic, slot.id, TOLVAN)
    clock.now = slot.start - timedelta(days=40)  # horizon is 28 days
    with pytest.raises(NotAllowed, match="horizon"):
        timebook.make_booking(clinic, slot.id, TOLVAN)


def test_slot_id_of_another_clinic_is_not_found(timebook, clinic, create_clinic) -> None:
    other = create_clinic()
    other_ref = ClinicRef(other.hsa_id, other.timezone)
    foreign = _day_slots(timebook, other_ref, date(2026, 3, 23))[0]
    with pytest.raises(NotFound):
        timebook.make_booking(clinic, foreign.id, TOLVAN)
    with pytest.raises(NotFound):
        timebook.make_booking(clinic, "not-a-slot", TOLVAN)


def test_cancel_frees_at_once_and_respects_deadline(timebook, clinic, clock) -> None:
    slot = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    booking = timebook.make_booking(clinic, slot.id, TOLVAN).booking
    with pytest.raises(NotFound):
        timebook.cancel_booking(clinic, booking.booking_id, ANNA)
    timebook.cancel_booking(clinic, booking.booking_id, TOLVAN)
    assert slot.id in {s.id for s in _day_slots(timebook, clinic, date(2026, 3, 23))}
    again = timebook.make_booking(clinic, slot.id, ANNA).booking
    clock.now = slot.start - timedelta(hours=2)  # deadline is 24 hours
    with pytest.raises(TooLateToCancel):
        timebook.cancel_booking(clinic, again.booking_id, ANNA)


def test_rebook_to_a_taken_time_keeps_the_old_booking(db, timebook, clinic) -> None:
    first, second = _day_slots(timebook, clinic, date(2026, 3, 23))[:2]
    mine = timebook.make_booking(clinic, first.id, TOLVAN).booking
    timebook.make_booking(clinic, second.id, ANNA)
    with pytest.raises(SlotTaken):
        timebook.update_booking(clinic, mine.booking_id, second.id, TOLVAN)
    kept = timebook.booking_details(clinic, mine.booking_id, TOLVAN)
    assert kept.slot.start == first.start
    assert first.id not in {s.id for s in _day_slots(timebook, clinic, date(2026, 3, 23))}


def test_rebook_moves_and_frees_the_old_time(timebook, clinic) -> None:
    first, _, third = _day_slots(timebook, clinic, date(2026, 3, 23))[:3]
    mine = timebook.make_booking(clinic, first.id, TOLVAN).booking
    moved = timebook.update_booking(clinic, mine.booking_id, third.id, TOLVAN).booking
    assert moved.booking_id == mine.booking_id and moved.slot.start == third.start
    free = {s.id for s in _day_slots(timebook, clinic, date(2026, 3, 23))}
    assert first.id in free and third.id not in free


def test_series_books_both_times_within_bounds(db, timebook, clinic) -> None:
    dose1 = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    dose2 = _day_slots(timebook, clinic, date(2026, 4, 14))[0]  # 22 days later
    results = timebook.book_series(clinic, SeriesRequest([dose1.id, dose2.id]), TOLVAN)
    assert [r.booking.slot.start for r in results] == [dose1.start, dose2.start]


@pytest.mark.parametrize("second_day", [date(2026, 4, 1), date(2026, 5, 10)])
def test_series_outside_its_interval_is_refused_and_books_nothing(
    db, timebook, clinic, clock, second_day
) -> None:
    clock.now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    dose1 = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    clock.now = datetime(2026, 4, 20, 9, 0, tzinfo=UTC) if second_day.month == 5 else NOW
    dose2 = _day_slots(timebook, clinic, second_day)[0]
    clock.now = NOW
    with pytest.raises(NotAllowed, match="days apart"):
        timebook.book_series(clinic, SeriesRequest([dose1.id, dose2.id]), TOLVAN)
    assert db.scalar(select(func.count()).select_from(CalendarBooking)) == 0


def test_series_is_all_or_nothing_when_the_second_time_is_taken(db, timebook, clinic) -> None:
    dose1 = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    dose2 = _day_slots(timebook, clinic, date(2026, 4, 14))[0]
    timebook.make_booking(clinic, dose2.id, ANNA)
    with pytest.raises(SlotTaken):
        timebook.book_series(clinic, SeriesRequest([dose1.id, dose2.id]), TOLVAN)
    assert timebook.subject_schedule(clinic, TOLVAN) == []
    assert dose1.id in {s.id for s in _day_slots(timebook, clinic, date(2026, 3, 23))}


def test_a_closed_time_is_not_found_and_keeps_no_seat(db, timebook, clinic) -> None:
    # The seat is taken before closed days are read; the savepoint gives it back.
    from standalone_calendar.models import Calendar, ClosedDate, SeatCount

    slot = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    calendar = db.scalar(select(Calendar))
    db.add(ClosedDate(calendar_id=calendar.id, day=date(2026, 3, 23)))
    db.flush()
    with pytest.raises(NotFound):
        timebook.make_booking(clinic, slot.id, TOLVAN)
    assert db.scalar(select(func.coalesce(func.sum(SeatCount.booked), 0))) == 0
    assert db.scalar(select(func.count()).select_from(CalendarBooking)) == 0
    assert timebook.make_booking(clinic, _day_slots(timebook, clinic, date(2026, 3, 24))[0].id, TOLVAN)


def test_a_subject_cannot_hold_the_same_time_twice(db, timebook, create_clinic) -> None:
    made = create_clinic(capacity=3, opens=time(8), closes=time(10))
    clinic = ClinicRef(made.hsa_id, made.timezone)
    slot = _day_slots(timebook, clinic, date(2026, 3, 23))[0]
    timebook.make_booking(clinic, slot.id, TOLVAN)
    with pytest.raises(NotAllowed, match="already"):
        timebook.make_booking(clinic, slot.id, TOLVAN)
    timebook.make_booking(clinic, slot.id, ANNA)
    assert db.scalar(select(func.count()).select_from(CalendarBooking)) == 2
    # The refused attempt gave its seat back: one of the three is still free.
    assert db.scalar(select(SeatCount.booked)) == 2
    assert [s.free for s in _day_slots(timebook, clinic, date(2026, 3, 23)) if s.id == slot.id] == [1]
