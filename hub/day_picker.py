"""The day and time picker: a window of days with their free-time counts, and one day's times.

It is plain GET arguments (``from``, ``day``) in and template values out, so the same page works
with links alone and with the JavaScript enhancement that swaps a day in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from clinic_adapters import Slot
from clinic_adapters.timezones import to_local, utc_now
from hub.booking import operations as ops
from hub.errors import ValidationFailed
from hub.models import Clinic


@dataclass(frozen=True, slots=True)
class DayChoice:
    day: date
    count: int  # free times that day; 0 shows the day as without times, not as a link


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _first_day(args: Mapping[str, str], today: date) -> tuple[date, dict[str, list[Any]]]:
    """Return the window's first day and the problems of the citizen's own ``from``, if any."""
    asked = parse_day(args.get("from"))
    if args.get("from") and asked is None:
        return today, {"from": [_l("Not a valid date. Use the form YYYY-MM-DD.")]}
    if asked is not None and asked < today:
        return today, {"from": [_l("The first day cannot be in the past.")]}
    return asked or today, {}


def page_context(clinic: Clinic, slot_type_code: str, args: Mapping[str, str]) -> dict[str, Any]:
    """Return the picker's template values for a clinic's slot type (GET args: from, day)."""
    today = to_local(utc_now(), clinic.timezone).date()
    span = int(current_app.config["SLOT_SEARCH_DAYS"])
    first, problems = _first_day(args, today)
    last = first + timedelta(days=span - 1)
    listing = ops.free_slots(clinic, slot_type_code, first, last)
    by_day: dict[date, list[Slot]] = {
        day: list(group)
        for day, group in groupby(listing.slots, key=lambda s: to_local(s.start, clinic.timezone).date())
    }
    days = [
        DayChoice(first + timedelta(days=n), len(by_day.get(first + timedelta(days=n), [])))
        for n in range(span)
    ]
    chosen = parse_day(args.get("day"))
    if chosen not in by_day:
        chosen = next((d.day for d in days if d.count), None)
    return {
        "days": days,
        "chosen_day": chosen,
        "slots": by_day.get(chosen, []) if chosen else [],
        "first_day": first,
        "last_day": last,
        "earlier_from": max(today, first - timedelta(days=span)) if first > today else None,
        "later_from": first + timedelta(days=span),
        "source": listing.source,
        "from_errors": problems,
        "choose_error": _l("Choose a time.") if args.get("missing") else None,
        "taken": bool(args.get("taken")),
    }


def find_slot(clinic: Clinic, slot_type_code: str, day: date | None, slot_id: str) -> Slot | None:
    """Return the chosen time if it is still free (times are looked up again, never trusted)."""
    if day is None or not slot_id:
        return None
    try:
        listing = ops.free_slots(clinic, slot_type_code, day, day)
    except ValidationFailed:
        return None  # a day in the past or beyond reach: the time is not bookable any more
    return next((s for s in listing.slots if s.id == slot_id), None)
