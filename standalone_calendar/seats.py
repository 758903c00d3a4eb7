"""Take and give back seats with single conditional statements, so capacity holds under races.

Taking a seat is one ``INSERT … ON CONFLICT DO UPDATE SET booked = booked + 1 WHERE booked <
capacity RETURNING id``: the first booking of a time creates its row, later ones count up while a
seat is left, and a full time returns no row. PostgreSQL re-checks the condition after waiting for
a concurrent writer's row lock; SQLite runs one writer at a time. A check constraint
(``booked <= capacity``) backs both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, bindparam, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standalone_calendar.models import SeatCount

TIME_KEY = ("calendar_id", "slot_type_id", "starts_at", "resource_key")


def take_seat(
    session: Session,
    *,
    calendar_id: int,
    slot_type_id: int,
    starts_at: datetime,
    resource_key: str,
    capacity: int,
) -> int | None:
    """Take one seat of a time; return the seat-count row id, or ``None`` when it is full."""
    values = {
        "calendar_id": calendar_id,
        "slot_type_id": slot_type_id,
        "starts_at": starts_at,
        "resource_key": resource_key,
        "capacity": capacity,
    }
    return session.execute(_take_statement(session.get_bind().dialect.name), values).scalar_one_or_none()


@functools.cache
def _take_statement(dialect: str) -> Executable:
    """The upsert that takes a seat, built once per dialect; its values are bound parameters."""
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:  # pragma: no cover - the hub supports SQLite and PostgreSQL only
        raise RuntimeError(f"unsupported database: {dialect}")
    table = SeatCount.__table__  # a Core statement: no ORM work per seat taken
    columns = table.c
    stmt = insert(table).values(
        {name: bindparam(name, type_=columns[name].type) for name in (*TIME_KEY, "capacity")} | {"booked": 1}
    )
    # The rule's current capacity wins over the one remembered at the first booking.
    return stmt.on_conflict_do_update(
        index_elements=list(TIME_KEY),
        set_={"booked": columns.booked + 1, "capacity": stmt.excluded.capacity},
        where=columns.booked < stmt.excluded.capacity,
    ).returning(columns.id)


@dataclass(frozen=True, slots=True)
class SeatProbe:
    """The seat a booking of one time would take, for a caller that asks in its own statement
    whether that time is full (:data:`IS_FULL`, with :meth:`params`). The answer holds for the
    calendar settings whose ``stamp`` it was worked out from; a caller that read another stamp in
    the same statement must not use it."""

    stamp: str
    slot_type_code: str
    calendar_id: int
    slot_type_id: int
    starts_at: datetime
    resource_key: str
    capacity: int

    def params(self) -> dict[str, Any]:
        return {f"seat_{name}": getattr(self, name) for name in (*TIME_KEY, "capacity")}

    @staticmethod
    def no_params() -> dict[str, Any]:
        """The parameters of :data:`IS_FULL` when there is no time to ask about: it is false."""
        return dict.fromkeys((f"seat_{name}" for name in (*TIME_KEY, "capacity")), None)


def _is_full() -> ColumnElement[bool]:
    columns = SeatCount.__table__.c
    return exists().where(
        *(columns[name] == bindparam(f"seat_{name}", type_=columns[name].type) for name in TIME_KEY),
        columns.booked >= bindparam("seat_capacity", type_=columns.capacity.type),
    )


#: True when every seat of a :class:`SeatProbe`'s time is taken (committed bookings, as the
#: statement that holds it sees them); its parameters are ``SeatProbe.params()``. Against the
#: rule's current capacity, not the one the row remembers.
IS_FULL = _is_full()


def give_back_seat(session: Session, seat_count_id: int) -> None:
    """Free one seat at once."""
    session.execute(
        update(SeatCount)
        .where(SeatCount.id == seat_count_id, SeatCount.booked > 0)
        .values(booked=SeatCount.booked - 1)
        .execution_options(synchronize_session=False)
    )


def booked_seats(
    session: Session, calendar_id: int, slot_type_id: int, start: datetime, end: datetime
) -> dict[tuple[datetime, str], int]:
    """Return booked seats per (instant, resource key) for times starting in ``[start, end)``."""
    rows = session.execute(
        select(SeatCount.starts_at, SeatCount.resource_key, SeatCount.booked).where(
            SeatCount.calendar_id == calendar_id,
            SeatCount.slot_type_id == slot_type_id,
            SeatCount.starts_at >= start,
            SeatCount.starts_at < end,
        )
    )
    return {(row.starts_at, row.resource_key): row.booked for row in rows}
