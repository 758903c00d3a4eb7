"""No personal identity number, name or contact detail reaches the logs, on success or failure."""

from __future__ import annotations

import logging

import pytest
from fhir_testdata import PNR

from clinic_adapters import AdapterError
from clinic_adapters.simulators.fhir import HTML_503, UNAUTHORIZED


def test_no_personal_data_in_logs_or_errors(caplog, sim, adapter, north, citizen, week):
    caplog.set_level(logging.DEBUG)  # httpx (tokens) and urllib3 (FHIR requests) log every URL
    first, second = adapter.available_slots(north, "doctor", *week)[:2]
    booking = adapter.make_booking(north, first.id, citizen, reason="Cough").booking
    adapter.subject_schedule(north, citizen)
    adapter.booking_details(north, booking.booking_id, citizen)
    sim.issuer.revoke_all()
    adapter.update_booking(north, booking.booking_id, second.id, citizen)
    errors = []
    for fault in (HTML_503, UNAUTHORIZED):
        sim.faults.inject(fault, count=2)
        with pytest.raises(AdapterError) as caught:
            adapter.subject_schedule(north, citizen)
        errors.append(str(caught.value))
    sim.stop()
    with pytest.raises(AdapterError) as caught:
        adapter.make_booking(north, second.id, citizen)
    errors.append(str(caught.value))

    # the capture really saw the HTTP logs: of the token requests and of the FHIR requests
    assert {"httpx", "urllib3.connectionpool"} <= {r.name for r in caplog.records}
    text = caplog.text + "\n".join(errors)
    for secret in (PNR, PNR[2:], "Tolvan", "Tolvansson", "tolvan@example.org"):
        assert secret not in text
