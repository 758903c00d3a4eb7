"""The sync worker: writes fallback bookings into record systems that answer again, and finds
out what became of bookings whose answer never came.

Each job is handled in a transaction of its own. Before writing, the worker looks in the citizen's
schedule at the record system: if a crash came between the record system's "booked" and our
commit, the booking is found there and adopted instead of being booked twice. A refusal becomes
a visible conflict (for the clinic) and a notice (to the citizen): nothing is lost silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters import AdapterError, BookingStatus, Slot, Unavailable
from clinic_adapters import Booking as RemoteBooking
from clinic_adapters.resilience import ResilientAdapter
from clinic_adapters.timezones import utc_now
from hub import audit
from hub.booking.events import booking_changed
from hub.booking.timebooks import clinic_ref, record_system
from hub.citizens import subject_of
from hub.db import bound_session, database
from hub.models import Booking, BookingState, SyncJob, SyncJobKind, SyncJobState

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


@dataclass
class SyncReport:
    synced: int = 0
    conflicts: int = 0
    postponed: int = 0
    failed: int = 0
    handled_job_ids: list[int] = field(default_factory=list)


class _Conflict(Exception):
    def __init__(self, reason: str, citizen_message: str | None = None) -> None:
        super().__init__(reason)
        self.citizen_message = citizen_message


def _due_job_ids(db: Session, now: datetime, limit: int) -> list[int]:
    query = (
        select(SyncJob.id)
        .where(SyncJob.state == SyncJobState.PENDING, SyncJob.next_attempt_at <= now)
        .order_by(SyncJob.next_attempt_at, SyncJob.id)
        .limit(limit)
    )
    return list(db.scalars(query))


def _claim(db: Session, job_id: int) -> SyncJob | None:
    """Lock one due job for this worker; another worker skips it (PostgreSQL) or waits (SQLite)."""
    query = select(SyncJob).where(SyncJob.id == job_id, SyncJob.state == SyncJobState.PENDING)
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.scalar(query)


def _already_there(adapter: ResilientAdapter, booking: Booking) -> RemoteBooking | None:
    """Find the booking in the citizen's schedule at the record system (a write we never heard of)."""
    clinic = booking.clinic
    for remote in adapter.subject_schedule(clinic_ref(clinic), subject_of(booking.citizen)):
        same_time = (
            remote.slot.start == booking.starts_at and remote.slot.time_type_id == booking.slot_type_code
        )
        if remote.status == BookingStatus.BOOKED and same_time:
            return remote
    return None


def _matching_slot(adapter: ResilientAdapter, booking: Booking) -> Slot:
    assert booking.starts_at is not None and booking.slot_type_code is not None
    ref = clinic_ref(booking.clinic)
    window_end = booking.starts_at + timedelta(minutes=1)
    for slot in adapter.available_slots(ref, booking.slot_type_code, booking.starts_at, window_end):
        if slot.start == booking.starts_at:
            return slot
    raise _Conflict("the time is not free in the record system")


def _write(adapter: ResilientAdapter, booking: Booking) -> None:
    found = _already_there(adapter, booking)
    if found is None:
        slot = _matching_slot(adapter, booking)
        try:
            result = adapter.make_booking(clinic_ref(booking.clinic), slot.id, subject_of(booking.citizen))
        except Unavailable:
            raise
        except AdapterError as error:
            raise _Conflict(type(error).__name__, error.citizen_message) from error
        found, booking.message = result.booking, result.message or booking.message
    booking.external_id = found.booking_id
    booking.timebook = adapter.key
    booking.status = BookingState.BOOKED  # the reserve seat stays held: the time is used


def _reconcile(adapter: ResilientAdapter, booking: Booking) -> None:
    ref = clinic_ref(booking.clinic)
    for remote in adapter.subject_schedule(ref, subject_of(booking.citizen)):
        if remote.status == BookingStatus.BOOKED and remote.slot.id == booking.slot_id:
            booking.external_id = remote.booking_id
            booking.slot_type_code = remote.slot.time_type_id
            booking.starts_at, booking.ends_at = remote.slot.start, remote.slot.end
            booking.performer_name = remote.slot.performer_name
            booking.timebook = adapter.key
            booking.status = BookingState.BOOKED
            return
    booking.status = BookingState.FAILED


def _finish(
    db: Session, app: Flask, job: SyncJob, state: SyncJobState, change: str, **details: object
) -> None:
    job.state = state
    job.finished_at = utc_now()
    booking = job.booking
    audit.record(
        db,
        actor_kind="system",
        actor_id="sync-worker",
        action=f"booking.{change}",
        clinic_id=job.clinic_id,
        citizen_id=booking.citizen_id,
        booking_id=booking.id,
        **details,
    )
    booking_changed.send(app, db=db, booking=booking, change=change)


def _handle(db: Session, app: Flask, job: SyncJob, now: datetime, report: SyncReport) -> None:
    booking = job.booking
    adapter = record_system(booking.clinic)  # an open breaker answers CircuitOpen at once
    try:
        if job.kind == SyncJobKind.WRITE:
            _write(adapter, booking)
        else:
            _reconcile(adapter, booking)
    except _Conflict as conflict:
        booking.status = BookingState.CONFLICT
        booking.message = conflict.citizen_message or booking.message
        job.last_error = str(conflict)[:200]
        _finish(db, app, job, SyncJobState.CONFLICT, "conflict", reason=job.last_error)
        report.conflicts += 1
        return
    if booking.status == BookingState.FAILED:
        _finish(db, app, job, SyncJobState.DONE, "failed")
        report.failed += 1
    else:
        _finish(db, app, job, SyncJobState.DONE, "synced")
        report.synced += 1


def _postpone(job: SyncJob, now: datetime, error: Exception, base_seconds: float) -> None:
    job.attempts += 1
    job.last_error = type(error).__name__
    delay = min(timedelta(seconds=base_seconds * 2 ** (job.attempts - 1)), MAX_BACKOFF)
    job.next_attempt_at = now + delay


def sync_due(app: Flask, *, now: datetime | None = None, limit: int = 100) -> SyncReport:
    """Handle every job that is due now; each in its own transaction."""
    now = now or utc_now()
    report = SyncReport()
    sessions = database(app).sessions
    with app.app_context():
        with sessions() as db:
            job_ids = _due_job_ids(db, now, limit)
        for job_id in job_ids:
            with sessions() as db, bound_session(db):
                _run_one(app, db, job_id, now, report)
    return report


def _run_one(app: Flask, db: Session, job_id: int, now: datetime, report: SyncReport) -> None:
    try:
        job = _claim(db, job_id)
        if job is None:
            return
        try:
            _handle(db, app, job, now, report)
        except Unavailable as error:
            db.rollback()
            job = _claim(db, job_id)
            if job is not None:
                _postpone(job, now, error, float(app.config["SYNC_RETRY_BASE_SECONDS"]))
                report.postponed += 1
        db.commit()
        report.handled_job_ids.append(job_id)
    except Exception:
        db.rollback()
        log.exception("sync job %s failed unexpectedly", job_id)
