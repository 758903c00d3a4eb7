"""Onboarding: a clinic registers, the region verifies and activates it and names its
administrators, who accept the platform agreements before anything else."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters import normalize_hsa_id
from clinic_adapters.timezones import utc_now
from hub.admin.access import AGREEMENTS, changed
from hub.admin.models import AgreementAcceptance, ClinicRegistration
from hub.errors import ValidationFailed
from hub.models import Clinic
from identity import roles
from identity.models import RoleGrant
from identity.personal_numbers import InvalidPersonalNumber
from identity.roles import Actor


def registration_of(db: Session, clinic: Clinic) -> ClinicRegistration | None:
    return db.scalar(select(ClinicRegistration).where(ClinicRegistration.clinic_id == clinic.id))


def register_clinic(db: Session, actor: Actor, values: dict[str, Any]) -> Clinic:
    """Register a new clinic; it stays hidden from citizens until the region activates it."""
    hsa_id = normalize_hsa_id(values["hsa_id"])
    if db.scalar(select(Clinic.id).where(Clinic.hsa_id == hsa_id)) is not None:
        raise ValidationFailed(fields={"hsa_id": [_l("A clinic with this id is already registered.")]})
    clinic = Clinic(
        hsa_id=hsa_id,
        name=values["name"],
        municipality=values["municipality"],
        street_address=values.get("street_address") or None,
        postal_code=values.get("postal_code") or None,
        city=values.get("city") or None,
        phone=values.get("phone") or None,
        email=values.get("email") or None,
        connection="standalone",
        active=False,
    )
    db.add(clinic)
    db.flush()
    db.add(ClinicRegistration(clinic_id=clinic.id, registered_by=actor.subject_key))
    db.flush()
    changed(actor, "clinic_registered", clinic, after={"hsa_id": hsa_id, "active": False})
    return clinic


def verify(db: Session, actor: Actor, clinic: Clinic) -> None:
    registration = registration_of(db, clinic)
    if registration is None or registration.status != "registered":
        raise ValidationFailed(_l("Only a newly registered clinic can be verified."))
    registration.status, registration.verified_by, registration.verified_at = (
        "verified",
        actor.subject_key,
        utc_now(),
    )
    db.flush()
    changed(actor, "clinic_verified", clinic, before="registered", after="verified")


def activate(db: Session, actor: Actor, clinic: Clinic) -> None:
    """Make a verified clinic visible to citizens."""
    registration = registration_of(db, clinic)
    if registration is not None and registration.status != "verified":
        raise ValidationFailed(_l("Verify the clinic before activating it."))
    if registration is not None:
        registration.status = "active"
        registration.activated_by, registration.activated_at = actor.subject_key, utc_now()
    before = clinic.active
    clinic.active = True
    db.flush()
    changed(actor, "clinic_activated", clinic, before=before, after=True)


def _identity_settings() -> Any:
    return current_app.extensions["identity"].settings


def assign_admin(db: Session, actor: Actor, clinic: Clinic, personal_number: str, label: str) -> RoleGrant:
    """Make the person with this personal number an administrator of the clinic."""
    settings = _identity_settings()
    try:
        key = roles.subject_key_for(personal_number, settings.secret_key, settings.personal_number_countries)
    except InvalidPersonalNumber:
        raise ValidationFailed(
            fields={"personal_number": [_l("Not a valid personal identity number.")]}
        ) from None
    grant = roles.grant_clinic_admin(
        db, actor, subject_key=key, clinic_id=clinic.hsa_id, label=label, now=utc_now()
    )
    # The log names the grantee by pseudonymous key only; the label stays with the grant.
    changed(actor, "admin_assigned", clinic, after={"subject_key": key})
    return grant


def revoke_admin(db: Session, actor: Actor, clinic: Clinic, subject_key: str) -> None:
    if roles.revoke_clinic_admin(db, actor, subject_key=subject_key, clinic_id=clinic.hsa_id):
        changed(actor, "admin_revoked", clinic, before={"subject_key": subject_key})


def admins_of(db: Session, actor: Actor, clinic: Clinic) -> list[RoleGrant]:
    return roles.list_grants(db, actor, clinic.hsa_id)


def accept_agreements(db: Session, actor: Actor, accepted: set[str]) -> None:
    """Record the administrator's acceptance of every current platform agreement (all at once)."""
    missing = [name for name in AGREEMENTS if name not in accepted]
    if missing:
        raise ValidationFailed(fields={name: [_l("Accept this agreement to continue.")] for name in missing})
    for name, version in AGREEMENTS.items():
        exists = db.scalar(
            select(AgreementAcceptance.id).where(
                AgreementAcceptance.subject_key == actor.subject_key,
                AgreementAcceptance.agreement == name,
                AgreementAcceptance.version == version,
            )
        )
        if exists is None:
            db.add(AgreementAcceptance(subject_key=actor.subject_key, agreement=name, version=version))
            changed(actor, "agreement_accepted", None, agreement=name, version=version)
    db.flush()
