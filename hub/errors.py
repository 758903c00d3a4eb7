"""Every error the hub answers with, and the one place that turns errors into responses."""

from __future__ import annotations

import functools
import logging
from typing import Any

from babel import Locale
from flask import Flask, Response, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from clinic_adapters import errors as adapter_errors
from hub.db import roll_back_now

log = logging.getLogger(__name__)


class HubError(Exception):
    """An expected error with a translated message for the user."""

    status = 400
    code = "bad_request"
    default_message = _l("The request could not be handled.")

    def __init__(self, message: Any = None, *, fields: dict[str, list[Any]] | None = None) -> None:
        # The code, not the message: a lazy message is translated only where it is shown, so the
        # error can be raised outside a request (jobs, CLI) too.
        super().__init__(self.code)
        self.message = message or self.default_message
        self.fields = fields or {}


class ValidationFailed(HubError):
    status = 422
    code = "validation_failed"
    default_message = _l("Some of the information is missing or wrong.")


class NotLoggedIn(HubError):
    status = 401
    code = "not_logged_in"
    default_message = _l("Please log in first.")


class Forbidden(HubError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do that.")


class NotFound(HubError):
    status = 404
    code = "not_found"
    default_message = _l("We could not find what you asked for.")


class Conflict(HubError):
    status = 409
    code = "conflict"
    default_message = _l("That could not be done right now.")


class SlotTaken(Conflict):
    code = "slot_taken"
    default_message = _l("Someone else just booked that time. Please choose another time.")


class TooLate(Conflict):
    code = "too_late"
    default_message = _l("It is too late to change this booking online. Please call the clinic.")


class NotAllowed(HubError):
    status = 422
    code = "not_allowed"
    default_message = _l("That time cannot be booked online.")


class RecordSystemUnavailable(HubError):
    status = 503
    code = "record_system_unavailable"
    default_message = _l(
        "The clinic's booking system is not answering right now. Please try again in a while, "
        "or call the clinic."
    )


def from_adapter_error(error: adapter_errors.AdapterError) -> HubError:
    """Translate a timebook's typed error into what the citizen is told."""
    mapping: list[tuple[type[adapter_errors.AdapterError], type[HubError], Any]] = [
        (adapter_errors.Unavailable, RecordSystemUnavailable, None),
        (adapter_errors.SlotTaken, SlotTaken, None),
        (adapter_errors.TooLateToCancel, TooLate, None),
        (adapter_errors.NotAllowed, NotAllowed, None),
        (adapter_errors.NotFound, NotFound, _l("That time or booking does not exist.")),
        (adapter_errors.Refused, Conflict, None),
        (adapter_errors.NotSupported, NotAllowed, _l("The clinic does not offer this online.")),
    ]
    for adapter_type, hub_type, message in mapping:
        if isinstance(error, adapter_type):
            # The record system's own words for the citizen win over ours.
            return hub_type(error.citizen_message or message)
    return RecordSystemUnavailable()


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def render_error(
    status: int, code: str, message: Any, fields: dict[str, list[Any]] | None = None
) -> Response:
    if wants_json():
        body = {
            "code": code,
            "message": str(message),
            "fields": {k: [str(m) for m in v] for k, v in (fields or {}).items()},
        }
        response = jsonify(body)
    else:
        response = Response(
            render_template("error.html", status=status, message=message, fields=fields or {}),
            mimetype="text/html",
        )
    response.status_code = status
    return response


@functools.lru_cache(maxsize=512)
def _default_text(error_class: type[HubError], locale: Locale) -> str:
    return str(error_class.default_message)


def message_text(error: HubError) -> Any:
    """The error's message; a class's own default is translated once per language (a refused
    booking, nine attempts of ten in a rush, spent a twentieth of its time translating it)."""
    if error.message is type(error).default_message:
        return _default_text(type(error), get_locale())
    return error.message


def init_app(app: Flask) -> None:
    @app.errorhandler(HubError)
    def _hub_error(error: HubError) -> Response:
        return render_error(error.status, error.code, message_text(error), error.fields)

    @app.errorhandler(adapter_errors.AdapterError)
    def _adapter_error(error: adapter_errors.AdapterError) -> Response:
        # A refused seat statement still holds the time's row (PostgreSQL locks the conflicting
        # row even when ON CONFLICT's WHERE is false): the other attempts at the time queue
        # behind it, each behind the one before, until the refusal ends its transaction.
        roll_back_now()
        # A taken or refused time is the citizen's ordinary answer; only outages are warnings.
        level = logging.WARNING if isinstance(error, adapter_errors.Unavailable) else logging.DEBUG
        log.log(level, "timebook error: %s", type(error).__name__)
        return _hub_error(from_adapter_error(error))

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Response:
        return render_error(400, "csrf_failed", _l("The form has expired. Please go back and try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        messages = {
            404: _l("We could not find that page."),
            405: _l("That action is not possible here."),
        }
        status = error.code or 500
        return render_error(status, f"http_{status}", messages.get(status, _l("Something went wrong.")))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return render_error(500, "internal_error", _l("Something went wrong on our side. Please try again."))
