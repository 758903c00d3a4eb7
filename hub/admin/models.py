"""The hub's admin tables: clinic registrations, platform agreement acceptances, visit outcomes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clinic_adapters.timezones import utc_now
from hub.db import Base, UTCDateTime


class ClinicRegistration(Base):
    """A clinic's way onto the platform: registered, verified by the region, then activated."""

    __tablename__ = "admin_clinic_registration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="registered")
    registered_by: Mapped[str] = mapped_column(String(64))  # pseudonymous staff key
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_by: Mapped[str | None] = mapped_column(String(64))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("status IN ('registered', 'verified', 'active')", name="status_known"),)


class AgreementAcceptance(Base):
    """A clinic administrator accepted one version of a platform agreement."""

    __tablename__ = "admin_agreement_acceptance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64))
    agreement: Mapped[str] = mapped_column(String(32))  # terms_of_use, data_processing
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (UniqueConstraint("subject_key", "agreement", "version"),)


class VisitOutcome(Base):
    """What became of a booked visit: done, or a no-show; marked by the clinic."""

    __tablename__ = "admin_visit_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[str] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (CheckConstraint("outcome IN ('done', 'no_show')", name="outcome_known"),)
