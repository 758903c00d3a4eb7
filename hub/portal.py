"""Minimal server-rendered citizen pages: clinics → free times → book → my bookings."""

from __future__ import annotations

import uuid
from itertools import groupby

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

from clinic_adapters.timezones import to_local, utc_now
from hub import db
from hub.auth import current_citizen, log_out, require_citizen
from hub.booking import operations as ops
from hub.booking import search
from hub.booking.schemas import BookingRequest, FederatedQuery, RebookRequest, SlotQuery
from hub.errors import NotLoggedIn
from hub.schemas import parse
from identity.flask import current_session

blueprint = Blueprint("portal", __name__)


@blueprint.app_context_processor
def _page_globals() -> dict:
    return {
        "citizen": current_citizen(),
        "dev_login": current_app.config.get("DEV_LOGIN"),
        "eid_login": "identity" in current_app.extensions,
    }


def _by_day(slots: list, tz_name: str) -> list:
    return [
        (day, list(group)) for day, group in groupby(slots, key=lambda s: to_local(s.start, tz_name).date())
    ]


@blueprint.get("/")
def index() -> str:
    municipality = request.args.get("municipality") or None
    query = request.args.get("q") or None
    clinics = ops.list_clinics(db.session(), municipality, query)
    return render_template(
        "index.html",
        clinics=clinics,
        municipalities=ops.municipalities(db.session()),
        municipality=municipality,
        q=query or "",
    )


@blueprint.get("/clinics/<hsa_id>")
def clinic(hsa_id: str) -> str:
    found = ops.get_clinic(db.session(), hsa_id)
    return render_template("clinic.html", clinic=found, slot_types=ops.shown_slot_types(found))


@blueprint.get("/clinics/<hsa_id>/times")
def times(hsa_id: str) -> str:
    found = ops.get_clinic(db.session(), hsa_id)
    query = parse(SlotQuery(), request.args)
    slot_type = ops.shown_slot_type(found, query["slot_type"])
    listing = ops.free_slots(found, slot_type.code, query["first_day"], query["last_day"])
    return render_template(
        "times.html",
        clinic=found,
        slot_type=slot_type,
        source=listing.source,
        days=_by_day(listing.slots, found.timezone),
        idempotency_key=str(uuid.uuid4()),  # one per page view: a double click books once
        action=url_for("portal.book"),
    )


@blueprint.get("/search")
def search_times() -> str:
    slot_type = request.args.get("slot_type") or None
    result = None
    if slot_type:
        query = parse(FederatedQuery(), request.args)
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
        municipality=request.args.get("municipality") or "",
        municipalities=ops.municipalities(db.session()),
        idempotency_key=str(uuid.uuid4()),
    )


@blueprint.post("/bookings")
def book() -> Response:
    citizen = current_citizen()
    if citizen is None:
        raise NotLoggedIn()
    data = parse(BookingRequest(), request.form)
    clinic = ops.get_clinic(db.session(), data["clinic"])
    booking, _created = ops.book(db.session(), citizen, clinic, data["slot_id"], data["idempotency_key"])
    return redirect(url_for("portal.booking", booking_id=booking.id, confirmed=1))


@blueprint.get("/bookings")
def my_bookings() -> str:
    citizen = current_citizen()
    if citizen is None:
        return render_template("login_needed.html")
    now = utc_now()
    bookings = ops.my_bookings(db.session(), citizen)
    upcoming = [b for b in bookings if b.is_active and b.starts_at and b.starts_at >= now]
    earlier = [b for b in bookings if b not in upcoming]
    return render_template("my_bookings.html", upcoming=upcoming, earlier=earlier)


@blueprint.get("/bookings/<booking_id>")
def booking(booking_id: str) -> str:
    citizen = require_citizen()
    found = ops.own_booking(db.session(), citizen, booking_id)
    return render_template("booking.html", booking=found, confirmed=request.args.get("confirmed"))


@blueprint.get("/bookings/<booking_id>/rebook")
def rebook_times(booking_id: str) -> str:
    citizen = require_citizen()
    found = ops.own_booking(db.session(), citizen, booking_id)
    query = parse(SlotQuery(), {**request.args, "slot_type": found.slot_type_code})
    listing = ops.free_slots(found.clinic, found.slot_type_code or "", query["first_day"], query["last_day"])
    return render_template(
        "times.html",
        clinic=found.clinic,
        slot_type=ops.shown_slot_type(found.clinic, found.slot_type_code or ""),
        source=listing.source,
        days=_by_day(listing.slots, found.clinic.timezone),
        rebooking=found,
        action=url_for("portal.rebook", booking_id=found.id),
    )


@blueprint.post("/bookings/<booking_id>/rebook")
def rebook(booking_id: str) -> Response:
    citizen = require_citizen()
    data = parse(RebookRequest(), request.form)
    ops.rebook(db.session(), citizen, booking_id, data["slot_id"])
    return redirect(url_for("portal.booking", booking_id=booking_id, confirmed=1))


@blueprint.post("/bookings/<booking_id>/cancel")
def cancel(booking_id: str) -> Response:
    citizen = require_citizen()
    ops.cancel(db.session(), citizen, booking_id)
    return redirect(url_for("portal.my_bookings"))


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
    return redirect(url_for("portal.index"))
