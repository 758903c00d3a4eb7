"""Settings stamps: a random token on an owner row that every change of its settings replaces.

A process keeps snapshots of settings that change rarely and proves them current on every use by
reading one stamp. Every flush through the ORM that changes the owner row or one of its settings
rows gives the owner a new stamp, in the same transaction, so the next reader in any process
reloads. The built-in calendar stamps its calendars; the hub stamps its clinics the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session, UOWTransaction

from standalone_calendar.models import new_settings_stamp


def restamp_on_change(owner: Any, settings: tuple[type, ...], *, owner_key: str) -> None:
    """Register, on every session: a flush that adds, changes or deletes a row of ``settings``
    (naming its owner in the attribute ``owner_key``), or changes or deletes an ``owner`` row,
    gives that owner (a mapped class with ``id`` and ``settings_stamp``) a new stamp."""
    table = owner.__table__

    def restamp(session: Session, _flush: UOWTransaction) -> None:
        owner_ids: set[int] = set()
        for instance in (*session.new, *session.dirty, *session.deleted):
            if isinstance(instance, settings):
                owner_ids.add(getattr(instance, owner_key))
            elif isinstance(instance, owner) and instance not in session.new:
                owner_ids.add(instance.id)
        owner_ids.discard(None)  # type: ignore[arg-type]
        if owner_ids:
            session.connection().execute(
                update(table)
                .where(table.c.id.in_(sorted(owner_ids)))
                .values(settings_stamp=new_settings_stamp())
            )

    event.listen(Session, "after_flush", restamp)
