"""The record-system connection as a clinic sees it: health, bookings waiting to sync, conflicts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters import AdapterError, Health
from clinic_adapters.timezones import utc_now
from hub.admin.access import changed
from hub.booking.events import booking_changed
from hub.booking.timebooks import clinic_ref, record_system, standalone
from hub.errors import NotFound, ValidationFailed
from hub.models import BookingState, Clinic, SyncJob, SyncJobState
from hub.notifications.bulk import PERSONAL_NUMBER_LIKE
from identity.roles import Actor

#: What staff may have done about a conflict; the booking follows the choice.
RESOLUTIONS = {
    "booked_in_record_system": _l("Booked by hand in the record system"),
    "cancelled": _l("Cancelled; the citizen is told"),
}
MAX_NOTE = 200


@dataclass
class ConnectionStatus:
    connection: str
    health: Health | None  # None: the built-in calendar, nothing to reach
    setup_error: bool
    waiting: list[SyncJob]
    conflicts: list[SyncJob]
    resolved: list[SyncJob]


def status(db: Session, clinic: Clinic) -> ConnectionStatus:
    health, setup_error = None, False
    if clinic.connection != "standalone":
        try:
            health = record_system(clinic).health(clinic_ref(clinic))
        except (AdapterError, ValueError, TypeError):
            setup_error = True
    jobs = list(
        db.scalars(select(SyncJob).where(SyncJob.clinic_id == clinic.id).order_by(SyncJob.created_at.desc()))
    )
    return ConnectionStatus(
        connection=clinic.connection,
        health=health,
        setup_error=setup_error,
        waiting=[j for j in jobs if j.state == SyncJobState.PENDING],
        conflicts=[j for j in jobs if j.state == SyncJobState.CONFLICT and not j.resolution],
        resolved=[j for j in jobs if j.state == SyncJobState.CONFLICT and j.resolution][:20],
    )


def resolve_conflict(db: Session, actor: Actor, clinic: Clinic, job_id: int, action: str, note: str) -> None:
    """Record what staff did about a refused booking, and bring the booking in line with it."""
    job = db.get(SyncJob, job_id)
    if job is None or job.clinic_id != clinic.id or job.state != SyncJobState.CONFLICT:
        raise NotFound()
    note = " ".join(note.split())
    problems = {}
    if action not in RESOLUTIONS:
        problems["action"] = [_l("Choose what was done.")]
    if len(note) > MAX_NOTE:
        problems["note"] = [_l("Write at most %(count)s characters.", count=MAX_NOTE)]
    elif PERSONAL_NUMBER_LIKE.search(note):
        problems["note"] = [_l("Notes must not contain personal identity numbers.")]
    if problems:
        raise ValidationFailed(fields=problems)
    if job.resolution:
        raise ValidationFailed(fields={"action": [_l("This conflict is already resolved.")]})
    booking = job.booking
    before = booking.status
    if action == "booked_in_record_system":
        booking.status = BookingState.BOOKED
    else:
        if booking.fallback_booking_id:
            standalone().release(clinic_ref(clinic), booking.fallback_booking_id)
            booking.fallback_booking_id = None
        booking.status = BookingState.CANCELLED
    job.resolution = f"{action}: {note}" if note else action
    job.finished_at = utc_now()
    db.flush()
    changed(
        actor,
        "conflict_resolved",
        clinic,
        before=before,
        after=booking.status,
        resolution=action,
        job_id=job.id,
        booking_id=booking.id,
        citizen_id=booking.citizen_id,
    )
    if action == "cancelled":
        booking_changed.send(current_app._get_current_object(), db=db, booking=booking, change="cancelled")  # type: ignore[attr-defined]
