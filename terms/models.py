"""Tables of terms texts: versions (immutable once approved) and citizens' acceptances."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The same constraint names as the rest of the region's schema (copied: terms imports nothing of ours).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Store instants as UTC; return them aware, also from SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TermsVersion(Base):
    """One version of a clinic's terms for one case type: a draft until a second person approves it."""

    __tablename__ = "terms_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_key: Mapped[str] = mapped_column(String(64))  # the clinic's HSA-id, upper-case
    case_type: Mapped[str] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per clinic and case type
    points: Mapped[dict[str, list[str]]] = mapped_column(JSON)  # {"sv": [...], "en": [...], "de": [...]}
    author_key: Mapped[str] = mapped_column(String(64))  # pseudonymous staff key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    acceptances: Mapped[list[Acceptance]] = relationship(back_populates="version")

    __table_args__ = (
        UniqueConstraint("clinic_key", "case_type", "number"),
        # The database, too, refuses a version its author approved.
        CheckConstraint("approved_by IS NULL OR approved_by <> author_key", name="four_eyes"),
        CheckConstraint("(approved_by IS NULL) = (approved_at IS NULL)", name="approval_complete"),
        Index("ix_terms_version_lookup", "clinic_key", "case_type", "approved_at"),
    )

    @property
    def approved(self) -> bool:
        return self.approved_at is not None

    def points_in(self, language: str) -> list[str]:
        return self.points.get(language) or self.points.get("sv") or []


class Acceptance(Base):
    """A citizen accepted one approved version, at a time."""

    __tablename__ = "terms_acceptance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("terms_version.id"))
    citizen_ref: Mapped[str] = mapped_column(String(64), index=True)  # the hub's pseudonymous id
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())

    version: Mapped[TermsVersion] = relationship(back_populates="acceptances")

    __table_args__ = (UniqueConstraint("version_id", "citizen_ref"),)
