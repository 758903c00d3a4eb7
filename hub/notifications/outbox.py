"""Queue messages in the transaction of the event that causes them; never the same one twice."""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic_adapters.timezones import utc_now
from hub.models import Booking, BookingState
from hub.notifications import sealing
from hub.notifications.contacts import reach_of
from hub.notifications.messages import Rendered, Visit, render_booking_message
from hub.notifications.models import (
    Channel,
    ClinicNotificationSettings,
    Kind,
    NotificationProfile,
    OutboxMessage,
    State,
)

log = logging.getLogger(__name__)

CHANGE_KINDS = {
    "created": Kind.CONFIRMATION,
    # A booking whose outcome was unknown and that the record system has now confirmed: confirm it
    # unless "created" already did (same dedupe key).
    "synced": Kind.CONFIRMATION,
    "rebooked": Kind.CHANGE,
    "cancelled": Kind.CANCELLATION,
    "conflict": Kind.CONFLICT,
    "failed": Kind.CONFLICT,  # the attempt was never confirmed: the citizen must look again
}


def is_discreet(db: Session, clinic_id: int) -> bool:
    settings = db.get(ClinicNotificationSettings, clinic_id)
    return bool(settings and settings.discreet)


def set_discreet(db: Session, clinic_id: int, discreet: bool) -> None:
    settings = db.get(ClinicNotificationSettings, clinic_id) or ClinicNotificationSettings(
        clinic_id=clinic_id
    )
    settings.discreet = discreet
    db.add(settings)
    db.flush()


def sealed_content(channel: Channel, rendered: Rendered, language: str, subject: str | None = None) -> str:
    """Seal what one channel needs of a rendered message."""
    if channel == Channel.SMS:
        return sealing.seal({"language": language, "text": rendered.sms})
    content: dict[str, Any] = {
        "language": language,
        "subject": subject or rendered.subject,
        "text": rendered.text,
    }
    if rendered.ics is not None:
        content["ics"] = base64.b64encode(rendered.ics).decode()
        content["ics_method"] = rendered.ics_method
    return sealing.seal(content)


def add_message(db: Session, *, dedupe_key: str, content: str, **columns: Any) -> bool:
    """Add one outbox row unless one with the same key exists; return whether it was added."""
    if db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None:
        return False
    try:
        # A savepoint, so that a concurrent insert of the same key never spoils the caller's work.
        with db.begin_nested():
            db.add(OutboxMessage(dedupe_key=dedupe_key, sealed_content=content, **columns))
            db.flush()
    except IntegrityError:
        return False
    return True


def queue_booking_message(db: Session, booking: Booking, kind: Kind, key: str) -> int:
    """Queue a booking message on every channel the citizen consented to; return how many."""
    profile = reach_of(db, booking.citizen_id)
    if profile is None or booking.starts_at is None:
        return 0
    channels = [
        c
        for c in Channel
        if profile.reachable(c)
        and db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == _key(kind, booking, c, key)))
        is None
    ]
    if not channels:
        return 0
    rendered = render_booking_message(
        kind, Visit.of(booking, is_discreet(db, booking.clinic_id)), profile.language, booking.id
    )
    added = 0
    for channel in channels:
        added += add_message(
            db,
            dedupe_key=_key(kind, booking, channel, key),
            content=sealed_content(channel, rendered, profile.language),
            kind=kind,
            channel=channel,
            citizen_id=booking.citizen_id,
            clinic_id=booking.clinic_id,
            booking_id=booking.id,
            visit_at=booking.starts_at,
        )
    return added


def _key(kind: Kind, booking: Booking, channel: Channel, key: str) -> str:
    return f"{kind}:{booking.id}:{channel}:{key}"


def cancel_pending_reminders(db: Session, booking_id: str) -> None:
    db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.booking_id == booking_id,
            OutboxMessage.kind == Kind.REMINDER,
            OutboxMessage.state == State.PENDING,
        )
        .values(state=State.CANCELLED, sealed_content="")
    )


def on_booking_changed(_sender: Any, *, db: Session, booking: Booking, change: str, **_: Any) -> None:
    """Queue the notice of a booking change in the booking's own transaction (never commits)."""
    kind = CHANGE_KINDS.get(change)
    if kind is None:
        return
    if kind in {Kind.CHANGE, Kind.CANCELLATION}:
        cancel_pending_reminders(db, booking.id)  # the sweep queues one for a moved time
    # A booking is confirmed, cancelled or in conflict once; it can be moved many times.
    key = uuid.uuid4().hex if kind == Kind.CHANGE else "once"
    count = queue_booking_message(db, booking, kind, key)
    log.info("queued %d %s message(s) for booking %s", count, kind, booking.id)


def queue_due_reminders(db: Session, now: datetime | None = None) -> int:
    """Queue reminders for active bookings whose reminder time has come; return how many.

    A reminder belongs to (booking, channel, start): a moved booking is reminded of its new time,
    a repeated sweep queues nothing new, and a booking made inside the reminder window is not
    reminded (its confirmation just arrived).
    """
    now = now or utc_now()
    lead = timedelta(hours=float(current_app.config.get("REMINDER_HOURS_BEFORE", 24)))
    due = list(
        db.scalars(
            select(Booking)
            .join(NotificationProfile, NotificationProfile.citizen_id == Booking.citizen_id)
            .where(
                Booking.status.in_([BookingState.BOOKED, BookingState.PENDING_SYNC]),
                Booking.starts_at > now,
                Booking.starts_at <= now + lead,
                (NotificationProfile.email_consent & NotificationProfile.has_email)
                | (NotificationProfile.sms_consent & NotificationProfile.has_phone),
                ~exists().where(
                    OutboxMessage.booking_id == Booking.id,
                    OutboxMessage.kind == Kind.REMINDER,
                    OutboxMessage.visit_at == Booking.starts_at,
                ),
            )
            .order_by(Booking.starts_at)
        )
    )
    added = 0
    for booking in due:
        assert booking.starts_at is not None
        if booking.created_at > booking.starts_at - lead:
            continue
        added += queue_booking_message(db, booking, Kind.REMINDER, booking.starts_at.isoformat())
    return added
