"""Turn weekly opening rules into concrete times, in the clinic's zone, right on DST days.

A window is read as wall-clock times on its local day and then walked in real (UTC) time, so a
window of 01:00–04:00 holds two hours of times on the spring change day and four on the autumn
one: no time is generated twice and none at a wall-clock time that does not exist.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from clinic_adapters.timezones import local_to_utc, to_local


@dataclass(frozen=True, slots=True)
class Window:
    """One opening rule as plain values."""

    weekday: int
    start: time
    end: time
    duration_minutes: int
    capacity: int
    practitioner_id: int | None = None
    room: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    def applies_on(self, day: date) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.valid_from is None or day >= self.valid_from)
            and (self.valid_until is None or day <= self.valid_until)
        )


@dataclass(frozen=True, slots=True)
class Absence:
    """An interval in UTC when the clinic (practitioner_id None) or one practitioner is away."""

    starts_at: datetime
    ends_at: datetime
    practitioner_id: int | None = None

    def blocks(self, start: datetime, end: datetime, practitioner_id: int | None) -> bool:
        if self.practitioner_id is not None and self.practitioner_id != practitioner_id:
            return False
        return start < self.ends_at and self.starts_at < end


@dataclass(frozen=True, slots=True)
class Candidate:
    """A generated time before seats are counted."""

    start: datetime
    end: datetime
    capacity: int
    practitioner_id: int | None
    room: str | None

    @property
    def resource_key(self) -> str:
        return "" if self.practitioner_id is None else str(self.practitioner_id)


def _local_days(start: datetime, end: datetime, tz_name: str) -> Iterator[date]:
    # One day of margin each side: a window on a neighbouring local day may reach into the range.
    day = to_local(start, tz_name).date() - timedelta(days=1)
    last = to_local(end, tz_name).date() + timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)


def _window_times(window: Window, day: date, tz_name: str) -> Iterator[tuple[datetime, datetime]]:
    opens = local_to_utc(day, window.start, tz_name)
    closes = local_to_utc(day, window.end, tz_name)
    step = timedelta(minutes=window.duration_minutes)
    at = opens
    while at + step <= closes:
        yield at, at + step
        at += step


def generate(
    windows: Sequence[Window],
    tz_name: str,
    start: datetime,
    end: datetime,
    *,
    closed_days: Iterable[date] = (),
    absences: Sequence[Absence] = (),
) -> list[Candidate]:
    """Return the times starting in ``[start, end)``, sorted, one per (instant, practitioner)."""
    closed = set(closed_days)
    found: dict[tuple[datetime, int | None], Candidate] = {}
    for day in _local_days(start, end, tz_name):
        if day in closed:
            continue
        for window in windows:
            if not window.applies_on(day):
                continue
            for slot_start, slot_end in _window_times(window, day, tz_name):
                if not (start <= slot_start < end):
                    continue
                if any(a.blocks(slot_start, slot_end, window.practitioner_id) for a in absences):
                    continue
                key = (slot_start, window.practitioner_id)
                found.setdefault(
                    key,
                    Candidate(slot_start, slot_end, window.capacity, window.practitioner_id, window.room),
                )
    return sorted(found.values(), key=lambda c: (c.start, c.resource_key))


def candidate_at(
    windows: Sequence[Window],
    tz_name: str,
    start: datetime,
    practitioner_id: int | None,
    *,
    closed_days: Collection[date] = (),
    absences: Sequence[Absence] = (),
) -> Candidate | None:
    """The time :func:`generate` would make at ``start`` for ``practitioner_id``, or ``None``.

    The same walk, asked about one instant: the local days around it, and for each window only
    whether ``start`` lies on its cadence (booking checks one time; it need not generate a day).
    """
    local_day = to_local(start, tz_name).date()
    for day in (local_day - timedelta(days=1), local_day, local_day + timedelta(days=1)):
        if day in closed_days:
            continue
        for window in windows:
            if window.practitioner_id != practitioner_id or not window.applies_on(day):
                continue
            opens = local_to_utc(day, window.start, tz_name)
            step = timedelta(minutes=window.duration_minutes)
            end = start + step
            if start < opens or end > local_to_utc(day, window.end, tz_name) or (start - opens) % step:
                continue
            if any(a.blocks(start, end, practitioner_id) for a in absences):
                continue
            return Candidate(start, end, window.capacity, window.practitioner_id, window.room)
    return None
