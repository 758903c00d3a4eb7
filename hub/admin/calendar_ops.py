"""The built-in calendar's editor: opening windows, cadence, seats, absences, closed days, limits,
and a preview of the times a week would offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters.timezones import local_day_bounds_utc, local_to_utc, to_local
from hub.admin.access import changed
from hub.admin.readiness import calendar_of
from hub.errors import NotFound, ValidationFailed
from hub.models import Clinic
from identity.roles import Actor
from standalone_calendar.generation import Candidate
from standalone_calendar.models import (
    Calendar,
    ClosedDate,
    Closure,
    OpeningRule,
    Practitioner,
    SlotType,
)
from standalone_calendar.timetable import times_between


def ensure_calendar(db: Session, clinic: Clinic) -> Calendar:
    """Return the clinic's built-in calendar, creating an empty one on first use."""
    calendar = calendar_of(db, clinic)
    if calendar is None:
        calendar = Calendar(clinic_hsa_id=clinic.hsa_id, timezone=clinic.timezone)
        db.add(calendar)
        db.flush()
    return calendar


def _own(db: Session, model: type[Any], calendar: Calendar, row_id: int) -> Any:
    row = db.get(model, row_id)
    if row is None or row.calendar_id != calendar.id:
        raise NotFound()
    return row


def set_limits(
    db: Session, actor: Actor, clinic: Clinic, *, horizon_days: int, min_notice_minutes: int
) -> None:
    calendar = ensure_calendar(db, clinic)
    before = {"horizon_days": calendar.horizon_days, "min_notice_minutes": calendar.min_notice_minutes}
    calendar.horizon_days, calendar.min_notice_minutes = horizon_days, min_notice_minutes
    db.flush()
    after = {"horizon_days": horizon_days, "min_notice_minutes": min_notice_minutes}
    changed(actor, "calendar.limits", clinic, before=before, after=after)


def _slot_type_values(row: SlotType) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "duration_minutes": row.duration_minutes,
        "capacity": row.capacity,
        "cancel_deadline_minutes": row.cancel_deadline_minutes,
    }


def save_slot_type(db: Session, actor: Actor, clinic: Clinic, values: dict[str, Any]) -> SlotType:
    """Add a calendar slot type or change its cadence, seats and cancellation deadline (by code)."""
    calendar = ensure_calendar(db, clinic)
    row = db.scalar(
        select(SlotType).where(SlotType.calendar_id == calendar.id, SlotType.code == values["code"])
    )
    before = _slot_type_values(row) if row else None
    if row is None:
        row = SlotType(calendar_id=calendar.id, code=values["code"])
        db.add(row)
    row.name = values["name"]
    row.duration_minutes = values["duration_minutes"]
    row.capacity = values["capacity"]
    row.cancel_deadline_minutes = values["cancel_deadline_minutes"]
    db.flush()
    changed(actor, "calendar.slot_type", clinic, before=before, after=_slot_type_values(row))
    return row


def add_practitioner(db: Session, actor: Actor, clinic: Clinic, values: dict[str, Any]) -> Practitioner:
    calendar = ensure_calendar(db, clinic)
    if db.scalar(
        select(Practitioner.id).where(
            Practitioner.calendar_id == calendar.id, Practitioner.code == values["code"]
        )
    ):
        raise ValidationFailed(fields={"code": [_l("That code is taken.")]})
    row = Practitioner(calendar_id=calendar.id, **values)
    db.add(row)
    db.flush()
    # Staff names are not citizens' data, but the log keeps only the code.
    changed(actor, "calendar.practitioner_added", clinic, after={"code": row.code})
    return row


def _rule_values(row: OpeningRule) -> dict[str, Any]:
    return {
        "weekday": row.weekday,
        "start": row.start_time.isoformat("minutes"),
        "end": row.end_time.isoformat("minutes"),
        "slot_type_id": row.slot_type_id,
        "practitioner_id": row.practitioner_id,
        "capacity": row.capacity,
    }


def add_rule(db: Session, actor: Actor, clinic: Clinic, values: dict[str, Any]) -> OpeningRule:
    """Add a weekly window (e.g. Tuesdays 08:00–12:00) of one slot type."""
    calendar = ensure_calendar(db, clinic)
    _own(db, SlotType, calendar, values["slot_type_id"])
    if values.get("practitioner_id"):
        _own(db, Practitioner, calendar, values["practitioner_id"])
    if values["start_time"] >= values["end_time"]:
        raise ValidationFailed(fields={"end_time": [_l("The window must end after it starts.")]})
    row = OpeningRule(calendar_id=calendar.id, **values)
    db.add(row)
    db.flush()
    changed(actor, "calendar.rule_added", clinic, after=_rule_values(row))
    return row


def delete_rule(db: Session, actor: Actor, clinic: Clinic, rule_id: int) -> None:
    calendar = ensure_calendar(db, clinic)
    row = _own(db, OpeningRule, calendar, rule_id)
    before = _rule_values(row)
    db.delete(row)
    db.flush()
    changed(actor, "calendar.rule_deleted", clinic, before=before)


def add_closure(db: Session, actor: Actor, clinic: Clinic, values: dict[str, Any]) -> Closure:
    """Add an absence between two local times, of the clinic or of one practitioner."""
    calendar = ensure_calendar(db, clinic)
    if values.get("practitioner_id"):
        _own(db, Practitioner, calendar, values["practitioner_id"])
    starts = local_to_utc(values["start_day"], values["start_time"], clinic.timezone)
    ends = local_to_utc(values["end_day"], values["end_time"], clinic.timezone)
    if starts >= ends:
        raise ValidationFailed(fields={"end_day": [_l("The absence must end after it starts.")]})
    row = Closure(
        calendar_id=calendar.id,
        practitioner_id=values.get("practitioner_id") or None,
        starts_at=starts,
        ends_at=ends,
        reason=values.get("reason") or None,
    )
    db.add(row)
    db.flush()
    after = {
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
        "practitioner_id": row.practitioner_id,
    }
    changed(actor, "calendar.absence_added", clinic, after=after)
    return row


def delete_closure(db: Session, actor: Actor, clinic: Clinic, closure_id: int) -> None:
    calendar = ensure_calendar(db, clinic)
    row = _own(db, Closure, calendar, closure_id)
    before = {"starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat()}
    db.delete(row)
    db.flush()
    changed(actor, "calendar.absence_deleted", clinic, before=before)


def add_closed_date(db: Session, actor: Actor, clinic: Clinic, day: date, reason: str | None) -> ClosedDate:
    calendar = ensure_calendar(db, clinic)
    if db.scalar(select(ClosedDate.id).where(ClosedDate.calendar_id == calendar.id, ClosedDate.day == day)):
        raise ValidationFailed(fields={"day": [_l("That day is already closed.")]})
    row = ClosedDate(calendar_id=calendar.id, day=day, reason=reason or None)
    db.add(row)
    db.flush()
    changed(actor, "calendar.closed_date_added", clinic, after={"day": day.isoformat()})
    return row


def delete_closed_date(db: Session, actor: Actor, clinic: Clinic, closed_id: int) -> None:
    calendar = ensure_calendar(db, clinic)
    row = _own(db, ClosedDate, calendar, closed_id)
    before = {"day": row.day.isoformat()}
    db.delete(row)
    db.flush()
    changed(actor, "calendar.closed_date_deleted", clinic, before=before)


@dataclass(frozen=True)
class PreviewDay:
    day: date
    times: list[tuple[SlotType, Candidate]]


def preview_week(db: Session, clinic: Clinic, any_day: date) -> list[PreviewDay]:
    """Return the times the calendar generates in the week (Monday–Sunday) holding ``any_day``.

    Booking horizon and notice are left out on purpose: the preview shows what the rules make,
    also for weeks beyond what citizens may book yet.
    """
    calendar = calendar_of(db, clinic)
    monday = any_day - timedelta(days=any_day.weekday())
    days = [PreviewDay(monday + timedelta(days=n), []) for n in range(7)]
    if calendar is None:
        return days
    start, _ = local_day_bounds_utc(monday, calendar.timezone)
    _, end = local_day_bounds_utc(monday + timedelta(days=6), calendar.timezone)
    by_day = {d.day: d for d in days}
    slot_types = db.scalars(select(SlotType).where(SlotType.calendar_id == calendar.id)).all()
    for slot_type in slot_types:
        for candidate in times_between(db, calendar, slot_type, start, end):
            local_day = _local_day(candidate.start, calendar.timezone)
            if local_day in by_day:
                by_day[local_day].times.append((slot_type, candidate))
    for day in days:
        day.times.sort(key=lambda pair: (pair[1].start, pair[0].code))
    return days


def _local_day(instant: datetime, tz_name: str) -> date:
    return to_local(instant, tz_name).date()
