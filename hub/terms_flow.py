"""The citizen's side of clinic terms: read the current approved version and accept it.

A page (``/clinics/<hsa_id>/terms/<case_type>``) and JSON (``/api/v1/clinics/<hsa_id>/terms/<case_type>``
and ``…/accept``). When booking meets terms not yet accepted, pages are sent to the terms page and
JSON clients get a 409 ``terms_not_accepted`` naming the version to accept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, g, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

import terms
from clinic_adapters.timezones import utc_now
from hub import audit, db
from hub.auth import current_citizen, require_citizen
from hub.booking import operations as ops
from hub.errors import HubError, NotFound, ValidationFailed, render_error, wants_json
from hub.i18n import current_language
from hub.models import CaseType, Citizen, Clinic
from hub.terms_gate import TermsChanged, TermsNotAccepted

pages = Blueprint("terms_flow", __name__, template_folder="admin/templates")
api = Blueprint("terms_api", __name__, url_prefix="/api/v1")


class UnsupportedMediaType(HubError):
    status = 415
    code = "unsupported_media_type"
    default_message = _l("Send the request as JSON.")


def _case_type(value: str) -> CaseType:
    try:
        return CaseType(value)
    except ValueError:
        raise NotFound() from None


def _current(clinic: Clinic, case_type: CaseType) -> terms.TermsVersion:
    version = terms.current(db.session(), clinic.hsa_id, case_type)
    if version is None:
        raise NotFound(_l("The clinic has no terms for this."))
    return version


def _accepted(version: terms.TermsVersion, citizen: Citizen | None) -> bool | None:
    if citizen is None:
        return None
    return terms.has_accepted(db.session(), version.clinic_key, version.case_type, citizen.id)


def _accept(clinic: Clinic, case_type: CaseType, number: Any, citizen: Citizen) -> terms.Acceptance:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"version": [_l("Not a whole number.")]}) from None
    try:
        acceptance = terms.accept(
            db.session(), clinic.hsa_id, case_type, number, citizen_ref=citizen.id, now=utc_now()
        )
    except terms.NoTerms:
        raise NotFound(_l("The clinic has no terms for this.")) from None
    except terms.NotCurrent:
        raise TermsChanged() from None
    audit.record(
        db.session(),
        actor_kind="citizen",
        actor_id=citizen.id,
        action="terms.accepted",
        clinic_id=clinic.id,
        citizen_id=citizen.id,
        case_type=case_type.value,
        version=number,
    )
    return acceptance


def _local_next(value: str | None) -> str | None:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


# -- pages -------------------------------------------------------------------------------------


@pages.route("/clinics/<hsa_id>/terms/<case_type>", methods=["GET", "POST"])
def page(hsa_id: str, case_type: str) -> Any:
    clinic = ops.get_clinic(db.session(), hsa_id)
    kind = _case_type(case_type)
    target = _local_next(request.values.get("next")) or url_for("portal.clinic", hsa_id=clinic.hsa_id)
    if request.method == "POST":
        citizen = require_citizen()
        _accept(clinic, kind, request.form.get("version"), citizen)
        return redirect(target, code=303)
    version = _current(clinic, kind)
    return render_template(
        "terms_flow/accept.html",
        clinic=clinic,
        case_type=kind,
        version=version,
        points=version.points_in(current_language()),
        accepted=_accepted(version, current_citizen()),
        next=target,
    )


# -- JSON --------------------------------------------------------------------------------------


@api.before_request
def _writes_are_json() -> None:
    # As in hub.api: browsers cannot post JSON cross-site without a preflight (CSRF stays out).
    if request.method not in {"GET", "HEAD", "OPTIONS"} and not request.is_json:
        raise UnsupportedMediaType()


def _version_json(clinic: Clinic, case_type: CaseType, version: terms.TermsVersion) -> dict[str, Any]:
    language = current_language()
    return {
        "clinic": clinic.hsa_id,
        "case_type": case_type.value,
        "version": version.number,
        "approved_at": version.approved_at.isoformat() if version.approved_at else None,
        "language": language if version.points.get(language) else "sv",
        "points": version.points_in(language),  # plain text: escape it when showing it
        "accepted": _accepted(version, current_citizen()),
    }


@api.get("/clinics/<hsa_id>/terms/<case_type>")
def get_terms(hsa_id: str, case_type: str) -> Response:
    clinic = ops.get_clinic(db.session(), hsa_id)
    kind = _case_type(case_type)
    return jsonify(_version_json(clinic, kind, _current(clinic, kind)))


@api.post("/clinics/<hsa_id>/terms/<case_type>/accept")
def accept_terms(hsa_id: str, case_type: str) -> Response:
    citizen = require_citizen()
    clinic = ops.get_clinic(db.session(), hsa_id)
    kind = _case_type(case_type)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise UnsupportedMediaType()
    acceptance = _accept(clinic, kind, body.get("version"), citizen)
    return jsonify(
        clinic=clinic.hsa_id,
        case_type=kind.value,
        version=acceptance.version.number,
        accepted_at=acceptance.accepted_at.isoformat(),
    )


# -- the gate's answer -------------------------------------------------------------------------


def _terms_needed(error: TermsNotAccepted) -> Response:
    """Tell a JSON client which version to accept; send a browser to the terms page."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()  # nothing of the refused action may be kept
    page_url = url_for("terms_flow.page", hsa_id=error.clinic_hsa_id, case_type=error.case_type.value)
    if wants_json():
        response = render_error(error.status, error.code, error.message)
        body = response.get_json()
        body["terms"] = {
            "clinic": error.clinic_hsa_id,
            "case_type": error.case_type.value,
            "version": error.version,
            "url": url_for(
                "terms_api.get_terms", hsa_id=error.clinic_hsa_id, case_type=error.case_type.value
            ),
            "accept_url": url_for(
                "terms_api.accept_terms", hsa_id=error.clinic_hsa_id, case_type=error.case_type.value
            ),
            "page": page_url,
        }
        response.set_data(jsonify(body).get_data())
        return response
    # Back to where the citizen came from (e.g. the free times) once they have accepted.
    referrer = urlsplit(request.referrer or "")
    back = None
    if referrer.netloc == request.host:
        back = _local_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    return redirect(
        url_for("terms_flow.page", hsa_id=error.clinic_hsa_id, case_type=error.case_type.value, next=back),
        code=303,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(pages)
    app.register_blueprint(api)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(api)  # JSON only, like hub.api
    app.register_error_handler(TermsNotAccepted, _terms_needed)
