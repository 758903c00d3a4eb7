"""Who is logged in: the citizen of this browser session."""

from __future__ import annotations

from flask import session

from hub import db
from hub.citizens import Identity, citizen_for_login
from hub.errors import NotLoggedIn
from hub.models import Citizen


def current_citizen() -> Citizen | None:
    citizen_id = session.get("citizen_id")
    return db.session().get(Citizen, citizen_id) if citizen_id else None


def require_citizen() -> Citizen:
    citizen = current_citizen()
    if citizen is None:
        raise NotLoggedIn()
    return citizen


def log_in(identity: Identity, method: str) -> Citizen:
    """Start a fresh session for the person who just proved who they are."""
    citizen = citizen_for_login(db.session(), identity)
    language = session.get("lang")
    session.clear()  # nothing of an earlier visitor's session survives a login
    session["citizen_id"] = citizen.id
    session["login_method"] = method
    if language:
        session["lang"] = language
    return citizen


def log_out() -> None:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
