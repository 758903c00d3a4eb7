"""The reference RIV-TA producer itself: capacity under concurrency, no past times, control, CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
import requests
import zeep
from riv_soap_helpers import LAB, PRIMARY, fixed_clock, make_adapter, subject

from clinic_adapters.contract import ClinicRef
from clinic_adapters.errors import SlotTaken, Unavailable
from clinic_adapters.simulators.riv_soap import (
    DEMO_PRIMARY,
    RivSoapSimulator,
    build_wsdl,
    demo_facilities,
    facility_from_dict,
)
from clinic_adapters.simulators.riv_soap.contract_spec import OPERATIONS
from clinic_adapters.timezones import utc_now

# ten distinct valid test numbers (date + Luhn), one per concurrent citizen
CITIZENS = [
    "198112289874",
    "199001011239",
    "200502024565",
    "197703142344",
    "196001019691",
    "196502028381",
    "197004041237",
    "198507078882",
    "199911118884",
    "200103031118",
]


def test_test_numbers_are_valid():
    from stdnum.se import personnummer

    assert len(set(CITIZENS)) == len(CITIZENS)
    assert all(personnummer.is_valid(n) for n in CITIZENS)


def _race(adapter, clinic: ClinicRef, slot_id: str, numbers: list[str]) -> tuple[list[str], list[Exception]]:
    booked: list[str] = []
    refused: list[Exception] = []
    barrier = threading.Barrier(len(numbers))

    def book(number: str) -> None:
        barrier.wait()
        try:
            booked.append(adapter.make_booking(clinic, slot_id, subject(number, number)).booking.booking_id)
        except Exception as exc:
            refused.append(exc)

    threads = [threading.Thread(target=book, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return booked, refused


def test_concurrent_bookings_never_exceed_capacity(sim):
    adapter = make_adapter(sim)
    adapter.list_time_types(PRIMARY)  # load the WSDL once, before the race
    now = utc_now()
    doctor = adapter.available_slots(PRIMARY, "LAK30", now + timedelta(days=2), now + timedelta(days=14))[0]
    booked, refused = _race(adapter, PRIMARY, doctor.id, CITIZENS[:6])
    assert len(booked) == 1 and len(refused) == 5
    assert all(isinstance(e, SlotTaken) for e in refused)

    chair = adapter.available_slots(LAB, "PROV10", now, now + timedelta(days=14))[0]
    booked, refused = _race(adapter, LAB, chair.id, CITIZENS[:6])
    assert len(booked) == 3 and len(refused) == 3
    assert chair.id not in {
        s.id for s in adapter.available_slots(LAB, "PROV10", now, now + timedelta(days=14))
    }


def test_past_times_are_never_offered():
    monday_0910 = datetime(2026, 12, 7, 8, 10, tzinfo=UTC)  # 09:10 in Stockholm
    with RivSoapSimulator(demo_facilities(), clock=fixed_clock(monday_0910)) as sim:
        adapter = make_adapter(sim, clock=fixed_clock(monday_0910 - timedelta(days=1)))
        slots = adapter.available_slots(
            PRIMARY, "LAK30", monday_0910 - timedelta(hours=3), monday_0910 + timedelta(hours=8)
        )
        assert slots and min(s.start for s in slots) > monday_0910
        assert sorted({s.start.astimezone(UTC).hour for s in slots})[0] == 8  # 09:30 local onwards


def test_restart_keeps_bookings_and_port(sim, alice):
    adapter = make_adapter(sim)
    now = utc_now()
    slot = adapter.available_slots(PRIMARY, "SSK15", now + timedelta(days=2), now + timedelta(days=14))[0]
    booking = adapter.make_booking(PRIMARY, slot.id, alice).booking
    url = sim.url
    sim.stop()
    assert not sim.running
    with pytest.raises(Unavailable):
        adapter.subject_schedule(PRIMARY, alice)
    assert sim.start() == url
    assert [b.booking_id for b in adapter.subject_schedule(PRIMARY, alice)] == [booking.booking_id]


def test_the_generated_wsdl_needs_no_contract_files(sim):
    document = build_wsdl("http://example.invalid/")
    assert b"schemaLocation" not in document and b"shared" not in document
    client = zeep.Client(sim.url + "?wsdl")
    operations = {op for binding in client.wsdl.bindings.values() for op in binding.all()}
    assert operations == set(OPERATIONS)
    single = zeep.Client(sim.url + "GetBookingDetails?wsdl")
    assert [list(b.all()) for b in single.wsdl.bindings.values()] == [["GetBookingDetails"]]


def test_unknown_paths_and_methods_answer_plainly(sim):
    session = requests.Session()
    session.trust_env = False
    assert session.get(sim.url + "health", timeout=2).text == "ok"
    assert session.get(sim.url + "nothing", timeout=2).status_code == 404
    answer = session.post(sim.url, data=b"<not-soap/>", timeout=2)
    assert answer.status_code == 500 and b"Client" in answer.content


def test_facilities_can_be_described_as_json_and_added_later(sim):
    facility = facility_from_dict(
        {
            "hsa_id": "SE2321000016-JSON",
            "name": "Mottagningen från JSON",
            "time_types": [{"id": "T20", "name": "Samtal", "duration_minutes": 20}],
            "windows": [
                {"time_type_id": "T20", "start": "09:00", "end": "10:00", "weekdays": [0, 1, 2, 3, 4, 5, 6]}
            ],
        }
    )
    assert facility.windows[0].start == time(9, 0)
    sim.add_facility(facility)
    adapter = make_adapter(sim)
    clinic = ClinicRef("se2321000016-json")
    now = utc_now()
    slots = adapter.available_slots(clinic, "T20", now, now + timedelta(days=8))
    assert slots and all(s.end - s.start == timedelta(minutes=20) for s in slots)


def test_an_unknown_clinic_is_a_client_fault(sim):
    adapter = make_adapter(sim)
    with pytest.raises(Unavailable, match="SOAP fault soap:Client"):
        adapter.list_time_types(ClinicRef("SE0000000000-NONE"))


def test_the_command_line_serves_the_demo():
    command = [sys.executable, "-m", "clinic_adapters.simulators.riv_soap", "--port", "0", "--seed", "demo"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            line = process.stdout.readline()
            url = line.split(" at ", 1)[1].split(" ", 1)[0]
            assert DEMO_PRIMARY in process.stdout.readline() + process.stdout.readline()
            session = requests.Session()
            session.trust_env = False
            assert b"GetAvailableTimeslots" in session.get(url + "?wsdl", timeout=5).content
        finally:
            process.terminate()
            process.wait(10)
    assert process.returncode == 0


def test_a_few_simple_clinics_on_one_server_through_the_registry(alice):
    from clinic_adapters import get_adapter
    from clinic_adapters.simulators.riv_soap import simple_facility

    clinics = [
        simple_facility("SE2321000016-AAA1", weekdays=tuple(range(7))),
        simple_facility("SE2321000016-BBB2", start="10:00", end="11:00", weekdays=tuple(range(7))),
    ]
    with RivSoapSimulator(clinics) as sim:
        adapter = get_adapter("riv-crm-scheduling", sim.adapter_config())
        now = utc_now()
        counts = [
            len(
                adapter.available_slots(
                    ClinicRef(c.hsa_id), "T15", now + timedelta(days=1), now + timedelta(days=2)
                )
            )
            for c in clinics
        ]
        assert counts[0] > counts[1] > 0  # 32 and 4 on most days; a clock change shifts a few
