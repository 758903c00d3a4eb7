"""Single-use login requests and the assertion replay cache, shared by all instances via the database.

Both must hold under concurrency without the hub's commit: one statement decides
(``DELETE`` with a row count, ``INSERT ... ON CONFLICT DO NOTHING``), and domain code only flushes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity.errors import LoginRefused, Reason
from identity.models import LoginRequest, UsedAssertion


def digest(*parts: str) -> str:
    """Return sha256 over NUL-joined parts, hex."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def remember_request(
    db: Session,
    *,
    request_id: str,
    protocol: str,
    idp: str,
    browser: str,
    payload: dict[str, Any],
    now: datetime,
    expires_at: datetime,
) -> None:
    """Record a request we sent, bound to the browser's flow cookie."""
    db.add(
        LoginRequest(
            id=request_id,
            protocol=protocol,
            idp=idp,
            browser=digest(browser),
            payload=payload,
            created_at=now,
            expires_at=expires_at,
        )
    )
    db.flush()


@dataclass(frozen=True)
class PendingLogin:
    """A consumed login request: which provider we asked and what we kept for the answer."""

    id: str
    idp: str
    payload: dict[str, Any]


def consume_request(
    db: Session, *, request_id: str, protocol: str, browser: str | None, now: datetime
) -> PendingLogin:
    """Take a request we sent, once; refuse unknown, expired, other-protocol or other-browser ones."""
    table = LoginRequest.__table__
    row = db.execute(select(table).where(table.c.id == request_id)).one_or_none()
    if row is None:
        raise LoginRefused(Reason.UNKNOWN_REQUEST, "no such request")
    # The DELETE's row count decides who wins when two answers race for one request.
    if db.execute(delete(table).where(table.c.id == request_id)).rowcount != 1:
        raise LoginRefused(Reason.UNKNOWN_REQUEST, "request already answered")
    if row.protocol != protocol:
        raise LoginRefused(Reason.UNKNOWN_REQUEST, "request of another protocol")
    if browser is None or not hmac.compare_digest(row.browser, digest(browser)):
        raise LoginRefused(Reason.UNKNOWN_REQUEST, "answer reached another browser")
    if row.expires_at <= now:
        raise LoginRefused(Reason.UNKNOWN_REQUEST, "request expired")
    return PendingLogin(id=row.id, idp=row.idp, payload=dict(row.payload or {}))


def record_assertion(db: Session, *, issuer: str, assertion_id: str, expires_at: datetime) -> bool:
    """Remember an assertion id; return False when it was seen before (a replay)."""
    table = UsedAssertion.__table__
    values = {"key": digest(issuer, assertion_id), "expires_at": expires_at}
    dialect = db.get_bind().dialect.name
    if dialect in {"postgresql", "sqlite"}:
        # RETURNING tells whether this statement inserted; rowcount is not reliable for it everywhere.
        module = postgresql if dialect == "postgresql" else sqlite
        statement = (
            module.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.key)
        )
        return db.execute(statement).first() is not None
    # Other databases: a savepoint keeps the hub's transaction usable after the conflict.
    try:
        with db.begin_nested():
            db.execute(insert(table).values(values))
    except IntegrityError:
        return False
    return True


def purge_expired(db: Session, now: datetime) -> int:
    """Delete expired login requests and replay-cache rows (call from a periodic job)."""
    removed = db.execute(delete(LoginRequest).where(LoginRequest.expires_at <= now)).rowcount
    removed += db.execute(delete(UsedAssertion).where(UsedAssertion.expires_at <= now)).rowcount
    return removed


def is_assertion_known(db: Session, issuer: str, assertion_id: str) -> bool:
    """Tell whether an assertion id is in the replay cache (for tests and diagnostics)."""
    return (
        db.scalar(select(UsedAssertion.key).where(UsedAssertion.key == digest(issuer, assertion_id)))
        is not None
    )
