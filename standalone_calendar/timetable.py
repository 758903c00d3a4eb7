"""A calendar's generated times between two instants, read from its rules, closures and closed days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from standalone_calendar.generation import Absence, Candidate, Window, generate
from standalone_calendar.models import Calendar, ClosedDate, Closure, OpeningRule, SlotType

#: An opening rule's columns, as :func:`window_of` reads them.
RULE_COLUMNS = (
    OpeningRule.weekday,
    OpeningRule.start_time,
    OpeningRule.end_time,
    OpeningRule.capacity,
    OpeningRule.practitioner_id,
    OpeningRule.room,
    OpeningRule.valid_from,
    OpeningRule.valid_until,
)


def window_of(rule: Any, slot_type: Any) -> Window:
    """The window of a rule row (:data:`RULE_COLUMNS`) with its slot type's cadence and seats."""
    return Window(
        weekday=rule.weekday,
        start=rule.start_time,
        end=rule.end_time,
        duration_minutes=slot_type.duration_minutes,
        capacity=rule.capacity or slot_type.capacity,
        practitioner_id=rule.practitioner_id,
        room=rule.room,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
    )


def windows_of(db: Session, slot_type: SlotType, practitioner_id: int | None = None) -> list[Window]:
    """Return the opening windows of a slot type (of one practitioner, when given)."""
    # Plain rows: cheaper than loading rule objects.
    rules = db.execute(select(*RULE_COLUMNS).where(OpeningRule.slot_type_id == slot_type.id)).all()
    return [
        window_of(r, slot_type)
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
