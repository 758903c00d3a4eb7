"""A clearly labelled test login for development and the demo; never in production.

It is registered only when ``DEV_LOGIN`` is on, and the app refuses to start with it under
production settings (see :func:`hub.config.check`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for

from hub import db
from hub.audit import record
from hub.auth import log_in
from hub.citizens import Identity

blueprint = Blueprint("devlogin", __name__)


@dataclass(frozen=True)
class TestPerson:
    key: str
    personal_number: str  # Luhn-valid numbers in the style of Skatteverket's test persons
    given_name: str
    family_name: str


TEST_PERSONS = (
    TestPerson("tolvan", "191212121212", "Tolvan", "Tolvansson"),
    TestPerson("anna", "198112189876", "Anna", "Lindqvist"),
    TestPerson("erik", "194107079883", "Erik", "Johansson"),
    TestPerson("fatima", "197310102384", "Fatima", "Hassan"),
    TestPerson("elsa", "200504112384", "Elsa", "Nilsson"),
)


def _enabled() -> None:
    if not current_app.config.get("DEV_LOGIN") or current_app.config["HUB_ENV"] == "production":
        abort(404)


@blueprint.get("/dev-login")
def choose() -> str:
    _enabled()
    return render_template("devlogin.html", persons=TEST_PERSONS, next=request.args.get("next", ""))


@blueprint.post("/dev-login")
def login() -> Response:
    _enabled()
    person = next((p for p in TEST_PERSONS if p.key == request.form.get("person")), None)
    if person is None:
        abort(400)
    citizen = log_in(Identity(person.personal_number, person.given_name, person.family_name), "dev")
    record(db.session(), actor_kind="citizen", actor_id=citizen.id, action="login", method="dev")
    target = request.form.get("next", "")
    # Only local paths: an open redirect after login is a phishing gift.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("portal.my_bookings")
    return redirect(target)
