"""The day list: visits per day and practitioner, every citizen shown is an audited read."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from admin_support import ADMIN_A, fresh, post
from sqlalchemy import select

from clinic_adapters.timezones import to_local
from hub.admin.models import VisitOutcome
from hub.models import AuditEvent, Booking, BookingState, Citizen


def _visit(db, clinic, citizen, starts_at: datetime, performer: str | None, key: str) -> Booking:
    booking = Booking(
        citizen_id=citizen.id,
        clinic_id=clinic.id,
        idempotency_key=key,
        slot_id=f"slot-{key}",
        slot_type_code="LAKARBESOK",
        timebook="standalone",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=20),
        performer_name=performer,
        status=BookingState.BOOKED,
    )
    db.add(booking)
    db.commit()
    return booking


def test_day_list_groups_by_day_and_practitioner_and_audits_each_read(
    admin_app, create_clinic, staff, citizen_client, db, caplog
) -> None:
    clinic = create_clinic()
    citizen_client("tolvan")
    citizen_client("anna")
    tolvan, anna = db.scalars(select(Citizen).order_by(Citizen.created_at)).all()
    now = datetime.now(UTC)
    past = _visit(db, clinic, tolvan, now - timedelta(minutes=30), "Doris Doktor", "k-past-0001")
    _visit(db, clinic, anna, now + timedelta(days=1, minutes=5), "Sven Sköterska", "k-tomorrow-01")
    _visit(db, clinic, anna, now + timedelta(days=30), None, "k-far-away-01")  # outside the window
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    caplog.set_level(logging.DEBUG)
    first_day = to_local(past.starts_at, clinic.timezone).date()  # today, unless just after midnight
    page = client.get(f"/admin/clinics/{clinic.hsa_id}/day-list?day={first_day}&days=3").get_data(
        as_text=True
    )
    assert "Tolvan Tolvansson" in page and "Anna Lindqvist" in page
    assert "Doris Doktor" in page and "Sven Sköterska" in page
    assert "191212121212" in page  # the clinic needs the number to find the record
    assert page.count("Mark as done") + page.count("Markera") >= 1
    fresh(db)
    reads = db.scalars(select(AuditEvent).where(AuditEvent.action == "admin.day_list_read")).all()
    assert {(e.citizen_id, e.actor_kind) for e in reads} == {(tolvan.id, "staff"), (anna.id, "staff")}
    assert "191212121212" not in caplog.text and "Tolvansson" not in caplog.text

    assert (
        post(client, f"/admin/clinics/{clinic.hsa_id}/visits/{past.id}", {"outcome": "no_show"}).status_code
        == 303
    )
    fresh(db)
    assert db.scalar(select(VisitOutcome.outcome).where(VisitOutcome.booking_id == past.id)) == "no_show"
    change = db.scalar(select(AuditEvent).where(AuditEvent.action == "admin.visit_outcome"))
    assert change.details == {"before": None, "after": "no_show"} and change.booking_id == past.id


def test_a_future_visit_cannot_be_marked(admin_app, create_clinic, staff, citizen_client, db) -> None:
    clinic = create_clinic()
    citizen_client()
    citizen = db.scalar(select(Citizen))
    future = _visit(db, clinic, citizen, datetime.now(UTC) + timedelta(hours=3), None, "k-future-001")
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    assert (
        post(client, f"/admin/clinics/{clinic.hsa_id}/visits/{future.id}", {"outcome": "done"}).status_code
        == 422
    )
    assert (
        post(client, f"/admin/clinics/{clinic.hsa_id}/visits/{future.id}", {"outcome": "gone"}).status_code
        == 422
    )


def test_the_day_list_prints_without_the_menus(admin_app, create_clinic, staff) -> None:
    clinic = create_clinic()
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    page = client.get(f"/admin/clinics/{clinic.hsa_id}/day-list")
    text = page.get_data(as_text=True)
    assert 'class="no-print"' in text and "data-print" in text and "onclick" not in text
    assert "style-src 'self'" in page.headers["Content-Security-Policy"]  # nothing inline is needed
    css = client.get("/admin/static/admin.css")
    assert "@media print" in css.get_data(as_text=True)
    css.close()
