"""Messages on the wire against the REAL published contract (../shared/contracts, read-only).

Requests the adapter sends and answers the simulator gives are validated with the interaction's
Responder XSD; the personal-number pattern's ``^…$`` (trap 1) is fixed in memory only.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree
from riv_soap_helpers import (
    CONTRACT,
    LAB,
    PRIMARY,
    REAL_WSDL_TEMPLATE,
    SOAP_ENV,
    assert_valid,
    body_of,
    header_schemas,
    make_adapter,
    responder_schema,
)

from clinic_adapters.errors import NotFound
from clinic_adapters.simulators.riv_soap.contract_spec import OPERATIONS
from clinic_adapters.soap import RivSchedulingAdapter
from clinic_adapters.timezones import utc_now

pytestmark = pytest.mark.skipif(not CONTRACT.is_dir(), reason="../shared/contracts is not present")


def _exercise_every_operation(adapter: RivSchedulingAdapter, alice, bob) -> None:
    """Drive all eleven operations, including an ERROR and a not-found fault."""
    adapter.list_time_types(PRIMARY)
    adapter.list_care_types(PRIMARY)
    adapter.list_performers(PRIMARY)
    adapter.list_facilities()
    today = utc_now().date()
    assert adapter.available_dates(PRIMARY, "LAK30", today, today + timedelta(days=13))
    now = utc_now()
    slots = [
        s
        for s in adapter.available_slots(PRIMARY, "LAK30", now, now + timedelta(days=14))
        if s.start > now + timedelta(hours=48)
    ]
    booking = adapter.make_booking(PRIMARY, slots[0].id, alice, reason="Kontroll").booking
    adapter.update_booking(PRIMARY, booking.booking_id, slots[1].id, alice)
    assert adapter.booking_details(PRIMARY, booking.booking_id, alice).slot.id == slots[1].id
    assert len(adapter.subject_schedule(PRIMARY, alice)) == 1
    adapter.cancel_booking(PRIMARY, booking.booking_id, alice)
    with pytest.raises(NotFound):
        adapter.booking_details(PRIMARY, booking.booking_id, alice)
    lab_slot = adapter.available_slots(LAB, "PROV10", now, now + timedelta(days=14))[0]
    adapter.make_booking(LAB, lab_slot.id, bob)


def _validate_exchanges(sim) -> set[str]:
    registry_schema, actor_schema = header_schemas()
    seen: set[str] = set()
    for exchange in sim.exchanges:
        assert exchange.operation, "every request named a known operation"
        schema = responder_schema(exchange.operation)
        request = etree.fromstring(exchange.request)
        header = request.find(f"{{{SOAP_ENV}}}Header")
        logical = header.find("{urn:riv:itintegration:registry:1}LogicalAddress")
        actor = header.find("{urn:riv:interoperability:headers:1}Actor")
        assert_valid(registry_schema, logical)
        assert_valid(actor_schema, actor)
        assert_valid(schema, body_of(exchange.request))
        if exchange.status == 200:
            assert_valid(schema, body_of(exchange.response))
        else:
            fault = body_of(exchange.response)
            assert etree.QName(fault).localname == "Fault"
        seen.add(exchange.operation)
    return seen


def test_requests_and_answers_of_all_operations_match_the_published_xsds(sim, alice, bob):
    adapter = make_adapter(sim)
    _exercise_every_operation(adapter, alice, bob)
    assert _validate_exchanges(sim) == set(OPERATIONS)


def test_an_error_answer_matches_the_published_xsd(sim, adapter, alice, bob):
    now = utc_now()
    slot = adapter.available_slots(PRIMARY, "SSK15", now + timedelta(days=2), now + timedelta(days=14))[0]
    adapter.make_booking(PRIMARY, slot.id, alice)
    with pytest.raises(Exception, match="ERROR"):
        adapter.make_booking(PRIMARY, slot.id, bob)
    error = [e for e in sim.exchanges if e.operation == "MakeBooking"][-1]
    assert b"ERROR" in error.response
    assert_valid(responder_schema("MakeBooking"), body_of(error.response))


def test_the_published_wsdls_with_per_operation_addresses_work_against_the_simulator(sim, alice, bob):
    # the published WSDLs say http://tempuri.org: the adapter must set each address itself
    adapter = make_adapter(sim, wsdl_url=REAL_WSDL_TEMPLATE, endpoint=sim.url + "{operation}")
    _exercise_every_operation(adapter, alice, bob)
    assert _validate_exchanges(sim) == set(OPERATIONS)
    assert all(url.endswith(".wsdl") for url in adapter.client._clients)
    assert len(adapter.client._clients) == len(OPERATIONS)


def test_the_simulators_own_wsdl_per_operation_also_loads(sim, alice, bob):
    adapter = make_adapter(sim, endpoint=sim.url + "{operation}")
    _exercise_every_operation(adapter, alice, bob)
    assert len(adapter.client._clients) == len(OPERATIONS)


def test_requests_put_1_1_elements_in_their_odd_namespaces(sim, adapter):
    adapter.list_time_types(PRIMARY)
    adapter.list_performers(PRIMARY)
    by_op = {e.operation: body_of(e.request) for e in sim.exchanges}
    time_types = by_op["GetAllTimeTypes"]
    assert time_types.find("{urn:riv:crm:scheduling:GetAllTimeTypesResponder:1.1}subject_of_care") is not None
    performers = by_op["GetAllPerformers"]
    assert performers.find("{urn:riv:crm:scheduling:GetAllPerformersResponder:1}subject_of_care") is not None
