"""The citizen's notification profile: a page and a JSON endpoint (contact details, consent)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from hub import db
from hub.api import UnsupportedMediaType
from hub.auth import current_citizen, require_citizen
from hub.errors import ValidationFailed
from hub.i18n import current_language
from hub.models import Citizen
from hub.notifications.contacts import contact_of, profile_of, update_profile
from hub.notifications.schemas import ProfileInput
from hub.schemas import parse

pages = Blueprint("notifications_pages", __name__, template_folder="templates")
api = Blueprint("notifications_api", __name__, url_prefix="/api/v1/profile")

# Page texts live here rather than in the template: the catalogue is extracted from
# hub/templates only (see babel.cfg).
TEXTS = {
    "title": _l("Messages and contact details"),
    "intro": _l(
        "Choose how we may tell you about your bookings: confirmations, changes and reminders. "
        "Messages never contain your personal identity number or the reason for your visit."
    ),
    "email": _l("E-mail address"),
    "phone": _l("Mobile number"),
    "email_consent": _l("Send me messages by e-mail"),
    "sms_consent": _l("Send me text messages"),
    "language": _l("Language of the messages"),
    "save": _l("Save"),
    "saved": _l("Your choices are saved."),
    "problems": _l("Please correct the marked fields."),
}


def _state(citizen: Citizen) -> dict[str, Any]:
    profile = profile_of(db.session(), citizen.id)
    contact = contact_of(profile)
    return {
        "email": contact.email or "",
        "phone": contact.phone or "",
        "email_consent": bool(profile and profile.email_consent),
        "sms_consent": bool(profile and profile.sms_consent),
        "language": profile.language if profile else current_language(),
    }


def _save(citizen: Citizen, source: Any) -> None:
    data = parse(ProfileInput, source)
    update_profile(
        db.session(),
        citizen,
        email=data["email"],
        phone=data["phone"],
        email_consent=data["email_consent"],
        sms_consent=data["sms_consent"],
        language=data["language"] or current_language(),
    )


@pages.app_context_processor
def _profile_link() -> dict[str, Any]:
    # base.html shows the "Profile" link only where this package is installed.
    return {"profile_url": url_for("notifications_pages.profile")}


@pages.get("/profile")
def profile() -> str | tuple[str, int]:
    citizen = current_citizen()
    if citizen is None:
        return render_template("login_needed.html"), 401
    return render_template(
        "notifications/profile.html",
        texts=TEXTS,
        form=_state(citizen),
        errors={},
        saved=bool(request.args.get("saved")),
    )


@pages.post("/profile")
def save_profile() -> Response | tuple[str, int]:
    citizen = require_citizen()
    try:
        _save(citizen, request.form)
    except ValidationFailed as error:
        form = {**_state(citizen), **request.form.to_dict()}
        form["email_consent"] = "email_consent" in request.form
        form["sms_consent"] = "sms_consent" in request.form
        page = render_template(
            "notifications/profile.html", texts=TEXTS, form=form, errors=error.fields, saved=False
        )
        return page, 422
    return redirect(url_for("notifications_pages.profile", saved=1))


@api.before_request
def _writes_are_json() -> None:
    # The same rule as hub.api, which is why this blueprint may skip the form CSRF check.
    if request.method not in {"GET", "HEAD", "OPTIONS"} and not request.is_json:
        raise UnsupportedMediaType()


@api.get("/notifications")
def get_profile() -> Response:
    return jsonify(_state(require_citizen()))


@api.put("/notifications")
def put_profile() -> Response:
    citizen = require_citizen()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise UnsupportedMediaType()
    _save(citizen, body)
    return jsonify(_state(citizen))
