"""Admin pages for a clinic's terms texts: write a version, a second person approves it."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

import terms
from clinic_adapters.timezones import utc_now
from hub import db
from hub.admin.access import changed, clinic_admin
from hub.admin.blueprint import blueprint as bp
from hub.admin.views import case_type_of, render_or_invalid
from hub.errors import NotFound, ValidationFailed
from hub.models import CaseType, Clinic

POINT_PROBLEMS = {
    "missing": _l("Write at least one point (one per line)."),
    "too_many": _l("Write at most %(count)s points.", count=terms.operations.MAX_POINTS),
    "too_long": _l("Keep each point under %(count)s characters.", count=terms.operations.MAX_POINT_LENGTH),
}


@bp.get("/clinics/<hsa_id>/terms")
def terms_overview(hsa_id: str) -> str:
    _actor, found = clinic_admin(hsa_id)
    session = db.session()
    rows = [
        (kind, terms.current(session, found.hsa_id, kind), terms.draft_of(session, found.hsa_id, kind))
        for kind in CaseType
    ]
    return render_template("admin/terms_overview.html", clinic=found, rows=rows)


def _terms_page(found: Clinic, kind: CaseType, actor_key: str, **extra: Any) -> str:
    session = db.session()
    draft = terms.draft_of(session, found.hsa_id, kind)
    current = terms.current(session, found.hsa_id, kind)
    start = draft or current
    texts = {lang: "\n".join(start.points.get(lang, [])) if start else "" for lang in terms.LANGUAGES}
    if "posted" in extra:
        texts = extra.pop("posted")
    return render_template(
        "admin/terms.html",
        clinic=found,
        case_type=kind,
        current=current,
        draft=draft,
        history=terms.history(session, found.hsa_id, kind),
        texts=texts,
        actor_key=actor_key,
        **extra,
    )


@bp.route("/clinics/<hsa_id>/terms/<case_type>", methods=["GET", "POST"])
def terms_edit(hsa_id: str, case_type: str) -> Any:
    actor, found = clinic_admin(hsa_id)
    kind = case_type_of(case_type)
    if request.method == "GET":
        return _terms_page(found, kind, actor.subject_key)
    posted = {lang: request.form.get(f"points_{lang}", "")[:20_000] for lang in terms.LANGUAGES}

    def save() -> Response:
        session = db.session()
        previous = terms.draft_of(session, found.hsa_id, kind)
        before = dict(previous.points) if previous else None
        try:
            version = terms.save_draft(
                session,
                found.hsa_id,
                kind,
                {lang: text.splitlines() for lang, text in posted.items()},
                author_key=actor.subject_key,
                now=utc_now(),
            )
        except terms.InvalidPoints as error:
            raise ValidationFailed(
                fields={f"points_{lang}": [POINT_PROBLEMS[code]] for lang, code in error.problems.items()}
            ) from None
        changed(
            actor,
            "terms.draft_saved",
            found,
            before=before,
            after=version.points,
            case_type=kind.value,
            version=version.number,
        )
        flash(_l("Saved. Another administrator must approve the text before citizens see it."))
        return redirect(url_for("admin.terms_edit", hsa_id=found.hsa_id, case_type=kind.value), code=303)

    return render_or_invalid(
        lambda **extra: _terms_page(found, kind, actor.subject_key, posted=posted, **extra), save
    )


@bp.post("/clinics/<hsa_id>/terms/versions/<int:version_id>/approve")
def terms_approve(hsa_id: str, version_id: int) -> Any:
    actor, found = clinic_admin(hsa_id)
    try:
        version = terms.get_version(db.session(), found.hsa_id, version_id)
    except terms.UnknownVersion:
        raise NotFound() from None
    kind = case_type_of(version.case_type)

    def approve() -> Response:
        try:
            terms.approve(db.session(), version, approver_key=actor.subject_key, now=utc_now())
        except terms.SelfApproval:
            raise ValidationFailed(
                _l(
                    "You wrote this version. Another administrator of the clinic, or the region, "
                    "must approve it."
                )
            ) from None
        except terms.NotEditable:
            raise ValidationFailed(_l("This version is already approved.")) from None
        changed(
            actor,
            "terms.approved",
            found,
            before=None,
            after={"version": version.number},
            case_type=kind.value,
            author=version.author_key,
        )
        flash(_l("Approved. Citizens are asked to accept the new version before they continue."))
        return redirect(url_for("admin.terms_edit", hsa_id=found.hsa_id, case_type=kind.value), code=303)

    return render_or_invalid(lambda **extra: _terms_page(found, kind, actor.subject_key, **extra), approve)
