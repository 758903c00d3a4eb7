"""The built-in calendar editor: windows, cadence, seats, absences, closed days, limits, preview."""

from __future__ import annotations

from datetime import date, timedelta

from admin_support import ADMIN_A, fresh, post
from sqlalchemy import select

from hub.models import AuditEvent
from standalone_calendar.models import Calendar, ClosedDate, Closure, OpeningRule, SlotType

NEXT_MONDAY = date.today() + timedelta(days=7 - date.today().weekday())


def test_an_administrator_builds_a_calendar_and_previews_a_week(admin_app, create_clinic, staff, db) -> None:
    clinic = create_clinic(weekdays=())  # a calendar with no opening hours
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    base = f"/admin/clinics/{clinic.hsa_id}/calendar"
    ok = [
        post(client, f"{base}/limits", {"horizon_days": "60", "min_notice_minutes": "120"}),
        post(
            client,
            f"{base}/slot-types",
            {
                "code": "VACC",
                "name": "Vaccination",
                "duration_minutes": "15",
                "capacity": "3",
                "cancel_deadline_minutes": "120",
            },
        ),
        post(client, f"{base}/practitioners", {"code": "D1", "given_name": "Doris", "family_name": "Doktor"}),
    ]
    assert [r.status_code for r in ok] == [303, 303, 303]
    fresh(db)
    vacc = db.scalar(select(SlotType).where(SlotType.code == "VACC"))
    assert (vacc.duration_minutes, vacc.capacity, vacc.cancel_deadline_minutes) == (15, 3, 120)
    window = {"weekday": "0", "start_time": "08:00", "end_time": "09:00", "slot_type_id": str(vacc.id)}
    assert post(client, f"{base}/rules", window).status_code == 303
    assert post(client, f"{base}/rules", {**window, "weekday": "1"}).status_code == 303
    # Tuesday is closed, and Monday 08:30-09:00 the clinic is away.
    tuesday = NEXT_MONDAY + timedelta(days=1)
    assert (
        post(
            client, f"{base}/closed-dates", {"day": tuesday.isoformat(), "reason": "Personaldag"}
        ).status_code
        == 303
    )
    absence = {
        "start_day": NEXT_MONDAY.isoformat(),
        "start_time": "08:30",
        "end_day": NEXT_MONDAY.isoformat(),
        "end_time": "09:00",
    }
    assert post(client, f"{base}/absences", absence).status_code == 303

    page = client.get(f"{base}?week={NEXT_MONDAY.isoformat()}").get_data(as_text=True)
    preview = page.split('id="preview"')[1]
    assert preview.count("VACC") == 2  # 08:00 and 08:15; Tuesday closed, 08:30- absent
    assert "(3 " in preview  # three seats each

    fresh(db)
    calendar = db.scalar(select(Calendar).where(Calendar.clinic_hsa_id == clinic.hsa_id))
    assert (calendar.horizon_days, calendar.min_notice_minutes) == (60, 120)
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.clinic_id == clinic.id)))
    assert {
        "admin.calendar.limits",
        "admin.calendar.slot_type",
        "admin.calendar.rule_added",
        "admin.calendar.closed_date_added",
        "admin.calendar.absence_added",
    } <= actions

    # Removing things works and is audited as well.
    rule = db.scalar(select(OpeningRule).where(OpeningRule.weekday == 1))
    closed = db.scalar(select(ClosedDate))
    closure = db.scalar(select(Closure))
    for path in (f"rules/{rule.id}", f"closed-dates/{closed.id}", f"absences/{closure.id}"):
        assert post(client, f"{base}/{path}/delete").status_code == 303
    fresh(db)
    assert db.scalar(select(ClosedDate)) is None and db.scalar(select(Closure)) is None


def test_bad_calendar_input_is_refused_and_changes_nothing(admin_app, create_clinic, staff, db) -> None:
    clinic = create_clinic()
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    base = f"/admin/clinics/{clinic.hsa_id}/calendar"
    slot_type = db.scalar(select(SlotType))
    backwards = {
        "weekday": "2",
        "start_time": "12:00",
        "end_time": "08:00",
        "slot_type_id": str(slot_type.id),
    }
    assert post(client, f"{base}/rules", backwards).status_code == 422
    assert post(client, f"{base}/rules", {**backwards, "start_time": "8 o'clock"}).status_code == 422
    assert (
        post(client, f"{base}/limits", {"horizon_days": "0", "min_notice_minutes": "-5"}).status_code == 422
    )
    fresh(db)
    assert (
        db.scalar(
            select(OpeningRule).where(OpeningRule.weekday == 2, OpeningRule.start_time > OpeningRule.end_time)
        )
        is None
    )


def test_another_clinics_rule_cannot_be_removed_through_mine(admin_app, create_clinic, staff, db) -> None:
    mine, theirs = create_clinic(), create_clinic()
    their_rule = db.scalar(
        select(OpeningRule)
        .join(Calendar, Calendar.id == OpeningRule.calendar_id)
        .where(Calendar.clinic_hsa_id == theirs.hsa_id)
    )
    client = staff(ADMIN_A, clinics=[mine.hsa_id])
    assert (
        post(client, f"/admin/clinics/{mine.hsa_id}/calendar/rules/{their_rule.id}/delete").status_code == 404
    )
    fresh(db)
    assert db.get(OpeningRule, their_rule.id) is not None
