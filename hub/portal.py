"""The citizen portal: find a clinic, book in steps, see, move and cancel bookings.

Every page works with plain links and forms (no JavaScript needed); ``static/hub.js`` only
enhances the day picker. The booking flow is: clinic → case type → (terms) → slot type →
day and time → confirm → confirmation. A time is chosen with a GET form, so the confirm page can
be bookmarked, reloaded or reached again after logging in; only the confirm page posts.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

import terms
from clinic_adapters.timezones import utc_now
from hub import day_picker, db
from hub.auth import current_citizen, log_out, require_citizen
from hub.booking import operations as ops
from hub.booking import search
from hub.booking.schemas import BookingRequest, FederatedQuery, RebookRequest
from hub.calendar_file import booking_calendar
from hub.change_rules import change_rules
from hub.eid import citizen_login_available
from hub.errors import HubError, NotLoggedIn
from hub.i18n import current_language
from hub.models import Booking, CaseType, Clinic, ClinicSlotType
from hub.schemas import parse
from identity.flask import current_session
from identity.subject import Audience

blueprint = Blueprint("portal", __name__)

# A strict policy: no inline script or style anywhere in the portal (see static/hub.js).
# No form-action: browsers apply it to the redirects after a form post too, and "Log out" posts
# here and is then redirected to the identity provider's single logout on another host.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
TERMS_PAGE = "terms_flow.page"  # the terms package's citizen page (hub/terms_flow.py)
# The identity package's own pages (SAML POST binding) keep whatever policy it sets.
CSP_EXEMPT_BLUEPRINTS = {"identity"}

CASE_TYPE_NAMES = {
    CaseType.BOOK: _l("Book a new time"),
    CaseType.REBOOK_CANCEL: _l("Move or cancel a booked time"),
    CaseType.REQUEST: _l("Ask the clinic for a time"),
    CaseType.CAMPAIGN: _l("Invitations and vaccination campaigns"),
}
STATUS_NAMES = {
    "booked": _l("Booked"),
    "pending_sync": _l("Booked"),
    "cancelled": _l("Cancelled"),
    "conflict": _l("Needs attention"),
    "failed": _l("Not booked"),
    "pending": _l("Being confirmed"),
}
BOOKING_STEPS = (
    _l("What you want to do"),
    _l("Kind of visit"),
    _l("Day and time"),
    _l("Confirm"),
    _l("Booked"),
)


# -- page-wide helpers -----------------------------------------------------------------------------


def _eid_providers() -> list[tuple[str, str]]:
    service = current_app.extensions.get("identity")
    if service is None:
        return []
    settings = service.settings
    found = [(i.key, i.label) for i in settings.saml_idps if i.audience is Audience.CITIZEN]
    return found + [(o.key, o.label) for o in settings.oidc_providers if o.audience is Audience.CITIZEN]


def _local_back_url() -> str | None:
    """Return the page the user came from when it is one of ours (a way forward on error pages)."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host or not parts.path.startswith("/") or parts.path == request.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@blueprint.app_context_processor
def _page_globals() -> dict[str, Any]:
    return {
        "citizen": current_citizen(),
        "dev_login": current_app.config.get("DEV_LOGIN"),
        "eid_login": citizen_login_available(),
        "eid_providers": _eid_providers,
        "back_url": _local_back_url,
        "case_type_names": CASE_TYPE_NAMES,
        "status_names": STATUS_NAMES,
        "booking_steps": BOOKING_STEPS,
    }


@blueprint.after_app_request
def _security_headers(response: Response) -> Response:
    if response.mimetype == "text/html" and request.blueprint not in CSP_EXEMPT_BLUEPRINTS:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _terms_url(clinic: Clinic, case_type: str, next_url: str) -> str | None:
    """Return the terms page for a clinic's case type, when the terms flow is installed."""
    if TERMS_PAGE not in current_app.view_functions:
        return None
    return url_for(TERMS_PAGE, hsa_id=clinic.hsa_id, case_type=case_type, next=next_url)


def _terms_to_accept(clinic: Clinic, case_type: CaseType) -> bool:
    """Whether the logged-in citizen still has to accept the clinic's current terms.

    Visitors who are not logged in look at free times first; the booking's terms gate sends them
    to the terms after logging in, and back to the time they chose.
    """
    citizen = current_citizen()
    return citizen is not None and not terms.has_accepted(db.session(), clinic.hsa_id, case_type, citizen.id)


# -- directory ---------------------------------------------------------------------------------------


@blueprint.get("/")
def index() -> str:
    municipality = request.args.get("municipality") or None
    query = request.args.get("q") or None
    case_type = request.args.get("case_type") or None
    if case_type not in {*CaseType, None}:
        case_type = None
    clinics = ops.list_clinics(db.session(), municipality, query)
    if case_type:
        clinics = [c for c in clinics if case_type in c.enabled_case_types()]
    return render_template(
        "index.html",
        clinics=clinics,
        municipalities=ops.municipalities(db.session()),
        municipality=municipality,
        case_type=case_type,
        q=query or "",
        searched=bool(query or municipality or case_type),
    )


@blueprint.get("/clinics/<hsa_id>")
def clinic(hsa_id: str) -> str:
    found = ops.get_clinic(db.session(), hsa_id)
    return render_template(
        "clinic.html",
        clinic=found,
        slot_types=ops.shown_slot_types(found),
        case_types=[c for c in CaseType if c in found.enabled_case_types()],
    )


# -- the booking flow --------------------------------------------------------------------------------


@blueprint.get("/clinics/<hsa_id>/book")
def choose_case_type(hsa_id: str) -> str | Response:
    found = ops.get_clinic(db.session(), hsa_id)
    offered = [c for c in CaseType if c in found.enabled_case_types()]
    chosen = request.args.get("case_type")
    if chosen == CaseType.BOOK and chosen in offered:
        target = url_for("portal.choose_slot_type", hsa_id=found.hsa_id)
        terms_page = _terms_url(found, chosen, target) if _terms_to_accept(found, CaseType.BOOK) else None
        return redirect(terms_page or target)
    if chosen == CaseType.REBOOK_CANCEL and chosen in offered:
        return redirect(url_for("portal.my_bookings"))
    error = _l("Choose what you want to do.") if "case_type" in request.args and not chosen else None
    return render_template(
        "book_case_type.html",
        clinic=found,
        case_types=offered,
        chosen=chosen if chosen in offered else None,
        error=error,
    )


@blueprint.get("/clinics/<hsa_id>/book/kind")
def choose_slot_type(hsa_id: str) -> str:
    found = ops.get_clinic(db.session(), hsa_id)
    ops.require_case_type(found, CaseType.BOOK)
    return render_template("book_slot_type.html", clinic=found, slot_types=ops.shown_slot_types(found))


@blueprint.get("/clinics/<hsa_id>/times")
def times(hsa_id: str) -> str:
    found = ops.get_clinic(db.session(), hsa_id)
    slot_type = ops.shown_slot_type(found, request.args.get("slot_type", ""))
    return render_template(
        "times.html",
        clinic=found,
        slot_type=slot_type,
        confirm_url=url_for("portal.confirm", hsa_id=found.hsa_id),
        picker_url=url_for("portal.times", hsa_id=found.hsa_id),
        **day_picker.page_context(found, slot_type.code, request.args),
    )


@blueprint.get("/clinics/<hsa_id>/confirm")
def confirm(hsa_id: str) -> str | Response:
    found = ops.get_clinic(db.session(), hsa_id)
    slot_type = ops.shown_slot_type(found, request.args.get("slot_type", ""))
    day = day_picker.parse_day(request.args.get("day"))
    back = {"hsa_id": found.hsa_id, "slot_type": slot_type.code, "day": day.isoformat() if day else None}
    slot_id = request.args.get("slot", "")
    if not slot_id:
        return redirect(url_for("portal.times", **back, missing=1))
    slot = day_picker.find_slot(found, slot_type.code, day, slot_id)
    if slot is None:
        return redirect(url_for("portal.times", **back, taken=1))
    return render_template(
        "confirm.html",
        clinic=found,
        slot_type=slot_type,
        slot=slot,
        day=day,
        action=url_for("portal.book"),
        back_to_times=url_for("portal.times", **back),
        idempotency_key=str(uuid.uuid4()),  # one per page view: a double click books once
    )


@blueprint.post("/bookings")
def book() -> Response:
    citizen = current_citizen()
    if citizen is None:
        raise NotLoggedIn()
    data = parse(BookingRequest, request.form)
    clinic = ops.get_clinic(db.session(), data["clinic"])
    try:
        booking, _created = ops.book(db.session(), citizen, clinic, data["slot_id"], data["idempotency_key"])
    except HubError as error:
        terms = _terms_url(clinic, CaseType.BOOK, _confirm_again_url(clinic)) if _needs_terms(error) else None
        if terms is None:
            raise
        db.session().rollback()  # nothing of the refused attempt may be kept
        return redirect(terms, code=303)
    return redirect(url_for("portal.booking", booking_id=booking.id, confirmed=1))


def _needs_terms(error: HubError) -> bool:
    return getattr(error, "code", None) == "terms_not_accepted"


def _confirm_again_url(clinic: Clinic) -> str:
    """The confirm page the citizen left for the terms, so their chosen time is not lost."""
    return url_for(
        "portal.confirm",
        hsa_id=clinic.hsa_id,
        slot_type=request.form.get("slot_type", ""),
        day=request.form.get("day", ""),
        slot=request.form.get("slot_id", ""),
    )


# -- my bookings -------------------------------------------------------------------------------------


@blueprint.get("/bookings")
def my_bookings() -> str | tuple[str, int]:
    citizen = current_citizen()
    if citizen is None:
        return render_template("login_needed.html"), 401
    now = utc_now()
    bookings = ops.my_bookings(db.session(), citizen)
    upcoming = [b for b in bookings if b.is_active and b.starts_at and b.starts_at >= now]
    earlier = [b for b in reversed(bookings) if b not in upcoming]
    rules = {b.id: change_rules(db.session(), b, now) for b in upcoming}
    return render_template(
        "my_bookings.html",
        upcoming=upcoming,
        earlier=earlier,
        rules=rules,
        slot_type_names=_slot_type_names(bookings),
        cancelled=bool(request.args.get("cancelled")),
    )


def _slot_type_names(bookings: list[Booking]) -> dict[tuple[int, str], str]:
    language = current_language()
    names: dict[tuple[int, str], str] = {}
    for booking in bookings:
        for slot_type in booking.clinic.slot_types:
            names[(booking.clinic_id, slot_type.code)] = slot_type.name_in(language)
    return names


@blueprint.get("/bookings/<booking_id>")
def booking(booking_id: str) -> str:
    citizen = require_citizen()
    found = ops.own_booking(db.session(), citizen, booking_id)
    return render_template(
        "booking.html",
        booking=found,
        rules=change_rules(db.session(), found, utc_now()),
        slot_type_name=_slot_type_names([found]).get((found.clinic_id, found.slot_type_code or "")),
        confirmed=request.args.get("confirmed"),
        moved=request.args.get("moved"),
    )


@blueprint.get("/bookings/<booking_id>/calendar.ics")
def calendar_file(booking_id: str) -> Response:
    citizen = require_citizen()
    found = ops.own_booking(db.session(), citizen, booking_id)
    if found.starts_at is None:
        abort(404)
    title = _slot_type_names([found]).get((found.clinic_id, found.slot_type_code or "")) or found.clinic.name
    page = url_for("portal.booking", booking_id=found.id, _external=True)
    response = Response(booking_calendar(found, title, page), mimetype="text/calendar")
    # A neutral file name: it ends up in download folders and must not name the visit.
    response.headers["Content-Disposition"] = 'attachment; filename="booking.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/bookings/<booking_id>/rebook")
def rebook_times(booking_id: str) -> str:
    citizen = require_citizen()
    found = ops.own_booking(db.session(), citizen, booking_id)
    slot_type = ops.shown_slot_type(found.clinic, found.slot_type_code or "")
    return render_template(
        "times.html",
        clinic=found.clinic,
        slot_type=slot_type,
        rebooking=found,
        confirm_url=url_for("portal.rebook_confirm", booking_id=found.id),
        picker_url=url_for("portal.rebook_times", booking_id=found.id),
        **day_picker.page_context(found.clinic, slot_type.code, request.args),
    )


@blueprint.get("/bookings/<booking_id>/rebook/confirm")
def rebook_confirm(booking_id: str) -> str | Response:
    citizen = require_citizen()
    found = ops.own_booking(db.session(), citizen, booking_id)
    slot_type = ops.shown_slot_type(found.clinic, found.slot_type_code or "")
    day = day_picker.parse_day(request.args.get("day"))
    back = {"booking_id": found.id, "day": day.isoformat() if day else None}
    slot_id = request.args.get("slot", "")
    if not slot_id:
        return redirect(url_for("portal.rebook_times", **back, missing=1))
    slot = day_picker.find_slot(found.clinic, slot_type.code, day, slot_id)
    if slot is None:
        return redirect(url_for("portal.rebook_times", **back, taken=1))
    return render_template(
        "confirm.html",
        clinic=found.clinic,
        slot_type=slot_type,
        slot=slot,
        day=day,
        rebooking=found,
        action=url_for("portal.rebook", booking_id=found.id),
        back_to_times=url_for("portal.rebook_times", **back),
    )


@blueprint.post("/bookings/<booking_id>/rebook")
def rebook(booking_id: str) -> Response:
    citizen = require_citizen()
    data = parse(RebookRequest, request.form)
    ops.rebook(db.session(), citizen, booking_id, data["slot_id"])
    return redirect(url_for("portal.booking", booking_id=booking_id, moved=1))


@blueprint.get("/bookings/<booking_id>/cancel")
def cancel_page(booking_id: str) -> str:
    citizen = require_citizen()
    found = ops.own_booking(db.session(), citizen, booking_id)
    return render_template("cancel.html", booking=found, rules=change_rules(db.session(), found, utc_now()))


@blueprint.post("/bookings/<booking_id>/cancel")
def cancel(booking_id: str) -> Response:
    citizen = require_citizen()
    ops.cancel(db.session(), citizen, booking_id)
    return redirect(url_for("portal.my_bookings", cancelled=1))


# -- first free times across clinics -----------------------------------------------------------------


def _searchable_slot_types() -> list[tuple[str, str]]:
    """The slot types some active clinic shows, named in the user's language."""
    language = current_language()
    rows = db.session().scalars(
        select(ClinicSlotType)
        .join(Clinic, Clinic.id == ClinicSlotType.clinic_id)
        .where(ClinicSlotType.visible.is_(True), Clinic.active.is_(True))
        .order_by(ClinicSlotType.code)
    )
    names: dict[str, str] = {}
    for row in rows:
        names.setdefault(row.code, row.name_in(language))
    return sorted(names.items(), key=lambda pair: pair[1])


@blueprint.get("/search")
def search_times() -> str:
    slot_type = request.args.get("slot_type") or None
    result = None
    if slot_type:
        query = parse(FederatedQuery, request.args)
        result = search.first_free_times(
            db.session(),
            slot_type,
            municipality=query["municipality"] or None,
            first_day=query["first_day"],
            last_day=query["last_day"],
        )
    return render_template(
        "search.html",
        result=result,
        slot_type=slot_type,
        slot_types=_searchable_slot_types(),
        municipality=request.args.get("municipality") or "",
        municipalities=ops.municipalities(db.session()),
    )


# -- language and logout -----------------------------------------------------------------------------


@blueprint.post("/language")
def language() -> Response:
    chosen = request.form.get("lang")
    if chosen not in current_app.config["LANGUAGES"]:
        abort(400)
    session["lang"] = chosen
    target = request.form.get("next") or "/"
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")


@blueprint.post("/logout")
def logout() -> Response:
    log_out()
    if current_session() is not None:
        # The e-ID session ends too, at the identity provider where it supports single logout.
        return redirect(url_for("identity.logout"), code=307)
    return redirect(url_for("portal.index", logged_out=1))
