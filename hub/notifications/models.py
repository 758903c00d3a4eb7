"""Tables of notifications: contact details and consent, clinic settings, the outbox, bulk sends."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clinic_adapters.timezones import utc_now
from hub.db import Base, UTCDateTime


def _uuid() -> str:
    return str(uuid.uuid4())


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Kind(enum.StrEnum):
    CONFIRMATION = "confirmation"
    CHANGE = "change"
    CANCELLATION = "cancellation"
    REMINDER = "reminder"
    CONFLICT = "conflict"
    BULK = "bulk"


class State(enum.StrEnum):
    PENDING = "pending"  # waiting for its time or its next attempt
    SENDING = "sending"  # claimed by a worker (committed before the provider is called)
    SENT = "sent"
    IN_DOUBT = "in_doubt"  # a worker died mid-send on a channel without idempotency: never resent blindly
    FAILED = "failed"  # gave up after the last attempt, or refused for good
    SKIPPED = "skipped"  # consent or contact withdrawn before it was sent
    CANCELLED = "cancelled"  # no longer true (e.g. a reminder for a time that was moved)


class NotificationProfile(Base):
    """A citizen's contact details (sealed) and consent per channel."""

    __tablename__ = "notification_profile"

    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"), primary_key=True)
    sealed_contact: Mapped[str | None] = mapped_column(Text)  # encrypted {"email": …, "phone": …}
    # Whether an address is present, so review lists need not unseal every profile.
    has_email: Mapped[bool] = mapped_column(Boolean, default=False)
    has_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    email_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="sv")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    def reachable(self, channel: Channel) -> bool:
        """Whether the citizen has both consented to and given an address for a channel."""
        if channel == Channel.EMAIL:
            return self.email_consent and self.has_email
        return self.sms_consent and self.has_phone


class ClinicNotificationSettings(Base):
    """How a clinic wants its messages worded; ``discreet`` leaves even its name out."""

    __tablename__ = "clinic_notification_settings"

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True)
    discreet: Mapped[bool] = mapped_column(Boolean, default=False)


class BulkSend(Base):
    """One bulk message a clinic administrator sent, kept for its report."""

    __tablename__ = "notification_bulk"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))  # staff id, never a name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    templates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # language → text
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    excluded: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # reason → count


class OutboxMessage(Base):
    """A message to send, written in the transaction of the event that caused it."""

    __tablename__ = "notification_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    # One row per reason to send: a repeated event or sweep cannot queue the same message twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizen.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"))
    booking_id: Mapped[str | None] = mapped_column(String(36), index=True)
    bulk_id: Mapped[str | None] = mapped_column(ForeignKey("notification_bulk.id"), index=True)
    visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the start the message speaks of
    # The message as rendered when it was caused, sealed: times and clinics are personal data too.
    sealed_content: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=State.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(200))  # an error class, never a message text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
        CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'in_doubt', 'failed', 'skipped', 'cancelled')",
            name="state_known",
        ),
        Index("ix_notification_outbox_due", "state", "next_attempt_at"),
    )

    @property
    def message_id(self) -> str:
        """The stable id a provider sees on every attempt (Message-ID, Idempotency-Key)."""
        return f"{self.id}@notifications.hub"
