"""RIV-TA times (``YYYYMMDDhhmmss`` / ``YYYYMMDD``, Swedish wall-clock, no zone) ⇄ aware UTC.

Clock changes, decided once here:

* **Spring gap** (e.g. 2026-03-29 02:00–02:59 does not exist in Europe/Stockholm): a producer
  should never send such a time; if it does, it is read the way a clock reads it, 02:30 → 03:30
  CEST (:func:`clinic_adapters.timezones.local_to_utc` with ``fold=0``).
* **Autumn repeat** (e.g. 2026-10-25 02:00–02:59 happens twice): the format cannot say which.
  A start and end are read together: of the possible readings we take the one with the shortest
  positive length, and on a tie the **earlier** instant (the first, CEST, occurrence), so a
  citizen is never told a time later than the real one. A lone time is read as the first
  occurrence. Sending, an instant becomes its wall-clock text; both instants of the repeated hour
  give the same text, which is all the producer can understand anyway.

All arithmetic and comparison happens on UTC instants (two datetimes sharing one ``ZoneInfo``
subtract as wall-clock times; trap 6).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta

from clinic_adapters.errors import InvalidResponse
from clinic_adapters.timezones import local_to_utc, to_local, zone

TS_FORMAT = "%Y%m%d%H%M%S"
DT_FORMAT = "%Y%m%d"


def format_ts(instant: datetime, tz_name: str) -> str:
    """Return the RIV-TA timestamp (local wall-clock text) of an aware instant."""
    return to_local(instant, tz_name).strftime(TS_FORMAT)


def format_dt(day: date) -> str:
    """Return the RIV-TA date text of a local date."""
    return day.strftime(DT_FORMAT)


def parse_wall(text: str) -> datetime:
    """Return the naive wall-clock datetime of a RIV-TA timestamp; InvalidResponse if malformed."""
    try:
        digits = text.strip()
        if len(digits) == 14 and digits.isascii() and digits.isdigit():
            # The usual shape, read without strptime (slow, and serialised by a lock): a hundred
            # clinics' answers are read at once. An impossible date or time raises ValueError here too.
            fields = (digits[:4], digits[4:6], digits[6:8], digits[8:10], digits[10:12], digits[12:])
            return datetime(*map(int, fields))  # noqa: DTZ001 - wall time, zone applied later
        return datetime.strptime(digits, TS_FORMAT)  # noqa: DTZ007 - wall time, zone applied later
    except (ValueError, AttributeError) as exc:
        raise InvalidResponse("malformed RIV-TA timestamp") from exc


def parse_dt(text: str) -> date:
    """Return the local date of a RIV-TA date; InvalidResponse if malformed."""
    try:
        return datetime.strptime(text.strip(), DT_FORMAT).date()  # noqa: DTZ007 - a calendar date
    except (ValueError, AttributeError) as exc:
        raise InvalidResponse("malformed RIV-TA date") from exc


def readings(wall: datetime, tz_name: str) -> list[datetime]:
    """Return the UTC instants a wall-clock time can mean: two in the autumn repeat, else one."""
    first = local_to_utc(wall.date(), wall.time(), tz_name, fold=0)
    second = local_to_utc(wall.date(), wall.time(), tz_name, fold=1)
    # fold=1 differs also for a spring-gap time; it is a reading only if it shows the same wall time.
    if second != first and to_local(second, tz_name).replace(tzinfo=None) == wall:
        return sorted((first, second))
    return [first]


def ts_to_utc(text: str, tz_name: str) -> datetime:
    """Return the instant of a lone RIV-TA timestamp (the first occurrence when repeated)."""
    return readings(parse_wall(text), tz_name)[0]


# A first-free search reads thousands of timeslots whose texts repeat (the same opening hours at
# many clinics, every search): the zone arithmetic was a fifth of the SOAP adapter's CPU per call.
# The answer depends only on the texts and the zone and is immutable, so it is cached. Malformed
# texts raise and are not cached.
@functools.lru_cache(maxsize=16384)
def interval_to_utc(
    start_text: str, end_text: str | None, tz_name: str, *, default_minutes: int = 15
) -> tuple[datetime, datetime]:
    """Return ``(start, end)`` in UTC of a RIV-TA timeslot (rules in the module docstring).

    A missing end (allowed by the contract) becomes ``start + default_minutes``.
    """
    starts = readings(parse_wall(start_text), tz_name)
    if not end_text:
        return starts[0], starts[0] + timedelta(minutes=default_minutes)
    ends = readings(parse_wall(end_text), tz_name)
    pairs = [(e - s, s, e) for s in starts for e in ends if e > s]
    if not pairs:
        raise InvalidResponse("timeslot ends before it starts")
    _, start, end = min(pairs)  # shortest length, then earliest start
    return start, end


def local_dates(start: datetime, end: datetime, tz_name: str) -> tuple[date, date]:
    """Return the local dates ``[first, last]`` covering the UTC range ``[start, end)``."""
    first = to_local(start, tz_name).date()
    last = to_local(max(start, end - timedelta(microseconds=1)), tz_name).date()
    return first, last


@functools.lru_cache(maxsize=1024)
def steady_offset(first: date, last: date, tz_name: str) -> bool:
    """Whether the zone keeps one offset from UTC from ``first``'s start to ``last``'s end.

    Then the wall-clock order of those days' times is the order of their instants. Zones change
    their offset at most a few times a year and never twice within a day, so the offsets at the
    days' midnights tell.
    """
    tz = zone(tz_name)
    days = (first + timedelta(days=d) for d in range((last - first).days + 2))
    midnights = (datetime.combine(day, time(), tz) for day in days)
    return len({midnight.utcoffset() for midnight in midnights}) == 1
