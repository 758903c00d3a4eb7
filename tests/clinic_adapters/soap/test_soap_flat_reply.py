"""Free times are read lean, with the same result as zeep's reading, and odd answers still refused."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from riv_soap_helpers import PRIMARY

from clinic_adapters.errors import InvalidResponse
from clinic_adapters.soap import RivSchedulingAdapter
from clinic_adapters.soap.flat_reply import FlatListReader
from clinic_adapters.timezones import utc_now

CORE = "urn:riv:crm:scheduling:1"


def _window() -> tuple:
    now = utc_now()
    return now, now + timedelta(days=7)


def _search(adapter: RivSchedulingAdapter) -> list:
    return adapter.available_slots(PRIMARY, "LAK30", *_window())


def _zeep_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FlatListReader, "read", lambda self, client, response: None)


def _answer_with(adapter: RivSchedulingAdapter, monkeypatch: pytest.MonkeyPatch, change) -> None:
    """Make the next GetAvailableTimeslots answers the producer's real answer, changed by ``change``."""
    transport = adapter.client.transport
    post = transport.post  # what every call posts through, whoever built its envelope

    def changed(address, message, headers):
        response = post(address, message, headers)
        changed_content = change(response.content)
        assert changed_content != response.content  # the change took: the test tests something
        return dataclasses.replace(response, content=changed_content)

    monkeypatch.setattr(transport, "post", changed)


def test_free_times_are_the_same_as_zeep_reads_them(adapter, monkeypatch) -> None:
    lean = _search(adapter)
    _zeep_only(monkeypatch)
    assert lean
    assert _search(adapter) == lean


def test_lean_reading_equals_zeeps_field_by_field(adapter) -> None:
    service = adapter.client.service("GetAvailableTimeslots")
    client, binding = service._client, service._binding
    start, end = _window()
    with client.settings(raw_response=True):
        response = service.GetAvailableTimeslots(
            _soapheaders={"LogicalAddress": PRIMARY.hsa_id, "actor": {"actorId": adapter.catalogue_subject,
                                                                     "actorType": adapter.actor_type}},
            healthcare_facility=PRIMARY.hsa_id, startDateInclusive=f"{start:%Y%m%d}",
            endDateInclusive=f"{end:%Y%m%d}", performer=[], timeTypeID="LAK30",
            subject_of_care=adapter.catalogue_subject,
        )  # fmt: skip
    lean = FlatListReader(binding, "GetAvailableTimeslots", "timeslotDetail").read(client, response)
    full = binding.process_reply(client, binding.get("GetAvailableTimeslots"), response)
    assert lean is not None and full.timeslotDetail
    assert [vars(t) for t in lean.timeslotDetail] == [dict(t.__values__) for t in full.timeslotDetail]


def test_a_timeslot_with_an_unknown_element_is_still_refused(adapter, monkeypatch) -> None:
    stranger = f'<x:stranger xmlns:x="{CORE}">?</x:stranger>'.encode()
    _answer_with(
        adapter,
        monkeypatch,
        lambda body: body.replace(b"</ns0:timeslotDetail>", stranger + b"</ns0:timeslotDetail>", 1),
    )
    with pytest.raises(InvalidResponse):
        _search(adapter)


def test_a_timeslot_with_fields_out_of_order_is_read_as_zeep_reads_it(adapter, monkeypatch) -> None:
    # zeep decides every shape the lean reader does not take: same outcome with and without it.
    def swap(body: bytes) -> bytes:
        start = body.index(b"<ns1:startTimeInclusive")
        end = body.index(b"</ns2:endTimeExclusive>") + len(b"</ns2:endTimeExclusive>")
        first_end = body.index(b"</ns1:startTimeInclusive>") + len(b"</ns1:startTimeInclusive>")
        return body[:start] + body[first_end:end] + body[start:first_end] + body[end:]

    _answer_with(adapter, monkeypatch, swap)
    outcomes = []
    for lean in (True, False):
        if not lean:
            _zeep_only(monkeypatch)
        try:
            outcomes.append(_search(adapter))
        except InvalidResponse as error:
            outcomes.append(type(error))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("mode", ["fault", "html", "html200", "empty", "blank"])
def test_faults_and_error_pages_end_as_before(sim, adapter, mode) -> None:
    from clinic_adapters.errors import Unavailable

    adapter.list_time_types(PRIMARY)
    sim.inject(mode, operation="GetAvailableTimeslots")
    with pytest.raises(Unavailable):
        _search(adapter)
