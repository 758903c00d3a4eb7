"""The ClinicAdapter for FHIR R4 record systems (Slot / Appointment scheduling over REST).

How the contract maps onto FHIR R4 (what a vendor's server must offer):

* **Clinic** → the ``HealthcareService`` whose identifier (system ``urn:oid:1.2.752.129.2.1.4.1``)
  is the clinic's HSA-id, compared case-insensitively (an exact search first, then a scan).
* **Time types** → that service's ``HealthcareService.type`` codings (``code`` is the time type id);
  if it lists none, the ``serviceType`` codings of the clinic's Schedules.
* **Performers** → ``PractitionerRole?service=…`` and their ``Practitioner`` resources; a Slot's
  performer is the Practitioner among its Schedule's actors.
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

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

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
    require_limit,
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
from clinic_adapters.fhir.mapping import INACTIVE_STATES, Resource
from clinic_adapters.fhir.queries import (
    HSA_SYSTEM,
    PAGE_SIZE,
    FhirQueries,
    Schedules,
    first_slot_id,
    slot_schedule,
)
from clinic_adapters.fhir.transport import FhirTransport
from clinic_adapters.fhir.writes import cancel_appointment, outcome_text, post_appointment
from clinic_adapters.timezones import as_utc, utc_now

log = logging.getLogger(__name__)

PERSONNUMMER_SYSTEM = "http://electronichealth.se/identifier/personnummer"
F = TypeVar("F", bound=Callable[..., Any])


def _malformed_is_invalid(method: F) -> F:
    """Turn a lookup in an answer of the wrong shape (missing id, list for dict) into InvalidResponse."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (KeyError, TypeError, AttributeError, IndexError) as error:
            what = f"{method.__name__}: malformed FHIR answer ({type(error).__name__})"
            raise InvalidResponse(what) from error

    return wrapper  # type: ignore[return-value]


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
        self._q = FhirQueries(self._http, patient_identifier_system, service_type_system)
        self.type_system = service_type_system
        self._clock = clock

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self._http.close()

    # -- catalogue ------------------------------------------------------------------------------

    @_malformed_is_invalid
    def list_time_types(self, clinic: ClinicRef) -> list[TimeType]:
        service_id = self._q.service_id(clinic)
        service, _ = self._http.read("HealthcareService", service_id)
        if service is None:
            self._q.forget_service(clinic)
            raise NotFound(f"clinic {normalize_hsa_id(clinic.hsa_id)} is no longer served")
        types = mapping.time_types(service.get("type"), self.type_system)
        if not types:
            schedules = self._http.search(
                "Schedule", [("actor", f"HealthcareService/{service_id}"), ("_count", PAGE_SIZE)])
            concepts = [c for s in schedules for c in s.get("serviceType") or []]
            types = mapping.time_types(concepts, self.type_system)
        return sorted(types, key=lambda t: t.name.casefold())

    @_malformed_is_invalid
    def list_performers(self, clinic: ClinicRef) -> list[Performer]:
        service_id = self._q.service_id(clinic)
        roles = self._http.search(
            "PractitionerRole", [("service", f"HealthcareService/{service_id}"), ("_count", PAGE_SIZE)])
        role_by_practitioner: dict[str, Resource] = {}
        for role in roles:
            prac = mapping.reference_id(role.get("practitioner"), "Practitioner")
            serves = any(mapping.reference_id(h, "HealthcareService") == service_id
                         for h in role.get("healthcareService") or [])
            if prac and serves and role.get("active", True) is not False:
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

    @_malformed_is_invalid
    def list_facilities(self) -> list[Facility]:
        facilities = {}
        for service in self._http.search("HealthcareService", [("_count", PAGE_SIZE)]):
            for identifier in service.get("identifier") or []:
                if identifier.get("system") == HSA_SYSTEM and identifier.get("value"):
                    hsa = normalize_hsa_id(identifier["value"])
                    facilities[hsa] = Facility(hsa_id=hsa, name=service.get("name"))
        return sorted(facilities.values(), key=lambda f: f.hsa_id)

    # -- availability ---------------------------------------------------------------------------

    def available_slots(
        self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime,
        performer_id: str | None = None,
    ) -> list[Slot]:
        start, end = max(as_utc(start), self._clock()), as_utc(end)  # naive input is the caller's bug
        return [] if start >= end else self._available(clinic, time_type_id, start, end, performer_id)

    @_malformed_is_invalid
    def _available(self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime,
                   performer_id: str | None) -> list[Slot]:
        service_id = self._q.service_id(clinic)
        schedules = self._q.listing_schedules(service_id)
        extra: list[tuple[str, str]] = []
        if performer_id:
            schedules = {k: v for k, v in schedules.items() if v.performer_id == performer_id}
            extra.append(("schedule.actor", f"Practitioner/{performer_id}"))
        if not schedules:
            return []
        found = self._q.free_slots(service_id, schedules, extra, start, end, time_type_id)
        return self._times(clinic, schedules, found)

    def earliest_slots(
        self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime, limit: int
    ) -> list[Slot]:
        """The first free times by a search sorted by start, reading only the pages they need."""
        require_limit(limit)
        start, end = max(as_utc(start), self._clock()), as_utc(end)
        return [] if start >= end else self._earliest(clinic, time_type_id, start, end, limit)

    @_malformed_is_invalid
    def _earliest(self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime,
                  limit: int) -> list[Slot]:
        service_id = self._q.service_id(clinic)
        schedules = self._q.listing_schedules(service_id)
        if not schedules:
            return []
        found = self._q.first_free_slots(service_id, schedules, start, end, time_type_id, limit)
        return self._times(clinic, schedules, found)[:limit]

    def _times(self, clinic: ClinicRef, schedules: Schedules, found: list[Resource]) -> list[Slot]:
        """One contract Slot per time, its free seats counted, sorted by instant."""
        seats: dict[tuple, list[Resource]] = {}
        for slot in found:
            seats.setdefault((slot_schedule(slot), *mapping.slot_start_end(slot)), []).append(slot)
        result = [
            mapping.contract_slot(min(group, key=lambda s: s["id"]), clinic.hsa_id, schedules[key[0]],
                                  self.type_system, free=len(group))
            for key, group in seats.items()
        ]
        # The earliest free time is known only after the last page: sort here, by instant.
        return sorted(result, key=lambda s: (s.start, s.performer_name or "", s.id))

    # -- booking --------------------------------------------------------------------------------

    @_malformed_is_invalid
    def make_booking(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, reason: str | None = None
    ) -> BookingResult:
        if not subject.personal_number:
            raise NotAllowed("a FHIR booking needs the citizen's personal identity number")
        service_id = self._q.service_id(clinic)
        schedules = self._q.schedules(service_id)
        slot = self._q.read_slot(slot_id)
        if slot is None or slot_schedule(slot) not in schedules:
            raise NotFound("no such slot at this clinic")
        if mapping.slot_start_end(slot)[0] <= self._clock():
            raise NotAllowed("the slot has already begun")
        patient_id = self._q.patient_id(subject)
        if patient_id is None:
            raise Refused("the record system does not know the patient")
        tried: set[str] = set()
        candidates = [slot] if slot.get("status") == "free" else []
        looked_around = False
        while True:
            if not candidates and not looked_around:
                # The seat is gone (read busy, or 409). Our own earlier try whose reply was lost may
                # have taken it or a sibling seat: look that up before booking another seat.
                looked_around = True
                seats = self._q.seats_of_time(service_id, schedules, slot)
                own = self._q.own_booking_at(patient_id, slot, {s["id"] for s in seats} | {slot["id"]})
                if own is not None:
                    return BookingResult(self._booking(own, clinic, subject, schedules))
                candidates = [s for s in seats if s.get("status") == "free" and s["id"] not in tried]
            if not candidates:
                raise SlotTaken("no free seat left at this time")
            seat = candidates.pop(0)
            tried.add(seat["id"])
            info = schedules[slot_schedule(seat) or ""]
            body = mapping.appointment_body(seat, patient_id, service_id, info, reason)
            status, created, response = post_appointment(self._http, body)
            if created is not None:
                return BookingResult(self._booking(created, clinic, subject, schedules, seat))
            if status == 409:
                continue  # this seat went meanwhile (or to our own earlier try): look further
            codes, text = outcome_text(response)
            if status in (400, 422):
                raise Refused(f"POST Appointment: HTTP {status} ({codes})", citizen_message=text)
            raise InvalidResponse(f"POST Appointment: unexpected HTTP {status}")

    def _booking(self, appointment: Resource, clinic: ClinicRef, subject: Subject,
                 schedules: Schedules, slot: Resource | None = None) -> Booking:
        """Return the contract Booking; reads the Slot only when the Appointment lacks time or type."""
        if slot is None and (not appointment.get("serviceType") or not appointment.get("start")):
            slot = self._q.read_slot(first_slot_id(appointment))
        return mapping.booking(appointment, clinic.hsa_id, subject.ref, self.type_system,
                               slot, schedules.get(slot_schedule(slot) or ""))

    def _check_can_change(self, appointment: Resource) -> None:
        if mapping.parse_instant(appointment.get("start"), "Appointment.start") <= self._clock():
            raise TooLateToCancel("the booked time has already begun")

    @_malformed_is_invalid
    def update_booking(
        self, clinic: ClinicRef, booking_id: str, new_slot_id: str, subject: Subject
    ) -> BookingResult:
        old, etag, schedules = self._q.owned_appointment(clinic, booking_id, subject)
        if old.get("status") in INACTIVE_STATES:
            raise NotAllowed("the booking is cancelled")
        self._check_can_change(old)
        if new_slot_id in {mapping.reference_id(r, "Slot") for r in old.get("slot") or []}:
            return BookingResult(self._booking(old, clinic, subject, schedules))  # already there
        reason = next((r.get("text") for r in old.get("reasonCode") or [] if r.get("text")), None)
        # New first: if it cannot be had, the old booking stays exactly as it was.
        new = self.make_booking(clinic, new_slot_id, subject, reason)
        if new.booking.booking_id == old["id"]:
            return new
        try:
            cancel_appointment(self._http, old, etag)
        except AdapterError:
            # The citizen must not end with two times: give the new one back, keep the old.
            try:
                new_appointment, new_etag = self._http.read("Appointment", new.booking.booking_id)
                if new_appointment is not None:
                    cancel_appointment(self._http, new_appointment, new_etag)
            except AdapterError:
                log.error("rebooking left two appointments (%s, %s): the new one could not be undone",
                          old["id"], new.booking.booking_id)
            raise
        return new

    @_malformed_is_invalid
    def cancel_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CancelResult:
        appointment, etag, _ = self._q.owned_appointment(clinic, booking_id, subject)
        if appointment.get("status") in INACTIVE_STATES:
            return CancelResult(booking_id=appointment["id"])  # already cancelled: same outcome
        self._check_can_change(appointment)
        cancel_appointment(self._http, appointment, etag)
        return CancelResult(booking_id=appointment["id"])

    @_malformed_is_invalid
    def booking_details(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> Booking:
        appointment, _, schedules = self._q.owned_appointment(clinic, booking_id, subject)
        return self._booking(appointment, clinic, subject, schedules)

    @_malformed_is_invalid
    def subject_schedule(self, clinic: ClinicRef, subject: Subject) -> list[Booking]:
        patient_id = self._q.patient_id(subject)
        if patient_id is None:
            return []
        service_id = self._q.service_id(clinic)
        schedules = self._q.schedules(service_id)
        found = self._http.search(
            "Appointment", [("patient", f"Patient/{patient_id}"), ("_count", PAGE_SIZE)])
        bookings = []
        for appointment in found:
            if (patient_id not in mapping.participant_ids(appointment, "Patient")
                    or appointment.get("status") == "entered-in-error"):
                continue
            ours, slot = self._q.at_clinic(appointment, service_id, schedules)
            if ours:
                bookings.append(self._booking(appointment, clinic, subject, schedules, slot))
        return sorted(bookings, key=lambda b: (b.slot.start, b.booking_id))

    # -- operations -----------------------------------------------------------------------------

    def health(self) -> Health:
        try:
            response = self._http.request("GET", "metadata")
            body = self._http.json(response, "GET metadata") if response.status_code == 200 else {}
            if body.get("resourceType") != "CapabilityStatement":
                raise InvalidResponse(f"GET metadata: HTTP {response.status_code}, no CapabilityStatement")
        except AdapterError as error:
            return Health(ok=False, last_success=self._http.last_success, last_error=self._clock(),
                          last_error_text=str(error))
        return Health(ok=True, last_success=self._http.last_success, last_error=self._http.last_error,
                      last_error_text=self._http.last_error_text)


__all__ = ["HSA_SYSTEM", "PERSONNUMMER_SYSTEM", "FhirR4Adapter"]
