"""Shared test data for the FHIR adapter tests (a uniquely named module, importable from tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from clinic_adapters.simulators.fhir import SimClinic, SimConfig, SimPractitioner, SimSlotType, SimWindow

# Slots are generated for fixed weeks in 2026; the adapter's clock stands just before them.
START = date(2026, 3, 23)
NOW = datetime(2026, 3, 22, 12, 0, tzinfo=UTC)
NORTH = "SE2321000016-1HZ5"
SOUTH = "SE2321000016-2AB7"
PNR = "191212121212"
OTHER_PNR = "194009090003"

DOCTOR = SimSlotType("doctor", "Doctor visit", 20)
BLOOD = SimSlotType("blood-test", "Blood test", 10)
VACCINE = SimSlotType("vaccination", "Vaccination", 10)
ANNA = SimPractitioner("prac-anna", "Anna", "Lind", "Physician")
ERIK = SimPractitioner("prac-erik", "Erik", "Berg", "Nurse")


def sim_config(**overrides: Any) -> SimConfig:
    """Two clinics, one week; small pages so every search needs several."""
    clinics = (
        SimClinic(
            hsa_id=NORTH, name="Vårdcentralen Norr", slot_types=(DOCTOR, BLOOD),
            practitioners=(ANNA, ERIK),
            windows=(
                SimWindow("doctor", time(8), time(10), practitioner_id="prac-anna"),
                SimWindow("blood-test", time(7, 30), time(8, 30), practitioner_id="prac-erik"),
            ),
        ),
        SimClinic(
            hsa_id=SOUTH, name="Vaccinationsmottagningen Syd", slot_types=(VACCINE,),
            windows=(SimWindow("vaccination", time(9), time(10), weekdays=(1, 3), capacity=3),),
        ),
    )
    values: dict[str, Any] = {"clinics": clinics, "start_date": START, "weeks": 1, "max_page_size": 7,
                              "default_page_size": 5}
    values.update(overrides)
    return SimConfig(**values)
