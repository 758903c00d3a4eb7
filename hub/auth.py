"""Who is logged in: the citizen of this browser session.

With e-ID configured, the identity package's server-side session (idle and absolute time-outs,
single logout) decides; the development login, when enabled, is the only other way in.
"""

from __future__ import annotations

from flask import current_app, g, session
from sqlalchemy import select

from hub import db
from hub.citizens import Identity, citizen_for_login, lookup_key
from hub.errors import NotLoggedIn
from hub.models import Citizen
from identity.flask import current_subject
from identity.subject import Audience


def _eid_citizen() -> Citizen | None:
    if "identity" not in current_app.extensions:
        return None
    subject = current_subject()
    if subject is None or subject.audience != Audience.CITIZEN:
        return None
    return db.session().scalar(
        select(Citizen).where(Citizen.lookup_key == lookup_key(subject.personal_number))
    )


def _dev_citizen() -> Citizen | None:
    if session.get("login_method") != "dev" or not current_app.config.get("DEV_LOGIN"):
        return None
    citizen_id = session.get("citizen_id")
    return db.session().get(Citizen, citizen_id) if citizen_id else None


def current_citizen() -> Citizen | None:
    if "current_citizen" not in g:
        g.current_citizen = _eid_citizen() or _dev_citizen()
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
