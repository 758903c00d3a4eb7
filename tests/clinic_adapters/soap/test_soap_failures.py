"""Technical failures map to Unavailable quickly; lost replies are reconciled; logs hold no personal data."""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import timedelta

import pytest
from riv_soap_helpers import ALICE_PNR, PRIMARY, make_adapter

from clinic_adapters.contract import Slot
from clinic_adapters.errors import InvalidResponse, NotFound, Unavailable
from clinic_adapters.soap import RivSchedulingAdapter, SoapFault
from clinic_adapters.timezones import utc_now


def _slots(adapter: RivSchedulingAdapter) -> list[Slot]:
    now = utc_now()
    return [
        s
        for s in adapter.available_slots(PRIMARY, "LAK30", now, now + timedelta(days=14))
        if s.start > now + timedelta(hours=48)
    ]


def _search(adapter: RivSchedulingAdapter) -> list[Slot]:
    now = utc_now()
    return adapter.available_slots(PRIMARY, "LAK30", now, now + timedelta(days=7))


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("fault", SoapFault),
        ("client_fault", SoapFault),
        ("html", Unavailable),
        ("html200", InvalidResponse),
        ("empty", InvalidResponse),
        ("blank", InvalidResponse),
    ],
)
def test_faults_and_error_pages_are_unavailable(sim, adapter, mode, error):
    adapter.list_time_types(PRIMARY)  # WSDL loaded: the failure is the call's own
    sim.inject(mode, operation="GetAvailableTimeslots")
    started = time.monotonic()
    with pytest.raises(error) as caught:
        _search(adapter)
    assert isinstance(caught.value, Unavailable)
    assert time.monotonic() - started < 1.0
    assert _search(adapter)  # the next call is fine again


def test_a_client_fault_from_booking_details_means_not_found(sim, adapter, alice):
    sim.inject("client_fault", operation="GetBookingDetails")
    with pytest.raises(NotFound):
        adapter.booking_details(PRIMARY, "B1", alice)


def test_a_server_fault_from_booking_details_is_an_outage(sim, adapter, alice):
    sim.inject("fault", operation="GetBookingDetails")
    with pytest.raises(Unavailable):
        adapter.booking_details(PRIMARY, "B1", alice)


def test_connection_refused_is_unavailable_at_once(sim, adapter):
    adapter.list_time_types(PRIMARY)
    sim.stop()
    started = time.monotonic()
    with pytest.raises(Unavailable, match="connection failed"):
        _search(adapter)
    assert time.monotonic() - started < 1.0


def test_an_unreachable_wsdl_is_unavailable_and_loads_after_recovery(sim):
    adapter = make_adapter(sim)
    sim.stop()
    with pytest.raises(Unavailable, match="WSDL"):
        adapter.list_time_types(PRIMARY)
    sim.start()
    assert adapter.list_time_types(PRIMARY)


def test_a_slow_producer_times_out_quickly(sim):
    adapter = make_adapter(sim, read_timeout=0.3)
    adapter.list_time_types(PRIMARY)
    sim.inject("delay", operation="GetAvailableTimeslots", delay=2.0)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="time-out"):
        _search(adapter)
    assert time.monotonic() - started < 1.0


def test_latency_within_the_limit_is_fine(sim):
    adapter = make_adapter(sim, read_timeout=1.0)
    sim.latency = 0.1
    assert _search(adapter)


def test_health_reports_outage_and_recovery_on_the_same_port(sim, adapter):
    assert adapter.health().ok
    port = sim.port
    sim.stop()
    started = time.monotonic()
    health = adapter.health()
    assert not health.ok and health.last_error is not None and health.last_error_text
    assert time.monotonic() - started < 1.0
    sim.start()
    assert sim.port == port
    assert adapter.health().ok


def test_health_uses_the_short_time_limit(sim):
    adapter = make_adapter(sim, read_timeout=5.0, health_timeout=0.3)
    adapter.health()
    sim.inject("delay", operation="GetAllHealthcareFacilities", delay=2.0)
    started = time.monotonic()
    assert not adapter.health().ok
    assert time.monotonic() - started < 1.0


def test_a_booking_whose_reply_was_lost_is_found_in_the_schedule(sim, adapter, alice):
    slot = _slots(adapter)[0]
    sim.inject("lose_reply", operation="MakeBooking")
    result = adapter.make_booking(PRIMARY, slot.id, alice)
    assert result.booking.slot.start == slot.start
    active = [b for b in sim.book.bookings() if b.active]
    assert [b.id for b in active] == [result.booking.booking_id]


def test_a_retry_after_a_timed_out_booking_books_once(sim, alice):
    adapter = make_adapter(sim, read_timeout=0.3)
    slot = _slots(adapter)[0]
    sim.inject("delay", operation="MakeBooking", delay=0.6)
    # Times out while the producer still works; usually Unavailable (a slow machine may reconcile).
    with contextlib.suppress(Unavailable):
        adapter.make_booking(PRIMARY, slot.id, alice)
    deadline = time.monotonic() + 5
    while not sim.book.bookings() and time.monotonic() < deadline:
        time.sleep(0.05)
    retried = adapter.make_booking(PRIMARY, slot.id, alice)  # "already booked" → reconciled
    active = [b for b in sim.book.bookings() if b.active]
    assert [b.id for b in active] == [retried.booking.booking_id]


def test_a_lost_reply_to_a_booking_that_did_not_happen_stays_unavailable(sim, adapter, alice):
    slot = _slots(adapter)[0]
    sim.inject("html", operation="MakeBooking")
    with pytest.raises(Unavailable):
        adapter.make_booking(PRIMARY, slot.id, alice)
    assert not sim.book.bookings()


def test_lost_replies_to_rebook_and_cancel_are_reconciled(sim, adapter, alice):
    first, second = _slots(adapter)[:2]
    booking = adapter.make_booking(PRIMARY, first.id, alice).booking
    sim.inject("lose_reply", operation="UpdateBooking")
    moved = adapter.update_booking(PRIMARY, booking.booking_id, second.id, alice)
    assert moved.booking.slot.id == second.id
    sim.inject("lose_reply", operation="CancelBooking")
    assert adapter.cancel_booking(PRIMARY, booking.booking_id, alice).booking_id == booking.booking_id
    assert not [b for b in sim.book.bookings() if b.active]


def test_no_personal_data_in_log_records(sim, adapter, alice, caplog):
    caplog.set_level(logging.DEBUG)
    slot = _slots(adapter)[0]
    sim.inject("lose_reply", operation="MakeBooking")
    booking = adapter.make_booking(PRIMARY, slot.id, alice, reason="Hosta").booking
    adapter.subject_schedule(PRIMARY, alice)
    adapter.cancel_booking(PRIMARY, booking.booking_id, alice)
    for mode in ("fault", "html", "empty"):
        sim.inject(mode)
        with pytest.raises(Unavailable) as caught:
            adapter.booking_details(PRIMARY, booking.booking_id, alice)
        assert ALICE_PNR not in str(caught.value)
    with pytest.raises(NotFound):
        adapter.booking_details(PRIMARY, booking.booking_id, alice)
    sim.stop()
    with pytest.raises(Unavailable):
        adapter.subject_schedule(PRIMARY, alice)

    assert caplog.records, "the adapter does log its failures"
    text = "\n".join(r.getMessage() for r in caplog.records)
    for personal in (ALICE_PNR, "19811228-9874", "811228", "Alice", "Testsson", "0701234567", "Hosta"):
        assert personal not in text
