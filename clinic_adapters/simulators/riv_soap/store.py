"""The simulator's own timebook: slots generated from opening windows, bookings in memory.

It behaves like a Swedish record system: it thinks in wall-clock time (Europe/Stockholm), so a
slot is identified by its facility, time type, performer, resource and local start
``YYYYMMDDhhmmss``. Wall times skipped by the spring change are never generated; the autumn's
repeated hour is generated once (as a wall-clock system does) and its instant is taken as the
first occurrence. One lock guards every read-modify-write, so capacity can never be exceeded.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from clinic_adapters.contract import normalize_hsa_id
from clinic_adapters.simulators.riv_soap.model import FacilitySpec, OpeningWindow, TimeTypeSpec
from clinic_adapters.timezones import local_to_utc, to_local, utc_now

TS_FORMAT = "%Y%m%d%H%M%S"
DT_FORMAT = "%Y%m%d"


class Refusal(Exception):
    """A logical refusal: answered as resultCode ERROR with this text for the citizen."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class UnknownBooking(Exception):
    """No such active booking for this subject (GetBookingDetails answers with a SOAP fault)."""


# Texts a Swedish producer might send; the adapter recognises some of them (trap 7).
TEXT_TAKEN = "Tiden är tyvärr redan bokad. Välj en annan tid."
TEXT_ALREADY_YOURS = "Du har redan bokat den här tiden."
TEXT_NO_SUCH_TIME = "Tiden går inte att boka. Välj en annan tid."
TEXT_NOT_FOUND = "Bokningen hittades inte."
TEXT_NO_CANCEL = "Den här tiden kan inte avbokas via webben. Ring mottagningen."
TEXT_NO_REBOOK = "Den här tiden kan inte ombokas via webben. Ring mottagningen."
TEXT_TOO_LATE = "Det är för sent att av- eller omboka via webben. Ring mottagningen."
TEXT_UNKNOWN_FACILITY = "Mottagningen finns inte i det här systemet."


@dataclass(frozen=True)
class SimSlot:
    facility: FacilitySpec
    time_type: TimeTypeSpec
    window: OpeningWindow
    start_wall: datetime  # naive, local
    end_wall: datetime
    start_utc: datetime
    end_utc: datetime

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (
            normalize_hsa_id(self.facility.hsa_id),
            self.time_type.id,
            self.window.performer_id or "",
            self.window.resource_id or "",
            self.start_wall.strftime(TS_FORMAT),
        )


@dataclass(frozen=True)
class SimBooking:
    id: str
    slot: SimSlot
    subject: str  # the personal number: the record system's own business, never logged
    reason: str | None = None
    active: bool = True


def _exists(wall: datetime, tz_name: str) -> bool:
    """Tell whether a wall-clock time happens at all (not skipped by a spring change)."""
    instant = local_to_utc(wall.date(), wall.time(), tz_name)
    return to_local(instant, tz_name).replace(tzinfo=None) == wall


# A day's slots follow from the facility's (immutable) opening hours alone, and every search
# asked for them again: with a hundred simulated clinics this generation was a sixth of the
# SOAP simulator's CPU. Computed once per facility and day; bookings are applied afterwards.
@functools.lru_cache(maxsize=4096)
def _day_slots(facility: FacilitySpec, day: date) -> tuple[SimSlot, ...]:
    return tuple(_slots_of_day(facility, day))


def _slots_of_day(facility: FacilitySpec, day: date) -> Iterator[SimSlot]:
    tz = facility.timezone
    for window in facility.windows:
        if window.dates and day not in window.dates:
            continue
        if not window.dates and day.weekday() not in window.weekdays:
            continue
        time_type = facility.time_type(window.time_type_id)
        if time_type is None:
            continue
        step = timedelta(minutes=time_type.duration_minutes)
        wall = datetime.combine(day, window.start)
        stop = datetime.combine(day, window.end)
        while wall + step <= stop:
            if _exists(wall, tz):
                end_wall = wall + step
                start_utc = local_to_utc(day, wall.time(), tz, fold=0)
                end_utc = local_to_utc(end_wall.date(), end_wall.time(), tz, fold=0)
                if end_utc <= start_utc:  # the slot runs into the repeated hour
                    end_utc = local_to_utc(end_wall.date(), end_wall.time(), tz, fold=1)
                yield SimSlot(facility, time_type, window, wall, end_wall, start_utc, end_utc)
            wall += step


class Timebook:
    """Slots and bookings of several facilities; thread-safe."""

    def __init__(
        self,
        facilities: Iterable[FacilitySpec],
        *,
        weeks: int = 4,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._facilities = {normalize_hsa_id(f.hsa_id): f for f in facilities}
        self.weeks = weeks
        self.clock = clock
        self._lock = threading.RLock()
        self._bookings: dict[str, SimBooking] = {}

    # -- catalogue ----------------------------------------------------------------------------

    @property
    def facilities(self) -> list[FacilitySpec]:
        return list(self._facilities.values())

    def facility(self, hsa_id: str | None) -> FacilitySpec | None:
        return self._facilities.get(normalize_hsa_id(hsa_id or ""))

    def add_facility(self, facility: FacilitySpec) -> None:
        with self._lock:
            self._facilities[normalize_hsa_id(facility.hsa_id)] = facility

    # -- slots --------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def horizon(self, facility: FacilitySpec) -> tuple[date, date]:
        today = to_local(self._now(), facility.timezone).date()
        return today, today + timedelta(days=7 * self.weeks - 1)

    def _generate(self, facility: FacilitySpec, day: date) -> Iterator[SimSlot]:
        return iter(_day_slots(facility, day))

    def _taken(self, key: tuple[str, ...]) -> int:
        return sum(1 for b in self._bookings.values() if b.active and b.slot.key == key)

    def free_slots(
        self,
        facility: FacilitySpec,
        first: date,
        last: date,
        *,
        time_type_id: str | None = None,
        performers: Iterable[str] = (),
        care_type_id: str | None = None,
    ) -> list[tuple[SimSlot, int]]:
        """Return future slots with free seats in ``[first, last]`` (local dates) and the seats."""
        lo, hi = self.horizon(facility)
        first, last = max(first, lo), min(last, hi)
        wanted = {p.upper() for p in performers}
        now = self._now()
        out: list[tuple[SimSlot, int]] = []
        with self._lock:
            day = first
            while day <= last:
                for slot in self._generate(facility, day):
                    if slot.start_utc <= now:
                        continue  # a producer must never return past times
                    if time_type_id and slot.time_type.id != time_type_id:
                        continue
                    if care_type_id and slot.time_type.care_type_id != care_type_id:
                        continue
                    if wanted and (slot.window.performer_id or "").upper() not in wanted:
                        continue
                    free = slot.window.capacity - (self._taken(slot.key) if self._bookings else 0)
                    if free > 0:
                        out.append((slot, free))
                day += timedelta(days=1)
        out.sort(key=lambda pair: pair[0].start_utc)
        return out

    def find_slot(
        self,
        facility: FacilitySpec,
        time_type_id: str | None,
        performer_id: str | None,
        resource_id: str | None,
        start_wall: str | None,
    ) -> SimSlot | None:
        """Find the slot a request names by its wall-clock start (and type, performer, resource)."""
        if not start_wall:
            return None
        try:
            wall = datetime.strptime(start_wall, TS_FORMAT)  # noqa: DTZ007 - RIV-TA wall time
        except ValueError:
            return None
        lo, hi = self.horizon(facility)
        if not lo <= wall.date() <= hi:
            return None
        for slot in self._generate(facility, wall.date()):
            if (
                slot.start_wall == wall
                and (not time_type_id or slot.time_type.id == time_type_id)
                and (slot.window.performer_id or "").upper() == (performer_id or "").upper()
                and (slot.window.resource_id or "") == (resource_id or "")
            ):
                return slot
        return None

    # -- bookings -----------------------------------------------------------------------------

    def _check_bookable(self, slot: SimSlot | None, subject: str, *, ignore: str | None = None) -> SimSlot:
        if slot is None or slot.start_utc <= self._now():
            raise Refusal(TEXT_NO_SUCH_TIME)
        mine = [
            b
            for b in self._bookings.values()
            if b.active and b.slot.key == slot.key and b.subject == subject and b.id != ignore
        ]
        if mine:
            raise Refusal(TEXT_ALREADY_YOURS)
        if self._taken(slot.key) >= slot.window.capacity:
            raise Refusal(TEXT_TAKEN)
        return slot

    def book(self, slot: SimSlot | None, subject: str, reason: str | None = None) -> SimBooking:
        """Book a seat; refuse a full, past or unknown slot, or one the subject already holds."""
        with self._lock:
            slot = self._check_bookable(slot, subject)
            booking = SimBooking(uuid.uuid4().hex[:16].upper(), slot, subject, reason)
            self._bookings[booking.id] = booking
            return booking

    def _own_active(self, facility: FacilitySpec, booking_id: str | None, subject: str | None) -> SimBooking:
        booking = self._bookings.get((booking_id or "").strip())
        if (
            booking is None
            or not booking.active
            or booking.subject != subject
            or normalize_hsa_id(booking.slot.facility.hsa_id) != normalize_hsa_id(facility.hsa_id)
        ):
            raise UnknownBooking()
        return booking

    def _check_deadline(self, booking: SimBooking) -> None:
        deadline = booking.slot.start_utc - timedelta(hours=booking.slot.facility.cancel_deadline_hours)
        if self._now() >= deadline:
            raise Refusal(TEXT_TOO_LATE)

    def rebook(
        self, facility: FacilitySpec, booking_id: str | None, subject: str | None, new_slot: SimSlot | None
    ) -> SimBooking:
        """Move a booking atomically: the old one stays unless the new slot can be had."""
        with self._lock:
            try:
                old = self._own_active(facility, booking_id, subject)
            except UnknownBooking:
                raise Refusal(TEXT_NOT_FOUND) from None
            if not old.slot.window.rebooking_allowed:
                raise Refusal(TEXT_NO_REBOOK)
            self._check_deadline(old)
            slot = self._check_bookable(new_slot, old.subject, ignore=old.id)
            moved = replace(old, slot=slot)
            self._bookings[old.id] = moved
            return moved

    def cancel(self, facility: FacilitySpec, booking_id: str | None, subject: str | None) -> SimBooking:
        """Cancel a booking; its seat is bookable again at once."""
        with self._lock:
            try:
                booking = self._own_active(facility, booking_id, subject)
            except UnknownBooking:
                raise Refusal(TEXT_NOT_FOUND) from None
            if not booking.slot.window.cancel_booking_allowed:
                raise Refusal(TEXT_NO_CANCEL)
            self._check_deadline(booking)
            cancelled = replace(booking, active=False)
            self._bookings[booking.id] = cancelled
            return cancelled

    def details(self, facility: FacilitySpec, booking_id: str | None, subject: str | None) -> SimBooking:
        with self._lock:
            return self._own_active(facility, booking_id, subject)

    def schedule(self, facility: FacilitySpec, subject: str) -> list[SimBooking]:
        """Return the subject's active future bookings at the facility, earliest first."""
        now = self._now()
        with self._lock:
            found = [
                b
                for b in self._bookings.values()
                if b.active
                and b.subject == subject
                and b.slot.start_utc > now
                and normalize_hsa_id(b.slot.facility.hsa_id) == normalize_hsa_id(facility.hsa_id)
            ]
        return sorted(found, key=lambda b: b.slot.start_utc)

    def bookings(self) -> list[SimBooking]:
        """Return every booking (for tests and the demo)."""
        with self._lock:
            return list(self._bookings.values())

    def reset(self) -> None:
        with self._lock:
            self._bookings.clear()
