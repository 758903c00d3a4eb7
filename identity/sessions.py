"""Server-side login sessions: a fresh token at every login, idle and absolute time-outs.

The browser holds only a random token; the table holds its hash, so a copy of the database
cannot be replayed as cookies. Being server-side, a logout or time-out ends the session on every
instance at once, which a signed cookie cannot do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from identity import crypto
from identity.last_seen import LastSeenWriter
from identity.models import IdentitySession
from identity.store import digest
from identity.subject import Audience, VerifiedSubject

# Writing last_seen_at on every request costs a row update each; a minute's slack on a
# 15-minute idle time-out does not matter.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: timedelta
    absolute_timeout: timedelta
    secret_key: bytes


@dataclass(frozen=True)
class ActiveSession:
    """What the app sees of a valid session."""

    token_hash: str
    subject: VerifiedSubject
    subject_key: str
    protocol: str
    idp_session: dict[str, Any]
    created_at: datetime
    expires_at: datetime


def start(
    db: Session,
    policy: SessionPolicy,
    subject: VerifiedSubject,
    *,
    protocol: str,
    idp_session: dict[str, Any],
    idp_subject: str | None,
    now: datetime,
    previous_token: str | None = None,
) -> str:
    """Create a session for ``subject`` and return its token; the previous one, if any, ends (rotation)."""
    if previous_token:
        end(db, policy, previous_token)
    token = secrets.token_urlsafe(32)
    sealed = {
        "personal_number": subject.personal_number,
        "given_name": subject.given_name,
        "family_name": subject.family_name,
        "display_name": subject.display_name,
        "birth_date": subject.birth_date.isoformat() if subject.birth_date else None,
        "country": subject.country,
        "idp_session": idp_session,
    }
    db.add(
        IdentitySession(
            id=digest(token),
            audience=subject.audience.value,
            subject_key=crypto.subject_key(policy.secret_key, subject.personal_number),
            loa=subject.loa,
            idp=subject.idp,
            protocol=protocol,
            sealed=crypto.seal(policy.secret_key, sealed),
            seal_key=crypto.seal_key_id(policy.secret_key),
            idp_subject=digest(subject.idp, idp_subject) if idp_subject else None,
            idp_session_index=idp_session.get("session_index"),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.absolute_timeout,
        )
    )
    db.flush()
    return token


def load(
    db: Session,
    policy: SessionPolicy,
    token: str | None,
    *,
    now: datetime,
    last_seen: LastSeenWriter | None = None,
) -> ActiveSession | None:
    """Return the live session for ``token``, ending it when idle or past its absolute limit
    (and recording activity as :func:`is_live` does)."""
    token_hash = hash_of(token)
    if token_hash is None:
        return None
    # Read on every request: a Core statement on the table, not an object of the session.
    row = db.execute(_BY_ID, {"id": token_hash}).first()
    if row is None or not is_live(db, policy, row, now=now, last_seen=last_seen):
        return None
    try:
        return _active(row, policy.secret_key)
    except crypto.InvalidToken:
        # Sealed under another secret (rotated): the session cannot be read, so it ends.
        db.execute(delete(_table).where(_table.c.id == row.id))
        return None


def hash_of(token: str | None) -> str | None:
    """The session id a cookie's token stands for (``None``: no token, or not one of ours)."""
    if not token or len(token) > 128:
        return None
    return digest(token)


#: What an app's own statement selects, outer-joined on ``id`` = :func:`hash_of` the token, to
#: check a session with :func:`is_live` without a query of its own. ``app_ref`` is what
#: :func:`link` named; ``seal_key`` tells whether the current secret sealed the row.
CHECK_COLUMNS = ("id", "audience", "app_ref", "seal_key", "expires_at", "last_seen_at")


def is_live(
    db: Session, policy: SessionPolicy, row: Any, *, now: datetime, last_seen: LastSeenWriter | None = None
) -> bool:
    """Whether the session of ``row`` (at least :data:`CHECK_COLUMNS`) is live; one past either
    time-out is ended. Activity is recorded at most once per :data:`TOUCH_INTERVAL`: through
    ``last_seen`` (written behind the request, so a request that is rolled back still counts), or
    without one in ``db``'s transaction."""
    seen = row.last_seen_at
    noted = last_seen.noted(row.id) if last_seen is not None else None
    if noted is not None and noted > seen:
        seen = noted
    if now >= row.expires_at or now - seen >= policy.idle_timeout:
        db.execute(delete(_table).where(_table.c.id == row.id))
        return False
    if now - seen >= TOUCH_INTERVAL:
        if last_seen is not None:
            last_seen.note(row.id, now)
        else:
            db.execute(update(_table).where(_table.c.id == row.id).values(last_seen_at=now))
    return True


@dataclass(frozen=True)
class SessionCheck:
    """What an app's statement learnt of a live session (:data:`CHECK_COLUMNS`)."""

    audience: str
    app_ref: str | None


def link(db: Session, token_hash: str, app_ref: str) -> None:
    """Name the app's own id of the session's person on the session (see :data:`CHECK_COLUMNS`)."""
    db.execute(update(_table).where(_table.c.id == token_hash).values(app_ref=app_ref))


def end(db: Session, policy: SessionPolicy, token: str) -> ActiveSession | None:
    """End the session for ``token``; return what it was (for logging out at the provider)."""
    row = db.get(IdentitySession, digest(token))
    if row is None:
        return None
    try:
        active: ActiveSession | None = _active(row, policy.secret_key)
    except crypto.InvalidToken:
        active = None
    db.delete(row)
    db.flush()
    return active


def end_by_id(db: Session, session_id: str) -> bool:
    """End a session known by its id (the token's hash), e.g. the one a new login replaces."""
    row = db.get(IdentitySession, session_id)
    if row is None:
        return False
    db.delete(row)
    db.flush()
    return True


def end_for_idp_subject(db: Session, idp: str, idp_subject: str, session_index: str | None = None) -> int:
    """End the sessions an identity provider's logout request speaks of; return how many."""
    rows = db.scalars(select(IdentitySession).where(IdentitySession.idp_subject == digest(idp, idp_subject)))
    count = 0
    for row in rows:
        if session_index and row.idp_session_index not in {None, session_index}:
            continue
        db.delete(row)
        count += 1
    db.flush()
    return count


def end_all_for(db: Session, subject_key: str) -> int:
    """End every session of one person (e.g. after their roles changed)."""
    result = db.execute(delete(IdentitySession).where(IdentitySession.subject_key == subject_key))
    return result.rowcount


def purge_expired(db: Session, policy: SessionPolicy, now: datetime) -> int:
    """Delete sessions past either time-out (call from a periodic job)."""
    stale = (IdentitySession.expires_at <= now) | (IdentitySession.last_seen_at <= now - policy.idle_timeout)
    return db.execute(delete(IdentitySession).where(stale)).rowcount


_table = IdentitySession.__table__
_BY_ID = select(_table).where(_table.c.id == bindparam("id"))


def _active(row: Any, secret: bytes) -> ActiveSession:
    """The session of a row (an object or a Core row: the same names)."""
    data = crypto.unseal(secret, row.sealed)
    subject = VerifiedSubject(
        personal_number=data["personal_number"],
        given_name=data["given_name"],
        family_name=data["family_name"],
        display_name=data["display_name"],
        loa=row.loa,
        idp=row.idp,
        birth_date=date.fromisoformat(data["birth_date"]) if data["birth_date"] else None,
        country=data["country"],
        audience=Audience(row.audience),
    )
    return ActiveSession(
        token_hash=row.id,
        subject=subject,
        subject_key=row.subject_key,
        protocol=row.protocol,
        idp_session=dict(data["idp_session"] or {}),
        created_at=row.created_at,
        expires_at=row.expires_at,
    )
