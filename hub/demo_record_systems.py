"""The demo's record systems: a RIV-TA SOAP producer and a FHIR R4 server, both the project's
reference simulators, started in-process on 127.0.0.1 for the two record-system clinics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters.simulators.fhir import FhirSimulator, SimClinic, SimConfig, SimSlotType, SimWindow
from clinic_adapters.simulators.riv_soap import (
    FacilitySpec,
    OpeningWindow,
    PerformerSpec,
    RivSoapSimulator,
    TimeTypeSpec,
)
from hub.models import Clinic

SOAP_CLINIC = "SE2321000016-7RSD"
FHIR_CLINIC = "SE2321000016-8DUV"
WEEKDAYS = (0, 1, 2, 3, 4)
FASTING = "Kom fastande: ät och drick inget utom vatten efter klockan 22 kvällen före."


def _soap_facility() -> FacilitySpec:
    return FacilitySpec(
        hsa_id=SOAP_CLINIC,
        name="Råsunda vårdcentral",
        time_types=(
            TimeTypeSpec("LAKARBESOK", "Läkarbesök", 20),
            TimeTypeSpec("PROVTAGNING", "Provtagning", 10, booking_info=FASTING),
            TimeTypeSpec("VACCINATION", "Vaccination", 10),
        ),
        performers=(PerformerSpec("SE2321000016-7D01", "Ingrid", "Sjöberg", "Distriktsläkare"),),
        windows=(
            OpeningWindow("LAKARBESOK", time(8), time(16), WEEKDAYS, performer_id="SE2321000016-7D01"),
            OpeningWindow("PROVTAGNING", time(7, 30), time(10), WEEKDAYS, capacity=2),
            OpeningWindow("VACCINATION", time(13), time(16), (1, 3), capacity=2),
        ),
        cancel_deadline_hours=24,
    )


def _fhir_clinic() -> SimClinic:
    return SimClinic(
        hsa_id=FHIR_CLINIC,
        name="Duvbo vårdcentral",
        slot_types=(
            SimSlotType("LAKARBESOK", "Läkarbesök", 20),
            SimSlotType("PROVTAGNING", "Provtagning", 10),
            SimSlotType("VACCINATION", "Vaccination", 10),
        ),
        windows=(
            SimWindow("LAKARBESOK", time(9), time(15)),
            SimWindow("PROVTAGNING", time(8), time(10), capacity=3),
            SimWindow("VACCINATION", time(14), time(17), weekdays=(0, 2, 4), capacity=2),
        ),
    )


@dataclass
class DemoRecordSystems:
    soap: RivSoapSimulator
    fhir: FhirSimulator

    def configs(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {
            SOAP_CLINIC: ("riv-crm-scheduling", self.soap.adapter_config()),
            FHIR_CLINIC: ("fhir-r4", self.fhir.adapter_config()),
        }

    def stop(self) -> None:
        self.soap.stop()
        self.fhir.stop()


def start() -> DemoRecordSystems:
    """Start both simulators on free loopback ports."""
    soap = RivSoapSimulator([_soap_facility()], weeks=4)
    soap.start()
    fhir = FhirSimulator(SimConfig(clinics=(_fhir_clinic(),), weeks=4))
    fhir.start()
    return DemoRecordSystems(soap, fhir)


def connect(db: Session, systems: DemoRecordSystems) -> None:
    """Point the demo's record-system clinics at this run's simulators (ports change per run)."""
    for hsa_id, (connection, config) in systems.configs().items():
        clinic = db.scalar(select(Clinic).where(Clinic.hsa_id == hsa_id))
        if clinic is not None:
            clinic.connection = connection
            clinic.connection_config = {**config, "resilience": {"deadline_seconds": 3.0}}
