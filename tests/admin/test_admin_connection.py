"""The connection page: health, the sync queue, conflicts resolved with the action recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from admin_support import ADMIN_A, fresh, post
from sqlalchemy import select

from hub.models import AuditEvent, Booking, BookingState, Citizen, SyncJob, SyncJobKind, SyncJobState


def _job(db, clinic, citizen, state: SyncJobState, key: str) -> SyncJob:
    booking = Booking(
        citizen_id=citizen.id,
        clinic_id=clinic.id,
        idempotency_key=key,
        slot_id=f"fb:{key}",
        slot_type_code="LAKARBESOK",
        timebook="standalone",
        starts_at=datetime.now(UTC) + timedelta(days=2),
        status=BookingState.CONFLICT if state == SyncJobState.CONFLICT else BookingState.PENDING_SYNC,
    )
    job = SyncJob(
        booking=booking, clinic_id=clinic.id, kind=SyncJobKind.WRITE, state=state, last_error="SlotTaken"
    )
    db.add_all([booking, job])
    db.commit()
    return job


def test_waiting_bookings_and_conflicts_are_listed_and_a_conflict_is_resolved(
    admin_app, create_clinic, staff, citizen_client, db
) -> None:
    clinic = create_clinic()
    citizen_client()
    citizen = db.scalar(select(Citizen))
    _job(db, clinic, citizen, SyncJobState.PENDING, "k-waiting-01")
    conflict = _job(db, clinic, citizen, SyncJobState.CONFLICT, "k-conflict-1")
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    page = client.get(
        f"/admin/clinics/{clinic.hsa_id}/connection", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert "built-in calendar" in page
    assert "Bookings waiting to sync</a>" in page or "Bookings waiting to sync (1)" in page
    assert "Conflicts to resolve (1)" in page

    url = f"/admin/clinics/{clinic.hsa_id}/conflicts/{conflict.id}"
    assert post(client, url, {"action": "cancelled", "note": "pnr 19121212-1212"}).status_code == 422
    done = post(client, url, {"action": "cancelled", "note": "Ringde, ny tid bokad per telefon"})
    assert done.status_code == 303, done.headers.get("Location")
    fresh(db)
    job = db.get(SyncJob, conflict.id)
    assert job.resolution == "cancelled: Ringde, ny tid bokad per telefon"
    assert job.booking.status == BookingState.CANCELLED
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "admin.conflict_resolved"))
    assert event.details["resolution"] == "cancelled" and event.details["before"] == "conflict"
    assert post(client, url, {"action": "cancelled"}).status_code == 422  # already resolved
