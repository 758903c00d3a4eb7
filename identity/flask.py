"""The Flask face of identity: login routes, SAML/OIDC endpoints, and the session middleware.

The hub registers the blueprint; everything else (which page follows a login, the transaction
commit) stays with the hub. Identity code only flushes the session ``session_factory`` returns.

Wiring, in the app factory::

    settings = settings_from_mapping(app.config["IDENTITY"])   # or IdentitySettings(...)
    bp = create_identity_blueprint(settings, db.session, on_login)
    app.register_blueprint(bp, url_prefix="/identity")          # must match settings.public_url

    def on_login(subject: VerifiedSubject) -> Response:          # after the session exists
        ...                                                      # e.g. find/create the citizen
        return redirect(return_to() or url_for("portal.home"))

In views: ``current_subject()``, ``current_actor()``, ``require(Action.MANAGE_CLINIC, hsa_id)``
(401/403), or ``roles.can(actor, action, clinic_id)`` for a yes/no. Routes (under the prefix):
``/login``, ``/staff/login``, ``/login/<key>``, ``/saml/metadata``, ``/saml/acs`` (POST, CSRF-exempt),
``/saml/slo``, ``/oidc/callback``, ``/logout`` (POST, with the hub's CSRF token), ``/logged-out``.
Templates ``identity/login.html`` and ``identity/message.html`` can be overridden by the hub.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from identity import crypto, roles, sessions
from identity.errors import LoginRefused, Reason
from identity.last_seen import LastSeenWriter
from identity.models import LoginRequest
from identity.oidc_rp import RelyingParty
from identity.personal_numbers import redact
from identity.saml_sp import ServiceProvider
from identity.settings import IdentitySettings
from identity.store import digest
from identity.subject import Audience, VerifiedSubject

log = logging.getLogger(__name__)

EXTENSION = "identity"
# Flask-WTF's name for the ACS view; exempt it from CSRF if CSRFProtect is set up after the blueprint.
ACS_VIEW = f"{__name__}.saml_acs"
F = TypeVar("F", bound=Callable[..., Any])

# Shown to the user; the reason code goes to the log only.
_MESSAGES = {
    Reason.TOO_YOUNG: lazy_gettext("You are too young to use this service on your own."),
    Reason.INVALID_PERSONAL_NUMBER: lazy_gettext(
        "Your e-ID did not give a personal identity number we can use."
    ),
    Reason.LOA_TOO_LOW: lazy_gettext("Your e-ID does not meet the level of assurance this service requires."),
    Reason.PROVIDER_ERROR: lazy_gettext("The e-ID service could not complete the login. Please try again."),
}
_DEFAULT_MESSAGE = lazy_gettext("The login could not be completed. Please start again.")


@dataclass
class IdentityService:
    """What the blueprint and the helpers share, kept in ``app.extensions['identity']``."""

    settings: IdentitySettings
    session_factory: Callable[[], Session]
    on_login: Callable[[VerifiedSubject], Response]
    saml: ServiceProvider | None
    oidc: dict[str, RelyingParty] = field(default_factory=dict)
    last_seen: LastSeenWriter | None = None  # None: activity is written in the request's transaction

    @property
    def policy(self) -> sessions.SessionPolicy:
        return sessions.SessionPolicy(
            idle_timeout=self.settings.idle_timeout,
            absolute_timeout=self.settings.absolute_timeout,
            secret_key=self.settings.secret_key,
        )


def create_identity_blueprint(
    settings: IdentitySettings,
    session_factory: Callable[[], Session],
    on_login: Callable[[VerifiedSubject], Response],
    *,
    name: str = "identity",
    open_session: Callable[[], AbstractContextManager[Session]] | None = None,
) -> Blueprint:
    """Build the identity blueprint; register it at the path ``settings.public_url`` names.

    ``on_login(subject)`` is called after every successful login, with the new session already
    created, and returns the response (usually a redirect; ``return_to()`` tells where the user
    was going). Registering the blueprint also installs the app-wide session middleware.
    ``open_session()`` (a session of its own, committed when its block ends) lets sessions'
    activity be written behind the requests (:mod:`identity.last_seen`).
    """
    service = IdentityService(
        settings=settings,
        session_factory=session_factory,
        on_login=on_login,
        saml=ServiceProvider(settings) if settings.saml_idps else None,
        oidc={op.key: RelyingParty(settings, op) for op in settings.oidc_providers},
        last_seen=LastSeenWriter(open_session) if open_session is not None else None,
    )
    bp = Blueprint(name, __name__, template_folder="templates")
    bp.record_once(lambda state: _install(state.app, service))
    bp.before_app_request(_load_session)
    bp.after_app_request(_write_cookies)

    @bp.after_request
    def no_store(response: Response) -> Response:
        # Login pages and answers must never come from a cache.
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/login")
    def choose() -> str:
        return _chooser(service, Audience.CITIZEN)

    @bp.get("/staff/login")
    def choose_staff() -> str:
        return _chooser(service, Audience.STAFF)

    @bp.get("/login/<key>")
    def begin(key: str) -> Response:
        db = service.session_factory()
        browser = _flow_token()
        # The answer may arrive as a cross-site POST, without our SameSite=Lax session cookie:
        # note now which session this login replaces, so rotation still ends it.
        previous = request.cookies.get(settings.session_cookie_name)
        context = {
            "return_to": _safe_return_to(request.args.get("next")),
            "previous_session": digest(previous) if previous else None,
        }
        if settings.saml_idp(key) is not None and service.saml is not None:
            url = service.saml.begin_login(db, key, browser=browser, context=context)
        elif key in service.oidc:
            try:
                url = service.oidc[key].begin_login(db, browser=browser, context=context)
            except LoginRefused as refused:
                return _refused(refused, key)
        else:
            abort(404)
        return redirect(url, code=303)

    @bp.get("/saml/metadata")
    def saml_metadata() -> Response:
        if service.saml is None:
            abort(404)
        return Response(service.saml.metadata(), mimetype="application/samlmetadata+xml")

    @bp.post("/saml/acs")
    def saml_acs() -> Response:
        if service.saml is None:
            abort(404)
        db = service.session_factory()
        try:
            login = service.saml.complete_login(
                db, request.form.get("SAMLResponse"), browser=request.cookies.get(settings.flow_cookie_name)
            )
        except LoginRefused as refused:
            return _refused(refused, "saml")
        return _finish(service, login.subject, "saml", login.idp_session, login.name_id, login.context)

    @bp.get("/saml/slo")
    def saml_slo() -> Response:
        if service.saml is None:
            abort(404)
        db = service.session_factory()
        try:
            outcome = service.saml.handle_logout_message(
                db, request.args.to_dict(), browser=request.cookies.get(settings.flow_cookie_name)
            )
        except LoginRefused as refused:
            log.warning(
                "saml logout message refused: reason=%s detail=%s",
                refused.reason.value,
                redact(refused.detail),
            )
            return redirect(settings.post_logout_url, code=303)
        if outcome.ended_idp_subject is not None:
            idp, name_id, session_index = outcome.ended_idp_subject
            count = sessions.end_for_idp_subject(db, idp, name_id or "", session_index) if name_id else 0
            log.info("identity provider ended sessions: idp=%s count=%d", idp, count)
        return redirect(outcome.redirect or settings.post_logout_url, code=303)

    @bp.get("/oidc/callback")
    def oidc_callback() -> Response:
        db = service.session_factory()
        browser = request.cookies.get(settings.flow_cookie_name)
        # Which provider: the state row we kept says so.
        key = _oidc_key_for_state(db, request.args.get("state"))
        rp = service.oidc.get(key or "")
        if rp is None:
            return _refused(LoginRefused(Reason.STATE, "unknown state"), "oidc")
        try:
            login = rp.complete_login(db, request.args, browser=browser)
        except LoginRefused as refused:
            return _refused(refused, rp.provider.key)
        return _finish(
            service,
            login.subject,
            "oidc",
            {"idp": rp.provider.key, "id_token": login.id_token},
            login.sub,
            login.context,
        )

    @bp.post("/logout")
    def logout() -> Response:
        return _logout(service)

    @bp.get("/logged-out")
    def logged_out() -> Response:
        return redirect(settings.post_logout_url, code=303)

    return bp


# --- session middleware -----------------------------------------------------------------


def _install(app: Any, service: IdentityService) -> None:
    app.extensions[EXTENSION] = service
    # The IdP's answer is a cross-site POST that cannot carry the hub's CSRF token; it is
    # protected by its signature and the single-use request id instead.
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(ACS_VIEW)


def _service() -> IdentityService:
    return current_app.extensions[EXTENSION]


def _load_session() -> None:
    service = _service()
    token = request.cookies.get(service.settings.session_cookie_name)
    g.identity_session = None
    if not token:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, _CHECKS_SESSION, False):
        del g.identity_session  # read when asked for, unless the view's own statement settles it
        g.identity_token = token
        return
    _settle(_read_session(service, token))


def _read_session(service: IdentityService, token: str) -> sessions.ActiveSession | None:
    return sessions.load(
        service.session_factory(),
        service.policy,
        token,
        now=service.settings.clock(),
        last_seen=service.last_seen,
    )


def _settle(active: sessions.ActiveSession | None) -> None:
    if active is None:
        g.identity_clear_cookie = True
    g.identity_session = active


def _write_cookies(response: Response) -> Response:
    service = _service()
    settings = service.settings
    new_token = g.pop("identity_new_token", None)
    if new_token:
        response.set_cookie(
            settings.session_cookie_name,
            new_token,
            httponly=True,
            secure=settings.cookie_secure,
            samesite="Lax",
            path="/",
        )
    elif g.pop("identity_clear_cookie", False):
        response.delete_cookie(
            settings.session_cookie_name, path="/", secure=settings.cookie_secure, httponly=True
        )
    flow = g.pop("identity_new_flow", None)
    if flow:
        # The IdP's answer comes as a cross-site POST: SameSite=None, which browsers allow only with Secure.
        response.set_cookie(
            settings.flow_cookie_name,
            flow,
            max_age=int(settings.login_request_ttl.total_seconds()),
            httponly=True,
            secure=settings.cookie_secure,
            samesite="None" if settings.cookie_secure else "Lax",
            path="/",
        )
    return response


def _flow_token() -> str:
    service = _service()
    existing = request.cookies.get(service.settings.flow_cookie_name)
    token = existing if existing and 20 <= len(existing) <= 128 else secrets.token_urlsafe(32)
    # Set it again even when it exists, so its lifetime covers this newest request too.
    g.identity_new_flow = token
    return token


# --- login and logout -------------------------------------------------------------------


def _finish(
    service: IdentityService,
    subject: VerifiedSubject,
    protocol: str,
    idp_session: dict[str, Any],
    idp_subject: str | None,
    context: dict[str, Any],
) -> Response:
    settings = service.settings
    now = settings.clock()
    if subject.audience is Audience.CITIZEN and settings.minimum_age > 0:
        age = subject.age_on(now.date())
        if age is None or age < settings.minimum_age:
            return _refused(LoginRefused(Reason.TOO_YOUNG, "below the minimum age"), subject.idp)
    db = service.session_factory()
    previous = request.cookies.get(settings.session_cookie_name)
    if context.get("previous_session"):
        sessions.end_by_id(db, context["previous_session"])
    token = sessions.start(
        db,
        service.policy,
        subject,
        protocol=protocol,
        idp_session=idp_session,
        idp_subject=idp_subject,
        now=now,
        previous_token=previous,
    )
    g.identity_new_token = token
    g.identity_session = sessions.load(db, service.policy, token, now=now)
    g.identity_return_to = context.get("return_to")
    log.info(
        "login: idp=%s protocol=%s audience=%s loa=%s subject=%s",
        subject.idp,
        protocol,
        subject.audience.value,
        subject.loa,
        g.identity_session.subject_key[:12] if g.identity_session else "-",
    )
    return service.on_login(subject)


def _logout(service: IdentityService) -> Response:
    settings = service.settings
    token = request.cookies.get(settings.session_cookie_name)
    db = service.session_factory()
    ended = sessions.end(db, service.policy, token) if token else None
    g.identity_clear_cookie = True
    g.identity_session = None
    if ended is None:
        return redirect(settings.post_logout_url, code=303)
    log.info("logout: idp=%s protocol=%s", ended.subject.idp, ended.protocol)
    idp_key = ended.idp_session.get("idp", ended.subject.idp)
    if ended.protocol == "saml" and service.saml is not None and service.saml.supports_logout(idp_key):
        try:
            return redirect(service.saml.begin_logout(db, ended.idp_session, browser=_flow_token()), code=303)
        except LoginRefused as refused:
            log.warning("saml logout not started: reason=%s", refused.reason.value)
    rp = service.oidc.get(idp_key)
    if ended.protocol == "oidc" and rp is not None:
        url = rp.logout_url(ended.idp_session.get("id_token", ""), settings.base + "/logged-out")
        if url:
            return redirect(url, code=303)
    return redirect(settings.post_logout_url, code=303)


def _refused(refused: LoginRefused, idp: str) -> Response:
    log.warning(
        "login refused: idp=%s reason=%s detail=%s", idp, refused.reason.value, redact(refused.detail)
    )
    message = _MESSAGES.get(refused.reason, _DEFAULT_MESSAGE)
    status = 403 if refused.reason is Reason.TOO_YOUNG else 400
    # All text comes translated from here, so the hub's babel.cfg needs no template entry for us.
    body = render_template(
        "identity/message.html",
        title=gettext("Login failed"),
        message=message,
        again=gettext("Log in again"),
        reason=refused.reason.value,
    )
    return Response(body, status=status, mimetype="text/html")


def _chooser(service: IdentityService, audience: Audience) -> str:
    providers = [(idp.key, idp.label) for idp in service.settings.saml_idps if idp.audience is audience]
    providers += [(op.key, op.label) for op in service.settings.oidc_providers if op.audience is audience]
    title = gettext("Log in with e-ID") if audience is Audience.CITIZEN else gettext("Staff login")
    return render_template(
        "identity/login.html",
        title=title,
        providers=providers,
        none_configured=gettext("No e-ID service is configured."),
        next=_safe_return_to(request.args.get("next")),
    )


def _oidc_key_for_state(db: Session, state: str | None) -> str | None:
    if not state or len(state) > 128:
        return None
    return db.scalar(
        select(LoginRequest.idp).where(LoginRequest.id == state, LoginRequest.protocol == "oidc")
    )


def _safe_return_to(value: str | None) -> str | None:
    """Only a local path: no scheme, no host, no protocol-relative or backslash tricks."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 512:
        return None
    return value


# --- what the hub calls -----------------------------------------------------------------


def current_session() -> sessions.ActiveSession | None:
    """Return the request's live session, or None."""
    if "identity_session" not in g and "identity_token" in g:
        _settle(_read_session(_service(), g.identity_token))
    return g.get("identity_session")


_CHECKS_SESSION = "identity_checks_session"


def checks_session_itself(view: F) -> F:
    """Decorate a view whose own statement checks the login session: the middleware does not
    read the session first. The view selects :data:`sessions.CHECK_COLUMNS` of the session
    :func:`deferred_session` names and passes the row to :func:`settle_session`; anything that
    asks for the session before or instead (``current_session()``) has it read as usual."""
    setattr(view, _CHECKS_SESSION, True)
    return view


def deferred_session() -> str | None:
    """The id of the session a :func:`checks_session_itself` view is to check, while unchecked."""
    if "identity_session" in g or "identity_token" not in g or g.get("identity_session_checked"):
        return None
    return sessions.hash_of(g.identity_token)


def settle_session(row: Any) -> sessions.SessionCheck | None:
    """Finish checking the deferred session with the row the view's statement read (``None``: it
    found no such session). Returns what the row says of a live session, or ``None`` when the
    session has ended (the cookie is then cleared, and ``current_session()`` is ``None``)."""
    service = _service()
    now = service.settings.clock()
    db = service.session_factory()
    if row is None or not sessions.is_live(db, service.policy, row, now=now, last_seen=service.last_seen):
        g.pop("identity_token", None)
        _settle(None)
        return None
    if row.seal_key != crypto.seal_key_id(service.policy.secret_key):
        # Sealed under another secret (rotated to end every session) or before rows named their
        # key: read in full, which ends a session that cannot be unsealed.
        active = _read_session(service, g.pop("identity_token"))
        _settle(active)
        if active is None:
            return None
    # Whoever needs more than this (the subject's number or names) reads the session in full.
    g.identity_session_checked = True
    return sessions.SessionCheck(row.audience, row.app_ref)


def link_session(app_ref: str) -> None:
    """Name the app's own id of the person on the session a login has just started (call from
    ``on_login``), so that :func:`checks_session_itself` views can join it."""
    active = current_session()
    if active is not None:
        sessions.link(_service().session_factory(), active.token_hash, app_ref)


def current_subject() -> VerifiedSubject | None:
    """Return the logged-in person, or None."""
    active = current_session()
    return active.subject if active else None


def current_actor() -> roles.Actor | None:
    """Return the actor (with role grants for staff sessions) for authorization checks."""
    active = current_session()
    if active is None:
        return None
    if "identity_actor" not in g:
        g.identity_actor = roles.load_actor(
            _service().session_factory(), active.subject_key, active.subject.audience
        )
    return g.identity_actor


def return_to() -> str | None:
    """Return the local path the user wanted before logging in (only during ``on_login``)."""
    return g.get("identity_return_to")


def require(action: roles.Action, clinic_id: str | None = None) -> roles.Actor:
    """Abort with 401 when nobody is logged in, 403 when ``roles.can`` says no; return the actor."""
    actor = current_actor()
    if actor is None:
        abort(401)
    if not roles.can(actor, action, clinic_id):
        abort(403)
    return actor


def login_required(view: F) -> F:
    """Decorate a view that needs any logged-in person."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_session() is None:
            abort(401)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
