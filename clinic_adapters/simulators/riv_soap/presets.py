"""Ready-made clinics for the demo and for tests (``--seed demo``)."""

from __future__ import annotations

from datetime import time

from clinic_adapters.simulators.riv_soap.model import (
    CareTypeSpec,
    FacilitySpec,
    OpeningWindow,
    PerformerSpec,
    TimeTypeSpec,
)

DEMO_PRIMARY = "SE2321000016-1hz5"
DEMO_LAB = "SE2321000016-7ab2"

FASTING_INFO = "Kom fastande: ät och drick inget utom vatten efter klockan 22 kvällen före."


def demo_facilities() -> list[FacilitySpec]:
    """Return two clinics: a health centre with two doctors and a nurse, and a lab with 3 chairs."""
    doctor = TimeTypeSpec("LAK30", "Läkarbesök", 30, care_type_id="PRIM")
    nurse = TimeTypeSpec("SSK15", "Sjuksköterskebesök", 15, care_type_id="PRIM")
    blood = TimeTypeSpec("PROV10", "Provtagning", 10, care_type_id="LAB", booking_info=FASTING_INFO)
    primary = FacilitySpec(
        hsa_id=DEMO_PRIMARY,
        name="Vårdcentralen Norrmalm",
        time_types=(doctor, nurse),
        care_types=(CareTypeSpec("PRIM", "Primärvård"),),
        performers=(
            PerformerSpec("SE2321000016-D001", "Anna", "Lind", "Distriktsläkare"),
            PerformerSpec("SE2321000016-D002", "Erik", "Berg", "Läkare"),
            PerformerSpec("SE2321000016-N001", "Sara", "Holm", "Sjuksköterska"),
        ),
        windows=(
            OpeningWindow("LAK30", time(8, 0), time(12, 0), performer_id="SE2321000016-D001"),
            OpeningWindow("LAK30", time(13, 0), time(16, 0), (0, 2, 4), performer_id="SE2321000016-D002"),
            OpeningWindow(
                "SSK15", time(8, 0), time(11, 0), performer_id="SE2321000016-N001", message_allowed=True
            ),
        ),
        cancel_deadline_hours=24,
    )
    lab = FacilitySpec(
        hsa_id=DEMO_LAB,
        name="Provtagningen Södermalm",
        time_types=(blood,),
        care_types=(CareTypeSpec("LAB", "Laboratorium"),),
        windows=(
            OpeningWindow(
                "PROV10",
                time(7, 30),
                time(10, 0),
                resource_id="CHAIR",
                resource_name="Provtagning",
                capacity=3,
                rebooking_allowed=False,
            ),
        ),
    )
    return [primary, lab]


PRESETS = {"demo": demo_facilities, "empty": list}


def simple_facility(
    hsa_id: str,
    name: str | None = None,
    *,
    time_type_id: str = "T15",
    time_type_name: str = "Besök",
    duration_minutes: int = 15,
    start: str = "08:00",
    end: str = "16:00",
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4),
    capacity: int = 1,
    performer_id: str | None = None,
    booking_info: str | None = None,
    cancel_deadline_hours: float = 0.0,
) -> FacilitySpec:
    """Return a clinic with one time type and one weekly window: the few lines most tests need."""
    performers = (PerformerSpec(performer_id, "Test", "Behandlare"),) if performer_id else ()
    return FacilitySpec(
        hsa_id=hsa_id,
        name=name or f"Mottagning {hsa_id}",
        time_types=(TimeTypeSpec(time_type_id, time_type_name, duration_minutes, booking_info=booking_info),),
        performers=performers,
        windows=(
            OpeningWindow(
                time_type_id,
                time.fromisoformat(start),
                time.fromisoformat(end),
                weekdays,
                performer_id=performer_id,
                capacity=capacity,
            ),
        ),
        cancel_deadline_hours=cancel_deadline_hours,
    )
