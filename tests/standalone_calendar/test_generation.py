"""Slots are generated in the clinic's zone and stay right on the days the clocks change."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from clinic_adapters.timezones import local_day_bounds_utc, to_local
from standalone_calendar.generation import Absence, Window, candidate_at, generate

TZ = "Europe/Stockholm"
SPRING = date(2026, 3, 29)  # 02:00 → 03:00
AUTUMN = date(2026, 10, 25)  # 03:00 → 02:00


def _day(day: date, windows: list[Window]) -> list:
    start, end = local_day_bounds_utc(day, TZ)
    return generate(windows, TZ, start, end)


def _every_day(start: time, end: time, minutes: int = 30) -> list[Window]:
    return [Window(weekday=d, start=start, end=end, duration_minutes=minutes, capacity=1) for d in range(7)]


def test_morning_window_starts_at_eight_local_before_and_after_each_change() -> None:
    windows = _every_day(time(8), time(12))
    for day in (
        SPRING - timedelta(days=1),
        SPRING,
        SPRING + timedelta(days=1),
        AUTUMN - timedelta(days=1),
        AUTUMN,
        AUTUMN + timedelta(days=1),
    ):
        slots = _day(day, windows)
        local_starts = [to_local(s.start, TZ).time() for s in slots]
        assert local_starts[0] == time(8, 0) and local_starts[-1] == time(11, 30), day
        assert len(slots) == 8, day


def test_utc_offset_follows_the_change() -> None:
    windows = _every_day(time(8), time(9))
    assert _day(date(2026, 3, 28), windows)[0].start == datetime(2026, 3, 28, 7, 0, tzinfo=UTC)
    assert _day(SPRING, windows)[0].start == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert _day(date(2026, 10, 24), windows)[0].start == datetime(2026, 10, 24, 6, 0, tzinfo=UTC)
    assert _day(AUTUMN, windows)[0].start == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_night_window_on_spring_change_has_no_time_that_does_not_exist() -> None:
    slots = _day(SPRING, _every_day(time(1), time(4)))
    local = [to_local(s.start, TZ).strftime("%H:%M") for s in slots]
    assert local == ["01:00", "01:30", "03:00", "03:30"]
    assert len({s.start for s in slots}) == len(slots)


def test_night_window_on_autumn_change_keeps_both_repeated_hours_once_each() -> None:
    slots = _day(AUTUMN, _every_day(time(1), time(4)))
    instants = [s.start for s in slots]
    assert len(instants) == len(set(instants)) == 8  # four real hours of half-hour times
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(instants))
    local = Counter(to_local(s.start, TZ).strftime("%H:%M") for s in slots)
    assert local["02:00"] == 2 and local["02:30"] == 2


def test_closed_day_and_absence_remove_times() -> None:
    windows = _every_day(time(8), time(10))
    start, end = local_day_bounds_utc(date(2026, 6, 1), TZ)
    away = Absence(datetime(2026, 6, 1, 6, 30, tzinfo=UTC), datetime(2026, 6, 1, 7, 0, tzinfo=UTC))
    slots = generate(windows, TZ, start, end, absences=[away])
    assert [to_local(s.start, TZ).strftime("%H:%M") for s in slots] == ["08:00", "09:00", "09:30"]
    assert generate(windows, TZ, start, end, closed_days=[date(2026, 6, 1)]) == []


def test_practitioner_absence_blocks_only_that_column() -> None:
    windows = [
        Window(0, time(8), time(9), 30, 1, practitioner_id=1),
        Window(0, time(8), time(9), 30, 1, practitioner_id=2),
    ]
    start, end = local_day_bounds_utc(date(2026, 6, 1), TZ)
    away = Absence(start, end, practitioner_id=1)
    slots = generate(windows, TZ, start, end, absences=[away])
    assert {s.practitioner_id for s in slots} == {2} and len(slots) == 2


def test_asking_for_one_time_agrees_with_generating_the_days_around_it() -> None:
    """``candidate_at`` (booking) and ``generate`` (listing) must name the same times, DST days too."""
    windows = [
        *_every_day(time(1), time(4), minutes=20),  # crosses both changes' missing/repeated hour
        Window(weekday=6, start=time(8), end=time(12), duration_minutes=15, capacity=3, practitioner_id=7),
        Window(weekday=6, start=time(9), end=time(10), duration_minutes=30, capacity=2, room="B"),
        Window(
            weekday=0,
            start=time(8),
            end=time(9),
            duration_minutes=10,
            capacity=1,
            valid_from=date(2026, 10, 26),
        ),
    ]
    absences = [
        Absence(datetime(2026, 10, 25, 9, 0, tzinfo=UTC), datetime(2026, 10, 25, 9, 40, tzinfo=UTC), 7)
    ]
    closed = {date(2026, 3, 30)}
    for day in (SPRING, AUTUMN, date(2026, 3, 30), date(2026, 10, 26)):
        start, end = local_day_bounds_utc(day, TZ)
        generated = {
            (c.start, c.practitioner_id): c
            for c in generate(windows, TZ, start, end, closed_days=closed, absences=absences)
        }
        assert generated or day in closed, day
        at = start - timedelta(hours=1)
        while at < end + timedelta(hours=1):
            for practitioner in (None, 7):
                found = candidate_at(windows, TZ, at, practitioner, closed_days=closed, absences=absences)
                expected = generated.get((at, practitioner)) if start <= at < end else found
                assert found == expected, (day, at, practitioner)
            at += timedelta(minutes=5)
