"""The one function that writes the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from hub.models import AuditEvent

# A Core statement, run at once: as an object of the session, each line cost a booking the unit
# of work's flush at the next query, more CPU than the insert itself.
_INSERT = insert(AuditEvent.__table__)


def record(
    db: Session,
    *,
    actor_kind: str,
    actor_id: str,
    action: str,
    clinic_id: int | None = None,
    citizen_id: str | None = None,
    booking_id: str | None = None,
    **details: Any,
) -> None:
    """Append one audit line in the current transaction; ``details`` must hold no personal data.

    The session's pending changes are written first, so a line may name what the caller has just
    added."""
    db.flush()
    db.execute(
        _INSERT,
        {
            "actor_kind": actor_kind,
            "actor_id": actor_id,
            "action": action,
            "clinic_id": clinic_id,
            "citizen_id": citizen_id,
            "booking_id": booking_id,
            "details": details,
        },
    )
