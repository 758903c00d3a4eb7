"""A clearly labelled staff test login for development and the demo; never in production.

It exists only when ``DEV_STAFF_LOGIN`` is on (``HUB_DEV_STAFF_LOGIN=1``), and the app refuses to
start with it under production settings (see :func:`hub.config.check`). Staff roles count only in
identity sessions of the staff audience, so this login opens exactly such a session for a test
person and gives them their test role. When no e-ID is configured (the demo), it configures a
staff-only identity service with no identity providers, so that sessions and roles work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from clinic_adapters.timezones import utc_now
from hub import db
from hub.models import Clinic
from identity import crypto, roles, sessions
from identity.assurance import LOA3
from identity.flask import current_session
from identity.roles import Actor, Role
from identity.settings import IdentitySettings
from identity.subject import Audience, VerifiedSubject

blueprint = Blueprint("devstaff", __name__, template_folder="templates")


@dataclass(frozen=True)
class StaffPerson:
    key: str
    personal_number: str  # Luhn-valid, in the style of Skatteverket's test persons
    given_name: str
    family_name: str
    role: Role
    clinic_index: int = 0  # clinic administrators: which clinic (by id order) they run


STAFF = (
    StaffPerson("rut", "196203142382", "Rut", "Regionsson", Role.REGION_ADMIN),
    StaffPerson("klara", "197002152390", "Klara", "Klinisk", Role.CLINIC_ADMIN, 0),
    StaffPerson("kim", "198807172393", "Kim", "Kollega", Role.CLINIC_ADMIN, 0),
    StaffPerson("ali", "199011232395", "Ali", "Andersson", Role.CLINIC_ADMIN, 1),
)


def enabled(app: Flask) -> bool:
    return bool(app.config.get("DEV_STAFF_LOGIN")) and app.config["HUB_ENV"] != "production"


def configure_identity(app: Flask) -> None:
    """Give the development staff login a staff-only identity service when none is configured."""
    if not enabled(app) or app.config.get("IDENTITY"):
        return
    secret = (app.config.get("DATA_KEY") or app.config["SECRET_KEY"]).encode()
    app.config["IDENTITY"] = IdentitySettings(
        public_url=app.config["PORTAL_URL"].rstrip("/") + "/identity",
        # The demo key may be short; identity wants 16 bytes or more.
        secret_key=hashlib.sha256(b"hub dev staff identity\0" + secret).digest(),
        cookie_secure=False,  # the demo runs on plain http://127.0.0.1
        post_logout_url="/admin/",
    )


def _check() -> None:
    if not enabled(current_app):
        abort(404)


@blueprint.get("/admin/dev-login")
def choose() -> str:
    _check()
    clinics = _clinics()
    return render_template(
        "admin/devstaff.html",
        persons=[
            (
                p,
                clinics[p.clinic_index]
                if p.role is Role.CLINIC_ADMIN and len(clinics) > p.clinic_index
                else None,
            )
            for p in STAFF
        ],
        logged_in=current_session() is not None,
    )


def _clinics() -> list[Clinic]:
    return list(db.session().scalars(select(Clinic).order_by(Clinic.id).limit(2)))


@blueprint.post("/admin/dev-login")
def login() -> Response:
    _check()
    person = next((p for p in STAFF if p.key == request.form.get("person")), None)
    if person is None:
        abort(400)
    service = current_app.extensions["identity"]
    session = db.session()
    now = utc_now()
    key = crypto.subject_key(service.settings.secret_key, person.personal_number)
    region_key = crypto.subject_key(service.settings.secret_key, STAFF[0].personal_number)
    roles.bootstrap_region_admin(session, subject_key=region_key, label="Rut Regionsson (test)", now=now)
    if person.role is Role.CLINIC_ADMIN:
        clinics = _clinics()
        if len(clinics) > person.clinic_index:
            granter = Actor(region_key, Audience.STAFF, frozenset({(Role.REGION_ADMIN, "")}))
            roles.grant_clinic_admin(
                session,
                granter,
                subject_key=key,
                clinic_id=clinics[person.clinic_index].hsa_id,
                label=f"{person.given_name} {person.family_name} (test)",
                now=now,
            )
    subject = VerifiedSubject(
        personal_number=person.personal_number,
        given_name=person.given_name,
        family_name=person.family_name,
        display_name=f"{person.given_name} {person.family_name}",
        loa=LOA3,
        idp="dev-staff",
        birth_date=None,
        audience=Audience.STAFF,
    )
    settings = service.settings
    token = sessions.start(
        session,
        service.policy,
        subject,
        protocol="dev",
        idp_session={},
        idp_subject=None,
        now=now,
        previous_token=request.cookies.get(settings.session_cookie_name),
    )
    # identity's response hook sets the session cookie, as after a real login.
    g.identity_new_token = token
    return redirect(url_for("admin.home"), code=303)
