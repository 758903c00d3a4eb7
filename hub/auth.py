"""Who is logged in: the citizen of this browser session.

With e-ID configured, the identity package's server-side session (idle and absolute time-outs,
single logout) decides; the development login, when enabled, is the only other way in.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, session
from sqlalchemy import select

from hub import db
from hub.citizens import Identity, citizen_for_login, lookup_key
from hub.errors import NotLoggedIn
from hub.models import Citizen
from identity.flask import current_subject, deferred_session, settle_session
from identity.subject import Audience


def _login_references() -> list[tuple[str, str]]:
    """Whom the logins of this request name, e-ID first: ("lookup_key", key) or ("id", id)."""
    found = []
    if "identity" in current_app.extensions:
        subject = current_subject()
        if subject is not None and subject.audience == Audience.CITIZEN:
            found.append(("lookup_key", lookup_key(subject.personal_number)))
    if session.get("login_method") == "dev" and current_app.config.get("DEV_LOGIN"):
        citizen_id = session.get("citizen_id")
        if citizen_id:
            found.append(("id", citizen_id))
    return found


def _stored_citizen(by: str, value: str) -> Citizen | None:
    if by == "id":
        return db.session().get(Citizen, value)
    return db.session().scalar(select(Citizen).where(Citizen.lookup_key == value))


def citizen_reference() -> tuple[str, str] | None:
    """Who the login says is here, without reading the database: ("id", citizen id),
    ("lookup_key", key), or ("session", e-ID session id) in a view that checks the e-ID session
    in its own statement (:func:`identity.flask.checks_session_itself`). The caller finds the
    citizen's id (with other things, in one statement), settles a "session" reference with
    :func:`session_named_citizen`, and passes the id to :func:`adopt_citizen`; a login whose
    citizen is gone is refused there."""
    if g.get("current_citizen") is not None:
        return "id", g.current_citizen.id
    if "identity" in current_app.extensions:
        session_id = deferred_session()
        if session_id is not None:
            return "session", session_id
    return next(iter(_login_references()), None)


def session_named_citizen(row: Any) -> bool:
    """Settle the e-ID session a "session" reference named with the row the caller's statement
    read (:data:`identity.sessions.CHECK_COLUMNS`); ``True`` when it is a live citizen session
    whose login named the citizen. Otherwise the caller asks :func:`require_citizen_reference`
    again, which then reads the session in full (an older session) or falls back to another login."""
    check = settle_session(row)
    return check is not None and check.audience == Audience.CITIZEN and check.app_ref is not None


def require_citizen_reference() -> tuple[str, str]:
    reference = citizen_reference()
    if reference is None:
        raise NotLoggedIn()
    return reference


def adopt_citizen(citizen_id: str | None) -> Citizen:
    """The request's citizen, whose id the caller's statement found, without reading the row:
    what else the citizen holds is loaded if and when it is used (booking at the built-in
    calendar needs nothing but the id)."""
    if citizen_id is None:
        raise NotLoggedIn()
    citizen = g.get("current_citizen")
    if citizen is None:
        citizen = db.adopt_stored(db.session(), Citizen, {"id": citizen_id})
        g.current_citizen = citizen
    return citizen


def current_citizen() -> Citizen | None:
    if "current_citizen" not in g:
        found = (_stored_citizen(by, value) for by, value in _login_references())
        g.current_citizen = next((c for c in found if c is not None), None)
    return g.current_citizen


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
    g.pop("current_citizen", None)
    return citizen


def log_out() -> None:
    # The language stays, and so does the form token: the e-ID logout that follows is a form post.
    kept = {key: session[key] for key in ("lang", "csrf_token") if key in session}
    session.clear()
    session.update(kept)
    g.pop("current_citizen", None)
