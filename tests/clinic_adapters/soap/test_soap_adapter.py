"""The RIV-TA adapter against the reference producer: catalogue, availability, the booking cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from riv_soap_helpers import LAB, PRIMARY, make_adapter, subject

from clinic_adapters import get_adapter
from clinic_adapters.contract import ClinicRef, Slot
from clinic_adapters.errors import NotFound, Refused, SlotTaken, TooLateToCancel
from clinic_adapters.simulators.riv_soap import DEMO_LAB, DEMO_PRIMARY
from clinic_adapters.simulators.riv_soap.presets import FASTING_INFO
from clinic_adapters.soap import InvalidSubject, RivSchedulingAdapter
from clinic_adapters.timezones import utc_now


def _window(days: int = 14) -> tuple[datetime, datetime]:
    now = utc_now()
    return now, now + timedelta(days=days)


def _first_slot(
    adapter: RivSchedulingAdapter,
    clinic: ClinicRef = PRIMARY,
    time_type: str = "LAK30",
    *,
    min_hours: float = 48,
) -> Slot:
    start, end = _window()
    slots = [
        s
        for s in adapter.available_slots(clinic, time_type, start, end)
        if s.start > utc_now() + timedelta(hours=min_hours)
    ]
    assert slots, "the demo clinic offers times"
    return slots[0]


def test_registry_builds_the_adapter_from_plain_config(sim):
    adapter = get_adapter("riv-crm-scheduling", {"endpoint": sim.url, "read_timeout": 2.0})
    assert isinstance(adapter, RivSchedulingAdapter)
    assert adapter.capabilities.care_types and adapter.capabilities.rebook
    assert not adapter.capabilities.transactional


def test_catalogue_lists_time_types_care_types_performers_and_facilities(adapter):
    assert {t.id for t in adapter.list_time_types(PRIMARY)} == {"LAK30", "SSK15"}
    assert [c.id for c in adapter.list_care_types(PRIMARY)] == ["PRIM"]
    performers = {p.id: p for p in adapter.list_performers(PRIMARY)}
    assert performers["SE2321000016-D001"].display_name == "Anna Lind"
    assert performers["SE2321000016-D001"].title == "Distriktsläkare"
    assert {f.hsa_id for f in adapter.list_facilities()} == {DEMO_PRIMARY, DEMO_LAB}


def test_clinic_id_is_matched_case_insensitively(adapter):
    shouting = ClinicRef(DEMO_PRIMARY.upper())
    slot = _first_slot(adapter, shouting)
    assert slot.clinic_hsa_id == shouting.hsa_id  # the hub's spelling, not the producer's


def test_available_slots_are_future_sorted_aware_utc_with_flags(adapter):
    start, end = _window()
    slots = adapter.available_slots(PRIMARY, "LAK30", start, end)
    assert slots
    assert all(s.start.tzinfo is not None and s.start.utcoffset() == timedelta(0) for s in slots)
    assert all(start <= s.start < end and s.start > utc_now() for s in slots)
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    first = slots[0]
    assert first.cancel_booking_allowed and first.rebooking_allowed
    assert first.message_allowed is False  # left out by the producer: not allowed
    assert first.time_type_name == "Läkarbesök"


def test_performer_filter_is_sent_to_the_producer(adapter):
    start, end = _window()
    slots = adapter.available_slots(PRIMARY, "LAK30", start, end, performer_id="SE2321000016-D002")
    assert slots and {s.performer_id for s in slots} == {"SE2321000016-D002"}


def test_a_time_listed_once_per_seat_becomes_one_slot_with_free_seats(adapter):
    start, end = _window()
    slots = adapter.available_slots(LAB, "PROV10", start, end)
    assert slots and all(s.free == 3 for s in slots)
    assert len({s.id for s in slots}) == len(slots)


def test_available_dates_are_deduplicated(adapter, sim):
    today = utc_now().date()
    dates = adapter.available_dates(PRIMARY, "LAK30", today, today + timedelta(days=13))
    assert dates == sorted(set(dates)) and dates
    # the producer sent one entry per date × performer (two doctors on some days)
    raw = sim.exchanges[-1].response
    assert raw.count(b"performerAvailabilityByDate>") // 2 > len(dates)


def test_book_shows_in_schedule_and_details_then_cancel_frees_the_time(adapter, alice):
    slot = _first_slot(adapter)
    result = adapter.make_booking(PRIMARY, slot.id, alice, reason="Ont i ryggen")
    assert result.message is None
    booking = result.booking
    assert booking.slot.start == slot.start and booking.subject_ref == alice.ref

    schedule = adapter.subject_schedule(PRIMARY, alice)
    assert [b.booking_id for b in schedule] == [booking.booking_id]
    assert schedule[0].slot.start == slot.start

    details = adapter.booking_details(PRIMARY, booking.booking_id, alice)
    assert details.slot.id == slot.id and details.reason == "Ont i ryggen"
    assert details.slot.cancel_booking_allowed

    start, end = _window()
    assert slot.id not in {s.id for s in adapter.available_slots(PRIMARY, "LAK30", start, end)}

    cancelled = adapter.cancel_booking(PRIMARY, booking.booking_id, alice)
    assert cancelled.booking_id == booking.booking_id
    assert adapter.subject_schedule(PRIMARY, alice) == []
    assert slot.id in {s.id for s in adapter.available_slots(PRIMARY, "LAK30", start, end)}
    with pytest.raises(NotFound):
        adapter.booking_details(PRIMARY, booking.booking_id, alice)


def test_cancelled_time_is_bookable_again_at_once(adapter, alice, bob):
    slot = _first_slot(adapter)
    first = adapter.make_booking(PRIMARY, slot.id, alice).booking
    adapter.cancel_booking(PRIMARY, first.booking_id, alice)
    again = adapter.make_booking(PRIMARY, slot.id, bob).booking
    assert again.booking_id != first.booking_id


def test_second_booking_of_a_full_time_is_slot_taken_with_the_producers_text(adapter, alice, bob):
    slot = _first_slot(adapter)
    adapter.make_booking(PRIMARY, slot.id, alice)
    with pytest.raises(SlotTaken) as caught:
        adapter.make_booking(PRIMARY, slot.id, bob)
    assert caught.value.citizen_message == "Tiden är tyvärr redan bokad. Välj en annan tid."
    assert "redan" not in str(caught.value)  # producer text stays out of the logged message


def test_booking_the_same_time_twice_books_once(adapter, alice, sim):
    slot = _first_slot(adapter)
    first = adapter.make_booking(PRIMARY, slot.id, alice).booking
    again = adapter.make_booking(PRIMARY, slot.id, alice).booking
    assert again.booking_id == first.booking_id
    assert len([b for b in sim.book.bookings() if b.active]) == 1


def test_info_result_text_reaches_the_citizen(adapter, alice):
    slot = _first_slot(adapter, LAB, "PROV10")
    result = adapter.make_booking(LAB, slot.id, alice)
    assert result.message == FASTING_INFO


def test_rebook_moves_the_booking_and_frees_the_old_time(adapter, alice):
    start, end = _window()
    slots = [
        s
        for s in adapter.available_slots(PRIMARY, "LAK30", start, end)
        if s.start > utc_now() + timedelta(hours=48)
    ]
    old, new = slots[0], slots[1]
    booking = adapter.make_booking(PRIMARY, old.id, alice).booking
    moved = adapter.update_booking(PRIMARY, booking.booking_id, new.id, alice).booking
    assert moved.booking_id == booking.booking_id and moved.slot.start == new.start
    assert adapter.booking_details(PRIMARY, booking.booking_id, alice).slot.id == new.id
    free = {s.id for s in adapter.available_slots(PRIMARY, "LAK30", start, end)}
    assert old.id in free and new.id not in free


def test_rebook_to_a_taken_time_keeps_the_old_booking(adapter, alice, bob):
    start, end = _window()
    slots = [
        s
        for s in adapter.available_slots(PRIMARY, "LAK30", start, end)
        if s.start > utc_now() + timedelta(hours=48)
    ]
    mine = adapter.make_booking(PRIMARY, slots[0].id, alice).booking
    adapter.make_booking(PRIMARY, slots[1].id, bob)
    with pytest.raises(SlotTaken):
        adapter.update_booking(PRIMARY, mine.booking_id, slots[1].id, alice)
    assert adapter.booking_details(PRIMARY, mine.booking_id, alice).slot.id == slots[0].id


def test_rebooking_a_time_that_forbids_it_is_refused_with_text(adapter, alice):
    start, end = _window()
    slots = adapter.available_slots(LAB, "PROV10", start, end)
    booking = adapter.make_booking(LAB, slots[0].id, alice).booking
    with pytest.raises(Refused) as caught:
        adapter.update_booking(LAB, booking.booking_id, slots[1].id, alice)
    assert "ombokas" in (caught.value.citizen_message or "")


def test_cancel_deadline_is_enforced_with_a_fixed_clock(alice):
    from riv_soap_helpers import fixed_clock

    from clinic_adapters.simulators.riv_soap import RivSoapSimulator, demo_facilities

    monday_morning = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # 07:00 in Stockholm
    with RivSoapSimulator(demo_facilities(), clock=fixed_clock(monday_morning)) as sim:
        adapter = make_adapter(sim)
        slots = adapter.available_slots(
            PRIMARY, "LAK30", monday_morning, monday_morning + timedelta(hours=12)
        )
        booking = adapter.make_booking(PRIMARY, slots[0].id, alice).booking
        with pytest.raises(TooLateToCancel) as caught:
            adapter.cancel_booking(PRIMARY, booking.booking_id, alice)
        assert caught.value.citizen_message


def test_cancel_of_unknown_or_someone_elses_booking_is_not_found(adapter, alice, bob):
    slot = _first_slot(adapter)
    booking = adapter.make_booking(PRIMARY, slot.id, alice).booking
    with pytest.raises(NotFound):
        adapter.cancel_booking(PRIMARY, booking.booking_id, bob)
    with pytest.raises(NotFound):
        adapter.booking_details(PRIMARY, booking.booking_id, bob)
    with pytest.raises(NotFound):
        adapter.cancel_booking(PRIMARY, "NO-SUCH-BOOKING", alice)
    assert adapter.subject_schedule(PRIMARY, bob) == []


def test_details_not_found_is_an_answer_not_an_outage(adapter, alice):
    with pytest.raises(NotFound):
        adapter.booking_details(PRIMARY, "CANCELLED-LONG-AGO", alice)
    assert adapter.client.last_error is None
    assert adapter.health().ok


@pytest.mark.parametrize("number", ["19811228-9875", "8112289874", "abc", "", None, "198113289874"])
def test_invalid_personal_numbers_are_refused_before_sending(adapter, sim, number):
    before = len(sim.exchanges)
    with pytest.raises(InvalidSubject):
        adapter.subject_schedule(PRIMARY, subject(number))
    assert len(sim.exchanges) == before


def test_hyphenated_and_coordination_numbers_are_accepted(adapter):
    assert adapter.subject_schedule(PRIMARY, subject("19811228-9874")) == []
    assert adapter.subject_schedule(PRIMARY, subject("198112889871")) == []  # samordningsnummer


def test_booking_needs_the_subjects_names(adapter):
    slot = _first_slot(adapter)
    nameless = subject()
    nameless = type(nameless)(ref=nameless.ref, personal_number=nameless.personal_number)
    with pytest.raises(InvalidSubject):
        adapter.make_booking(PRIMARY, slot.id, nameless)


def test_a_foreign_slot_id_is_not_found(adapter, alice):
    with pytest.raises(NotFound):
        adapter.make_booking(PRIMARY, "standalone:42", alice)


@pytest.mark.parametrize(
    "fields",
    [
        ("SE2321000016-1ABC", "20261130093000", "20261130094500", "VACC", "SE2321000016-P1", None),
        ("SE2321000016-1ABC", "20261130093000", None, "time~type", "dr~nilsson", "room 3/b%"),
        ("SE2321000016-1ABC", " 20261130093000", "", "åäö", "", "~"),
    ],
)
def test_a_slot_id_gives_back_the_producers_fields_whatever_they_hold(fields):
    from clinic_adapters.soap.mapping import SlotKey

    key = SlotKey(*fields)
    assert SlotKey.decode(key.encode()) == SlotKey(*(f or None for f in fields))  # empty is absent


def test_the_first_free_times_ask_for_two_days_and_for_the_rest_only_when_those_are_booked_up():
    from clinic_adapters.simulators.riv_soap import RivSoapSimulator
    from clinic_adapters.simulators.riv_soap.presets import simple_facility

    now = [datetime(2026, 11, 30, 7, 0, tzinfo=UTC)]  # a Monday, 08:00 in Stockholm

    def clock():
        return now[0]

    daily = simple_facility("SE2321000016-DAY1", time_type_id="VACC", weekdays=(0, 1, 2, 3, 4, 5, 6))
    wednesdays = simple_facility("SE2321000016-WED1", time_type_id="VACC", weekdays=(2,))
    sim = RivSoapSimulator([daily, wednesdays], weeks=2, clock=clock)
    sim.start()
    try:
        adapter = make_adapter(sim, clock=clock)

        def earliest_and_days_asked(hsa_id):
            before = len(sim.exchanges)
            window = (now[0], now[0] + timedelta(days=3))
            got = adapter.earliest_slots(ClinicRef(hsa_id), "VACC", *window, 3)
            assert got == adapter.available_slots(ClinicRef(hsa_id), "VACC", *window)[:3]
            asked = [
                e.request for e in list(sim.exchanges)[before:] if e.operation == "GetAvailableTimeslots"
            ]
            return [
                (r.split(b"startDateInclusive>")[1][:8], r.split(b"endDateInclusive>")[1][:8])
                for r in asked[:-1]
            ]

        # Open every day: today and tomorrow hold the first three.
        assert earliest_and_days_asked("SE2321000016-DAY1") == [(b"20261130", b"20261201")]
        # Open on Wednesdays only: Monday and Tuesday are asked in vain, then the rest.
        assert earliest_and_days_asked("SE2321000016-WED1") == [
            (b"20261130", b"20261201"),
            (b"20261202", b"20261203"),
        ]
        # Known to be booked up near: the whole window at once.
        assert earliest_and_days_asked("SE2321000016-WED1") == [(b"20261130", b"20261203")]
        # On Tuesday its Wednesday is near: one call, and two days are enough again the next time.
        now[0] = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
        assert earliest_and_days_asked("SE2321000016-WED1") == [(b"20261201", b"20261204")]
        assert earliest_and_days_asked("SE2321000016-WED1") == [(b"20261201", b"20261202")]
    finally:
        sim.stop()
