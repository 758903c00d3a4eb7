"""Roles granted in the hub and the one place that decides who may do what (``can``).

Roles apply only to a session opened through a staff identity provider: a clinic administrator
who logs in with their private BankID on the citizen portal is a citizen there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from identity import crypto
from identity.models import RoleGrant
from identity.personal_numbers import Country, parse
from identity.subject import Audience


class Role(StrEnum):
    CLINIC_ADMIN = "clinic_admin"
    REGION_ADMIN = "region_admin"


class Action(StrEnum):
    """Everything an authorization check can be asked about."""

    # Citizens, for themselves.
    BOOK_FOR_SELF = "book_for_self"
    # Clinic scope: case types, slot types, terms, opening hours, conflicts, bookings of a clinic.
    MANAGE_CLINIC = "manage_clinic"
    VIEW_CLINIC_BOOKINGS = "view_clinic_bookings"
    # Region scope.
    MANAGE_REGION = "manage_region"
    GRANT_CLINIC_ADMIN = "grant_clinic_admin"
    VIEW_GRANTS = "view_grants"


class NotAllowed(Exception):
    """The actor may not do this; carries only the action and the clinic id (no PII)."""

    def __init__(self, action: Action, clinic_id: str | None = None) -> None:
        super().__init__(f"not allowed: {action.value}" + (f" at {clinic_id}" if clinic_id else ""))
        self.action = action
        self.clinic_id = clinic_id


def normalise_clinic_id(clinic_id: str) -> str:
    """Clinic ids (HSA-id style) compare case-insensitively."""
    return clinic_id.strip().casefold()


@dataclass(frozen=True)
class Actor:
    """Who acts: the pseudonymous key of the logged-in person, their audience, their grants."""

    subject_key: str
    audience: Audience
    grants: frozenset[tuple[Role, str]] = field(default_factory=frozenset)

    @property
    def is_region_admin(self) -> bool:
        return (Role.REGION_ADMIN, "") in self.grants

    def administers(self, clinic_id: str) -> bool:
        return (Role.CLINIC_ADMIN, normalise_clinic_id(clinic_id)) in self.grants

    def clinics(self) -> frozenset[str]:
        """Clinic ids this actor administers directly (region admins reach all clinics besides)."""
        return frozenset(clinic for role, clinic in self.grants if role is Role.CLINIC_ADMIN)


def can(actor: Actor | None, action: Action, clinic_id: str | None = None) -> bool:
    """Decide whether ``actor`` may perform ``action`` (at ``clinic_id`` for clinic-scoped actions)."""
    if actor is None:
        return False
    if action is Action.BOOK_FOR_SELF:
        return actor.audience is Audience.CITIZEN
    if actor.audience is not Audience.STAFF:
        return False
    if actor.is_region_admin:
        return True
    if action in {Action.MANAGE_CLINIC, Action.VIEW_CLINIC_BOOKINGS}:
        return clinic_id is not None and actor.administers(clinic_id)
    return False


def require(actor: Actor | None, action: Action, clinic_id: str | None = None) -> None:
    """Raise NotAllowed unless ``can`` says yes."""
    if not can(actor, action, clinic_id):
        raise NotAllowed(action, clinic_id)


def load_actor(db: Session, subject_key: str, audience: Audience) -> Actor:
    """Build the actor of a session; grants are read only for staff sessions."""
    grants: frozenset[tuple[Role, str]] = frozenset()
    if audience is Audience.STAFF:
        rows = db.execute(
            select(RoleGrant.role, RoleGrant.clinic_id).where(RoleGrant.subject_key == subject_key)
        )
        grants = frozenset((Role(role), clinic) for role, clinic in rows)
    return Actor(subject_key=subject_key, audience=audience, grants=grants)


def subject_key_for(personal_number: str, secret: bytes, countries: tuple[str, ...] = (Country.SE,)) -> str:
    """Return the grant key of a person, from their personal number as an administrator typed it.

    Raises InvalidPersonalNumber (a ValueError) for a number that does not validate.
    """
    return crypto.subject_key(secret, parse(personal_number, countries).value)


def grant_clinic_admin(
    db: Session, actor: Actor, *, subject_key: str, clinic_id: str, label: str, now: datetime
) -> RoleGrant:
    """Make someone administrator of one clinic (region administrators only)."""
    require(actor, Action.GRANT_CLINIC_ADMIN)
    return _grant(
        db, subject_key, Role.CLINIC_ADMIN, normalise_clinic_id(clinic_id), label, actor.subject_key, now
    )


def revoke_clinic_admin(db: Session, actor: Actor, *, subject_key: str, clinic_id: str) -> bool:
    """Take back a clinic administrator role; return whether there was one."""
    require(actor, Action.GRANT_CLINIC_ADMIN)
    result = db.execute(
        delete(RoleGrant).where(
            RoleGrant.subject_key == subject_key,
            RoleGrant.role == Role.CLINIC_ADMIN.value,
            RoleGrant.clinic_id == normalise_clinic_id(clinic_id),
        )
    )
    return result.rowcount > 0


def list_grants(db: Session, actor: Actor, clinic_id: str | None = None) -> list[RoleGrant]:
    """List grants (region administrators only), optionally for one clinic."""
    require(actor, Action.VIEW_GRANTS)
    query = select(RoleGrant).order_by(RoleGrant.clinic_id, RoleGrant.role, RoleGrant.label)
    if clinic_id is not None:
        query = query.where(RoleGrant.clinic_id == normalise_clinic_id(clinic_id))
    return list(db.scalars(query))


def bootstrap_region_admin(db: Session, *, subject_key: str, label: str, now: datetime) -> RoleGrant:
    """Grant region administration without an actor: for the hub's command line, never for a web request."""
    return _grant(db, subject_key, Role.REGION_ADMIN, "", label, None, now)


def _grant(
    db: Session,
    subject_key: str,
    role: Role,
    clinic_id: str,
    label: str,
    granted_by: str | None,
    now: datetime,
) -> RoleGrant:
    existing = db.scalar(
        select(RoleGrant).where(
            RoleGrant.subject_key == subject_key,
            RoleGrant.role == role.value,
            RoleGrant.clinic_id == clinic_id,
        )
    )
    if existing is not None:
        return existing
    grant = RoleGrant(
        subject_key=subject_key,
        role=role.value,
        clinic_id=clinic_id,
        label=label,
        granted_by=granted_by,
        granted_at=now,
    )
    db.add(grant)
    db.flush()
    return grant
