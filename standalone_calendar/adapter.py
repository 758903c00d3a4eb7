"""The built-in timebook behind the adapter contract, writing in the caller's transaction."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Executable, bindparam, insert, select, text
from sqlalchemy.orm import Session

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
from standalone_calendar.generation import Candidate
from standalone_calendar.models import Calendar, CalendarBooking, Practitioner, SlotType
from standalone_calendar.settings import CalendarSettings, SlotTypeSettings, settings_cache


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

    def _settings(self, clinic: ClinicRef) -> CalendarSettings:
        settings = settings_cache.get(self.db, normalize_hsa_id(clinic.hsa_id), self._clock())
        if settings is None:
            raise NotFound("the clinic has no standalone calendar")
        return settings

    def _practitioners(self, calendar: Calendar) -> dict[int, Practitioner]:
        rows = self.db.scalars(select(Practitioner).where(Practitioner.calendar_id == calendar.id))
        return {p.id: p for p in rows}

    def _open_time(
        self, clinic: ClinicRef, slot_id: str
    ) -> tuple[CalendarSettings, SlotTypeSettings, Candidate]:
        """Find the open time a slot id names, or say precisely why it cannot be booked."""
        key = SlotKey.decode(slot_id)
        settings = self._settings(clinic)
        slot_type, candidate = self._open_time_in(settings, key)
        return settings, slot_type, candidate

    def _open_time_in(self, settings: CalendarSettings, key: SlotKey) -> tuple[SlotTypeSettings, Candidate]:
        slot_type = settings.slot_type(key.slot_type_id)
        if slot_type is None:
            raise NotFound("unknown slot type")
        now = self._clock()
        if key.start < now:
            raise NotAllowed("the time has passed")
        if key.start < settings.bookable_from(now):
            raise NotAllowed("the time is too soon to book")
        if key.start > settings.bookable_until(now):
            raise NotAllowed("the time is beyond the booking horizon")
        candidate = settings.open_time(slot_type, key.start, key.practitioner_id)
        if candidate is None:
            raise NotFound("no such time")
        return slot_type, candidate

    def seat_probe(self, clinic: ClinicRef, slot_id: str) -> seats.SeatProbe | None:
        """The seat a booking of ``slot_id`` would take, worked out from this process's snapshot of
        the calendar without a query, so the caller can ask whether it is full in a statement it
        runs anyway. ``None`` when the snapshot is missing or the time could not be booked anyway
        (booking then says precisely why)."""
        settings = settings_cache.peek(normalize_hsa_id(clinic.hsa_id))
        if settings is None:
            return None
        try:
            slot_type, candidate = self._open_time_in(settings, SlotKey.decode(slot_id))
        except (NotFound, NotAllowed):
            return None
        return seats.SeatProbe(
            stamp=settings.stamp,
            slot_type_code=slot_type.code,
            calendar_id=settings.id,
            slot_type_id=slot_type.id,
            starts_at=candidate.start,
            resource_key=candidate.resource_key,
            capacity=candidate.capacity,
        )

    def _take(self, calendar_id: int, slot_type_id: int, candidate: Candidate) -> int:
        seat_id = seats.take_seat(
            self.db,
            calendar_id=calendar_id,
            slot_type_id=slot_type_id,
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
        performer = (
            (practitioner.code, f"{practitioner.given_name} {practitioner.family_name}")
            if practitioner
            else None
        )
        slot = _contract_slot(
            calendar.clinic_hsa_id, row.slot_type, row.starts_at, row.ends_at, row.practitioner_id, performer
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
    ) -> Booking:
        """Book a time; everything that may refuse it is checked before anything is written.

        The settings come from the per-process snapshot, so a full time (most attempts in a rush)
        costs two statements: the settings stamp and the seat. An attempt that got a seat writes
        the booking in one statement that first asks whether the subject holds that time already,
        and gives the seat back if so: the seat's row lock is held until the transaction ends, and
        every statement less shortens the wait of the others who want the time.
        """
        settings, slot_type, candidate = self._open_time(clinic, slot_id)
        seat_id = self._take(settings.id, slot_type.id, candidate)
        booking_id = str(uuid.uuid4())
        written = self.db.execute(
            _INSERT_UNLESS_HELD,
            {
                "id": booking_id,
                "calendar_id": settings.id,
                "seat_count_id": seat_id,
                "slot_type_id": slot_type.id,
                "practitioner_id": candidate.practitioner_id,
                "starts_at": candidate.start,
                "ends_at": candidate.end,
                "subject_ref": subject.ref,
                "status": "booked",
                "series_id": series_id,
                "created_at": self._clock(),
            },
        )
        if written.first() is None:
            seats.give_back_seat(self.db, seat_id)
            raise NotAllowed("you already have this time")
        return self._new_booking(settings, slot_type, candidate, booking_id, subject)

    @staticmethod
    def _new_booking(
        settings: CalendarSettings,
        slot_type: SlotTypeSettings,
        candidate: Candidate,
        booking_id: str,
        subject: Subject,
    ) -> Booking:
        performer = settings.practitioner_names.get(candidate.practitioner_id)  # None: no practitioner
        slot = _contract_slot(
            settings.clinic_hsa_id,
            slot_type,
            candidate.start,
            candidate.end,
            candidate.practitioner_id,
            performer,
        )
        return Booking(booking_id=booking_id, slot=slot, status=BookingStatus.BOOKED, subject_ref=subject.ref)

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
        # The snapshot that booking checks against, so a listed time is one that can be booked.
        settings = self._settings(clinic)
        slot_type = settings.slot_type_coded(time_type_id)
        if slot_type is None:
            raise NotFound("unknown slot type")
        practitioner_id = None
        if performer_id is not None:
            matches = [pid for pid, (code, _) in settings.practitioner_names.items() if code == performer_id]
            if not matches:
                return []
            practitioner_id = matches[0]
        now = self._clock()
        start = max(start, settings.bookable_from(now))
        end = min(end, settings.bookable_until(now))
        if start >= end:
            return []
        booked = seats.booked_seats(self.db, settings.id, slot_type.id, start, end)
        slots = []
        for candidate in settings.open_times(slot_type, start, end, practitioner_id):
            free = candidate.capacity - booked.get((candidate.start, candidate.resource_key), 0)
            if free > 0:
                slots.append(
                    _contract_slot(
                        settings.clinic_hsa_id,
                        slot_type,
                        candidate.start,
                        candidate.end,
                        candidate.practitioner_id,
                        settings.practitioner_names.get(candidate.practitioner_id),
                        room=candidate.room,
                        capacity=candidate.capacity,
                        free=free,
                    )
                )
        return slots

    def available_dates(self, clinic: ClinicRef, time_type_id: str, start: date, end: date) -> list[date]:
        # The contract's derivation, in the calendar's own zone (the one its rules are written in).
        calendar = self._calendar(clinic)
        return super().available_dates(ClinicRef(clinic.hsa_id, calendar.timezone), time_type_id, start, end)

    # -- booking ---------------------------------------------------------------------------------

    def make_booking(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, reason: str | None = None
    ) -> BookingResult:
        # No savepoint: _book refuses before it writes, or undoes its one write itself.
        return BookingResult(booking=self._book(clinic, slot_id, subject))

    def book_series(self, clinic: ClinicRef, series: SeriesRequest, subject: Subject) -> list[BookingResult]:
        slot_ids: Sequence[str] = list(series.slot_ids)
        if len(slot_ids) < 2:
            raise NotAllowed("a series needs at least two times")
        keys = [SlotKey.decode(s) for s in slot_ids]
        first_type = self._settings(clinic).slot_type(keys[0].slot_type_id)
        if first_type is None:
            raise NotFound("unknown slot type")
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
            booked = [self._book(clinic, s, subject, series_id) for s in slot_ids]
        return [BookingResult(booking=b) for b in booked]

    def update_booking(
        self, clinic: ClinicRef, booking_id: str, new_slot_id: str, subject: Subject
    ) -> BookingResult:
        row = self._own_booking(clinic, booking_id, subject)
        self._check_changeable(row, rebook=True)
        with self.db.begin_nested():  # the old seat is given back only once the new one is held
            settings, slot_type, candidate = self._open_time(clinic, new_slot_id)
            if slot_type.id != row.slot_type_id:
                raise NotAllowed("a booking can only move to a time of the same type")
            if candidate.start == row.starts_at and candidate.practitioner_id == row.practitioner_id:
                raise NotAllowed("the booking already has this time")
            seat_id = self._take(settings.id, slot_type.id, candidate)
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


def _contract_slot(
    clinic_hsa_id: str,
    slot_type: SlotType | SlotTypeSettings,
    start: datetime,
    end: datetime,
    practitioner_id: int | None,
    performer: tuple[str, str] | None,
    *,
    room: str | None = None,
    capacity: int = 1,
    free: int = 0,
) -> Slot:
    """A time as the contract shows it (``performer``: code and name); a booked one has no seat free."""
    return Slot(
        id=SlotKey(slot_type.id, start, practitioner_id).encode(),
        clinic_hsa_id=clinic_hsa_id,
        time_type_id=slot_type.code,
        time_type_name=slot_type.name,
        start=start,
        end=end,
        performer_id=performer[0] if performer else None,
        performer_name=performer[1] if performer else None,
        resource_name=room,
        capacity=capacity,
        free=free,
        cancel_booking_allowed=slot_type.cancel_allowed,
        rebooking_allowed=slot_type.rebook_allowed,
    )


_booking = CalendarBooking.__table__.c


def _insert_unless_held() -> Executable:
    """``INSERT … SELECT … RETURNING`` of one booking, which inserts and returns no row when the
    subject holds that time already. Built once: building ``insert().values()`` per booking took
    about half as long as running it. On the table: a Core statement skips the ORM's execution
    path."""
    table = CalendarBooking.__table__
    names = (
        "id",
        "calendar_id",
        "seat_count_id",
        "slot_type_id",
        "practitioner_id",
        "starts_at",
        "ends_at",
        "subject_ref",
        "status",
        "series_id",
        "created_at",
    )
    held = (
        select(_booking.id)
        .where(
            _booking.calendar_id == bindparam("calendar_id"),
            _booking.slot_type_id == bindparam("slot_type_id"),
            _booking.starts_at == bindparam("starts_at"),
            _booking.subject_ref == bindparam("subject_ref"),
            _booking.status == "booked",
        )
        .exists()
    )
    values = select(*(bindparam(name, type_=_booking[name].type) for name in names)).where(~held)
    return insert(table).from_select(names, values).returning(_booking.id)


_INSERT_UNLESS_HELD = _insert_unless_held()
