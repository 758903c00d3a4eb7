"""A calendar's settings as plain values, kept per process and checked against a stamp per use.

Booking a time needs the calendar, its slot types, opening rules, closed days and absences: five
queries through the ORM, which in a booking rush cost more than the booking itself. They change
rarely (an administrator's edit), so each process keeps a snapshot per clinic and, on every use,
reads only the calendar's ``settings_stamp``: a random token that every change of a setting through
the ORM replaces (:mod:`standalone_calendar.stamping`, registered on all sessions). A stamp that
differs from the snapshot's means reload, so an edit is seen by the next booking in every process,
and snapshots of different databases (tests) can never be mistaken for each other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from standalone_calendar.generation import Absence, Candidate, Window, candidate_at, generate
from standalone_calendar.models import (
    Calendar,
    ClosedDate,
    Closure,
    OpeningRule,
    Practitioner,
    SlotType,
)
from standalone_calendar.stamping import restamp_on_change
from standalone_calendar.timetable import RULE_COLUMNS, window_of


@dataclass(frozen=True)
class SlotTypeSettings:
    id: int
    code: str
    name: str
    duration_minutes: int
    capacity: int
    cancel_deadline_minutes: int
    cancel_allowed: bool
    rebook_allowed: bool
    series_min_days: int | None
    series_max_days: int | None
    windows: tuple[Window, ...]

    def windows_of(self, practitioner_id: int | None = None) -> list[Window]:
        return [w for w in self.windows if practitioner_id is None or w.practitioner_id == practitioner_id]


#: Times a snapshot remembers (a few hundred bytes each).
OPEN_TIME_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class CalendarSettings:
    """Everything that decides whether a time exists and may be booked, except its seats."""

    id: int
    clinic_hsa_id: str
    timezone: str
    horizon_days: int
    min_notice_minutes: int
    stamp: str
    slot_types: dict[int, SlotTypeSettings]
    closed_days: frozenset[date]
    absences: tuple[Absence, ...]
    practitioner_names: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (code, name)
    #: Times worked out already: a rush asks about each time ten times or more, and working one
    #: out (time zones, cadence, closures) cost a twentieth of an attempt. Bounded, and dropped
    #: with the snapshot at the next edit.
    _open_time_cache: dict[tuple[int, datetime, int | None], Candidate | None] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def slot_type(self, slot_type_id: int) -> SlotTypeSettings | None:
        return self.slot_types.get(slot_type_id)

    def slot_type_coded(self, code: str) -> SlotTypeSettings | None:
        return next((t for t in self.slot_types.values() if t.code == code), None)

    def bookable_from(self, now: datetime) -> datetime:
        return now + timedelta(minutes=self.min_notice_minutes)

    def bookable_until(self, now: datetime) -> datetime:
        return now + timedelta(days=self.horizon_days)

    def open_times(
        self, slot_type: SlotTypeSettings, start: datetime, end: datetime, practitioner_id: int | None = None
    ) -> list[Candidate]:
        """The open times of ``slot_type`` starting in ``[start, end)``, before seats are counted."""
        return generate(
            slot_type.windows_of(practitioner_id),
            self.timezone,
            start,
            end,
            closed_days=self.closed_days,
            absences=self.absences,
        )

    def open_time(
        self, slot_type: SlotTypeSettings, start: datetime, practitioner_id: int | None
    ) -> Candidate | None:
        """The generated time of ``slot_type`` at ``start`` (of that practitioner), if it is open."""
        key = (slot_type.id, start, practitioner_id)
        cache = self._open_time_cache
        if key in cache:
            return cache[key]
        found = candidate_at(
            slot_type.windows_of(practitioner_id),
            self.timezone,
            start,
            practitioner_id,
            closed_days=self.closed_days,
            absences=self.absences,
        )
        if len(cache) >= OPEN_TIME_CACHE_SIZE:
            cache.clear()  # threads may race here: each result is the same, whoever stores it
        cache[key] = found
        return found


# -- reading ---------------------------------------------------------------------------------------


def _load(db: Session, calendar_id: int, stamp: str, now: datetime) -> CalendarSettings:
    calendar = db.execute(
        select(
            Calendar.clinic_hsa_id, Calendar.timezone, Calendar.horizon_days, Calendar.min_notice_minutes
        ).where(Calendar.id == calendar_id)
    ).one()
    rules: dict[int, list[Any]] = {}
    for r in db.execute(
        select(OpeningRule.slot_type_id, *RULE_COLUMNS).where(OpeningRule.calendar_id == calendar_id)
    ):
        rules.setdefault(r.slot_type_id, []).append(r)
    slot_types = {}
    for t in db.scalars(select(SlotType).where(SlotType.calendar_id == calendar_id)):
        windows = tuple(window_of(r, t) for r in rules.get(t.id, ()))
        slot_types[t.id] = SlotTypeSettings(
            id=t.id,
            code=t.code,
            name=t.name,
            duration_minutes=t.duration_minutes,
            capacity=t.capacity,
            cancel_deadline_minutes=t.cancel_deadline_minutes,
            cancel_allowed=t.cancel_allowed,
            rebook_allowed=t.rebook_allowed,
            series_min_days=t.series_min_days,
            series_max_days=t.series_max_days,
            windows=windows,
        )
    # Past closures and closed days can no longer refuse a booking; the rest is small.
    absences = tuple(
        Absence(c.starts_at, c.ends_at, c.practitioner_id)
        for c in db.execute(
            select(Closure.starts_at, Closure.ends_at, Closure.practitioner_id).where(
                Closure.calendar_id == calendar_id, Closure.ends_at > now - timedelta(days=1)
            )
        )
    )
    closed_days = frozenset(
        db.scalars(
            select(ClosedDate.day).where(
                ClosedDate.calendar_id == calendar_id, ClosedDate.day >= (now - timedelta(days=2)).date()
            )
        )
    )
    practitioners = {
        p.id: (p.code, f"{p.given_name} {p.family_name}")
        for p in db.execute(
            select(
                Practitioner.id, Practitioner.code, Practitioner.given_name, Practitioner.family_name
            ).where(Practitioner.calendar_id == calendar_id)
        )
    }
    return CalendarSettings(
        id=calendar_id,
        clinic_hsa_id=calendar.clinic_hsa_id,
        timezone=calendar.timezone,
        horizon_days=calendar.horizon_days,
        min_notice_minutes=calendar.min_notice_minutes,
        stamp=stamp,
        slot_types=slot_types,
        closed_days=closed_days,
        absences=absences,
        practitioner_names=practitioners,
    )


class SettingsCache:
    """Snapshots by clinic HSA-id; one small query per use proves a snapshot current."""

    def __init__(self) -> None:
        self._snapshots: dict[str, CalendarSettings] = {}
        self._lock = threading.Lock()

    def get(self, db: Session, hsa_id: str, now: datetime) -> CalendarSettings | None:
        """The settings of the clinic's calendar, or ``None`` when it has none."""
        found = _noted(db, hsa_id) or db.execute(_STAMP_QUERY, {"hsa_id": hsa_id}).first()
        if found is None:
            return None
        calendar_id, stamp = found
        snapshot = self._snapshots.get(hsa_id)
        if snapshot is not None and snapshot.stamp == stamp and snapshot.id == calendar_id:
            return snapshot
        snapshot = _load(db, calendar_id, stamp, now)
        with self._lock:
            self._snapshots[hsa_id] = snapshot
        return snapshot

    def peek(self, hsa_id: str) -> CalendarSettings | None:
        """The snapshot this process holds, unproven: its ``stamp`` says which settings it is."""
        return self._snapshots.get(hsa_id)

    def clear(self) -> None:
        with self._lock:
            self._snapshots.clear()


_calendar = Calendar.__table__.c  # a Core statement: it skips the ORM's execution path
_STAMP_QUERY = select(_calendar.id, _calendar.settings_stamp).where(
    _calendar.clinic_hsa_id == bindparam("hsa_id")
)

_NOTED = "standalone_calendar.stamps"

#: Noted while ``db`` had not begun: the stamp proves the snapshot for the transaction it begins
#: next (a request's session runs one), which claims the note the first time it asks.
_NEXT_TRANSACTION = object()


def note_stamp(db: Session, hsa_id: str, calendar_id: int, stamp: str) -> None:
    """Tell the cache the stamp a caller read in ``db``'s current transaction (with a query of
    its own, say), or just before ``db`` begins one (under READ COMMITTED every statement reads
    a snapshot of its own either way), so the next booking there needs no query of its own to
    prove its snapshot. ``hsa_id`` is normalized (upper-case)."""
    db.info.setdefault(_NOTED, {})[hsa_id] = (db.get_transaction() or _NEXT_TRANSACTION, calendar_id, stamp)


def _noted(db: Session, hsa_id: str) -> tuple[int, str] | None:
    notes = db.info.get(_NOTED, {})
    noted = notes.get(hsa_id)
    current = db.get_transaction()
    if noted is None or current is None:
        return None
    if noted[0] is _NEXT_TRANSACTION:
        noted = notes[hsa_id] = (current, *noted[1:])
    if noted[0] is not current:
        return None  # read in another transaction: it proves nothing now
    return noted[1], noted[2]


#: One per process: every session of the process reads and stamps the same calendars.
settings_cache = SettingsCache()


# -- stamping --------------------------------------------------------------------------------------

_SETTINGS = (SlotType, OpeningRule, Practitioner, Closure, ClosedDate)
restamp_on_change(Calendar, _SETTINGS, owner_key="calendar_id")


__all__ = ["CalendarSettings", "SettingsCache", "SlotTypeSettings", "note_stamp", "settings_cache"]
