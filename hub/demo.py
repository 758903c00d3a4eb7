"""A demo region: six clinics in Solna and Sundbyberg with four weeks of opening hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import CaseType, Clinic, ClinicCaseType, ClinicSlotType
from standalone_calendar.models import Calendar, ClosedDate, OpeningRule, Practitioner, SlotType

MON, TUE, WED, THU, FRI = range(5)

# Swedish public holidays around the demo's weeks (the calendar closes on them).
HOLIDAYS = {
    date(2026, 12, 24): "Julafton",
    date(2026, 12, 25): "Juldagen",
    date(2026, 12, 26): "Annandag jul",
    date(2026, 12, 31): "Nyårsafton",
    date(2027, 1, 1): "Nyårsdagen",
    date(2027, 1, 6): "Trettondedag jul",
}


@dataclass(frozen=True)
class DemoSlotType:
    code: str
    names: dict[str, str]
    minutes: int
    capacity: int
    deadline_hours: int
    windows: tuple[tuple[tuple[int, ...], time, time], ...]
    per_practitioner: bool = False
    series_days: tuple[int, int] | None = None


SLOT_TYPES = (
    DemoSlotType(
        "LAKARBESOK",
        {"sv": "Läkarbesök", "en": "Doctor's appointment", "de": "Arzttermin"},
        20,
        1,
        24,
        (((MON, TUE, WED, THU, FRI), time(8, 0), time(12, 0)), ((MON, WED), time(13, 0), time(16, 0))),
        per_practitioner=True,
    ),
    DemoSlotType(
        "PROVTAGNING",
        {"sv": "Provtagning", "en": "Blood test", "de": "Blutabnahme"},
        10,
        3,
        2,
        (((MON, TUE, WED, THU, FRI), time(7, 30), time(10, 0)),),
    ),
    DemoSlotType(
        "VACCINATION",
        {"sv": "Vaccination", "en": "Vaccination", "de": "Impfung"},
        10,
        2,
        24,
        (((TUE, THU), time(13, 0), time(16, 0)),),
        series_days=(21, 42),
    ),
    DemoSlotType(
        "SSK",
        {"sv": "Sjuksköterskebesök", "en": "Nurse appointment", "de": "Termin bei der Pflegekraft"},
        15,
        1,
        24,
        (((MON, TUE, THU), time(14, 0), time(18, 0)),),
    ),
)

CLINICS = (
    # hsa_id, name, municipality, street, postal code, phone, doctors
    (
        "SE2321000016-1HZ5",
        "Vårdcentralen Solna Centrum",
        "Solna",
        "Solnavägen 3",
        "171 45",
        "08-123 450 00",
        (("Karin", "Berg"), ("Mohammed", "Ali")),
    ),
    (
        "SE2321000016-2HAG",
        "Hagalunds vårdcentral",
        "Solna",
        "Hagalundsgatan 8",
        "169 65",
        "08-123 451 00",
        (("Lena", "Ström"),),
    ),
    (
        "SE2321000016-3BHM",
        "Bergshamra vårdcentral",
        "Solna",
        "Bergshamra torg 2",
        "170 75",
        "08-123 452 00",
        (("Johan", "Ek"), ("Sara", "Lind")),
    ),
    (
        "SE2321000016-4SBG",
        "Vårdcentralen Sundbyberg",
        "Sundbyberg",
        "Järnvägsgatan 20",
        "172 35",
        "08-123 460 00",
        (("Peter", "Holm"),),
    ),
    (
        "SE2321000016-5RSN",
        "Rissne vårdcentral",
        "Sundbyberg",
        "Rissneleden 136",
        "174 57",
        "08-123 461 00",
        (("Amira", "Khalil"), ("Olof", "Sandberg")),
    ),
    (
        "SE2321000016-6HBG",
        "Hallonbergens vårdcentral",
        "Sundbyberg",
        "Hallonbergsplan 7",
        "174 53",
        "08-123 462 00",
        (("Maria", "Virtanen"),),
    ),
)

# Clinics whose timebook is a record system (the demo starts reference simulators for them).
# Råsunda keeps a reserve calendar on Friday afternoons for when its system is down.
RECORD_SYSTEM_CLINICS = (
    (
        "SE2321000016-7RSD",
        "Råsunda vårdcentral",
        "Solna",
        "Råsundavägen 100",
        "169 57",
        "08-123 453 00",
        "riv-crm-scheduling",
        True,
    ),
    (
        "SE2321000016-8DUV",
        "Duvbo vårdcentral",
        "Sundbyberg",
        "Duvbovägen 2",
        "172 63",
        "08-123 463 00",
        "fhir-r4",
        False,
    ),
)
RESERVE_WINDOWS = {"LAKARBESOK": (((FRI,), time(13, 0), time(16, 0)),)}


def _calendar(db: Session, hsa_id: str, doctors: tuple[tuple[str, str], ...]) -> None:
    calendar = Calendar(
        clinic_hsa_id=hsa_id, timezone="Europe/Stockholm", horizon_days=28, min_notice_minutes=60
    )
    db.add(calendar)
    db.flush()
    practitioners = []
    for n, (given, family) in enumerate(doctors, start=1):
        practitioner = Practitioner(
            calendar_id=calendar.id,
            code=f"{hsa_id}-L{n}",
            given_name=given,
            family_name=family,
            title="Leg. läkare",
        )
        db.add(practitioner)
        practitioners.append(practitioner)
    for day, reason in HOLIDAYS.items():
        db.add(ClosedDate(calendar_id=calendar.id, day=day, reason=reason))
    db.flush()
    for spec in SLOT_TYPES:
        slot_type = SlotType(
            calendar_id=calendar.id,
            code=spec.code,
            name=spec.names["sv"],
            duration_minutes=spec.minutes,
            capacity=spec.capacity,
            cancel_deadline_minutes=spec.deadline_hours * 60,
            series_min_days=spec.series_days[0] if spec.series_days else None,
            series_max_days=spec.series_days[1] if spec.series_days else None,
        )
        db.add(slot_type)
        db.flush()
        columns = practitioners if spec.per_practitioner else [None]
        for weekdays, opens, closes in spec.windows:
            for weekday in weekdays:
                for practitioner in columns:
                    db.add(
                        OpeningRule(
                            calendar_id=calendar.id,
                            slot_type_id=slot_type.id,
                            weekday=weekday,
                            start_time=opens,
                            end_time=closes,
                            practitioner_id=practitioner.id if practitioner else None,
                        )
                    )


def seed(db: Session) -> bool:
    """Create the demo region once; return False when clinics already exist."""
    if db.scalar(select(Clinic.id).limit(1)) is not None:
        return False
    for hsa_id, name, municipality, street, postal_code, phone, doctors in CLINICS:
        clinic = Clinic(
            hsa_id=hsa_id,
            name=name,
            municipality=municipality,
            street_address=street,
            postal_code=postal_code,
            city=municipality,
            phone=phone,
            timezone="Europe/Stockholm",
            connection="standalone",
        )
        db.add(clinic)
        db.flush()
        for case_type in (CaseType.BOOK, CaseType.REBOOK_CANCEL):
            db.add(ClinicCaseType(clinic_id=clinic.id, case_type=case_type, enabled=True))
        for spec in SLOT_TYPES:
            db.add(ClinicSlotType(clinic_id=clinic.id, code=spec.code, visible=True, names=spec.names))
        _calendar(db, hsa_id, doctors)
    for hsa_id, name, municipality, street, postal_code, phone, connection, reserve in RECORD_SYSTEM_CLINICS:
        clinic = Clinic(
            hsa_id=hsa_id,
            name=name,
            municipality=municipality,
            street_address=street,
            postal_code=postal_code,
            city=municipality,
            phone=phone,
            timezone="Europe/Stockholm",
            connection=connection,
            connection_config={},
            has_fallback_calendar=reserve,
        )
        db.add(clinic)
        db.flush()
        for case_type in (CaseType.BOOK, CaseType.REBOOK_CANCEL):
            db.add(ClinicCaseType(clinic_id=clinic.id, case_type=case_type, enabled=True))
        for spec in SLOT_TYPES[:3]:
            db.add(ClinicSlotType(clinic_id=clinic.id, code=spec.code, visible=True, names=spec.names))
        if reserve:
            _reserve_calendar(db, hsa_id)
    db.flush()
    return True


def _reserve_calendar(db: Session, hsa_id: str) -> None:
    calendar = Calendar(
        clinic_hsa_id=hsa_id, timezone="Europe/Stockholm", horizon_days=28, min_notice_minutes=60
    )
    db.add(calendar)
    db.flush()
    for spec in SLOT_TYPES:
        if spec.code not in RESERVE_WINDOWS:
            continue
        slot_type = SlotType(
            calendar_id=calendar.id,
            code=spec.code,
            name=spec.names["sv"],
            duration_minutes=spec.minutes,
            capacity=1,
            cancel_deadline_minutes=spec.deadline_hours * 60,
        )
        db.add(slot_type)
        db.flush()
        for weekdays, opens, closes in RESERVE_WINDOWS[spec.code]:
            for weekday in weekdays:
                db.add(
                    OpeningRule(
                        calendar_id=calendar.id,
                        slot_type_id=slot_type.id,
                        weekday=weekday,
                        start_time=opens,
                        end_time=closes,
                    )
                )
