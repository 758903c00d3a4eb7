"""The ClinicAdapter for FHIR R4 record systems (Slot / Appointment scheduling over REST).

How the contract maps onto FHIR R4 (what a vendor's server must offer):

* **Clinic** → the ``HealthcareService`` whose identifier (system ``urn:oid:1.2.752.129.2.1.4.1``)
  is the clinic's HSA-id, compared case-insensitively (an exact search first, then a scan).
* **Time types** → that service's ``HealthcareService.type`` codings (``code`` is the time type id);
  if it lists none, the ``serviceType`` codings of the clinic's Schedules.
* **Performers** → ``PractitionerRole?service=…`` and their ``Practitioner`` resources.
* **Free slots** → ``Slot?schedule.actor=HealthcareService/…&status=free&service-type=…&start=ge…
  &start=lt…``, every page; each result is checked again here (servers ignore parameters they do
  not know), sorted by instant, and the Slots of one time (one per seat) become one contract Slot
  with ``free`` seats. Its id is one seat's Slot id; booking tries the sibling seats on a 409.
* **Booking** → ``POST Appointment`` (status booked, the Slot, the Patient, the HealthcareService).
* **Cancel** → ``PUT`` of the Appointment as read, ``status=cancelled``, ``If-Match`` as received.
* **Rebook** → book the new time first, then cancel the old; if the old cannot be cancelled the
  new one is cancelled again, so the citizen keeps exactly one of the two.
* **Patient** → ``POST Patient/_search`` by personal number (system configurable, matched exactly).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from clinic_adapters.contract import (
    Booking,
    BookingResult,
    CancelResult,
    Capabilities,
    ClinicAdapter,
    ClinicRef,
    Facility,
    Health,
    Performer,
    Slot,
    Subject,
    TimeType,
    normalize_hsa_id,
)
from clinic_adapters.errors import (
    AdapterError,
    InvalidResponse,
    NotAllowed,
    NotFound,
    Refused,
    SlotTaken,
    TooLateToCancel,
)
from clinic_adapters.fhir import mapping
from clinic_adapters.fhir.mapping import INACTIVE_STATES, Resource, ScheduleInfo
from clinic_adapters.fhir.transport import FhirTransport
from clinic_adapters.timezones import as_utc, utc_now

log = logging.getLogger(__name__)

HSA_SYSTEM = "urn:oid:1.2.752.129.2.1.4.1"
PERSONNUMMER_SYSTEM = "http://electronichealth.se/identifier/personnummer"
PAGE_SIZE = "100"


def _outcome_text(response: Any) -> tuple[str, str | None]:
    """Return (issue codes for the log, human text for the citizen) of an OperationOutcome answer."""
    try:
        body = response.json()
    except ValueError:
        return "no OperationOutcome", None
    issues = (body.get("issue") or []) if isinstance(body, dict) else []
    codes = ",".join(str(i.get("code")) for i in issues) or "no issue"
    texts = [(i.get("details") or {}).get("text") for i in issues]
    text = next((t for t in texts if t), None)
    return codes, text


class FhirR4Adapter(ClinicAdapter):
    """A connection to one FHIR R4 record system, serving every clinic it knows by HSA-id.

    Configuration (JSON-able keyword arguments): ``base_url``, ``token_url``, ``client_id``,
    ``client_secret``, ``scope``, ``connect_timeout``, ``read_timeout`` (seconds),
    ``patient_identifier_system`` (the personal number's system URI exactly as the server spells
    it) and ``service_type_system`` (only codings of this system name time types; default: any).
    ``clock`` is a dependency for tests, not configuration.
    """

    key = "fhir-r4"
    capabilities = Capabilities(
        rebook=True, cancel=True, subject_schedule=True, booking_details=True, available_dates=True,
        care_types=False, series_booking=False, transactional=False,
    )

    def __init__(
        self,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        patient_identifier_system: str = PERSONNUMMER_SYSTEM,
        service_type_system: str | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._http = FhirTransport(
            base_url=base_url, token_url=token_url, client_id=client_id, client_secret=client_secret,
            scope=scope, connect_timeout=float(connect_timeout), read_timeout=float(read_timeout),
            clock=clock,
        )
        self.patient_system = patient_identifier_system
        self.type_system = service_type_system
        self._clock = clock
        self._services: dict[str, str] = {}  # normalized HSA-id -> HealthcareService id

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self._http.close()

    # -- lookups --------------------------------------------------------------------------------

    def _service_id(self, clinic: ClinicRef) -> str:
        """Return the id of the clinic's HealthcareService (cached: ids do not move)."""
        wanted = normalize_hsa_id(clinic.hsa_id)
        if wanted in self._services:
            return self._services[wanted]
        found = self._http.search("HealthcareService", [("identifier", f"{HSA_SYSTEM}|{clinic.hsa_id}")])
        matches = [s for s in found if mapping.has_identifier(s, HSA_SYSTEM, wanted, ignore_case=True)]
        if not matches:
            # Token search is case-sensitive on most servers, HSA-ids are not: scan the services.
            found = self._http.search("HealthcareService", [("_count", PAGE_SIZE)])
            matches = [s for s in found if mapping.has_identifier(s, HSA_SYSTEM, wanted, ignore_case=True)]
        if not matches:
            raise NotFound(f"clinic {wanted} is not served by this record system")
        if len({s["id"] for s in matches}) > 1:
            raise InvalidResponse(f"clinic {wanted} has several HealthcareServices")
        self._services[wanted] = matches[0]["id"]
        return matches[0]["id"]

    def _schedules(self, service_id: str) -> dict[str, ScheduleInfo]:
        """Return the clinic's active Schedules by id, with their practitioners."""
        found = self._http.search(
            "Schedule", [("actor", f"HealthcareService/{service_id}"), ("_count", PAGE_SIZE)])
        return {
            s["id"]: mapping.schedule_info(s)
            for s in found
            if s.get("active", True) is not False
            and any(mapping.reference_id(a, "HealthcareService") == service_id for a in s.get("actor") or [])
        }

    def _patient_id(self, subject: Subject) -> str | None:
        """Return the Patient id of the subject, found by personal number; None if unknown."""
        if not subject.personal_number:
            return None
        found = self._http.search(
            "Patient", [("identifier", f"{self.patient_system}|{subject.personal_number}")], post=True)
        # Checked again here: a server that ignored the parameter returns every patient.
        pnr = subject.personal_number
        ids = {p["id"] for p in found if mapping.has_identifier(p, self.patient_system, pnr)}
        if len(ids) > 1:
            raise Refused("the record system has several patients with this identifier")
        return ids.pop() if ids else None

    def _read_slot(self, slot_id: str) -> Resource | None:
        return self._http.read("Slot", slot_id)[0] if slot_id else None

    # -- catalogue ------------------------------------------------------------------------------

    def list_time_types(self, clinic: ClinicRef) -> list[TimeType]:
        service_id = self._service_id(clinic)
        service, _ = self._http.read("HealthcareService", service_id)
        if service is None:
            self._services.pop(normalize_hsa_id(clinic.hsa_id), None)
            raise NotFound(f"clinic {normalize_hsa_id(clinic.hsa_id)} is no longer served")
        types = mapping.time_types(service.get("type"), self.type_system)
        if not types:
            schedules = self._http.search(
                "Schedule", [("actor", f"HealthcareService/{service_id}"), ("_count", PAGE_SIZE)])
            concepts = [c for s in schedules for c in s.get("serviceType") or []]
            types = mapping.time_types(concepts, self.type_system)
        return sorted(types, key=lambda t: t.name.casefold())

    def list_performers(self, clinic: ClinicRef) -> list[Performer]:
        service_id = self._service_id(clinic)
        roles = [
            r for r in self._http.search(
                "PractitionerRole", [("service", f"HealthcareService/{service_id}"), ("_count", PAGE_SIZE)])
            if r.get("active", True) is not False
            and any(mapping.reference_id(h, "HealthcareService") == service_id
                    for h in r.get("healthcareService") or [])
        ]
        role_by_practitioner = {}
        for role in roles:
            prac = mapping.reference_id(role.get("practitioner"), "Practitioner")
            if prac:
                role_by_practitioner.setdefault(prac, role)
        if not role_by_practitioner:
            return []
        practitioners = self._http.search(
            "Practitioner", [("_id", ",".join(sorted(role_by_practitioner))), ("_count", PAGE_SIZE)])
        performers = {
            p["id"]: mapping.performer(p, role_by_practitioner[p["id"]])
            for p in practitioners if p.get("id") in role_by_practitioner
        }
        return sorted(performers.values(), key=lambda p: (p.family_name.casefold(), p.given_name.casefold()))

    def list_facilities(self) -> list[Facility]:
        services = self._http.search("HealthcareService", [("_count", PAGE_SIZE)])
        facilities = {}
        for service in services:
            for identifier in service.get("identifier") or []:
                if identifier.get("system") == HSA_SYSTEM and identifier.get("value"):
                    hsa = normalize_hsa_id(identifier["value"])
                    facilities[hsa] = Facility(hsa_id=hsa, name=service.get("name"))
        return sorted(facilities.values(), key=lambda f: f.hsa_id)

    # -- availability ---------------------------------------------------------------------------

    def _free_slots(
        self, service_id: str, schedules: dict[str, ScheduleInfo], params: list[tuple[str, str]],
        start: datetime, end: datetime, time_type_id: str | None,
    ) -> list[Resource]:
        """Search free Slots and keep only those that really match (servers may ignore parameters)."""
        query = [("schedule.actor", f"HealthcareService/{service_id}"), ("status", "free"),
                 ("start", f"ge{mapping.format_instant(start)}"),
                 ("start", f"lt{mapping.format_instant(end)}"), ("_count", PAGE_SIZE), *params]
        if time_type_id:
            code = f"{self.type_system}|{time_type_id}" if self.type_system else time_type_id
            query.append(("service-type", code))
        kept = []
        for slot in self._http.search("Slot", query):
            sch = mapping.reference_id(slot.get("schedule"), "Schedule")
            if slot.get("status") != "free" or sch not in schedules:
                continue
            slot_start, _ = mapping.slot_start_end(slot)
            coding = mapping.pick_coding(slot.get("serviceType"), self.type_system) or {}
            if start <= slot_start < end and (time_type_id is None or coding.get("code") == time_type_id):
                kept.append(slot)
        return kept

    def available_slots(
        self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime,
        performer_id: str | None = None,
    ) -> list[Slot]:
        start, end = max(as_utc(start), self._clock()), as_utc(end)
        if start >= end:
            return []
        service_id = self._service_id(clinic)
        schedules = self._schedules(service_id)
        extra: list[tuple[str, str]] = []
        if performer_id:
            schedules = {k: v for k, v in schedules.items() if v.performer_id == performer_id}
            extra.append(("schedule.actor", f"Practitioner/{performer_id}"))
        if not schedules:
            return []
        seats: dict[tuple, list[Resource]] = {}
        for slot in self._free_slots(service_id, schedules, extra, start, end, time_type_id):
            sch = mapping.reference_id(slot.get("schedule"), "Schedule")
            seats.setdefault((sch, *mapping.slot_start_end(slot)), []).append(slot)
        result = [
            mapping.contract_slot(min(group, key=lambda s: s["id"]), clinic.hsa_id, schedules[key[0]],
                                  self.type_system, free=len(group))
            for key, group in seats.items()
        ]
        # The earliest free time is known only after the last page: sort here, by instant.
        return sorted(result, key=lambda s: (s.start, s.performer_name or "", s.id))

    # -- booking --------------------------------------------------------------------------------

    def _sibling_seats(self, service_id: str, schedules: dict[str, ScheduleInfo], slot: Resource,
                       tried: set[str]) -> list[Resource]:
        """Return other free Slots of the same schedule, time and type (other seats of one time)."""
        start, end = mapping.slot_start_end(slot)
        sch = mapping.reference_id(slot.get("schedule"), "Schedule")
        coding = mapping.pick_coding(slot.get("serviceType"), self.type_system) or {}
        found = self._free_slots(service_id, schedules, [("schedule", f"Schedule/{sch}")],
                                 start, start + timedelta(seconds=1), coding.get("code"))
        return sorted(
            (s for s in found if s["id"] not in tried
             and mapping.reference_id(s.get("schedule"), "Schedule") == sch
             and mapping.slot_start_end(s) == (start, end)),
            key=lambda s: s["id"],
        )

    def _own_booking_at(self, patient_id: str, slot: Resource,
                        slot_ids: set[str]) -> Resource | None:
        """Return the patient's active appointment on this time, e.g. our own after a lost reply."""
        start, end = mapping.slot_start_end(slot)
        found = self._http.search("Appointment", [
            ("patient", f"Patient/{patient_id}"), ("date", f"ge{mapping.format_instant(start)}"),
            ("date", f"lt{mapping.format_instant(end)}"), ("_count", PAGE_SIZE)])
        for appointment in found:
            if (appointment.get("status") in INACTIVE_STATES
                    or patient_id not in mapping.participant_ids(appointment, "Patient")):
                continue
            booked = {mapping.reference_id(r, "Slot") for r in appointment.get("slot") or []}
            if booked & slot_ids:
                return appointment
        return None

    def _post_appointment(self, body: Resource) -> tuple[int, Resource | None, Any]:
        """POST an Appointment; return (status, created resource or None, response)."""
        response = self._http.request(
            "POST", "Appointment", json=body, headers={"Prefer": "return=representation"})
        if response.status_code not in (200, 201):
            return response.status_code, None, response
        created = self._http.json(response, "POST Appointment") if response.content else {}
        if created.get("resourceType") != "Appointment" or not created.get("id"):
            # return=minimal servers: the Location header names …/Appointment/{id}/_history/{vid}.
            rid = mapping.id_from_location(response.headers.get("Location", ""))
            if rid is None:
                raise InvalidResponse("POST Appointment: no Appointment and no Location in the answer")
            created, _ = self._http.read("Appointment", rid)
            if created is None:
                raise InvalidResponse("POST Appointment: the created Appointment cannot be read")
        return response.status_code, created, response

    def make_booking(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, reason: str | None = None
    ) -> BookingResult:
        if not subject.personal_number:
            raise NotAllowed("a FHIR booking needs the citizen's personal identity number")
        service_id = self._service_id(clinic)
        schedules = self._schedules(service_id)
        slot = self._read_slot(slot_id)
        sch = mapping.reference_id((slot or {}).get("schedule"), "Schedule")
        if slot is None or sch not in schedules:
            raise NotFound("no such slot at this clinic")
        start, _ = mapping.slot_start_end(slot)
        if start <= self._clock():
            raise NotAllowed("the slot has already begun")
        patient_id = self._patient_id(subject)
        if patient_id is None:
            raise Refused("the record system does not know the patient")
        tried: set[str] = set()
        candidates = [slot] if slot.get("status") == "free" else []
        while True:
            if not candidates:
                candidates = self._sibling_seats(service_id, schedules, slot, tried)
                if not candidates:
                    own = self._own_booking_at(patient_id, slot, tried | {slot["id"]})
                    if own is not None:
                        return self._result(own, clinic, subject, schedules)
                    raise SlotTaken("no free seat left at this time")
            seat = candidates.pop(0)
            tried.add(seat["id"])
            info = schedules[mapping.reference_id(seat.get("schedule"), "Schedule") or ""]
            body = mapping.appointment_body(seat, patient_id, service_id, info, reason)
            status, created, response = self._post_appointment(body)
            if created is not None:
                return self._result(created, clinic, subject, schedules, seat)
            if status == 409:
                # A 409 after our own time-out may be our own booking: look before moving on.
                own = self._own_booking_at(patient_id, seat, tried | {slot["id"]})
                if own is not None:
                    return self._result(own, clinic, subject, schedules)
                continue  # this seat is gone; the time may have another
            codes, text = _outcome_text(response)
            if status in (400, 422):
                raise Refused(f"POST Appointment: HTTP {status} ({codes})", citizen_message=text)
            raise InvalidResponse(f"POST Appointment: unexpected HTTP {status}")

    def _result(self, appointment: Resource, clinic: ClinicRef, subject: Subject,
                schedules: dict[str, ScheduleInfo], slot: Resource | None = None) -> BookingResult:
        return BookingResult(self._booking(appointment, clinic, subject, schedules, slot))

    def _booking(self, appointment: Resource, clinic: ClinicRef, subject: Subject,
                 schedules: dict[str, ScheduleInfo], slot: Resource | None = None) -> Booking:
        slot_id = next((mapping.reference_id(r, "Slot") for r in appointment.get("slot") or []), None)
        if slot is None and (not appointment.get("serviceType") or not appointment.get("start")):
            slot = self._read_slot(slot_id or "")
        sch = mapping.reference_id((slot or {}).get("schedule"), "Schedule")
        return mapping.booking(appointment, clinic.hsa_id, subject.ref, self.type_system,
                               slot, schedules.get(sch or ""))

    def _own_appointment(
        self, clinic: ClinicRef, booking_id: str, subject: Subject
    ) -> tuple[Resource, str | None, dict[str, ScheduleInfo]]:
        """Read an appointment of this subject at this clinic; NotFound for anyone else's."""
        appointment, etag = self._http.read("Appointment", booking_id) if booking_id else (None, None)
        if appointment is None:
            raise NotFound("no such booking")
        patient_id = self._patient_id(subject)
        if patient_id is None or patient_id not in mapping.participant_ids(appointment, "Patient"):
            raise NotFound("no such booking for this subject")
        service_id = self._service_id(clinic)
        schedules = self._schedules(service_id)
        if service_id not in mapping.participant_ids(appointment, "HealthcareService"):
            # Booked in the record system itself: attribute it through its Slot's Schedule.
            slot_id = next((mapping.reference_id(r, "Slot") for r in appointment.get("slot") or []), "")
            slot = self._read_slot(slot_id or "")
            if mapping.reference_id((slot or {}).get("schedule"), "Schedule") not in schedules:
                raise NotFound("no such booking at this clinic")
        return appointment, etag, schedules

    def _cancel(self, appointment: Resource, etag: str | None) -> None:
        """PUT the appointment as read with status cancelled, If-Match as received."""
        for attempt in range(2):
            body = {**appointment, "status": "cancelled"}
            version = (appointment.get("meta") or {}).get("versionId")
            match = etag or (f'W/"{version}"' if version else None)
            headers = {"If-Match": match} if match else {}
            response = self._http.request("PUT", f"Appointment/{appointment['id']}", json=body,
                                          headers=headers)
            if response.status_code == 200:
                return
            if response.status_code in (404, 410):
                raise NotFound("no such booking")
            if response.status_code == 412 and attempt == 0:
                # Changed since we read it, possibly by our own earlier PUT whose reply was lost.
                fresh, fresh_etag = self._http.read("Appointment", appointment["id"])
                if fresh is None:
                    raise NotFound("no such booking")
                if fresh.get("status") in INACTIVE_STATES:
                    return
                appointment, etag = fresh, fresh_etag
                continue  # cancelling is still what the citizen asked for: apply it to the new version
            codes, text = _outcome_text(response)
            if response.status_code in (400, 409, 412, 422):
                raise Refused(f"PUT Appointment: HTTP {response.status_code} ({codes})", citizen_message=text)
            raise InvalidResponse(f"PUT Appointment: unexpected HTTP {response.status_code}")

    def _check_can_change(self, appointment: Resource) -> None:
        start = mapping.parse_instant(appointment.get("start"), "Appointment.start")
        if start <= self._clock():
            raise TooLateToCancel("the booked time has already begun")

    def update_booking(
        self, clinic: ClinicRef, booking_id: str, new_slot_id: str, subject: Subject
    ) -> BookingResult:
        old, etag, schedules = self._own_appointment(clinic, booking_id, subject)
        if old.get("status") in INACTIVE_STATES:
            raise NotAllowed("the booking is cancelled")
        self._check_can_change(old)
        if new_slot_id in {mapping.reference_id(r, "Slot") for r in old.get("slot") or []}:
            return self._result(old, clinic, subject, schedules)  # already on that time
        reason = next((r.get("text") for r in old.get("reasonCode") or [] if r.get("text")), None)
        # New first: if it cannot be had, the old booking stays exactly as it was.
        new = self.make_booking(clinic, new_slot_id, subject, reason)
        if new.booking.booking_id == old["id"]:
            return new
        try:
            self._cancel(old, etag)
        except AdapterError:
            # The citizen must not end with two times: give the new one back, keep the old.
            try:
                new_appointment, new_etag = self._http.read("Appointment", new.booking.booking_id)
                if new_appointment is not None:
                    self._cancel(new_appointment, new_etag)
            except AdapterError:
                log.error("rebooking left two appointments (%s, %s): the new one could not be undone",
                          old["id"], new.booking.booking_id)
            raise
        return new

    def cancel_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CancelResult:
        appointment, etag, _ = self._own_appointment(clinic, booking_id, subject)
        if appointment.get("status") in INACTIVE_STATES:
            return CancelResult(booking_id=appointment["id"])  # already cancelled: same outcome
        self._check_can_change(appointment)
        self._cancel(appointment, etag)
        return CancelResult(booking_id=appointment["id"])

    def booking_details(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> Booking:
        appointment, _, schedules = self._own_appointment(clinic, booking_id, subject)
        return self._booking(appointment, clinic, subject, schedules)

    def subject_schedule(self, clinic: ClinicRef, subject: Subject) -> list[Booking]:
        patient_id = self._patient_id(subject)
        if patient_id is None:
            return []
        service_id = self._service_id(clinic)
        schedules = self._schedules(service_id)
        found = self._http.search(
            "Appointment", [("patient", f"Patient/{patient_id}"), ("_count", PAGE_SIZE)])
        bookings = []
        for appointment in found:
            if (patient_id not in mapping.participant_ids(appointment, "Patient")
                    or appointment.get("status") == "entered-in-error"):
                continue
            slot = None
            if service_id not in mapping.participant_ids(appointment, "HealthcareService"):
                slot_id = next((mapping.reference_id(r, "Slot") for r in appointment.get("slot") or []), "")
                slot = self._read_slot(slot_id or "")
                if mapping.reference_id((slot or {}).get("schedule"), "Schedule") not in schedules:
                    continue  # another clinic's appointment
            bookings.append(self._booking(appointment, clinic, subject, schedules, slot))
        return sorted(bookings, key=lambda b: (b.slot.start, b.booking_id))

    # -- operations -----------------------------------------------------------------------------

    def health(self) -> Health:
        try:
            response = self._http.request("GET", "metadata")
            ok = response.status_code == 200 and self._http.json(response, "GET metadata").get(
                "resourceType") == "CapabilityStatement"
            if not ok:
                raise InvalidResponse(f"GET metadata: HTTP {response.status_code}")
        except AdapterError as error:
            return Health(ok=False, last_success=self._http.last_success, last_error=self._clock(),
                          last_error_text=str(error))
        return Health(ok=True, last_success=self._http.last_success, last_error=self._http.last_error,
                      last_error_text=self._http.last_error_text)


__all__ = ["HSA_SYSTEM", "PERSONNUMMER_SYSTEM", "FhirR4Adapter"]
