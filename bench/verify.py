"""After a rush, ask the database (not the client) whether every answer was true."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from loadgen import PhaseResult
from sqlalchemy import Engine, text


def check_hub_phase(engine: Engine, result: PhaseResult, slot_ids: Sequence[str], capacity: int) -> list[str]:
    """Problems found for one hub phase on its own fresh slots; an empty list means all is well."""
    problems: list[str] = []
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, slot_id, status FROM booking WHERE slot_id = ANY(:slots)"),
            {"slots": list(slot_ids)},
        ).all()
    active = [r for r in rows if r.status == "booked"]
    if len(rows) != len(active):
        problems.append(f"{len(rows) - len(active)} bookings left in another state than booked")
    per_slot = Counter(r.slot_id for r in active)
    over = {s: n for s, n in per_slot.items() if n > capacity}
    if over:
        problems.append(f"OVERBOOKED: {len(over)} slots hold more than {capacity} bookings")
    returned = Counter(result.created_ids)
    twice = [i for i, n in returned.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} booking ids were returned by more than one 201")
    stored = {r.id for r in active}
    if result.statuses[201] != len(active):
        problems.append(f"{result.statuses[201]} answers 201 but {len(active)} active bookings stored")
    missing, unannounced = set(returned) - stored, stored - set(returned)
    if missing:
        problems.append(f"{len(missing)} ids answered 201 are not stored as active bookings")
    if unannounced:
        problems.append(f"{len(unannounced)} stored bookings were never answered 201")
    return problems


def check_calendar(engine: Engine) -> list[str]:
    """Whole-database checks of the calendar's seat counts against its own booking rows."""
    problems: list[str] = []
    with engine.connect() as conn:
        over = conn.execute(text("SELECT count(*) FROM sc_seat_count WHERE booked > capacity")).scalar_one()
        mismatched = conn.execute(
            text(
                """
                SELECT count(*) FROM sc_seat_count s
                LEFT JOIN (SELECT seat_count_id, count(*) AS n FROM sc_booking WHERE status = 'booked'
                           GROUP BY seat_count_id) b ON b.seat_count_id = s.id
                WHERE s.booked <> coalesce(b.n, 0)
                """
            )
        ).scalar_one()
        hub_active = conn.execute(text("SELECT count(*) FROM booking WHERE status = 'booked'")).scalar_one()
        calendar_active = conn.execute(
            text("SELECT count(*) FROM sc_booking WHERE status = 'booked'")
        ).scalar_one()
    if over:
        problems.append(f"OVERBOOKED: {over} seat rows booked beyond capacity")
    if mismatched:
        problems.append(f"{mismatched} seat rows disagree with the calendar's booking rows")
    if hub_active != calendar_active:
        problems.append(f"hub holds {hub_active} active bookings, the calendar {calendar_active}")
    return problems


def check_baseline_phase(engine: Engine, result: PhaseResult, seat_ids: Sequence[int]) -> list[str]:
    from baseline_app import TABLE

    with engine.connect() as conn:
        over, booked = conn.execute(
            text(
                f"SELECT count(*) FILTER (WHERE booked > capacity), coalesce(sum(booked), 0) FROM {TABLE} "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": list(seat_ids)},
        ).one()
    problems = []
    if over:
        problems.append(f"OVERBOOKED: {over} baseline seats beyond capacity")
    if booked != result.statuses[201]:
        problems.append(f"baseline answered {result.statuses[201]} x 201 but {booked} seats are taken")
    return problems
