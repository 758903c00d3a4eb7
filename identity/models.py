"""Identity's tables, on its own declarative base (the hub adds them to its migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

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
        # SQLite compares stored text, so keep one format there: naive UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UsedAssertion(Base):
    """Replay cache: an assertion id seen once is refused until it would have expired anyway."""

    __tablename__ = "identity_used_assertion"

    # sha256(issuer NUL assertion id): bounded length, and ids are only unique per issuer.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LoginRequest(Base):
    """A SAML AuthnRequest id or an OIDC state we sent; consumed once by the answer."""

    __tablename__ = "identity_login_request"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(8))
    idp: Mapped[str] = mapped_column(String(64))
    # sha256 of the browser's flow cookie: the answer must come back to the browser that asked.
    browser: Mapped[str] = mapped_column(String(64))
    # OIDC nonce and PKCE verifier, where to go afterwards.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class IdentitySession(Base):
    """A logged-in browser; the cookie holds a random token, the table only its hash."""

    __tablename__ = "identity_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    audience: Mapped[str] = mapped_column(String(16))
    # Keyed hash of the personal number: finds a person's sessions without the number.
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    loa: Mapped[str] = mapped_column(String(200))
    idp: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[str] = mapped_column(String(8))
    # Fernet-sealed JSON: the subject (number, names, birth date) and what logging out at the
    # provider needs (NameID + SessionIndex, or the id_token, which itself carries the number).
    sealed: Mapped[str] = mapped_column(Text)
    # sha256(idp NUL NameID) so an IdP-initiated logout finds the sessions it speaks of.
    idp_subject: Mapped[str | None] = mapped_column(String(64), index=True)
    # Only the SAML SessionIndex, in the clear, to match an IdP's LogoutRequest.
    idp_session_index: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The app's own pseudonymous id of the person (the hub: its citizen id), named after login
    # (sessions.link), so that an app's statement can join its row without unsealing the subject.
    app_ref: Mapped[str | None] = mapped_column(String(64))
    # crypto.seal_key_id of the secret that sealed the row: a session under a rotated secret is
    # told apart without unsealing it (None: sealed before rows named their key).
    seal_key: Mapped[str | None] = mapped_column(String(16))


class RoleGrant(Base):
    """A role granted in the hub to a staff member, region-wide or for one clinic."""

    __tablename__ = "identity_role_grant"
    __table_args__ = (
        UniqueConstraint("subject_key", "role", "clinic_id"),
        Index(None, "clinic_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Pseudonymised personal number: grants never hold the number itself.
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    # Case-folded clinic id; "" for region-wide roles (NULL would defeat the unique constraint).
    clinic_id: Mapped[str] = mapped_column(String(64), default="")
    # Who it is for, as the granting administrator wrote it (a name, not a number).
    label: Mapped[str] = mapped_column(String(200), default="")
    granted_by: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
