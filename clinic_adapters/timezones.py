"""The one place that converts between UTC instants and a clinic's wall-clock time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """Return the ``ZoneInfo`` for an IANA name (cached)."""
    return ZoneInfo(name)


def utc_now() -> datetime:
    """Return the current instant, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return an aware datetime converted to UTC; refuse naive values."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: an instant needs a time zone")
    return value.astimezone(UTC)


def to_local(value: datetime, tz_name: str) -> datetime:
    """Return the wall-clock time of an instant in a zone."""
    return as_utc(value).astimezone(zone(tz_name))


def local_to_utc(day: date, wall: time, tz_name: str, *, fold: int = 0) -> datetime:
    """Return the instant of a wall-clock time on a day in a zone.

    A wall time skipped by a spring change resolves like the clock does (02:30 → 03:30);
    ``fold`` picks the first (0) or second (1) of an autumn change's repeated hour.
    """
    local = datetime.combine(day, wall, tzinfo=zone(tz_name)).replace(fold=fold)
    return local.astimezone(UTC)


def local_day_bounds_utc(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """Return ``[start, end)`` in UTC of a local calendar day (23, 24 or 25 hours long)."""
    return local_to_utc(day, time(0), tz_name), local_to_utc(day + timedelta(days=1), time(0), tz_name)
