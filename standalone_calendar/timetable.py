"""A calendar's generated times between two instants, read from its rules, closures and closed days."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from standalone_calendar.generation import Absence, Candidate, Window, generate
from standalone_calendar.models import Calendar, ClosedDate, Closure, OpeningRule, SlotType


def times_between(
    db: Session,
    calendar: Calendar,
    slot_type: SlotType,
    start: datetime,
    end: datetime,
    practitioner_id: int | None = None,
) -> list[Candidate]:
    """Return the times of a slot type starting in ``[start, end)``, before seats are counted."""
    rules = db.scalars(select(OpeningRule).where(OpeningRule.slot_type_id == slot_type.id)).all()
    windows = [
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
    margin = timedelta(days=1)  # a closure that starts or ends just outside may still cover a time
    closures = db.scalars(
        select(Closure).where(
            Closure.calendar_id == calendar.id,
            Closure.ends_at > start - margin,
            Closure.starts_at < end + margin,
        )
    ).all()
    closed_days = db.scalars(select(ClosedDate.day).where(ClosedDate.calendar_id == calendar.id)).all()
    return generate(
        windows,
        calendar.timezone,
        start,
        end,
        closed_days=closed_days,
        absences=[Absence(c.starts_at, c.ends_at, c.practitioner_id) for c in closures],
    )
