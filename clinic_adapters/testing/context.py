"""What a conformance check works with: the adapter under test and helpers that keep checks short."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from clinic_adapters.contract import Booking, BookingResult, ClinicAdapter, ClinicRef, Slot, Subject
from clinic_adapters.errors import AdapterError
from clinic_adapters.testing.requirements import Requirements
from clinic_adapters.testing.subjects import SubjectFactory
from clinic_adapters.timezones import local_day_bounds_utc, to_local, utc_now

__all__ = ["CheckFailed", "CheckSkipped", "KitContext", "dst_days", "expect"]


class CheckFailed(AssertionError):
    """The adapter broke the contract; the message says how, for the vendor."""


class CheckSkipped(Exception):
    """The check does not apply (capability off, or the timebook has no suitable free time)."""


def expect(condition: object, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds.

    Used instead of ``assert`` so the checks also work under ``python -O`` and outside pytest.
    """
    if not condition:
        raise CheckFailed(message)


def dst_days(tz_name: str, today: date, within_days: int = 400) -> list[date]:
    """Return the next local day the clocks go forward and the next they go back, in order.

    Empty for a zone without daylight saving time.
    """
    found: dict[str, date] = {}
    for offset in range(within_days):
        day = today + timedelta(days=offset)
        start, end = local_day_bounds_utc(day, tz_name)
        length = end - start
        if length < timedelta(hours=24):
            found.setdefault("spring", day)
        elif length > timedelta(hours=24):
            found.setdefault("autumn", day)
        if len(found) == 2:
            break
    return sorted(found.values())


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"


@dataclass
class KitContext:
    """Everything one kit run needs; one instance per pytest test, or one per CLI run.

    :param adapter: the adapter under test, already configured for its endpoint.
    :param clinic: the clinic to test at (its ``timezone`` is overridden by ``timezone``).
    :param time_type_id: a slot type with free times in the window.
    :param subjects: makes a new, distinct test citizen per call.
    :param requirements: which checks apply; from ``adapter.capabilities`` by default.
    :param timezone: the clinic's IANA zone; ``clinic.timezone`` by default.
    :param lead: how far from now the window of free times to use starts; keep it well past
        the timebook's booking notice and cancellation deadline (a time just past a 24-hour
        deadline when booked may be within it when the kit cancels).
    :param horizon: how long that window is.
    :param dst: the local days with a clock change to test; the next ones in ``timezone`` by
        default. A vendor whose test timebook has times only near today passes a window of its
        own (e.g. a test system with a fixed date).
    :param max_seats_to_fill: a time with more free seats than this is not used for the
        "full time" checks.
    :param clock: the current instant (aware UTC).
    """

    adapter: ClinicAdapter
    clinic: ClinicRef
    time_type_id: str
    subjects: Callable[[], Subject] = field(default_factory=SubjectFactory)
    requirements: Requirements | None = None
    timezone: str | None = None
    lead: timedelta = timedelta(hours=48)
    horizon: timedelta = timedelta(days=28)
    dst: Sequence[date] | None = None
    max_seats_to_fill: int = 10
    clock: Callable[[], datetime] = utc_now
    _made: list[tuple[str, Subject]] = field(default_factory=list, repr=False)
    operation: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.timezone is None:
            self.timezone = self.clinic.timezone
        elif self.timezone != self.clinic.timezone:
            self.clinic = dataclasses.replace(self.clinic, timezone=self.timezone)
        if self.requirements is None:
            self.requirements = Requirements(self.adapter.capabilities)
        if self.dst is None:
            self.dst = dst_days(self.tz, self.clock().date())

    # -- small helpers ---------------------------------------------------------------------------

    @property
    def tz(self) -> str:
        """The clinic's zone name."""
        assert self.timezone is not None
        return self.timezone

    @property
    def reqs(self) -> Requirements:
        """The requirements in force."""
        assert self.requirements is not None
        return self.requirements

    def now(self) -> datetime:
        """Return the current instant."""
        return self.clock()

    def window(self) -> tuple[datetime, datetime]:
        """Return the ``[start, end)`` of free times the checks use."""
        start = self.now() + self.lead
        return start, start + self.horizon

    def describe(self, slot: Slot) -> str:
        """Name a slot for a report: its id and local start (no personal data involved)."""
        try:
            local = to_local(slot.start, self.tz).strftime("%Y-%m-%d %H:%M %Z")
        except (ValueError, TypeError):
            local = repr(slot.start)
        return f"slot {slot.id!r} at {local}"

    def call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``adapter.<operation>``; anything not an ``AdapterError`` fails the check."""
        self.operation = operation
        try:
            return getattr(self.adapter, operation)(*args, **kwargs)
        except (AdapterError, CheckFailed, CheckSkipped):
            raise
        except Exception as exc:
            raise CheckFailed(
                f"{operation} raised {type(exc).__name__}: {exc} — an adapter must raise only "
                "clinic_adapters.errors types (map transport and library errors in one place)"
            ) from exc

    # -- availability ----------------------------------------------------------------------------

    def free_slots(self, start: datetime | None = None, end: datetime | None = None,
                   performer_id: str | None = None) -> list[Slot]:
        """Return ``available_slots`` for the kit's time type (the window by default)."""
        if start is None or end is None:
            start, end = self.window()
        slots = self.call("available_slots", self.clinic, self.time_type_id, start, end,
                          performer_id=performer_id)
        expect(isinstance(slots, list), f"available_slots returned {type(slots).__name__}, not a list")
        return slots

    def pick(self, count: int = 1, *, cancellable: bool | None = None, rebookable: bool = False,
             why: str = "") -> list[Slot]:
        """Return ``count`` free slots with distinct start times, or skip the check.

        Slots that allow cancellation are preferred (the kit cancels what it booked), required
        when ``cancellable`` is true.
        """
        slots = self.free_slots()
        for slot in slots:
            # The other checks compare and send these instants back; fail clearly here rather
            # than with a confusing error later.
            expect(isinstance(slot, Slot) and all(
                isinstance(v, datetime) and v.utcoffset() == timedelta(0) for v in (slot.start, slot.end)),
                f"free time {getattr(slot, 'id', slot)!r} does not carry aware UTC start and end "
                "(see availability.free_times_are_well_formed)")
        slots = [s for s in slots if s.free >= 1]
        if rebookable:
            slots = [s for s in slots if s.rebooking_allowed]
        if cancellable is None:
            cancellable = False
            if self.reqs.cancel and any(s.cancel_booking_allowed for s in slots):
                slots = [s for s in slots if s.cancel_booking_allowed]
        if cancellable:
            slots = [s for s in slots if s.cancel_booking_allowed]
        chosen: list[Slot] = []
        for slot in slots:
            if all(slot.start != other.start for other in chosen):
                chosen.append(slot)
            if len(chosen) == count:
                return chosen
        flags = [name for name, on in (("cancel_booking_allowed", cancellable),
                                        ("rebooking_allowed", rebookable)) if on]
        raise CheckSkipped(
            f"needs {count} free time(s) of type {self.time_type_id!r} with distinct starts"
            + (f" and {' and '.join(flags)}" if flags else "")
            + f" between now+{_hours(self.lead)} and now+{_hours(self.lead + self.horizon)};"
            + f" found {len(chosen)}"
            + (f" ({why})" if why else "")
        )

    def seats(self, slot: Slot) -> int:
        """Return the free seats the timebook now reports for ``slot``'s time (0 if not listed)."""
        for other in self.free_slots(slot.start, slot.end):
            if self.same_time(slot, other):
                return other.free
        return 0

    @staticmethod
    def same_time(a: Slot, b: Slot) -> bool:
        """Tell whether two slots are the same bookable time (same id, or same instant and performer)."""
        if a.id == b.id:
            return True
        return (a.start == b.start and a.end == b.end and a.performer_id == b.performer_id
                and a.time_type_id == b.time_type_id)

    # -- booking ---------------------------------------------------------------------------------

    def book(self, slot: Slot, subject: Subject | None = None) -> Booking:
        """Book ``slot`` for ``subject`` (a new one by default); cancelled again at clean-up."""
        subject = subject or self.subjects()
        result = self.call("make_booking", self.clinic, slot.id, subject)
        expect(isinstance(result, BookingResult),
               f"make_booking returned {type(result).__name__}, not a BookingResult")
        booking = result.booking
        expect(isinstance(booking, Booking) and booking.booking_id,
               "make_booking returned no booking id")
        self.track(booking.booking_id, subject)
        return booking

    def track(self, booking_id: str, subject: Subject) -> None:
        """Remember a booking so :meth:`cleanup` cancels it."""
        self._made.append((booking_id, subject))

    def fill(self, slot: Slot) -> list[Booking]:
        """Book every free seat of ``slot`` (each for another citizen), or skip when too many."""
        free = self.seats(slot)
        if free > self.max_seats_to_fill:
            raise CheckSkipped(f"{self.describe(slot)} has {free} free seats, more than the kit "
                               f"fills ({self.max_seats_to_fill})")
        return [self.book(slot) for _ in range(free)]

    def schedule(self, subject: Subject) -> dict[str, Booking]:
        """Return the subject's schedule by booking id."""
        bookings = self.call("subject_schedule", self.clinic, subject)
        expect(isinstance(bookings, list), "subject_schedule did not return a list")
        return {b.booking_id: b for b in bookings}

    def cleanup(self) -> None:
        """Cancel what the check booked, newest first, ignoring every error (best effort)."""
        made, self._made = self._made, []
        if not self.reqs.cancel:
            return
        for booking_id, subject in reversed(made):
            try:
                self.adapter.cancel_booking(self.clinic, booking_id, subject)
            except Exception:  # noqa: S112 - already cancelled, or moved by the check: fine
                continue
