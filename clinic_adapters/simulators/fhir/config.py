"""What a simulated FHIR R4 record system holds: clinics, slot types, practitioners, opening windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from clinic_adapters.timezones import utc_now

HSA_SYSTEM = "urn:oid:1.2.752.129.2.1.4.1"
PERSONNUMMER_SYSTEM = "http://electronichealth.se/identifier/personnummer"
SLOT_TYPE_SYSTEM = "urn:regional-booking-hub:slot-type"


@dataclass(frozen=True, slots=True)
class SimSlotType:
    """A slot (service) type; becomes a ``HealthcareService.type`` and ``Slot.serviceType`` coding."""

    code: str
    display: str
    duration_minutes: int = 15


@dataclass(frozen=True, slots=True)
class SimPractitioner:
    """A practitioner working at a clinic; ``id`` becomes the ``Practitioner`` resource id."""

    id: str
    given_name: str
    family_name: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class SimWindow:
    """A weekly opening window in the clinic's local time that is cut into slots.

    ``weekdays`` uses ``date.weekday()`` numbers (Monday 0). ``capacity`` > 1 makes one ``Slot``
    resource per seat, as many FHIR servers do, so one time is several slots.
    """

    slot_type: str
    start: time
    end: time
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    practitioner_id: str | None = None
    capacity: int = 1


@dataclass(frozen=True, slots=True)
class SimClinic:
    """A clinic: an ``Organization`` and a ``HealthcareService`` carrying its HSA-id."""

    hsa_id: str
    name: str
    timezone: str = "Europe/Stockholm"
    slot_types: tuple[SimSlotType, ...] = ()
    practitioners: tuple[SimPractitioner, ...] = ()
    windows: tuple[SimWindow, ...] = ()


@dataclass(slots=True)
class SimConfig:
    """Everything the simulator serves; plain values so tests and the CLI can build it alike."""

    clinics: tuple[SimClinic, ...] = ()
    start_date: date = field(default_factory=lambda: utc_now().date())
    weeks: int = 2
    client_id: str = "hub"
    client_secret: str = "hub-secret"  # noqa: S105 - a simulator's fixed test credential
    token_lifetime: int = 300
    max_page_size: int = 50
    default_page_size: int = 20
    patient_identifier_system: str = PERSONNUMMER_SYSTEM
    # A regional patient index knows every citizen: a search by personal number finds (creates) one.
    auto_patients: bool = True
    # Real servers ignore search parameters they do not know; list some here to mimic that.
    ignored_search_params: frozenset[str] = frozenset()
    # Strict servers answer 400 to a parameter they do not support instead; list some here.
    rejected_search_params: frozenset[str] = frozenset()
    require_if_match: bool = True
    # Answer a create with Location and ETag only, whatever the client prefers (some servers do).
    return_minimal: bool = False


def demo_config(start_date: date | None = None, weeks: int = 2) -> SimConfig:
    """Return a small two-clinic configuration used by the CLI and by tests that need any clinic."""
    doctor = SimSlotType("doctor", "Doctor visit", 20)
    blood = SimSlotType("blood-test", "Blood test", 10)
    vaccine = SimSlotType("vaccination", "Vaccination", 10)
    anna = SimPractitioner("prac-anna", "Anna", "Lind", "Physician")
    erik = SimPractitioner("prac-erik", "Erik", "Berg", "Nurse")
    clinics = (
        SimClinic(
            hsa_id="SE2321000016-1HZ5",
            name="Vårdcentralen Norr",
            slot_types=(doctor, blood),
            practitioners=(anna, erik),
            windows=(
                SimWindow("doctor", time(8), time(12), practitioner_id="prac-anna"),
                SimWindow("blood-test", time(7, 30), time(9), practitioner_id="prac-erik"),
            ),
        ),
        SimClinic(
            hsa_id="SE2321000016-2AB7",
            name="Vaccinationsmottagningen Syd",
            slot_types=(vaccine,),
            windows=(SimWindow("vaccination", time(9), time(11), weekdays=(1, 3), capacity=3),),
        ),
    )
    config = SimConfig(clinics=clinics, weeks=weeks)
    if start_date is not None:
        config.start_date = start_date
    return config
