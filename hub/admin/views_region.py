"""Region pages: clinics and their registrations, administrators per clinic, the audit log."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hub import db
from hub.admin import onboarding
from hub.admin.access import find_clinic, region_admin
from hub.admin.blueprint import blueprint as bp
from hub.admin.models import ClinicRegistration
from hub.admin.schemas import AssignAdminForm, form_data
from hub.admin.views import render_or_invalid
from hub.models import AuditEvent, Clinic
from hub.schemas import parse

AUDIT_PAGE = 200


@bp.get("/region")
def region() -> str:
    region_admin()
    session = db.session()
    clinics = list(session.scalars(select(Clinic).order_by(Clinic.active, Clinic.name)))
    registrations = {r.clinic_id: r for r in session.scalars(select(ClinicRegistration))}
    return render_template("admin/region.html", clinics=clinics, registrations=registrations)


@bp.post("/region/clinics/<hsa_id>/verify")
def region_verify(hsa_id: str) -> Response:
    actor = region_admin()
    onboarding.verify(db.session(), actor, find_clinic(hsa_id))
    flash(_l("Saved."))
    return redirect(url_for("admin.region"), code=303)


@bp.post("/region/clinics/<hsa_id>/activate")
def region_activate(hsa_id: str) -> Response:
    actor = region_admin()
    onboarding.activate(db.session(), actor, find_clinic(hsa_id))
    flash(_l("The clinic is active and visible to citizens."))
    return redirect(url_for("admin.region"), code=303)


@bp.route("/region/clinics/<hsa_id>/admins", methods=["GET", "POST"])
def region_admins(hsa_id: str) -> Any:
    actor = region_admin()
    found = find_clinic(hsa_id)

    def page(**extra: Any) -> str:
        grants = onboarding.admins_of(db.session(), actor, found)
        return render_template("admin/region_admins.html", clinic=found, grants=grants, **extra)

    if request.method == "GET":
        return page()

    def assign() -> Response:
        data = parse(AssignAdminForm, form_data(request))
        onboarding.assign_admin(db.session(), actor, found, data["personal_number"], data["label"])
        flash(_l("Saved."))
        return redirect(url_for("admin.region_admins", hsa_id=found.hsa_id), code=303)

    return render_or_invalid(page, assign)


@bp.post("/region/clinics/<hsa_id>/admins/<subject_key>/revoke")
def region_revoke(hsa_id: str, subject_key: str) -> Response:
    actor = region_admin()
    found = find_clinic(hsa_id)
    onboarding.revoke_admin(db.session(), actor, found, subject_key)
    flash(_l("Saved."))
    return redirect(url_for("admin.region_admins", hsa_id=found.hsa_id), code=303)


@bp.get("/region/audit")
def region_audit() -> str:
    region_admin()
    session = db.session()
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE)
    clinic_filter = request.args.get("clinic") or ""
    if clinic_filter:
        query = query.where(AuditEvent.clinic_id == find_clinic(clinic_filter).id)
    if request.args.get("staff_only") == "1":
        query = query.where(AuditEvent.actor_kind == "staff")
    events = list(session.scalars(query))
    clinics = {c.id: c for c in session.scalars(select(Clinic))}
    return render_template("admin/audit.html", events=events, clinics=clinics, clinic_filter=clinic_filter)
