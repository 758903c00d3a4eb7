"""Who may open an admin page: staff checks through hub.staff, then the platform agreements.

Every clinic page calls :func:`clinic_admin` first, before it reads anything, so an
administrator of another clinic is refused (403) whatever else the URL names.
"""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from sqlalchemy import select

from clinic_adapters import normalize_hsa_id
from hub import audit, db
from hub.admin.models import AgreementAcceptance
from hub.errors import NotFound
from hub.models import Clinic
from hub.staff import require_clinic_admin, require_region_admin
from identity.roles import Actor

#: The platform agreements every clinic administrator accepts before anything else; a new
#: version here asks everyone again.
AGREEMENTS = {"terms_of_use": "2026-11", "data_processing": "2026-11"}


class AgreementsPending(Exception):
    """A clinic administrator has agreements to accept first (see :func:`agreements_first`)."""


def agreements_first(_error: AgreementsPending) -> Response:
    """Send the administrator to the agreements page, and back to where they were going after."""
    return redirect(url_for("admin.agreements", next=request.full_path.rstrip("?")), code=303)


def pending_agreements(actor: Actor) -> dict[str, str]:
    """Return the agreements (name → version) the actor has not accepted yet."""
    accepted = set(
        db.session().execute(
            select(AgreementAcceptance.agreement, AgreementAcceptance.version).where(
                AgreementAcceptance.subject_key == actor.subject_key
            )
        )
    )
    return {name: version for name, version in AGREEMENTS.items() if (name, version) not in accepted}


def find_clinic(hsa_id: str) -> Clinic:
    """Return a clinic, active or not (admins manage clinics before they go live)."""
    clinic = db.session().scalar(select(Clinic).where(Clinic.hsa_id == normalize_hsa_id(hsa_id)))
    if clinic is None:
        raise NotFound()
    return clinic


def clinic_admin(hsa_id: str) -> tuple[Actor, Clinic]:
    """Check the actor administers the clinic (or the region), then that the agreements are accepted."""
    actor = require_clinic_admin(hsa_id)
    if not actor.is_region_admin and pending_agreements(actor):
        raise AgreementsPending()
    return actor, find_clinic(hsa_id)


def region_admin() -> Actor:
    return require_region_admin()


def changed(
    actor: Actor,
    action: str,
    clinic: Clinic | None,
    *,
    before: Any = None,
    after: Any = None,
    **details: Any,
) -> None:
    """Audit one admin change: who (pseudonymous key), what, before and after; never personal data."""
    audit.record(
        db.session(),
        actor_kind="staff",
        actor_id=actor.subject_key,
        action=f"admin.{action}",
        clinic_id=clinic.id if clinic else None,
        before=before,
        after=after,
        **details,
    )
