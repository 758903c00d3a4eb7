"""The hub's built-in timebook: weekly opening rules, cadence, seats, closures and booking.

It implements the :mod:`clinic_adapters` contract on its own tables (prefixed ``sc_``), writing
in the caller's database transaction.
"""

from standalone_calendar.adapter import SlotKey, StandaloneCalendarAdapter
from standalone_calendar.models import (
    Base,
    Calendar,
    CalendarBooking,
    ClosedDate,
    Closure,
    OpeningRule,
    Practitioner,
    SeatCount,
    SlotType,
)

__all__ = [
    "Base",
    "Calendar",
    "CalendarBooking",
    "ClosedDate",
    "Closure",
    "OpeningRule",
    "Practitioner",
    "SeatCount",
    "SlotKey",
    "SlotType",
    "StandaloneCalendarAdapter",
]
