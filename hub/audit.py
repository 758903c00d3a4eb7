"""The one function that writes the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.models import AuditEvent


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
    """Append one audit line in the current transaction; ``details`` must hold no personal data."""
    db.add(
        AuditEvent(
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action,
            clinic_id=clinic_id,
            citizen_id=citizen_id,
            booking_id=booking_id,
            details=details,
        )
    )
