"""The hub's side of e-ID login: the identity blueprint, and what follows a verified login."""

from __future__ import annotations

from flask import Flask, Response, current_app, redirect, url_for

from hub import db
from hub.audit import record
from hub.auth import log_in
from hub.citizens import Identity
from identity.flask import create_identity_blueprint, link_session, return_to
from identity.settings import IdentitySettings, settings_from_mapping
from identity.subject import Audience, VerifiedSubject


def on_login(subject: VerifiedSubject) -> Response:
    """Open the hub's side of a session the identity package has just started."""
    if subject.audience == Audience.CITIZEN:
        identity = Identity(subject.personal_number, subject.given_name or "", subject.family_name or "")
        citizen = log_in(identity, method="eid")
        link_session(citizen.id)  # the booking statement finds the citizen by the session
        record(
            db.session(),
            actor_kind="citizen",
            actor_id=citizen.id,
            action="login",
            method="eid",
            idp=subject.idp,
            loa=subject.loa,
        )
        return redirect(return_to() or url_for("portal.my_bookings"))
    return redirect(return_to() or url_for("admin.home"))


def citizen_login_available() -> bool:
    """Whether any configured identity provider logs in citizens (not only staff)."""
    service = current_app.extensions.get("identity")
    if service is None:
        return False
    providers = (*service.settings.saml_idps, *service.settings.oidc_providers)
    return any(p.audience == Audience.CITIZEN for p in providers)


def init_app(app: Flask) -> None:
    """Register e-ID login when identity providers are configured (``IDENTITY``)."""
    configured = app.config.get("IDENTITY")
    if not configured:
        return
    settings = configured if isinstance(configured, IdentitySettings) else settings_from_mapping(configured)
    blueprint = create_identity_blueprint(
        settings,
        db.session,
        on_login,
        # Activity is written behind the requests, so a refused request still counts as activity.
        open_session=lambda: db.database(app).session_scope(),
    )
    app.register_blueprint(blueprint, url_prefix="/identity")
