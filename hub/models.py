"""The hub's own tables: clinics and their settings, citizens (pseudonymous), bookings, audit."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic_adapters.timezones import utc_now
from hub.db import Base, UTCDateTime
from standalone_calendar.models import new_settings_stamp


def _uuid() -> str:
    return str(uuid.uuid4())


class CaseType(enum.StrEnum):
    BOOK = "book"
    REBOOK_CANCEL = "rebook_cancel"
    REQUEST = "request"
    CAMPAIGN = "campaign"


class BookingState(enum.StrEnum):
    PENDING = "pending"  # recorded before the record system answered
    BOOKED = "booked"
    CANCELLED = "cancelled"
    PENDING_SYNC = "pending_sync"  # booked in the fallback calendar, not yet in the record system
    CONFLICT = "conflict"  # the record system refused a synced booking
    FAILED = "failed"  # the record system never confirmed the attempt


class Clinic(Base):
    """A clinic (mottagning) and how the hub reaches its timebook."""

    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    hsa_id: Mapped[str] = mapped_column(String(64), unique=True)  # stored upper-case
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(100), index=True)
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    connection: Mapped[str] = mapped_column(String(64), default="standalone")  # adapter registry key
    connection_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    has_fallback_calendar: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Replaced by every change of the clinic's settings: see hub.booking.clinic_settings.
    settings_stamp: Mapped[str] = mapped_column(String(32), default=new_settings_stamp)

    case_types: Mapped[list[ClinicCaseType]] = relationship(back_populates="clinic")
    slot_types: Mapped[list[ClinicSlotType]] = relationship(back_populates="clinic")

    def enabled_case_types(self) -> set[CaseType]:
        return {CaseType(c.case_type) for c in self.case_types if c.enabled}


class ClinicCaseType(Base):
    """Whether a clinic offers a case type (book, rebook/cancel, request, campaign)."""

    __tablename__ = "clinic_case_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    case_type: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)

    clinic: Mapped[Clinic] = relationship(back_populates="case_types")

    __table_args__ = (
        UniqueConstraint("clinic_id", "case_type"),
        CheckConstraint(
            "case_type IN ('book', 'rebook_cancel', 'request', 'campaign')", name="case_type_known"
        ),
    )


class ClinicSlotType(Base):
    """A timebook slot type the clinic shows citizens, with its names per language."""

    __tablename__ = "clinic_slot_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    visible: Mapped[bool] = mapped_column(Boolean, default=False)
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # {"sv": …, "en": …, "de": …}

    clinic: Mapped[Clinic] = relationship(back_populates="slot_types")

    __table_args__ = (UniqueConstraint("clinic_id", "code"),)

    def name_in(self, language: str) -> str:
        return self.names.get(language) or self.names.get("sv") or self.code


class Citizen(Base):
    """A citizen known by a keyed hash of the personal number; identity data only sealed."""

    __tablename__ = "citizen"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    lookup_key: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_identity: Mapped[str] = mapped_column(Text)  # encrypted personal number and names
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Booking(Base):
    """The hub's record of a citizen's booking at a clinic, whatever timebook holds it."""

    __tablename__ = "booking"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizen.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    slot_id: Mapped[str] = mapped_column(String(200))
    slot_type_code: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))  # the timebook's booking id
    timebook: Mapped[str] = mapped_column(String(64))  # adapter key that holds the booking
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    performer_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=BookingState.PENDING)
    message: Mapped[str | None] = mapped_column(Text)  # the record system's words for the citizen
    series_id: Mapped[str | None] = mapped_column(String(36))
    # The seat held in the clinic's fallback calendar while (and after) the booking is synced.
    fallback_booking_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    clinic: Mapped[Clinic] = relationship()
    citizen: Mapped[Citizen] = relationship()

    __table_args__ = (
        UniqueConstraint("citizen_id", "idempotency_key"),
        CheckConstraint(
            "status IN ('pending', 'booked', 'cancelled', 'pending_sync', 'conflict', 'failed')",
            name="status_known",
        ),
        Index("ix_booking_citizen_start", "citizen_id", "starts_at"),
    )

    @property
    def is_active(self) -> bool:
        return self.status in {BookingState.BOOKED, BookingState.PENDING_SYNC}


class SyncJobKind(enum.StrEnum):
    WRITE = "write"  # a fallback booking to write into the record system
    RECONCILE = "reconcile"  # a remote booking whose answer never came: did it happen?


class SyncJobState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    CONFLICT = "conflict"
    CANCELLED = "cancelled"


class SyncJob(Base):
    """A durable queue entry: written in the same transaction as the booking it carries."""

    __tablename__ = "sync_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[str] = mapped_column(ForeignKey("booking.id"), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=SyncJobState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_error: Mapped[str | None] = mapped_column(String(200))  # error class or record-system text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)  # what staff did about a conflict

    booking: Mapped[Booking] = relationship()
    clinic: Mapped[Clinic] = relationship()

    __table_args__ = (
        CheckConstraint("kind IN ('write', 'reconcile')", name="kind_known"),
        CheckConstraint("state IN ('pending', 'done', 'conflict', 'cancelled')", name="state_known"),
        Index("ix_sync_job_due", "state", "next_attempt_at"),
    )


class AuditEvent(Base):
    """One append-only line of who did what to which citizen's data; never plain personal data."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    actor_kind: Mapped[str] = mapped_column(String(16))  # citizen, staff, system
    actor_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"))
    citizen_id: Mapped[str | None] = mapped_column(String(36), index=True)
    booking_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
