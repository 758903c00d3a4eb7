"""The built-in timebook behind the adapter contract, writing in the caller's transaction."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, literal, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from clinic_adapters import (
    Booking,
    BookingResult,
    BookingStatus,
    CancelResult,
    Capabilities,
    ClinicAdapter,
    ClinicRef,
    Health,
    NotAllowed,
    NotFound,
    Performer,
    SeriesRequest,
    Slot,
    SlotTaken,
    Subject,
    TimeType,
    TooLateToCancel,
    normalize_hsa_id,
)
from clinic_adapters.timezones import utc_now
from standalone_calendar import seats
from standalone_calendar.generation import Candidate, generate
from standalone_calendar.models import Calendar, CalendarBooking, Practitioner, SlotType
from standalone_calendar.timetable import closures_around, times_between, windows_of


@dataclass(frozen=True, slots=True)
class SlotKey:
    """What a standalone slot id encodes: slot type, start minute (UTC epoch), practitioner."""

    slot_type_id: int
    start: datetime
    practitioner_id: int | None

    def encode(self) -> str:
        minutes = int(self.start.timestamp()) // 60
        return f"{self.slot_type_id}-{minutes}-{self.practitioner_id or 0}"

    @classmethod
    def decode(cls, slot_id: str) -> SlotKey:
        try:
            type_part, minute_part, practitioner_part = slot_id.split("-")
            start = datetime.fromtimestamp(int(minute_part) * 60, tz=UTC)
            practitioner = int(practitioner_part) or None
            return cls(int(type_part), start, practitioner)
        except (ValueError, OverflowError, OSError) as exc:
            raise NotFound("malformed slot id") from exc


class StandaloneCalendarAdapter(ClinicAdapter):
    """The hub's own timebook; ``session`` returns the caller's current SQLAlchemy session."""

    key = "standalone"
    capabilities = Capabilities(series_booking=True, transactional=True)

    def __init__(self, session: Callable[[], Session], clock: Callable[[], datetime] = utc_now) -> None:
        self._session = session
        self._clock = clock

    # -- helpers -------------------------------------------------------------------------------

    @property
    def db(self) -> Session:
        return self._session()

    def _calendar(self, clinic: ClinicRef) -> Calendar:
        calendar = self.db.scalar(
            select(Calendar).where(Calendar.clinic_hsa_id == normalize_hsa_id(clinic.hsa_id))
        )
        if calendar is None:
            raise NotFound("the clinic has no standalone calendar")
        return calendar

    def _calendar_and_slot_type(
        self, clinic: ClinicRef, key: SlotKey, subject: Subject | None = None
    ) -> tuple[Calendar, SlotType, bool]:
        """The clinic's calendar and the slot type of ``key``, in one query; with ``subject``, also
        whether the subject already holds a booking of that type at that instant."""
        held: ColumnElement[bool] = literal(False)
        if subject is not None:
            held = (
                select(CalendarBooking.id)
                .where(
                    CalendarBooking.calendar_id == Calendar.id,
                    CalendarBooking.slot_type_id == key.slot_type_id,
                    CalendarBooking.starts_at == key.start,
                    CalendarBooking.subject_ref == subject.ref,
                    CalendarBooking.status == "booked",
                )
                .exists()
            )
        found = self.db.execute(
            select(Calendar, SlotType, held)
            .outerjoin(SlotType, and_(SlotType.calendar_id == Calendar.id, SlotType.id == key.slot_type_id))
            .where(Calendar.clinic_hsa_id == normalize_hsa_id(clinic.hsa_id))
        ).first()
        if found is None:
            raise NotFound("the clinic has no standalone calendar")
        calendar, slot_type, already = found
        if slot_type is None:
            raise NotFound("unknown slot type")
        return calendar, slot_type, bool(already)

    def _slot_type(self, calendar: Calendar, *, code: str | None = None, id: int | None = None) -> SlotType:
        query = select(SlotType).where(SlotType.calendar_id == calendar.id)
        query = query.where(SlotType.code == code) if code is not None else query.where(SlotType.id == id)
        slot_type = self.db.scalar(query)
        if slot_type is None:
            raise NotFound("unknown slot type")
        return slot_type

    def _candidates(
        self,
        calendar: Calendar,
        slot_type: SlotType,
        start: datetime,
        end: datetime,
        practitioner_id: int | None = None,
    ) -> list[Candidate]:
        return times_between(self.db, calendar, slot_type, start, end, practitioner_id)

    def _bookable_from(self, calendar: Calendar) -> datetime:
        return self._clock() + timedelta(minutes=calendar.min_notice_minutes)

    def _bookable_until(self, calendar: Calendar) -> datetime:
        return self._clock() + timedelta(days=calendar.horizon_days)

    def _slot(
        self,
        clinic: ClinicRef,
        slot_type: SlotType,
        candidate: Candidate,
        free: int,
        practitioners: dict[int, Practitioner],
    ) -> Slot:
        practitioner = practitioners.get(candidate.practitioner_id) if candidate.practitioner_id else None
        return Slot(
            id=SlotKey(slot_type.id, candidate.start, candidate.practitioner_id).encode(),
            clinic_hsa_id=normalize_hsa_id(clinic.hsa_id),
            time_type_id=slot_type.code,
            time_type_name=slot_type.name,
            start=candidate.start,
            end=candidate.end,
            performer_id=practitioner.code if practitioner else None,
            performer_name=f"{practitioner.given_name} {practitioner.family_name}" if practitioner else None,
            resource_name=candidate.room,
            capacity=candidate.capacity,
            free=free,
            cancel_booking_allowed=slot_type.cancel_allowed,
            rebooking_allowed=slot_type.rebook_allowed,
        )

    def _practitioners(self, calendar: Calendar) -> dict[int, Practitioner]:
        rows = self.db.scalars(select(Practitioner).where(Practitioner.calendar_id == calendar.id))
        return {p.id: p for p in rows}

    def _bookable_key(
        self, clinic: ClinicRef, slot_id: str, subject: Subject | None = None
    ) -> tuple[Calendar, SlotType, SlotKey, bool]:
        """Decode a slot id and check its calendar, slot type and booking window; with ``subject``,
        also say whether the subject already holds that time."""
        key = SlotKey.decode(slot_id)
        calendar, slot_type, already = self._calendar_and_slot_type(clinic, key, subject)
        now = self._clock()
        if key.start < now:
            raise NotAllowed("the time has passed")
        if key.start < self._bookable_from(calendar):
            raise NotAllowed("the time is too soon to book")
        if key.start > self._bookable_until(calendar):
            raise NotAllowed("the time is beyond the booking horizon")
        return calendar, slot_type, key, already

    @staticmethod
    def _named(candidates: Sequence[Candidate], key: SlotKey) -> Candidate:
        for candidate in candidates:
            if candidate.start == key.start and candidate.practitioner_id == key.practitioner_id:
                return candidate
        raise NotFound("no such time")

    def _resolve(self, clinic: ClinicRef, slot_id: str) -> tuple[Calendar, SlotType, Candidate]:
        """Find the generated time a slot id names, or say precisely why it cannot be booked."""
        calendar, slot_type, key, _ = self._bookable_key(clinic, slot_id)
        candidates = self._candidates(
            calendar, slot_type, key.start, key.start + timedelta(minutes=1), key.practitioner_id
        )
        return calendar, slot_type, self._named(candidates, key)

    def _take(self, calendar: Calendar, slot_type: SlotType, candidate: Candidate) -> int:
        seat_id = seats.take_seat(
            self.db,
            calendar_id=calendar.id,
            slot_type_id=slot_type.id,
            starts_at=candidate.start,
            resource_key=candidate.resource_key,
            capacity=candidate.capacity,
        )
        if seat_id is None:
            raise SlotTaken("no free seat left")
        return seat_id

    def _own_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CalendarBooking:
        calendar = self._calendar(clinic)
        booking = self.db.get(CalendarBooking, booking_id)
        if booking is None or booking.calendar_id != calendar.id or booking.subject_ref != subject.ref:
            raise NotFound("no such booking")
        return booking

    def _as_booking(
        self, clinic: ClinicRef, row: CalendarBooking, calendar: Calendar | None = None
    ) -> Booking:
        """The contract's view of a calendar booking (``calendar``: the clinic's, when known)."""
        if calendar is None:
            calendar = self._calendar(clinic)
        practitioner = row.practitioner
        slot_type = row.slot_type
        slot = Slot(
            id=SlotKey(row.slot_type_id, row.starts_at, row.practitioner_id).encode(),
            clinic_hsa_id=calendar.clinic_hsa_id,
            time_type_id=slot_type.code,
            time_type_name=slot_type.name,
            start=row.starts_at,
            end=row.ends_at,
            performer_id=practitioner.code if practitioner else None,
            performer_name=f"{practitioner.given_name} {practitioner.family_name}" if practitioner else None,
            cancel_booking_allowed=slot_type.cancel_allowed,
            rebooking_allowed=slot_type.rebook_allowed,
            free=0,
        )
        status = BookingStatus.CANCELLED if row.status == "cancelled" else BookingStatus.BOOKED
        return Booking(booking_id=row.id, slot=slot, status=status, subject_ref=row.subject_ref)

    def _check_changeable(self, row: CalendarBooking, *, rebook: bool) -> None:
        if row.status != "booked":
            raise NotFound("the booking is cancelled")
        allowed = row.slot_type.rebook_allowed if rebook else row.slot_type.cancel_allowed
        if not allowed:
            raise NotAllowed("the clinic does not allow this change online")
        now = self._clock()
        if row.starts_at <= now:
            raise NotAllowed("the time has passed")
        if now > row.starts_at - timedelta(minutes=row.slot_type.cancel_deadline_minutes):
            raise TooLateToCancel("the cancellation deadline has passed")

    def _book(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, series_id: str | None = None
    ) -> tuple[CalendarBooking, Calendar]:
        """Book a time; the caller's savepoint undoes the seat when a later check refuses.

        The seat is taken before closures and closed days are read: a full time (most attempts in
        a rush) is refused after the opening rules alone, and a taken seat of a time that turns
        out to be closed is given back by the savepoint (``NotFound`` as before).
        """
        calendar, slot_type, key, already = self._bookable_key(clinic, slot_id, subject)
        start, end = key.start, key.start + timedelta(minutes=1)
        windows = windows_of(self.db, slot_type, key.practitioner_id)
        # The time as the opening rules make it (capacity, resource): it exists, or it never will.
        candidate = self._named(generate(windows, calendar.timezone, start, end), key)
        if already:  # read with the calendar, for this candidate's instant (key.start)
            raise NotAllowed("you already have this time")
        seat_id = self._take(calendar, slot_type, candidate)
        closed_days, absences = closures_around(self.db, calendar, start, end)
        open_times = generate(
            windows, calendar.timezone, start, end, closed_days=closed_days, absences=absences
        )
        candidate = self._named(open_times, key)
        row = CalendarBooking(
            id=str(uuid.uuid4()),
            calendar_id=calendar.id,
            seat_count_id=seat_id,
            slot_type_id=slot_type.id,
            practitioner_id=candidate.practitioner_id,
            starts_at=candidate.start,
            ends_at=candidate.end,
            subject_ref=subject.ref,
            status="booked",
            series_id=series_id,
            created_at=self._clock(),
        )
        self.db.add(row)
        self.db.flush()
        set_committed_value(row, "slot_type", slot_type)  # loaded already: no query for the answer
        return row, calendar

    # -- catalogue -------------------------------------------------------------------------------

    def list_time_types(self, clinic: ClinicRef) -> list[TimeType]:
        calendar = self._calendar(clinic)
        rows = self.db.scalars(
            select(SlotType).where(SlotType.calendar_id == calendar.id).order_by(SlotType.name)
        )
        return [TimeType(id=r.code, name=r.name, duration_minutes=r.duration_minutes) for r in rows]

    def list_performers(self, clinic: ClinicRef) -> list[Performer]:
        calendar = self._calendar(clinic)
        return [
            Performer(id=p.code, given_name=p.given_name, family_name=p.family_name, title=p.title)
            for p in sorted(self._practitioners(calendar).values(), key=lambda p: p.family_name)
        ]

    # -- availability ----------------------------------------------------------------------------

    def available_slots(
        self,
        clinic: ClinicRef,
        time_type_id: str,
        start: datetime,
        end: datetime,
        performer_id: str | None = None,
    ) -> list[Slot]:
        calendar = self._calendar(clinic)
        slot_type = self._slot_type(calendar, code=time_type_id)
        practitioners = self._practitioners(calendar)
        practitioner_id = None
        if performer_id is not None:
            matches = [p.id for p in practitioners.values() if p.code == performer_id]
            if not matches:
                return []
            practitioner_id = matches[0]
        start = max(start, self._bookable_from(calendar))
        end = min(end, self._bookable_until(calendar))
        if start >= end:
            return []
        candidates = self._candidates(calendar, slot_type, start, end, practitioner_id)
        booked = seats.booked_seats(self.db, calendar.id, slot_type.id, start, end)
        slots = []
        for candidate in candidates:
            free = candidate.capacity - booked.get((candidate.start, candidate.resource_key), 0)
            if free > 0:
                slots.append(self._slot(clinic, slot_type, candidate, free, practitioners))
        return slots

    def available_dates(self, clinic: ClinicRef, time_type_id: str, start: date, end: date) -> list[date]:
        # The contract's derivation, in the calendar's own zone (the one its rules are written in).
        calendar = self._calendar(clinic)
        return super().available_dates(ClinicRef(clinic.hsa_id, calendar.timezone), time_type_id, start, end)

    # -- booking ---------------------------------------------------------------------------------

    def make_booking(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, reason: str | None = None
    ) -> BookingResult:
        with self.db.begin_nested():
            row, calendar = self._book(clinic, slot_id, subject)
        return BookingResult(booking=self._as_booking(clinic, row, calendar))

    def book_series(self, clinic: ClinicRef, series: SeriesRequest, subject: Subject) -> list[BookingResult]:
        slot_ids: Sequence[str] = list(series.slot_ids)
        if len(slot_ids) < 2:
            raise NotAllowed("a series needs at least two times")
        calendar = self._calendar(clinic)
        keys = [SlotKey.decode(s) for s in slot_ids]
        first_type = self._slot_type(calendar, id=keys[0].slot_type_id)
        lower, upper = first_type.series_min_days, first_type.series_max_days
        if lower is None and upper is None:
            raise NotAllowed("this slot type is not booked as a series")
        for before, after in itertools.pairwise(keys):
            gap = after.start - before.start
            if lower is not None and gap < timedelta(days=lower):
                raise NotAllowed(f"the times must be at least {lower} days apart")
            if upper is not None and gap > timedelta(days=upper):
                raise NotAllowed(f"the times must be at most {upper} days apart")
        series_id = str(uuid.uuid4())
        with self.db.begin_nested():  # both times or neither
            rows = [self._book(clinic, s, subject, series_id) for s in slot_ids]
        return [BookingResult(booking=self._as_booking(clinic, r, c)) for r, c in rows]

    def update_booking(
        self, clinic: ClinicRef, booking_id: str, new_slot_id: str, subject: Subject
    ) -> BookingResult:
        row = self._own_booking(clinic, booking_id, subject)
        self._check_changeable(row, rebook=True)
        with self.db.begin_nested():  # the old seat is given back only once the new one is held
            calendar, slot_type, candidate = self._resolve(clinic, new_slot_id)
            if slot_type.id != row.slot_type_id:
                raise NotAllowed("a booking can only move to a time of the same type")
            if candidate.start == row.starts_at and candidate.practitioner_id == row.practitioner_id:
                raise NotAllowed("the booking already has this time")
            seat_id = self._take(calendar, slot_type, candidate)
            seats.give_back_seat(self.db, row.seat_count_id)
            row.seat_count_id = seat_id
            row.starts_at = candidate.start
            row.ends_at = candidate.end
            row.practitioner_id = candidate.practitioner_id
            self.db.flush()
        self.db.refresh(row)
        return BookingResult(booking=self._as_booking(clinic, row))

    def cancel_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CancelResult:
        row = self._own_booking(clinic, booking_id, subject)
        self._check_changeable(row, rebook=False)
        with self.db.begin_nested():
            seats.give_back_seat(self.db, row.seat_count_id)
            row.status = "cancelled"
            row.cancelled_at = self._clock()
            self.db.flush()
        return CancelResult(booking_id=row.id)

    def release(self, clinic: ClinicRef, booking_id: str) -> None:
        """Give a booking's seat back whatever the deadlines: the hub moved it elsewhere."""
        calendar = self._calendar(clinic)
        row = self.db.get(CalendarBooking, booking_id)
        if row is None or row.calendar_id != calendar.id or row.status != "booked":
            return
        with self.db.begin_nested():
            seats.give_back_seat(self.db, row.seat_count_id)
            row.status = "cancelled"
            row.cancelled_at = self._clock()
            self.db.flush()

    def booking_details(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> Booking:
        return self._as_booking(clinic, self._own_booking(clinic, booking_id, subject))

    def subject_schedule(self, clinic: ClinicRef, subject: Subject) -> list[Booking]:
        calendar = self._calendar(clinic)
        rows = self.db.scalars(
            select(CalendarBooking)
            .where(CalendarBooking.calendar_id == calendar.id, CalendarBooking.subject_ref == subject.ref)
            .order_by(CalendarBooking.starts_at)
        )
        return [self._as_booking(clinic, r) for r in rows]

    # -- operations ------------------------------------------------------------------------------

    def health(self) -> Health:
        now = self._clock()
        try:
            self.db.execute(text("SELECT 1"))
        except Exception as exc:  # any database error means the timebook cannot answer now
            return Health(ok=False, last_error=now, last_error_text=type(exc).__name__)
        return Health(ok=True, last_success=now)
