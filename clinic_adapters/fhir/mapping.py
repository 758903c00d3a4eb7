"""Pure conversions between FHIR R4 JSON resources and the adapter contract's values."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clinic_adapters.contract import Booking, BookingStatus, Performer, Slot, TimeType
from clinic_adapters.errors import InvalidResponse
from clinic_adapters.timezones import as_utc

Resource = dict[str, Any]

# Appointment states in which the citizen no longer holds the time.
INACTIVE_STATES = frozenset({"cancelled", "noshow", "entered-in-error"})


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """What a Slot inherits from its Schedule: the practitioner, when the schedule has one."""

    id: str
    performer_id: str | None = None
    performer_name: str | None = None


def parse_instant(value: Any, what: str = "instant") -> datetime:
    """Return an aware UTC datetime of a FHIR instant; a zone-less or date-only value is invalid."""
    if not isinstance(value, str) or "T" not in value:
        raise InvalidResponse(f"{what} is not a dateTime with a time")
    try:
        return _utc_of(value)
    except ValueError as error:
        raise InvalidResponse(f"{what} is not an instant with a time zone") from error


# A first-free search reads each Slot's start and end several times (filter, grouping by time,
# contract Slot), and the same times recur at every search: parsing them was a tenth of the
# adapter's CPU per call. The result is immutable; invalid texts raise and are not cached.
@functools.lru_cache(maxsize=16384)
def _utc_of(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def format_instant(value: datetime) -> str:
    """Return an instant in UTC ``Z`` form: no ``+`` that an unencoded query could turn into a space."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def reference_id(reference: Any, kind: str) -> str | None:
    """Return the id of a reference to ``kind`` (relative, absolute or versioned), else None."""
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    parts = reference["reference"].split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == kind:
        return parts[-1]
    return None


def id_from_location(location: str) -> str | None:
    """Return the id of ``…/Appointment/{id}/_history/{vid}``: the id is not the last segment."""
    parts = location.split("/_history/")[0].rstrip("/").split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == "Appointment" else None


def has_identifier(resource: Resource, system: str, value: str, *, ignore_case: bool = False) -> bool:
    """Return whether the resource carries the identifier; the system URI must match exactly."""
    for identifier in resource.get("identifier") or []:
        found = identifier.get("value")
        if identifier.get("system") != system or not isinstance(found, str):
            continue
        if found == value or (ignore_case and found.strip().casefold() == value.strip().casefold()):
            return True
    return False


def pick_coding(concepts: Any, system: str | None) -> dict[str, Any] | None:
    """Return the first coding of a CodeableConcept list, of ``system`` when one is configured."""
    for concept in concepts or []:
        for coding in concept.get("coding") or []:
            if coding.get("code") and (system is None or coding.get("system") == system):
                return {**coding, "display": coding.get("display") or concept.get("text")}
    return None


def time_types(concepts: Any, system: str | None) -> list[TimeType]:
    """Return the distinct slot types named in a list of CodeableConcepts."""
    found: dict[str, TimeType] = {}
    for concept in concepts or []:
        coding = pick_coding([concept], system)
        if coding and coding["code"] not in found:
            found[coding["code"]] = TimeType(id=coding["code"], name=coding.get("display") or coding["code"])
    return list(found.values())


def performer(practitioner: Resource, role: Resource | None) -> Performer:
    """Return a Performer from a Practitioner and (for the title) its PractitionerRole."""
    names = practitioner.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    given = " ".join(name.get("given") or [])
    family = name.get("family") or ""
    if not (given or family) and name.get("text"):
        given = name["text"]
    title = None
    for code in (role or {}).get("code") or []:
        title = code.get("text") or next((c.get("display") for c in code.get("coding") or []), None)
        if title:
            break
    return Performer(id=practitioner["id"], given_name=given, family_name=family, title=title)


def schedule_info(schedule: Resource) -> ScheduleInfo:
    """Return the practitioner a Schedule belongs to, when one of its actors is a Practitioner."""
    for actor in schedule.get("actor") or []:
        prac = reference_id(actor, "Practitioner")
        if prac:
            return ScheduleInfo(schedule["id"], prac, actor.get("display"))
    return ScheduleInfo(schedule["id"])


def slot_start_end(slot: Resource) -> tuple[datetime, datetime]:
    return parse_instant(slot.get("start"), "Slot.start"), parse_instant(slot.get("end"), "Slot.end")


def contract_slot(
    slot: Resource, clinic_hsa_id: str, info: ScheduleInfo | None, system: str | None, free: int = 1
) -> Slot:
    """Return the contract Slot for a FHIR Slot (``free`` seats when one time is several Slots)."""
    start, end = slot_start_end(slot)
    coding = pick_coding(slot.get("serviceType"), system) or {}
    if end <= start:
        raise InvalidResponse("Slot ends before it starts")
    return Slot(
        id=slot["id"], clinic_hsa_id=clinic_hsa_id, time_type_id=coding.get("code", ""),
        time_type_name=coding.get("display"), start=start, end=end,
        performer_id=info.performer_id if info else None,
        performer_name=info.performer_name if info else None,
        capacity=free, free=free,
        # FHIR has no per-slot flags; this adapter can cancel and rebook every booking it makes.
        cancel_booking_allowed=True, rebooking_allowed=True,
    )


def appointment_body(
    slot: Resource, patient_id: str, service_id: str, info: ScheduleInfo | None, reason: str | None
) -> Resource:
    """Return the Appointment to POST for one Slot: copied times and type, patient and clinic."""
    participants: list[Resource] = [
        {"actor": {"reference": f"Patient/{patient_id}"}, "required": "required", "status": "accepted"},
        {"actor": {"reference": f"HealthcareService/{service_id}"}, "required": "required",
         "status": "accepted"},
    ]
    if info and info.performer_id:
        actor = {"reference": f"Practitioner/{info.performer_id}"}
        if info.performer_name:
            actor["display"] = info.performer_name
        participants.append({"actor": actor, "required": "required", "status": "accepted"})
    body: Resource = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "start": slot["start"],
        "end": slot["end"],
        "participant": participants,
    }
    if slot.get("serviceType"):
        body["serviceType"] = slot["serviceType"]
    if reason:
        body["reasonCode"] = [{"text": reason}]
    return body


def participant_ids(appointment: Resource, kind: str) -> list[str]:
    """Return the ids of the appointment's participants of one resource type."""
    found = []
    for participant in appointment.get("participant") or []:
        rid = reference_id(participant.get("actor"), kind)
        if rid:
            found.append(rid)
    return found


def booking(
    appointment: Resource, clinic_hsa_id: str, subject_ref: str | None, system: str | None,
    slot: Resource | None = None, info: ScheduleInfo | None = None,
) -> Booking:
    """Return the contract Booking of an Appointment (times and type from the Slot if it lacks them)."""
    source = slot or {}
    start = parse_instant(appointment.get("start") or source.get("start"), "Appointment.start")
    end = parse_instant(appointment.get("end") or source.get("end"), "Appointment.end")
    coding = pick_coding(appointment.get("serviceType") or source.get("serviceType"), system) or {}
    slot_ids = [reference_id(ref, "Slot") for ref in appointment.get("slot") or []]
    practitioners = participant_ids(appointment, "Practitioner")
    performer_id = practitioners[0] if practitioners else (info.performer_id if info else None)
    performer_name = info.performer_name if info and info.performer_id == performer_id else None
    for participant in appointment.get("participant") or []:
        if reference_id(participant.get("actor"), "Practitioner") == performer_id:
            performer_name = participant["actor"].get("display") or performer_name
    if end <= start:
        raise InvalidResponse("Appointment ends before it starts")
    reason = next((r.get("text") for r in appointment.get("reasonCode") or [] if r.get("text")), None)
    status = (BookingStatus.CANCELLED if appointment.get("status") in INACTIVE_STATES
              else BookingStatus.BOOKED)
    return Booking(
        booking_id=appointment["id"],
        slot=Slot(
            id=next((s for s in slot_ids if s), appointment["id"]), clinic_hsa_id=clinic_hsa_id,
            time_type_id=coding.get("code", ""), time_type_name=coding.get("display"),
            start=start, end=end, performer_id=performer_id, performer_name=performer_name,
            cancel_booking_allowed=True, rebooking_allowed=True,
        ),
        status=status,
        subject_ref=subject_ref,
        reason=reason,
    )
