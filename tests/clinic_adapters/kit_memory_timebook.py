"""A small, correct in-memory timebook for testing the conformance kit (and deliberately broken kin).

Slots are generated from wall-clock rules in the clinic's zone for any day asked, including the
days the clocks change: a wall time the spring change skips has no slot, and the autumn's repeated
hour has two (one per fold).
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

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
    Unavailable,
    same_hsa_id,
)
from clinic_adapters.timezones import local_to_utc, to_local, utc_now

# (wall time, seats): night times exercise the clock changes, 10:00 is a three-chair time.
WALL_TIMES = ((time(0, 30), 1), (time(1, 30), 1), (time(2, 30), 1), (time(3, 30), 1),
              (time(8, 0), 1), (time(9, 0), 1), (time(10, 0), 3), (time(11, 0), 1))
DURATION = timedelta(minutes=30)


@dataclass
class _Entry:
    slot_id: str
    subject_ref: str
    status: BookingStatus = BookingStatus.BOOKED


class MemoryTimebook(ClinicAdapter):
    """A correct timebook in memory; thread-safe."""

    key = "kit-memory"
    capabilities = Capabilities(series_booking=True)

    # Switches the broken variants turn off.
    hide_past = True
    enforce_capacity = True
    free_on_cancel = True

    def __init__(self, clinic_hsa_id: str = "SE2321000016-KIT1", timezone: str = "Europe/Stockholm",
                 time_type_id: str = "TT1", performers: tuple[str, ...] = ("P1", "P2"),
                 wall_times: tuple[tuple[time, int], ...] = WALL_TIMES,
                 weekdays: frozenset[int] = frozenset(range(7)),
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.clinic_hsa_id = clinic_hsa_id
        self.timezone = timezone
        self.time_type_id = time_type_id
        self.performers = performers
        self.wall_times = wall_times
        self.weekdays = weekdays
        self.clock = clock
        self._lock = threading.RLock()
        self._taken: dict[str, int] = {}
        self._bookings: dict[str, _Entry] = {}

    # -- slot generation -----------------------------------------------------------------------

    def _slot(self, slot_id: str) -> Slot | None:
        try:
            day_text, hhmm, fold, performer = slot_id.split(".")
            day = date.fromisoformat(f"{day_text[:4]}-{day_text[4:6]}-{day_text[6:8]}")
            wall = time(int(hhmm[:2]), int(hhmm[2:]))
        except ValueError:
            return None
        seats = dict(self.wall_times).get(wall) if day.weekday() in self.weekdays else None
        if seats is None or performer not in self.performers or fold not in ("0", "1"):
            return None
        start = local_to_utc(day, wall, self.timezone, fold=int(fold))
        local = to_local(start, self.timezone)
        if local.time() != wall or local.date() != day:
            return None  # skipped by the spring change
        if fold == "1" and local_to_utc(day, wall, self.timezone, fold=0) == start:
            return None  # only the autumn's repeated hour has a second fold
        taken = self._taken.get(slot_id, 0)
        return Slot(id=slot_id, clinic_hsa_id=self.clinic_hsa_id, time_type_id=self.time_type_id,
                    start=start, end=start + DURATION, performer_id=performer,
                    performer_name=f"Dr {performer}", capacity=seats, free=max(seats - taken, 0),
                    cancel_booking_allowed=True, rebooking_allowed=True)

    def _day_slots(self, day: date) -> list[Slot]:
        slots = []
        for wall, _ in self.wall_times:
            for fold in "01":
                for performer in self.performers:
                    slot = self._slot(f"{day:%Y%m%d}T.{wall:%H%M}.{fold}.{performer}")
                    if slot is not None:
                        slots.append(slot)
        return slots

    def _check_clinic(self, clinic: ClinicRef) -> None:
        if not same_hsa_id(clinic.hsa_id, self.clinic_hsa_id):
            raise NotFound("unknown clinic")

    # -- contract ------------------------------------------------------------------------------

    def list_time_types(self, clinic: ClinicRef) -> list[TimeType]:
        self._check_clinic(clinic)
        return [TimeType(self.time_type_id, "Visit", duration_minutes=30)]

    def list_performers(self, clinic: ClinicRef) -> list[Performer]:
        self._check_clinic(clinic)
        return [Performer(p, "Dr", p) for p in self.performers]

    def available_slots(self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime,
                        performer_id: str | None = None) -> list[Slot]:
        self._check_clinic(clinic)
        if time_type_id != self.time_type_id:
            return []
        now = self.clock()
        day, last = to_local(start, self.timezone).date(), to_local(end, self.timezone).date()
        found = []
        with self._lock:
            while day <= last:
                for slot in self._day_slots(day):
                    if (start <= slot.start < end and slot.free > 0
                            and (slot.start >= now or not self.hide_past)
                            and performer_id in (None, slot.performer_id)):
                        found.append(slot)
                day += timedelta(days=1)
        return sorted(found, key=lambda s: (s.start, s.performer_id or ""))

    def _bookable(self, slot_id: str) -> Slot:
        slot = self._slot(slot_id)
        if slot is None:
            raise NotFound("no such slot")
        if slot.start < self.clock():
            raise NotAllowed("slot is in the past")
        if self.enforce_capacity and slot.free < 1:
            raise SlotTaken("slot is full")
        return slot

    def _booking(self, booking_id: str, entry: _Entry) -> Booking:
        slot = self._slot(entry.slot_id)
        assert slot is not None
        return Booking(booking_id, slot, entry.status, subject_ref=entry.subject_ref)

    def make_booking(self, clinic: ClinicRef, slot_id: str, subject: Subject,
                     reason: str | None = None) -> BookingResult:
        self._check_clinic(clinic)
        with self._lock:
            for booking_id, entry in self._bookings.items():
                if (entry.slot_id == slot_id and entry.subject_ref == subject.ref
                        and entry.status is BookingStatus.BOOKED):
                    return BookingResult(self._booking(booking_id, entry))  # a repeat books once
            self._bookable(slot_id)
            booking_id = uuid.uuid4().hex
            self._bookings[booking_id] = _Entry(slot_id, subject.ref)
            self._taken[slot_id] = self._taken.get(slot_id, 0) + 1
            return BookingResult(self._booking(booking_id, self._bookings[booking_id]))

    def book_series(self, clinic: ClinicRef, series: SeriesRequest,
                    subject: Subject) -> list[BookingResult]:
        with self._lock:
            for slot_id in series.slot_ids:
                self._bookable(slot_id)  # all or none: check every time first
            return [self.make_booking(clinic, slot_id, subject) for slot_id in series.slot_ids]

    def _own(self, booking_id: str, subject: Subject, *, booked: bool = True) -> _Entry:
        entry = self._bookings.get(booking_id)
        if entry is None or entry.subject_ref != subject.ref or (
                booked and entry.status is not BookingStatus.BOOKED):
            raise NotFound("no such booking")
        return entry

    def update_booking(self, clinic: ClinicRef, booking_id: str, new_slot_id: str,
                       subject: Subject) -> BookingResult:
        self._check_clinic(clinic)
        with self._lock:
            entry = self._own(booking_id, subject)
            self._move(entry, new_slot_id)
            return BookingResult(self._booking(booking_id, entry))

    def _move(self, entry: _Entry, new_slot_id: str) -> None:
        self._bookable(new_slot_id)
        self._taken[entry.slot_id] -= 1
        self._taken[new_slot_id] = self._taken.get(new_slot_id, 0) + 1
        entry.slot_id = new_slot_id

    def cancel_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CancelResult:
        self._check_clinic(clinic)
        with self._lock:
            entry = self._own(booking_id, subject)
            entry.status = BookingStatus.CANCELLED
            if self.free_on_cancel:
                self._taken[entry.slot_id] -= 1
            return CancelResult(booking_id)

    def booking_details(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> Booking:
        self._check_clinic(clinic)
        with self._lock:
            return self._booking(booking_id, self._own(booking_id, subject, booked=False))

    def subject_schedule(self, clinic: ClinicRef, subject: Subject) -> list[Booking]:
        self._check_clinic(clinic)
        with self._lock:
            return [self._booking(i, e) for i, e in self._bookings.items()
                    if e.subject_ref == subject.ref and e.status is BookingStatus.BOOKED]

    def health(self) -> Health:
        return Health(ok=True)


# -- deliberately broken timebooks ------------------------------------------------------------------


class PastTimesTimebook(MemoryTimebook):
    """Offers times that have already begun."""

    hide_past = False


class DoubleBookingTimebook(MemoryTimebook):
    """Checks no capacity: every booking succeeds."""

    enforce_capacity = False


class CancelKeepsSeatTimebook(MemoryTimebook):
    """Cancels the booking but never gives the seat back."""

    free_on_cancel = False


class NaiveTimesTimebook(MemoryTimebook):
    """Returns wall-clock times without a zone (a typical RIV-TA conversion slip)."""

    def available_slots(self, *args, **kwargs):
        slots = super().available_slots(*args, **kwargs)
        for slot in slots:
            # Slot refuses naive values, so a sloppy adapter has to smuggle them in.
            object.__setattr__(slot, "start", to_local(slot.start, self.timezone).replace(tzinfo=None))
            object.__setattr__(slot, "end", to_local(slot.end, self.timezone).replace(tzinfo=None))
        return slots


class LocalOffsetTimebook(MemoryTimebook):
    """Returns aware times, but in local time instead of UTC."""

    def available_slots(self, *args, **kwargs):
        return [dataclasses.replace(s, start=to_local(s.start, self.timezone),
                                    end=to_local(s.end, self.timezone))
                for s in super().available_slots(*args, **kwargs)]


class UnsortedEarliestTimebook(MemoryTimebook):
    """Answers the first free times from an unsorted search: some time, not the earliest."""

    def earliest_slots(self, clinic, time_type_id, start, end, limit):
        return super().available_slots(clinic, time_type_id, start, end)[::-1][:limit]


class NotFoundAsOutageTimebook(MemoryTimebook):
    """Reports an unknown booking as a technical fault (would trip the hub's circuit breaker)."""

    def booking_details(self, clinic, booking_id, subject):
        try:
            return super().booking_details(clinic, booking_id, subject)
        except NotFound:
            raise Unavailable("SOAP fault: booking not found") from None


class RebookNotAtomicTimebook(MemoryTimebook):
    """Frees the old time before it knows the new one can be had."""

    def _move(self, entry, new_slot_id):
        self._taken[entry.slot_id] -= 1
        entry.status = BookingStatus.CANCELLED
        self._bookable(new_slot_id)
        self._taken[new_slot_id] = self._taken.get(new_slot_id, 0) + 1
        entry.slot_id = new_slot_id
        entry.status = BookingStatus.BOOKED


class NosyTimebook(MemoryTimebook):
    """Shows any citizen's booking to anyone who knows its id."""

    def booking_details(self, clinic, booking_id, subject):
        with self._lock:
            entry = self._bookings.get(booking_id)
            if entry is None:
                raise NotFound("no such booking")
            return self._booking(booking_id, entry)


class UtcDatesTimebook(MemoryTimebook):
    """Derives available dates from UTC instead of the clinic's local days."""

    def available_dates(self, clinic, time_type_id, start, end):
        slots = self.available_slots(clinic, time_type_id,
                                     datetime.combine(start, time(0), tzinfo=UTC),
                                     datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC))
        return sorted({s.start.date() for s in slots})


class LeakyErrorsTimebook(MemoryTimebook):
    """Lets a library exception escape instead of mapping it."""

    def cancel_booking(self, clinic, booking_id, subject):
        if booking_id not in self._bookings:
            raise KeyError(booking_id)
        return super().cancel_booking(clinic, booking_id, subject)


class NoRebookTimebook(MemoryTimebook):
    """A correct timebook that declares it cannot rebook."""

    capabilities = Capabilities(rebook=False, series_booking=False)

    def update_booking(self, clinic, booking_id, new_slot_id, subject):
        from clinic_adapters import NotSupported

        raise NotSupported("rebooking")


class WallClockEndTimebook(MemoryTimebook):
    """Computes a slot's end from the local wall clock (an hour off across the autumn change)."""

    def _slot(self, slot_id):
        slot = super()._slot(slot_id)
        if slot is None:
            return None
        local = to_local(slot.start, self.timezone)
        wall_end = (datetime.combine(local.date(), local.time()) + DURATION).time()
        end = local_to_utc(local.date(), wall_end, self.timezone)
        return dataclasses.replace(slot, end=end) if end > slot.start else slot


class FoldBlindTimebook(MemoryTimebook):
    """Ignores which of the autumn's repeated hours a time is in."""

    def _slot(self, slot_id):
        slot = super()._slot(slot_id)
        if slot is None or slot_id.split(".")[2] != "1":
            return slot
        start = local_to_utc(to_local(slot.start, self.timezone).date(),
                             to_local(slot.start, self.timezone).time(), self.timezone, fold=0)
        return dataclasses.replace(slot, start=start, end=start + DURATION)
