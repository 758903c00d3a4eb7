"""Admin pages for the built-in calendar: limits, slot types, practitioners, weekly windows,
absences, closed days, and a week's preview."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from clinic_adapters.timezones import to_local, utc_now
from hub import db
from hub.admin import calendar_ops as ops
from hub.admin.access import clinic_admin
from hub.admin.blueprint import blueprint as bp
from hub.admin.readiness import calendar_of
from hub.admin.schemas import (
    CalendarSlotTypeForm,
    ClosedDateForm,
    ClosureForm,
    LimitsForm,
    PractitionerForm,
    RuleForm,
    WeekQuery,
    form_data,
)
from hub.admin.views import render_or_invalid
from hub.models import Clinic
from hub.schemas import parse
from identity.roles import Actor
from standalone_calendar.models import ClosedDate, Closure, OpeningRule, Practitioner, SlotType


def _page(found: Clinic, **extra: Any) -> str:
    session = db.session()
    calendar = calendar_of(session, found)
    week = parse(WeekQuery, request.args)["week"] or to_local(utc_now(), found.timezone).date()

    def rows(model: type[Any], *order: Any) -> list[Any]:
        if calendar is None:
            return []
        return list(session.scalars(select(model).where(model.calendar_id == calendar.id).order_by(*order)))

    return render_template(
        "admin/calendar.html",
        clinic=found,
        calendar=calendar,
        slot_types=rows(SlotType, SlotType.code),
        practitioners=rows(Practitioner, Practitioner.code),
        rules=rows(OpeningRule, OpeningRule.weekday, OpeningRule.start_time),
        closures=rows(Closure, Closure.starts_at),
        closed_dates=rows(ClosedDate, ClosedDate.day),
        week=week,
        preview=ops.preview_week(session, found, week),
        form=request.form,
        **extra,
    )


def _handle(hsa_id: str, act: Callable[[Actor, Clinic], None]) -> Any:
    actor, found = clinic_admin(hsa_id)

    def run() -> Response:
        act(actor, found)
        flash(_l("Saved."))
        return redirect(url_for("admin.calendar", hsa_id=found.hsa_id), code=303)

    return render_or_invalid(lambda **extra: _page(found, **extra), run)


@bp.get("/clinics/<hsa_id>/calendar")
def calendar(hsa_id: str) -> str:
    _actor, found = clinic_admin(hsa_id)
    return _page(found)


@bp.post("/clinics/<hsa_id>/calendar/limits")
def calendar_limits(hsa_id: str) -> Any:
    def act(actor: Actor, found: Clinic) -> None:
        ops.set_limits(db.session(), actor, found, **parse(LimitsForm, form_data(request)))

    return _handle(hsa_id, act)


@bp.post("/clinics/<hsa_id>/calendar/slot-types")
def calendar_slot_type(hsa_id: str) -> Any:
    def act(actor: Actor, found: Clinic) -> None:
        ops.save_slot_type(db.session(), actor, found, parse(CalendarSlotTypeForm, form_data(request)))

    return _handle(hsa_id, act)


@bp.post("/clinics/<hsa_id>/calendar/practitioners")
def calendar_practitioner(hsa_id: str) -> Any:
    def act(actor: Actor, found: Clinic) -> None:
        ops.add_practitioner(db.session(), actor, found, parse(PractitionerForm, form_data(request)))

    return _handle(hsa_id, act)


@bp.post("/clinics/<hsa_id>/calendar/rules")
def calendar_rule(hsa_id: str) -> Any:
    def act(actor: Actor, found: Clinic) -> None:
        ops.add_rule(db.session(), actor, found, parse(RuleForm, form_data(request)))

    return _handle(hsa_id, act)


@bp.post("/clinics/<hsa_id>/calendar/rules/<int:rule_id>/delete")
def calendar_rule_delete(hsa_id: str, rule_id: int) -> Any:
    return _handle(hsa_id, lambda actor, found: ops.delete_rule(db.session(), actor, found, rule_id))


@bp.post("/clinics/<hsa_id>/calendar/absences")
def calendar_absence(hsa_id: str) -> Any:
    def act(actor: Actor, found: Clinic) -> None:
        values = parse(ClosureForm, form_data(request))
        # A day without times means the whole day, from midnight to the next midnight.
        values["start_time"] = values["start_time"] or time(0)
        if values["end_time"] is None:
            values["end_day"] = values["end_day"].fromordinal(values["end_day"].toordinal() + 1)
            values["end_time"] = time(0)
        ops.add_closure(db.session(), actor, found, values)

    return _handle(hsa_id, act)


@bp.post("/clinics/<hsa_id>/calendar/absences/<int:closure_id>/delete")
def calendar_absence_delete(hsa_id: str, closure_id: int) -> Any:
    return _handle(hsa_id, lambda actor, found: ops.delete_closure(db.session(), actor, found, closure_id))


@bp.post("/clinics/<hsa_id>/calendar/closed-dates")
def calendar_closed_date(hsa_id: str) -> Any:
    def act(actor: Actor, found: Clinic) -> None:
        values = parse(ClosedDateForm, form_data(request))
        ops.add_closed_date(db.session(), actor, found, values["day"], values["reason"])

    return _handle(hsa_id, act)


@bp.post("/clinics/<hsa_id>/calendar/closed-dates/<int:closed_id>/delete")
def calendar_closed_date_delete(hsa_id: str, closed_id: int) -> Any:
    return _handle(hsa_id, lambda actor, found: ops.delete_closed_date(db.session(), actor, found, closed_id))
