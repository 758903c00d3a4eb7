"""Read-side lookups the FHIR adapter's operations share.

Every search result is checked again here: servers ignore search parameters they do not know
(and then answer with *everything*), so trusting a search for a patient or a clinic would mix
up citizens or clinics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from clinic_adapters.contract import ClinicRef, Subject, normalize_hsa_id
from clinic_adapters.errors import InvalidResponse, NotFound, Refused
from clinic_adapters.fhir import mapping
from clinic_adapters.fhir.mapping import INACTIVE_STATES, Resource, ScheduleInfo
from clinic_adapters.fhir.transport import FhirTransport, SearchRejected

log = logging.getLogger(__name__)

HSA_SYSTEM = "urn:oid:1.2.752.129.2.1.4.1"
PAGE_SIZE = "100"  # a wish: servers cap _count, we follow next links anyway
FIRST_PAGE_MIN = 10  # the page size of a search for the first few free times

Schedules = dict[str, ScheduleInfo]

#: How long a clinic's Schedules, as last read, serve listings of free times. Schedules change
#: when a practitioner starts or leaves: a listing this old at most leaves out a new one's times
#: or shows a closed one's, whose booking reads them afresh and is refused. It saves one request
#: of three on every listing (a federated search asks every clinic at once).
LISTING_SCHEDULES_SECONDS = 60.0


def slot_schedule(slot: Resource | None) -> str | None:
    return mapping.reference_id((slot or {}).get("schedule"), "Schedule")


def first_slot_id(appointment: Resource) -> str | None:
    return next((mapping.reference_id(r, "Slot") for r in appointment.get("slot") or []), None)


class FhirQueries:
    """Lookups by clinic, patient, slot and appointment on one FHIR server."""

    def __init__(self, http: FhirTransport, patient_system: str, type_system: str | None) -> None:
        self.http = http
        self.patient_system = patient_system
        self.type_system = type_system
        self._services: dict[str, str] = {}  # normalized HSA-id -> HealthcareService id
        self._schedules: dict[str, tuple[float, Schedules]] = {}  # service id -> (read at, …)
        self._lock = threading.Lock()
        self._sorts = True  # until the server refuses a search sorted by start

    # -- clinic ---------------------------------------------------------------------------------

    def service_id(self, clinic: ClinicRef) -> str:
        """Return the id of the clinic's HealthcareService (cached: ids do not move)."""
        wanted = normalize_hsa_id(clinic.hsa_id)
        with self._lock:
            if wanted in self._services:
                return self._services[wanted]
        found = self.http.search("HealthcareService", [("identifier", f"{HSA_SYSTEM}|{clinic.hsa_id}")])
        matches = [s for s in found if mapping.has_identifier(s, HSA_SYSTEM, wanted, ignore_case=True)]
        if not matches:
            # Token search is case-sensitive on most servers, HSA-ids are not: scan the services.
            found = self.http.search("HealthcareService", [("_count", PAGE_SIZE)])
            matches = [s for s in found if mapping.has_identifier(s, HSA_SYSTEM, wanted, ignore_case=True)]
        if not matches:
            raise NotFound(f"clinic {wanted} is not served by this record system")
        if len({s["id"] for s in matches}) > 1:
            raise InvalidResponse(f"clinic {wanted} has several HealthcareServices")
        with self._lock:
            self._services[wanted] = matches[0]["id"]
        return matches[0]["id"]

    def forget_service(self, clinic: ClinicRef) -> None:
        with self._lock:
            self._services.pop(normalize_hsa_id(clinic.hsa_id), None)

    def schedules(self, service_id: str) -> Schedules:
        """Return the clinic's active Schedules by id, with their practitioners (read now)."""
        read_at = time.monotonic()
        found = self.http.search(
            "Schedule", [("actor", f"HealthcareService/{service_id}"), ("_count", PAGE_SIZE)])
        schedules = {
            s["id"]: mapping.schedule_info(s)
            for s in found
            if s.get("active", True) is not False
            and any(mapping.reference_id(a, "HealthcareService") == service_id for a in s.get("actor") or [])
        }
        with self._lock:
            self._schedules[service_id] = (read_at, schedules)
        return schedules

    def listing_schedules(self, service_id: str) -> Schedules:
        """The clinic's Schedules for a listing of free times: as last read, if read within
        :data:`LISTING_SCHEDULES_SECONDS` (by any operation), else read now."""
        with self._lock:
            known = self._schedules.get(service_id)
        if known is not None and time.monotonic() - known[0] < LISTING_SCHEDULES_SECONDS:
            return known[1]
        return self.schedules(service_id)

    # -- patient --------------------------------------------------------------------------------

    def patient_id(self, subject: Subject) -> str | None:
        """Return the Patient id of the subject, found by personal number; None if unknown."""
        pnr = subject.personal_number
        if not pnr:
            return None
        # POST search: the personal number travels in the body, never in a URL.
        found = self.http.search("Patient", [("identifier", f"{self.patient_system}|{pnr}")], post=True)
        ids = {p["id"] for p in found if mapping.has_identifier(p, self.patient_system, pnr)}
        if len(ids) > 1:
            raise Refused("the record system has several patients with this identifier")
        return ids.pop() if ids else None

    # -- slots ----------------------------------------------------------------------------------

    def read_slot(self, slot_id: str | None) -> Resource | None:
        return self.http.read("Slot", slot_id)[0] if slot_id else None

    def free_slots(
        self, service_id: str, schedules: Schedules, params: list[tuple[str, str]],
        start: datetime, end: datetime, time_type_id: str | None, *, free_only: bool = True,
    ) -> list[Resource]:
        """Search (free) Slots whose start lies in ``[start, end)``, every page, checked again here."""
        query = self._slot_query(service_id, params, start, end, time_type_id, free_only)
        keep = self._slot_check(schedules, start, end, time_type_id, free_only)
        return [slot for slot in self.http.search("Slot", [*query, ("_count", PAGE_SIZE)]) if keep(slot)]

    def first_free_slots(
        self, service_id: str, schedules: Schedules, start: datetime, end: datetime,
        time_type_id: str | None, times: int,
    ) -> list[Resource]:
        """The free Slots of (at least) the first ``times`` times in ``[start, end)``, every seat
        of each: read in start order and only as many pages as that takes.

        Servers ignore a ``_sort`` they do not support: a ``self`` link without it, or a page out
        of order, and every page is read, as :meth:`free_slots` does. A strict server refuses it
        (400): then this server is searched as :meth:`free_slots` does from then on.
        """
        if not self._sorts:
            return self.free_slots(service_id, schedules, [], start, end, time_type_id)
        try:
            return self._first_free_sorted(service_id, schedules, start, end, time_type_id, times)
        except SearchRejected:
            log.info("FHIR Slot search sorted by start refused (400): searching unsorted from now on")
            self._sorts = False
            return self.free_slots(service_id, schedules, [], start, end, time_type_id)

    def _first_free_sorted(
        self, service_id: str, schedules: Schedules, start: datetime, end: datetime,
        time_type_id: str | None, times: int,
    ) -> list[Resource]:
        query = self._slot_query(service_id, [], start, end, time_type_id, True)
        keep = self._slot_check(schedules, start, end, time_type_id, True)
        # A few more than the times asked for: a time with several seats is several Slots.
        page_size = str(max(FIRST_PAGE_MIN, 2 * times))
        kept: list[Resource] = []
        kept_times: set[tuple[str | None, datetime, datetime]] = set()  # (schedule, start, end)
        latest: datetime | None = None  # the latest start seen: every time before it is whole
        in_order = True
        pages = self.http.pages("Slot", [*query, ("_sort", "start"), ("_count", page_size)])
        for number, page in enumerate(pages):
            if number == 0 and page.self_url is not None and "_sort" not in page.self_url:
                in_order = False  # later pages' self links are the server's own paging links
            for slot in page.matches:
                slot_start, slot_end = mapping.slot_start_end(slot)
                if latest is not None and slot_start < latest:
                    in_order = False
                latest = slot_start if latest is None else max(latest, slot_start)
                if keep(slot):
                    kept.append(slot)
                    kept_times.add((slot_schedule(slot), slot_start, slot_end))
            if in_order and latest is not None and sum(t[1] < latest for t in kept_times) >= times:
                break
        return kept

    def _slot_query(
        self, service_id: str, params: list[tuple[str, str]], start: datetime, end: datetime,
        time_type_id: str | None, free_only: bool,
    ) -> list[tuple[str, str]]:
        query = [("schedule.actor", f"HealthcareService/{service_id}"),
                 ("start", f"ge{mapping.format_instant(start)}"),
                 ("start", f"lt{mapping.format_instant(end)}"), *params]
        if free_only:
            query.append(("status", "free"))
        if time_type_id:
            code = f"{self.type_system}|{time_type_id}" if self.type_system else time_type_id
            query.append(("service-type", code))
        return query

    def _slot_check(
        self, schedules: Schedules, start: datetime, end: datetime, time_type_id: str | None,
        free_only: bool,
    ) -> Callable[[Resource], bool]:
        """What a search asked, checked again: servers ignore parameters they do not know."""
        def keep(slot: Resource) -> bool:
            if (free_only and slot.get("status") != "free") or slot_schedule(slot) not in schedules:
                return False
            slot_start, _ = mapping.slot_start_end(slot)  # instants, never strings
            coding = mapping.pick_coding(slot.get("serviceType"), self.type_system) or {}
            return start <= slot_start < end and (time_type_id is None or coding.get("code") == time_type_id)
        return keep

    def seats_of_time(self, service_id: str, schedules: Schedules, slot: Resource) -> list[Resource]:
        """Return every Slot (free or not) of the same schedule, time and type: the seats of one time."""
        start, end = mapping.slot_start_end(slot)
        sch = slot_schedule(slot)
        coding = mapping.pick_coding(slot.get("serviceType"), self.type_system) or {}
        found = self.free_slots(service_id, schedules, [("schedule", f"Schedule/{sch}")],
                                start, start + timedelta(seconds=1), coding.get("code"), free_only=False)
        same = [s for s in found if slot_schedule(s) == sch and mapping.slot_start_end(s) == (start, end)]
        return sorted(same, key=lambda s: s["id"])

    # -- appointments ---------------------------------------------------------------------------

    def own_booking_at(self, patient_id: str, slot: Resource, slot_ids: set[str]) -> Resource | None:
        """Return the patient's active appointment on one of these slots, e.g. our own after a lost reply."""
        start, end = mapping.slot_start_end(slot)
        found = self.http.search("Appointment", [
            ("patient", f"Patient/{patient_id}"), ("date", f"ge{mapping.format_instant(start)}"),
            ("date", f"lt{mapping.format_instant(end)}"), ("_count", PAGE_SIZE)])
        for appointment in found:
            if (appointment.get("status") in INACTIVE_STATES
                    or patient_id not in mapping.participant_ids(appointment, "Patient")):
                continue
            if {mapping.reference_id(r, "Slot") for r in appointment.get("slot") or []} & slot_ids:
                return appointment
        return None

    def at_clinic(
        self, appointment: Resource, service_id: str, schedules: Schedules
    ) -> tuple[bool, Resource | None]:
        """Return whether an appointment is the clinic's, and its Slot when that had to be read.

        Ours name the HealthcareService; one made in the record system itself may only have a Slot
        whose Schedule tells the clinic.
        """
        if service_id in mapping.participant_ids(appointment, "HealthcareService"):
            return True, None
        slot = self.read_slot(first_slot_id(appointment))
        return slot_schedule(slot) in schedules, slot

    def owned_appointment(
        self, clinic: ClinicRef, booking_id: str, subject: Subject
    ) -> tuple[Resource, str | None, Schedules]:
        """Read an appointment of this subject at this clinic, with its ETag; NotFound otherwise."""
        appointment, etag = self.http.read("Appointment", booking_id) if booking_id else (None, None)
        if appointment is None:
            raise NotFound("no such booking")
        patient_id = self.patient_id(subject)
        # Someone else's booking is "not found" too: never confirm that it exists.
        if patient_id is None or patient_id not in mapping.participant_ids(appointment, "Patient"):
            raise NotFound("no such booking for this subject")
        service_id = self.service_id(clinic)
        schedules = self.schedules(service_id)
        if not self.at_clinic(appointment, service_id, schedules)[0]:
            raise NotFound("no such booking at this clinic")
        return appointment, etag, schedules
