"""The days the clocks change in Europe/Stockholm give the right instants, end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from clinic_adapters import ClinicRef
from clinic_adapters.errors import InvalidResponse
from clinic_adapters.fhir.mapping import parse_instant
from clinic_adapters.simulators.fhir import SimClinic, SimConfig, SimSlotType, SimWindow
from clinic_adapters.timezones import local_day_bounds_utc, to_local

TZ = "Europe/Stockholm"


def wall(slot) -> str:
    return to_local(slot.start, TZ).strftime("%H:%M")

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
VISIT = SimSlotType("visit", "Visit", 30)
HSA = "SE2321000016-DST1"


def dst_config(start: date) -> SimConfig:
    clinic = SimClinic(
        hsa_id=HSA, name="Jourmottagningen", slot_types=(VISIT,),
        windows=(
            SimWindow("visit", time(8), time(9), weekdays=EVERY_DAY),
            SimWindow("visit", time(1), time(4), weekdays=(6,)),  # Sunday night, across the change
        ),
    )
    return SimConfig(clinics=(clinic,), start_date=start, weeks=1, max_page_size=10)


@pytest.mark.parametrize(
    ("day", "before", "after"),
    [
        # Spring: CET (+01) on Saturday, CEST (+02) from Sunday 02:00.
        (date(2026, 3, 29), datetime(2026, 3, 28, 7, tzinfo=UTC), datetime(2026, 3, 29, 6, tzinfo=UTC)),
        # Autumn: CEST (+02) on Saturday, CET (+01) from Sunday 03:00.
        (date(2026, 10, 25), datetime(2026, 10, 24, 6, tzinfo=UTC), datetime(2026, 10, 25, 7, tzinfo=UTC)),
    ],
)
def test_eight_oclock_is_the_right_instant_either_side_of_the_change(
    make_sim, make_adapter, day, before, after
):
    sim = make_sim(dst_config(day - timedelta(days=3)))
    adapter = make_adapter(sim, now=datetime(2026, 1, 1, tzinfo=UTC))
    clinic = ClinicRef(HSA)
    saturday = adapter.available_slots(clinic, "visit", *local_day_bounds_utc(day - timedelta(days=1), TZ))
    sunday = adapter.available_slots(clinic, "visit", *local_day_bounds_utc(day, TZ))
    assert [s.start for s in saturday if wall(s) == "08:00"] == [before]
    assert [s.start for s in sunday if wall(s) == "08:00"] == [after]


def test_spring_night_has_two_hours_of_slots(make_sim, make_adapter):
    sim = make_sim(dst_config(date(2026, 3, 26)))
    adapter = make_adapter(sim, now=datetime(2026, 1, 1, tzinfo=UTC))
    first, last = local_day_bounds_utc(date(2026, 3, 29), TZ)
    assert last - first == timedelta(hours=23)
    night = [s for s in adapter.available_slots(ClinicRef(HSA), "visit", first, last)
             if to_local(s.start, TZ).hour < 5]
    # 01:00 CET → 04:00 CEST is two real hours: 01:00, 01:30, 03:00, 03:30 local.
    assert [wall(s) for s in night] == [
        "01:00", "01:30", "03:00", "03:30"]
    assert night[0].start == datetime(2026, 3, 29, 0, tzinfo=UTC)
    assert all(s.end - s.start == timedelta(minutes=30) for s in night)


def test_autumn_night_has_four_hours_of_slots_and_the_repeated_hour_twice(make_sim, make_adapter):
    sim = make_sim(dst_config(date(2026, 10, 22)))
    adapter = make_adapter(sim, now=datetime(2026, 1, 1, tzinfo=UTC))
    first, last = local_day_bounds_utc(date(2026, 10, 25), TZ)
    assert last - first == timedelta(hours=25)
    night = [s for s in adapter.available_slots(ClinicRef(HSA), "visit", first, last)
             if to_local(s.start, TZ).hour < 5]
    assert len(night) == 8
    assert [s.start for s in night] == [datetime(2026, 10, 24, 23, tzinfo=UTC) + timedelta(minutes=30 * i)
                                        for i in range(8)]
    labels = [wall(s) for s in night]
    assert labels.count("02:00") == 2 and labels.count("02:30") == 2


def test_available_dates_across_the_autumn_change(make_sim, make_adapter):
    sim = make_sim(dst_config(date(2026, 10, 22)))
    adapter = make_adapter(sim, now=datetime(2026, 1, 1, tzinfo=UTC))
    dates = adapter.available_dates(ClinicRef(HSA), "visit", date(2026, 10, 24), date(2026, 10, 26))
    assert dates == [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)]


def test_booking_on_the_change_day_keeps_the_instant(make_sim, make_adapter, citizen):
    sim = make_sim(dst_config(date(2026, 10, 22)))
    adapter = make_adapter(sim, now=datetime(2026, 1, 1, tzinfo=UTC))
    first, last = local_day_bounds_utc(date(2026, 10, 25), TZ)
    slots = adapter.available_slots(ClinicRef(HSA), "visit", first, last)
    second_two_oclock = [s for s in slots if wall(s) == "02:00"][1]
    booking = adapter.make_booking(ClinicRef(HSA), second_two_oclock.id, citizen).booking
    assert booking.slot.start == datetime(2026, 10, 25, 1, tzinfo=UTC)
    details = adapter.booking_details(ClinicRef(HSA), booking.booking_id, citizen)
    assert details.slot.start == booking.slot.start


def test_instants_read_the_same_every_time_and_bad_ones_stay_errors():
    # FHIR instants are parsed through a cache: equal texts give equal instants, and a text
    # without a zone or time is refused on every read, not only the first.
    for _ in range(2):
        assert parse_instant("2026-10-25T02:30:00+02:00") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
        assert parse_instant("2026-10-25T02:30:00+01:00") == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
        assert parse_instant("2026-10-25T01:30:00Z").tzinfo is UTC
        for bad in ("2026-10-25T02:30:00", "2026-10-25", "not a time"):
            with pytest.raises(InvalidResponse):
                parse_instant(bad, "Slot.start")
