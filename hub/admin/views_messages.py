"""Admin pages for bulk messages to a clinic's booked citizens: choose, review, send, report.

The operations live in :mod:`hub.notifications.bulk`; these pages only collect the choices.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hub import db
from hub.admin.access import changed, clinic_admin
from hub.admin.blueprint import blueprint as bp
from hub.admin.schemas import BulkCriteriaForm, form_data
from hub.admin.views import render_or_invalid
from hub.models import Clinic
from hub.notifications import bulk
from hub.notifications.models import BulkSend, Channel
from hub.notifications.outbox import is_discreet, set_discreet
from hub.schemas import parse

LANGUAGES = ("sv", "en", "de")


def _choices() -> tuple[bulk.Criteria, list[Channel], dict[str, str]]:
    data = parse(BulkCriteriaForm, form_data(request))
    criteria = bulk.Criteria(day=data["day"], slot_type_code=data["slot_type"] or None)
    channels = [Channel(c) for c in request.form.getlist("channels") if c in {x.value for x in Channel}]
    templates = {lang: request.form.get(f"template_{lang}", "") for lang in LANGUAGES}
    return criteria, channels, {k: v for k, v in templates.items() if v.strip()}


def _page(found: Clinic, **extra: Any) -> str:
    session = db.session()
    sent = session.scalars(
        select(BulkSend).where(BulkSend.clinic_id == found.id).order_by(BulkSend.created_at.desc()).limit(20)
    ).all()
    return render_template(
        "admin/messages.html",
        clinic=found,
        discreet=is_discreet(session, found.id),
        sent=sent,
        form=request.form,
        placeholders=sorted(bulk.ALLOWED_PLACEHOLDERS),
        **extra,
    )


@bp.get("/clinics/<hsa_id>/messages")
def messages(hsa_id: str) -> str:
    _actor, found = clinic_admin(hsa_id)
    return _page(found)


@bp.post("/clinics/<hsa_id>/messages/review")
def messages_review(hsa_id: str) -> Any:
    actor, found = clinic_admin(hsa_id)

    def review() -> Any:
        criteria, channels, templates = _choices()
        session = db.session()
        discreet = is_discreet(session, found.id)
        for lang, text in templates.items():
            bulk.check_template(text, discreet=discreet, language=lang)
        rows = bulk.review(session, found, criteria, channels, actor.subject_key)
        return render_template(
            "admin/messages_review.html",
            clinic=found,
            rows=rows,
            form=request.form,
            channels=[c.value for c in channels],
        )

    return render_or_invalid(lambda **extra: _page(found, **extra), review)


@bp.post("/clinics/<hsa_id>/messages/send")
def messages_send(hsa_id: str) -> Any:
    actor, found = clinic_admin(hsa_id)

    def send() -> Response:
        criteria, channels, templates = _choices()
        sent = bulk.send_bulk(
            db.session(),
            found,
            criteria=criteria,
            channels=channels,
            templates=templates,
            actor_id=actor.subject_key,
            excluded_bookings=frozenset(request.form.getlist("exclude")),
        )
        flash(_l("The message is on its way."))
        return redirect(url_for("admin.messages_report", hsa_id=found.hsa_id, bulk_id=sent.id), code=303)

    return render_or_invalid(lambda **extra: _page(found, **extra), send)


@bp.get("/clinics/<hsa_id>/messages/<bulk_id>")
def messages_report(hsa_id: str, bulk_id: str) -> str:
    _actor, found = clinic_admin(hsa_id)
    report = bulk.report(db.session(), found, bulk_id)
    return render_template("admin/messages_report.html", clinic=found, report=report)


@bp.post("/clinics/<hsa_id>/messages/discreet")
def messages_discreet(hsa_id: str) -> Response:
    actor, found = clinic_admin(hsa_id)
    session = db.session()
    before = is_discreet(session, found.id)
    after = request.form.get("discreet") == "on"
    set_discreet(session, found.id, after)
    changed(actor, "notifications.discreet", found, before=before, after=after)
    flash(_l("Saved."))
    return redirect(url_for("admin.messages", hsa_id=found.hsa_id), code=303)
