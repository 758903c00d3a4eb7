"""The JSON API: the same booking actions as the pages, for apps and integrations."""

from __future__ import annotations

import functools

from flask import Blueprint, Response, jsonify, request
from flask_babel import lazy_gettext as _l

from hub import db
from hub.auth import adopt_citizen, require_citizen, require_citizen_reference, session_named_citizen
from hub.booking import operations as ops
from hub.booking import search
from hub.booking.schemas import (
    BookingRequest,
    FederatedQuery,
    RebookRequest,
    SeriesBookingRequest,
    SlotQuery,
)
from hub.booking.serialize import booking_json, clinic_json, federated_json, slot_json
from hub.errors import HubError, NotLoggedIn
from hub.schemas import parse
from identity.flask import checks_session_itself

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


class UnsupportedMediaType(HubError):
    status = 415
    code = "unsupported_media_type"
    default_message = _l("Send the request as JSON.")


@blueprint.before_request
def _writes_are_json() -> None:
    # Browsers cannot send JSON cross-site without a preflight, so this keeps other sites' form
    # posts (CSRF) out of the cookie-authenticated API.
    if request.method not in {"GET", "HEAD", "OPTIONS"} and not request.is_json:
        raise UnsupportedMediaType()


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise UnsupportedMediaType()
    return body


def _with_idempotency_header(body: dict) -> dict:
    header = request.headers.get("Idempotency-Key")
    return {**body, "idempotency_key": header} if header and "idempotency_key" not in body else body


@blueprint.get("/clinics")
def clinics() -> Response:
    found = ops.list_clinics(db.session(), request.args.get("municipality"), request.args.get("q"))
    return jsonify(clinics=[clinic_json(c) for c in found])


@blueprint.get("/clinics/<hsa_id>")
def clinic(hsa_id: str) -> Response:
    return jsonify(clinic_json(ops.get_clinic(db.session(), hsa_id), detail=True))


@blueprint.get("/clinics/<hsa_id>/slots")
def slots(hsa_id: str) -> Response:
    found = ops.get_clinic(db.session(), hsa_id)
    query = parse(SlotQuery, request.args)
    listing = ops.free_slots(found, query["slot_type"], query["first_day"], query["last_day"])
    return jsonify(
        clinic=found.hsa_id,
        source=listing.source,
        slots=[slot_json(s, found.timezone) for s in listing.slots],
    )


@blueprint.get("/search/first-free")
def first_free() -> Response:
    query = parse(FederatedQuery, request.args)
    result = search.first_free_times(
        db.session(),
        query["slot_type"],
        municipality=query["municipality"],
        first_day=query["first_day"],
        last_day=query["last_day"],
    )
    return jsonify(federated_json(result, query["limit"]))


@blueprint.post("/bookings")
@checks_session_itself
def create_booking() -> tuple[Response, int]:
    reference = require_citizen_reference()
    data = parse(BookingRequest, _with_idempotency_header(_json_body()))

    def context_for(citizen: tuple[str, str]) -> ops.BookingContext:
        return ops.booking_context(
            db.session(),
            data["clinic"],
            citizen,
            idempotency_key=data["idempotency_key"],
            slot_id=data["slot_id"],
        )

    # One statement checks the e-ID session and reads the citizen, the clinic's settings stamp,
    # the terms status, the booking an earlier request with this key made and whether the time
    # is full.
    context = context_for(reference)
    if reference[0] == "session" and not session_named_citizen(context.session):
        context = context_for(require_citizen_reference())  # the long way: see citizen_reference
    if context.citizen_id is None:
        raise NotLoggedIn()
    booking, created = ops.book(
        db.session(),
        functools.partial(adopt_citizen, context.citizen_id),  # not made for a time that was full
        context.clinic,
        data["slot_id"],
        data["idempotency_key"],
        terms=context.terms,
        earlier=context.earlier_booking_id,
        full_slot_type=context.full_slot_type,
    )
    return jsonify(booking_json(booking, context.clinic)), 201 if created else 200


@blueprint.post("/bookings/series")
def create_series() -> tuple[Response, int]:
    citizen = require_citizen()
    data = parse(SeriesBookingRequest, _with_idempotency_header(_json_body()))
    clinic = ops.get_clinic(db.session(), data["clinic"])
    bookings, created = ops.book_series(
        db.session(), citizen, clinic, data["slot_ids"], data["idempotency_key"]
    )
    return jsonify(bookings=[booking_json(b) for b in bookings]), 201 if created else 200


@blueprint.get("/bookings")
def list_bookings() -> Response:
    citizen = require_citizen()
    return jsonify(bookings=[booking_json(b) for b in ops.my_bookings(db.session(), citizen)])


@blueprint.get("/bookings/<booking_id>")
def show_booking(booking_id: str) -> Response:
    citizen = require_citizen()
    return jsonify(booking_json(ops.own_booking(db.session(), citizen, booking_id)))


@blueprint.post("/bookings/<booking_id>/rebook")
def rebook(booking_id: str) -> Response:
    citizen = require_citizen()
    data = parse(RebookRequest, _json_body())
    return jsonify(booking_json(ops.rebook(db.session(), citizen, booking_id, data["slot_id"])))


@blueprint.post("/bookings/<booking_id>/cancel")
def cancel(booking_id: str) -> Response:
    citizen = require_citizen()
    return jsonify(booking_json(ops.cancel(db.session(), citizen, booking_id)))
