"""A calendar's generated times between two instants, read from its rules, closures and closed days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from standalone_calendar.generation import Absence, Candidate, Window, generate
from standalone_calendar.models import Calendar, ClosedDate, Closure, OpeningRule, SlotType


def windows_of(db: Session, slot_type: SlotType, practitioner_id: int | None = None) -> list[Window]:
    """Return the opening windows of a slot type (of one practitioner, when given)."""
    rule = OpeningRule
    rules = db.execute(  # plain rows: cheaper than loading rule objects
        select(
            rule.weekday,
            rule.start_time,
            rule.end_time,
            rule.capacity,
            rule.practitioner_id,
            rule.room,
            rule.valid_from,
            rule.valid_until,
        ).where(rule.slot_type_id == slot_type.id)
    ).all()
    return [
        Window(
            weekday=r.weekday,
            start=r.start_time,
            end=r.end_time,
            duration_minutes=slot_type.duration_minutes,
            capacity=r.capacity or slot_type.capacity,
            practitioner_id=r.practitioner_id,
            room=r.room,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
        )
        for r in rules
        if practitioner_id is None or r.practitioner_id == practitioner_id
    ]


def closures_around(
    db: Session, calendar: Calendar, start: datetime, end: datetime
) -> tuple[list[date], list[Absence]]:
    """Return the closed days and absences that may cover a time starting in ``[start, end)``."""
    margin = timedelta(days=1)  # a closure that starts or ends just outside may still cover a time
    closures = db.scalars(
        select(Closure).where(
            Closure.calendar_id == calendar.id,
            Closure.ends_at > start - margin,
            Closure.starts_at < end + margin,
        )
    ).all()
    # Closed days are local dates; two UTC days each side cover every time zone's local days.
    day_margin = timedelta(days=2)
    closed_days = db.scalars(
        select(ClosedDate.day).where(
            ClosedDate.calendar_id == calendar.id,
            ClosedDate.day >= (start - day_margin).date(),
            ClosedDate.day <= (end + day_margin).date(),
        )
    ).all()
    return list(closed_days), [Absence(c.starts_at, c.ends_at, c.practitioner_id) for c in closures]


def times_between(
    db: Session,
    calendar: Calendar,
    slot_type: SlotType,
    start: datetime,
    end: datetime,
    practitioner_id: int | None = None,
) -> list[Candidate]:
    """Return the times of a slot type starting in ``[start, end)``, before seats are counted."""
    windows = windows_of(db, slot_type, practitioner_id)
    closed_days, absences = closures_around(db, calendar, start, end)
    return generate(windows, calendar.timezone, start, end, closed_days=closed_days, absences=absences)
