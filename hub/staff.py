"""Staff authorization for the hub's admin pages: the one place views ask identity's roles."""

from __future__ import annotations

from flask import abort, current_app

from identity.flask import current_actor, require
from identity.roles import Action, Actor
from identity.subject import Audience


def _require(action: Action, clinic_hsa_id: str | None = None) -> Actor:
    if "identity" not in current_app.extensions:
        abort(401)  # without e-ID configured there is no staff login
    return require(action, clinic_hsa_id)


def require_clinic_admin(clinic_hsa_id: str) -> Actor:
    """Return the acting administrator of the clinic, or answer 401/403."""
    return _require(Action.MANAGE_CLINIC, clinic_hsa_id)


def require_region_admin() -> Actor:
    """Return the acting region administrator, or answer 401/403."""
    return _require(Action.MANAGE_REGION)


def require_staff() -> Actor:
    """Return any logged-in staff member (with or without roles), or answer 401/403.

    For what comes before a role: registering a clinic, accepting the platform agreements.
    """
    if "identity" not in current_app.extensions:
        abort(401)
    actor = current_actor()
    if actor is None:
        abort(401)
    if actor.audience is not Audience.STAFF:
        abort(403)
    return actor
