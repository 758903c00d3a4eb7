"""What the adapter sends and what the simulator answers are valid FHIR (fhir.resources R4B models)."""

from __future__ import annotations

import importlib

import pytest

from clinic_adapters import BookingStatus

# fhir.resources 8 serves R5 at the top level; R4B is the R4-compatible release of the models.
MODELS = "fhir.resources.R4B"


def validate(resource: dict) -> None:
    kind = resource["resourceType"]
    module = importlib.import_module(f"{MODELS}.{kind.lower()}")
    getattr(module, kind).model_validate(resource)


def test_adapter_sends_valid_appointments(adapter, north, citizen, week, sim):
    first, second = adapter.available_slots(north, "doctor", *week)[:2]
    booking = adapter.make_booking(north, first.id, citizen, reason="Follow-up").booking
    adapter.update_booking(north, booking.booking_id, second.id, citizen)
    bodies = [r["body"] for r in sim.requests if r["method"] in ("POST", "PUT") and r["body"]]
    assert {b["status"] for b in bodies} == {"booked", "cancelled"}
    for body in bodies:
        validate(body)


@pytest.mark.parametrize(
    "query",
    ["HealthcareService", "Organization", "Practitioner", "PractitionerRole", "Schedule",
     "Slot?status=free", "Appointment"],
)
def test_simulator_search_answers_are_valid_bundles(fhir_client, adapter, north, citizen, week, query):
    slot = adapter.available_slots(north, "doctor", *week)[0]
    adapter.cancel_booking(north, adapter.make_booking(north, slot.id, citizen).booking.booking_id, citizen)
    bundle = fhir_client.get(query).json()
    validate(bundle)
    assert bundle["entry"]
    for entry in bundle["entry"]:
        validate(entry["resource"])


def test_simulator_reads_and_errors_are_valid(fhir_client, adapter, north, citizen, week):
    slot = adapter.available_slots(north, "doctor", *week)[0]
    booking = adapter.make_booking(north, slot.id, citizen).booking
    assert adapter.booking_details(north, booking.booking_id, citizen).status is BookingStatus.BOOKED
    validate(fhir_client.get(f"Appointment/{booking.booking_id}").json())
    validate(fhir_client.get(f"Appointment/{booking.booking_id}/_history/1").json())
    validate(fhir_client.get("metadata").json())
    missing = fhir_client.get("Appointment/nope")
    assert missing.status_code == 404
    validate(missing.json())
    patients = fhir_client.get("Patient").json()["entry"]
    validate(patients[0]["resource"])
