"""Admin pages of one clinic: overview, case types, slot types, day list, connection; and the
start page, agreements and registration. Each handler: check access → parse → act → answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, Response, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from clinic_adapters.timezones import to_local, utc_now
from hub import db
from hub.admin import connection as conn_ops
from hub.admin import daylist, onboarding, settings_ops
from hub.admin.access import AGREEMENTS, AgreementsPending, agreements_first, clinic_admin, pending_agreements
from hub.admin.blueprint import blueprint as bp
from hub.admin.readiness import CASE_TYPE_LABELS
from hub.admin.schemas import (
    CaseTypeSwitch,
    ConflictForm,
    DayListQuery,
    OutcomeForm,
    RegisterForm,
    form_data,
)
from hub.errors import NotFound, ValidationFailed
from hub.models import CaseType, Clinic
from hub.schemas import parse
from hub.staff import require_staff

AGREEMENT_LABELS = {
    "terms_of_use": _l("Terms of use of the booking platform"),
    "data_processing": _l("Data processing agreement"),
}


def safe_next(value: str | None, default: str) -> str:
    """Only a local path: an open redirect after a form is a phishing gift."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def render_or_invalid(render: Callable[..., str], action: Callable[[], Response]) -> Any:
    """Run a form's action; on bad input show the page again with the problems (422), nothing saved."""
    try:
        return action()
    except ValidationFailed as error:
        return render(errors=error.fields, problem=error.message), 422


def case_type_of(value: str) -> CaseType:
    try:
        return CaseType(value)
    except ValueError:
        raise NotFound() from None


@bp.app_context_processor
def _admin_globals() -> dict[str, Any]:
    return {"case_type_labels": CASE_TYPE_LABELS, "format_date": format_date}


# -- start, agreements, registration -----------------------------------------------------------


@bp.get("/")
def home() -> Any:
    actor = require_staff()
    if not actor.is_region_admin and actor.clinics() and pending_agreements(actor):
        raise AgreementsPending()
    query = select(Clinic).order_by(Clinic.name)
    if not actor.is_region_admin:
        # Grants keep clinic ids case-folded; compare the same way.
        query = query.where(func.lower(Clinic.hsa_id).in_(sorted(actor.clinics())))
    clinics = list(db.session().scalars(query))
    return render_template("admin/home.html", actor=actor, clinics=clinics)


@bp.route("/agreements", methods=["GET", "POST"])
def agreements() -> Any:
    actor = require_staff()
    target = safe_next(request.values.get("next"), url_for("admin.home"))

    def page(**extra: Any) -> str:
        return render_template(
            "admin/agreements.html",
            agreements=[(name, AGREEMENT_LABELS[name], version) for name, version in AGREEMENTS.items()],
            pending=pending_agreements(actor),
            next=target,
            **extra,
        )

    if request.method == "GET":
        return page()

    def accept() -> Response:
        onboarding.accept_agreements(db.session(), actor, set(request.form.getlist("agreement")))
        return redirect(target, code=303)

    return render_or_invalid(page, accept)


@bp.route("/register", methods=["GET", "POST"])
def register_clinic() -> Any:
    actor = require_staff()

    def page(**extra: Any) -> str:
        return render_template("admin/register.html", form=request.form, **extra)

    if request.method == "GET":
        return page()

    def save() -> Response:
        onboarding.register_clinic(db.session(), actor, parse(RegisterForm, form_data(request)))
        flash(_l("Thank you. The region will verify the clinic and then activate it."))
        return redirect(url_for("admin.home"), code=303)

    return render_or_invalid(page, save)


# -- one clinic ------------------------------------------------------------------------------------


@bp.get("/clinics/<hsa_id>/")
def clinic(hsa_id: str) -> str:
    actor, found = clinic_admin(hsa_id)
    return render_template(
        "admin/clinic.html",
        clinic=found,
        actor=actor,
        states=settings_ops.case_type_states(db.session(), found),
        registration=onboarding.registration_of(db.session(), found),
    )


@bp.get("/clinics/<hsa_id>/case-types")
def case_types(hsa_id: str) -> str:
    _actor, found = clinic_admin(hsa_id)
    return _case_types_page(found)


def _case_types_page(found: Clinic, **extra: Any) -> str:
    return render_template(
        "admin/case_types.html",
        clinic=found,
        states=settings_ops.case_type_states(db.session(), found),
        **extra,
    )


@bp.post("/clinics/<hsa_id>/case-types/<case_type>")
def switch_case_type(hsa_id: str, case_type: str) -> Any:
    actor, found = clinic_admin(hsa_id)
    kind = case_type_of(case_type)

    def switch() -> Response:
        enabled = parse(CaseTypeSwitch, form_data(request))["enabled"]
        settings_ops.set_case_type(db.session(), actor, found, kind, enabled)
        flash(_l("Saved. Citizens see the change at once."))
        return redirect(url_for("admin.case_types", hsa_id=found.hsa_id), code=303)

    return render_or_invalid(lambda **extra: _case_types_page(found, refused=kind, **extra), switch)


@bp.route("/clinics/<hsa_id>/slot-types", methods=["GET", "POST"])
def slot_types(hsa_id: str) -> Any:
    actor, found = clinic_admin(hsa_id)

    def page(**extra: Any) -> str:
        rows, reachable = settings_ops.slot_type_rows(db.session(), found)
        return render_template("admin/slot_types.html", clinic=found, rows=rows, reachable=reachable, **extra)

    if request.method == "GET":
        return page()

    def save() -> Response:
        codes = request.form.getlist("code")
        choices = {
            code: (
                request.form.get(f"visible_{code}") == "on",
                {
                    lang: request.form.get(f"name_{lang}_{code}", "").strip()[:200]
                    for lang in settings_ops.LANGUAGES
                },
            )
            for code in codes
        }
        settings_ops.update_slot_types(db.session(), actor, found, choices)
        flash(_l("Saved."))
        return redirect(url_for("admin.slot_types", hsa_id=found.hsa_id), code=303)

    return render_or_invalid(page, save)


# -- day list -------------------------------------------------------------------------------------


@bp.get("/clinics/<hsa_id>/day-list")
def day_list(hsa_id: str) -> str:
    actor, found = clinic_admin(hsa_id)
    query = parse(DayListQuery, request.args)
    first = query["day"] or to_local(utc_now(), found.timezone).date()
    days = daylist.day_list(db.session(), actor, found, first, query["days"])
    return render_template(
        "admin/day_list.html",
        clinic=found,
        days=days,
        first=first,
        count=query["days"],
        earlier=first - timedelta(days=query["days"]),
        later=first + timedelta(days=query["days"]),
        now=utc_now(),
    )


@bp.post("/clinics/<hsa_id>/visits/<booking_id>")
def mark_visit(hsa_id: str, booking_id: str) -> Response:
    actor, found = clinic_admin(hsa_id)
    outcome = parse(OutcomeForm, form_data(request))["outcome"]
    daylist.mark_outcome(db.session(), actor, found, booking_id, outcome)
    flash(_l("Saved."))
    default = url_for("admin.day_list", hsa_id=found.hsa_id)
    return redirect(safe_next(request.form.get("next"), default), code=303)


# -- connection -----------------------------------------------------------------------------------


@bp.get("/clinics/<hsa_id>/connection")
def connection(hsa_id: str) -> str:
    _actor, found = clinic_admin(hsa_id)
    return _connection_page(found)


def _connection_page(found: Clinic, **extra: Any) -> str:
    return render_template(
        "admin/connection.html",
        clinic=found,
        status=conn_ops.status(db.session(), found),
        resolutions=conn_ops.RESOLUTIONS,
        **extra,
    )


@bp.post("/clinics/<hsa_id>/conflicts/<int:job_id>")
def resolve_conflict(hsa_id: str, job_id: int) -> Any:
    actor, found = clinic_admin(hsa_id)

    def resolve() -> Response:
        data = parse(ConflictForm, form_data(request))
        conn_ops.resolve_conflict(db.session(), actor, found, job_id, data["action"], data["note"])
        flash(_l("The action taken is recorded."))
        return redirect(url_for("admin.connection", hsa_id=found.hsa_id), code=303)

    return render_or_invalid(lambda **extra: _connection_page(found, **extra), resolve)


def register(app: Flask) -> None:
    """Attach every admin view module to the blueprint and register it."""
    from hub.admin import views_calendar, views_messages, views_region, views_terms  # noqa: F401 - routes

    app.register_error_handler(AgreementsPending, agreements_first)
    app.register_blueprint(bp)
