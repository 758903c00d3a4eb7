"""Tables of the built-in timebook: opening rules, slot types, closures, seat counts, bookings."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored as naive UTC and read back aware (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store instants with a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _uuid() -> str:
    return str(uuid.uuid4())


def new_settings_stamp() -> str:
    """A token that changes with every change of a calendar's settings (see ``settings``)."""
    return uuid.uuid4().hex


class Calendar(Base):
    """The standalone timebook of one clinic."""

    __tablename__ = "sc_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_hsa_id: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    horizon_days: Mapped[int] = mapped_column(Integer, default=28)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=60)
    # Random, not a counter: snapshots of two databases (or of a recreated one) never match.
    settings_stamp: Mapped[str] = mapped_column(String(32), default=new_settings_stamp)

    slot_types: Mapped[list[SlotType]] = relationship(back_populates="calendar")
    practitioners: Mapped[list[Practitioner]] = relationship(back_populates="calendar")

    __table_args__ = (
        CheckConstraint("horizon_days > 0", name="horizon_positive"),
        CheckConstraint("min_notice_minutes >= 0", name="notice_not_negative"),
    )


class SlotType(Base):
    """A kind of time (Läkarbesök, Provtagning, …) with its cadence, seats and deadlines."""

    __tablename__ = "sc_slot_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sc_calendar.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    cancel_deadline_minutes: Mapped[int] = mapped_column(Integer, default=24 * 60)
    cancel_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    rebook_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    # A series (dose 1 → dose 2) must keep its next time within these bounds, in days.
    series_min_days: Mapped[int | None] = mapped_column(Integer)
    series_max_days: Mapped[int | None] = mapped_column(Integer)

    calendar: Mapped[Calendar] = relationship(back_populates="slot_types")
    rules: Mapped[list[OpeningRule]] = relationship(back_populates="slot_type")

    __table_args__ = (
        UniqueConstraint("calendar_id", "code"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("cancel_deadline_minutes >= 0", name="deadline_not_negative"),
        CheckConstraint(
            "series_min_days IS NULL OR series_max_days IS NULL OR series_min_days <= series_max_days",
            name="series_bounds_ordered",
        ),
    )


class Practitioner(Base):
    """A practitioner or resource whose column of times a rule fills."""

    __tablename__ = "sc_practitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sc_calendar.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))

    calendar: Mapped[Calendar] = relationship(back_populates="practitioners")

    __table_args__ = (UniqueConstraint("calendar_id", "code"),)


class OpeningRule(Base):
    """A weekly recurring window, e.g. Tuesdays 08:00–12:00 local time, for one slot type."""

    __tablename__ = "sc_opening_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sc_calendar.id", ondelete="CASCADE"), index=True)
    slot_type_id: Mapped[int] = mapped_column(ForeignKey("sc_slot_type.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # Monday = 0, as date.weekday()
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("sc_practitioner.id", ondelete="CASCADE"))
    room: Mapped[str | None] = mapped_column(String(100))
    capacity: Mapped[int | None] = mapped_column(Integer)  # overrides the slot type's seats
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)

    slot_type: Mapped[SlotType] = relationship(back_populates="rules")
    practitioner: Mapped[Practitioner | None] = relationship()

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_time < end_time", name="window_ordered"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
    )


class Closure(Base):
    """An absence: the whole clinic, or one practitioner, is away between two instants."""

    __tablename__ = "sc_closure"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sc_calendar.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("sc_practitioner.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (CheckConstraint("starts_at < ends_at", name="closure_ordered"),)


class ClosedDate(Base):
    """A local calendar day the clinic is closed (public holiday, staff day)."""

    __tablename__ = "sc_closed_date"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sc_calendar.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("calendar_id", "day"),)


class SeatCount(Base):
    """Booked seats of one generated time: the database, not Python, keeps ``booked <= capacity``."""

    __tablename__ = "sc_seat_count"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sc_calendar.id", ondelete="CASCADE"))
    slot_type_id: Mapped[int] = mapped_column(ForeignKey("sc_slot_type.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The practitioner's id as text, "" for a time without one: NULLs would not collide in a unique key.
    resource_key: Mapped[str] = mapped_column(String(32), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint(
            "calendar_id", "slot_type_id", "starts_at", "resource_key", name="uq_sc_seat_count_time"
        ),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),
        Index("ix_sc_seat_count_lookup", "slot_type_id", "starts_at"),
    )


class CalendarBooking(Base):
    """A seat held by a citizen, known here only by the hub's pseudonymous reference."""

    __tablename__ = "sc_booking"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sc_calendar.id", ondelete="CASCADE"))
    seat_count_id: Mapped[int] = mapped_column(ForeignKey("sc_seat_count.id"))
    slot_type_id: Mapped[int] = mapped_column(ForeignKey("sc_slot_type.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("sc_practitioner.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    series_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    slot_type: Mapped[SlotType] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()

    __table_args__ = (CheckConstraint("status IN ('booked', 'cancelled')", name="status_known"),)
