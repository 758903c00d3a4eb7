"""The vendor conformance kit, run against the FHIR adapter and the reference simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time

import pytest

from clinic_adapters import ClinicRef, get_adapter
from clinic_adapters.simulators.fhir import (
    FhirSimulator,
    SimClinic,
    SimConfig,
    SimPractitioner,
    SimSlotType,
    SimWindow,
)
from clinic_adapters.timezones import utc_now

suite = pytest.importorskip("clinic_adapters.testing.suite")

HSA = "SE2321000016-FKIT"
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


@pytest.fixture(scope="module")
def kit_sim() -> Iterator[FhirSimulator]:
    # The kit works on the real clock: free times from tomorrow for four weeks, and the next two
    # days the clocks change (within a year), so the simulator covers a year of one short window.
    clinic = SimClinic(
        hsa_id=HSA, name="Konformitetsmottagningen", slot_types=(SimSlotType("visit", "Visit", 30),),
        practitioners=(SimPractitioner("prac-kit", "Karin", "Kit"),),
        windows=(SimWindow("visit", time(8), time(10), weekdays=EVERY_DAY, practitioner_id="prac-kit"),
                 SimWindow("visit", time(13), time(14), weekdays=EVERY_DAY, capacity=2)),
    )
    config = SimConfig(clinics=(clinic,), start_date=utc_now().date(), weeks=53, max_page_size=50)
    with FhirSimulator(config) as sim:
        yield sim


class TestFhirAdapterConforms(suite.ConformanceTests):
    @pytest.fixture
    def adapter(self, kit_sim: FhirSimulator):
        adapter = get_adapter("fhir-r4", kit_sim.adapter_config())
        yield adapter
        adapter.close()

    @pytest.fixture
    def clinic(self) -> ClinicRef:
        return ClinicRef(HSA.lower())

    @pytest.fixture
    def time_type_id(self) -> str:
        return "visit"
