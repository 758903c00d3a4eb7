"""RIV-TA wall-clock times around the 2026 clock changes in Europe/Stockholm."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from riv_soap_helpers import dst_facility, fixed_clock, make_adapter

from clinic_adapters.contract import ClinicRef
from clinic_adapters.errors import InvalidResponse
from clinic_adapters.simulators.riv_soap import RivSoapSimulator
from clinic_adapters.soap.riv_time import (
    format_ts,
    interval_to_utc,
    local_dates,
    readings,
    steady_offset,
    ts_to_utc,
)

STHLM = "Europe/Stockholm"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- spring: 2026-03-29 02:00 CET jumps to 03:00 CEST ------------------------------------------------


def test_spring_times_either_side_of_the_gap():
    assert ts_to_utc("20260329013000", STHLM) == utc(2026, 3, 29, 0, 30)
    assert ts_to_utc("20260329030000", STHLM) == utc(2026, 3, 29, 1, 0)


def test_a_time_in_the_spring_gap_reads_like_the_clock():
    # 02:30 does not exist; a clock set to it shows 03:30 CEST
    assert readings(datetime(2026, 3, 29, 2, 30), STHLM) == [utc(2026, 3, 29, 1, 30)]


def test_a_slot_ending_in_the_gap_is_thirty_minutes():
    assert interval_to_utc("20260329013000", "20260329020000", STHLM) == (
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1, 0),
    )


def test_the_spring_day_has_23_hours_in_utc():
    first, last = local_dates(utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0), STHLM)
    assert first == last == date(2026, 3, 29)


# -- autumn: 2026-10-25 03:00 CEST falls back to 02:00 CET ------------------------------------------


def test_the_repeated_hour_has_two_readings():
    assert readings(datetime(2026, 10, 25, 2, 30), STHLM) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
    ]
    assert readings(datetime(2026, 10, 25, 1, 30), STHLM) == [utc(2026, 10, 24, 23, 30)]


def test_a_lone_repeated_time_is_the_first_occurrence():
    assert ts_to_utc("20261025023000", STHLM) == utc(2026, 10, 25, 0, 30)


def test_a_slot_inside_the_repeated_hour_takes_the_earlier_pass():
    assert interval_to_utc("20261025020000", "20261025023000", STHLM) == (
        utc(2026, 10, 25, 0, 0),
        utc(2026, 10, 25, 0, 30),
    )


def test_a_slot_ending_after_the_repeat_takes_the_shortest_reading():
    # 02:30–03:00 is 30 minutes only in the second pass (CET); 90 minutes in the first
    assert interval_to_utc("20261025023000", "20261025030000", STHLM) == (
        utc(2026, 10, 25, 1, 30),
        utc(2026, 10, 25, 2, 0),
    )


def test_both_passes_of_the_repeated_hour_send_the_same_wall_text():
    assert format_ts(utc(2026, 10, 25, 0, 30), STHLM) == "20261025023000"
    assert format_ts(utc(2026, 10, 25, 1, 30), STHLM) == "20261025023000"


def test_malformed_times_are_invalid_responses():
    with pytest.raises(InvalidResponse):
        ts_to_utc("2026-10-25T02:30", STHLM)
    with pytest.raises(InvalidResponse):
        interval_to_utc("20261025030000", "20261025020000", STHLM)  # ends before it starts (CET/CEST)


@pytest.mark.parametrize(
    "text",
    ["20261301093000", "20260230120000", "20261128240000", "20261128236000", "20261128235960",
     "00001128090000", "202611280900000", "2026-1128090000", "２０２６１１２８０９００００"],
)  # fmt: skip
def test_impossible_or_misshapen_timestamps_are_invalid_responses(text):
    with pytest.raises(InvalidResponse):
        ts_to_utc(text, STHLM)


def test_timestamps_are_read_as_wall_clock_text_with_surrounding_blanks_allowed():
    assert ts_to_utc(" 20240229235959\n", STHLM) == datetime(2024, 2, 29, 22, 59, 59, tzinfo=UTC)


# -- end to end through the simulator ---------------------------------------------------------------


@pytest.fixture
def night_clinic():
    facility = dst_facility()
    clock = fixed_clock(utc(2026, 3, 20, 12, 0))
    sim = RivSoapSimulator([facility], weeks=32, clock=clock)
    sim.start()
    yield sim, ClinicRef(facility.hsa_id.lower()), clock
    sim.stop()


def test_spring_night_slots_are_thirty_minutes_and_skip_the_gap(night_clinic):
    sim, clinic, clock = night_clinic
    adapter = make_adapter(sim, clock=clock)
    slots = adapter.available_slots(clinic, "NATT30", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert [s.start for s in slots] == [
        utc(2026, 3, 29, 0, 0),  # 01:00 CET
        utc(2026, 3, 29, 0, 30),  # 01:30 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST
    ]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)


def test_autumn_night_slots_do_not_overlap_and_book_round_trip(night_clinic, alice):
    sim, clinic, _ = night_clinic
    autumn = fixed_clock(utc(2026, 10, 20, 12, 0))
    sim.book.clock = autumn
    adapter = make_adapter(sim, clock=autumn)
    slots = adapter.available_slots(clinic, "NATT30", utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    starts = [s.start for s in slots]
    assert starts == [
        utc(2026, 10, 24, 23, 0),  # 01:00 CEST
        utc(2026, 10, 24, 23, 30),  # 01:30 CEST
        utc(2026, 10, 25, 0, 0),  # 02:00 CEST (first pass)
        utc(2026, 10, 25, 1, 30),  # 02:30 CET (second pass: 02:30–03:00 is 30 minutes only then)
        utc(2026, 10, 25, 2, 0),  # 03:00 CET
        utc(2026, 10, 25, 2, 30),  # 03:30 CET
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(slots))
    repeated = slots[2]
    booking = adapter.make_booking(clinic, repeated.id, alice).booking
    details = adapter.booking_details(clinic, booking.booking_id, alice)
    assert (details.slot.start, details.slot.end) == (repeated.start, repeated.end)
    sent = [e for e in sim.exchanges if e.operation == "MakeBooking"][-1].request
    assert b"20261025020000" in sent  # the producer's own wall-clock text, echoed


def test_available_dates_on_the_change_days(night_clinic):
    sim, clinic, clock = night_clinic
    adapter = make_adapter(sim, clock=clock)
    assert adapter.available_dates(clinic, "NATT30", date(2026, 3, 20), date(2026, 10, 31)) == [
        date(2026, 3, 29),
        date(2026, 10, 25),
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 6, 7])
def test_the_earliest_times_of_the_autumn_night_are_the_first_of_the_listing(night_clinic, limit):
    sim, clinic, _ = night_clinic
    autumn = fixed_clock(utc(2026, 10, 20, 12, 0))
    adapter = make_adapter(sim, clock=autumn)
    window = (utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    listing = adapter.available_slots(clinic, "NATT30", *window)
    assert adapter.earliest_slots(clinic, "NATT30", *window, limit) == listing[:limit]


def test_the_earliest_time_may_come_later_on_the_wall_clock_in_the_repeated_hour(night_clinic, monkeypatch):
    """02:30–03:00 exists only in the second pass (01:30 UTC); 02:40–02:50 first comes at 00:40 UTC."""
    from types import SimpleNamespace

    sim, clinic, _ = night_clinic
    adapter = make_adapter(sim, clock=fixed_clock(utc(2026, 10, 20, 12, 0)))

    def timeslot(start: str, end: str) -> SimpleNamespace:
        return SimpleNamespace(
            startTimeInclusive=start,
            endTimeExclusive=end,
            healthcare_facility=clinic.hsa_id,
            timeTypeID="NATT30",
            performer=None,
            resourceID=None,
        )

    answer = SimpleNamespace(
        timeslotDetail=[
            timeslot("20261025023000", "20261025030000"),
            timeslot("20261025024000", "20261025025000"),
        ]
    )
    monkeypatch.setattr(adapter, "_catalogue", lambda *args, **kwargs: answer)
    window = (utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    listing = adapter.available_slots(clinic, "NATT30", *window)
    assert [s.start for s in listing] == [utc(2026, 10, 25, 0, 40), utc(2026, 10, 25, 1, 30)]
    assert adapter.earliest_slots(clinic, "NATT30", *window, 1) == listing[:1]


@pytest.mark.parametrize(
    ("first", "last", "steady"),
    [
        (date(2026, 3, 28), date(2026, 3, 28), True),  # the day before: the clock moves at 02:00 next day
        (date(2026, 3, 28), date(2026, 3, 29), False),
        (date(2026, 3, 29), date(2026, 3, 29), False),
        (date(2026, 3, 30), date(2026, 4, 2), True),
        (date(2026, 10, 24), date(2026, 10, 25), False),
        (date(2026, 10, 26), date(2026, 10, 26), True),
    ],
)
def test_a_clock_change_within_the_days_is_seen(first, last, steady):
    assert steady_offset(first, last, "Europe/Stockholm") is steady
