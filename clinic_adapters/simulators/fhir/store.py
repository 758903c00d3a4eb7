"""The simulator's in-memory FHIR store: versioned resources, slot generation, atomic booking."""

from __future__ import annotations

import bisect
import copy
import hashlib
import itertools
import json
import threading
from datetime import datetime, timedelta
from typing import Any

from clinic_adapters.simulators.fhir.config import (
    HSA_SYSTEM,
    SLOT_TYPE_SYSTEM,
    SimClinic,
    SimConfig,
    SimWindow,
)
from clinic_adapters.simulators.fhir.search import (
    Resource,
    compile_query,
    parse_instant,
    ref_key,
    start_bounds,
)
from clinic_adapters.timezones import local_to_utc, utc_now, zone

# Appointment states that hold their slot; every other state releases it.
ACTIVE_STATES = frozenset({"proposed", "pending", "booked", "arrived", "checked-in", "waitlist"})


class StoreError(Exception):
    """A refused write; ``status`` is the HTTP answer, ``code`` the OperationOutcome issue code."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


def _stamp(resource: Resource, version: int) -> None:
    resource["meta"] = {
        "versionId": str(version),
        "lastUpdated": utc_now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def _local_iso(instant: datetime, tz_name: str) -> str:
    # Servers answer in local offset form ("+02:00"): clients must compare instants, not strings.
    return instant.astimezone(zone(tz_name)).isoformat(timespec="seconds")


def _coding(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": SLOT_TYPE_SYSTEM, "code": code, "display": display}], "text": display}


class FhirStore:
    """Every resource of one simulated server; all reads and writes go under one lock."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._resources: dict[str, dict[str, Resource]] = {}
        self._history: dict[tuple[str, str], dict[str, Resource]] = {}
        self._ids = itertools.count(1)
        # Slots by start instant, rebuilt when a Slot is added or its start changes: a search for a
        # few days then tests those Slots only, not every Slot of the whole horizon.
        self._slot_starts: list[tuple[Any, str]] | None = None
        # Each resource's current version as JSON text, made when first asked for: search pages
        # send the same Slots again and again. Every change goes through _put, which drops it.
        self._json: dict[tuple[str, str], str] = {}
        for index, clinic in enumerate(config.clinics, start=1):
            self._add_clinic(index, clinic)

    # -- basic access ---------------------------------------------------------------------------

    def _put(self, resource: Resource) -> Resource:
        """Store a new version of a resource (version 1 when new) and keep it for vread."""
        kind, rid = resource["resourceType"], resource["id"]
        current = self._resources.setdefault(kind, {}).get(rid)
        if kind == "Slot" and (current is None or current.get("start") != resource.get("start")):
            self._slot_starts = None
        version = int(current["meta"]["versionId"]) + 1 if current else 1
        _stamp(resource, version)
        self._resources[kind][rid] = resource
        self._json.pop((kind, rid), None)
        self._history.setdefault((kind, rid), {})[str(version)] = copy.deepcopy(resource)
        return resource

    def get(self, kind: str, rid: str) -> Resource | None:
        """Return a copy of the current version of a resource."""
        with self.lock:
            found = self._resources.get(kind, {}).get(rid)
            return copy.deepcopy(found) if found else None

    def get_json(self, kind: str, rid: str) -> str | None:
        """Return the current version of a resource as JSON text (a snapshot, like :meth:`get`).

        Serialising under the lock is the snapshot: cheaper than a deep copy serialised later,
        which was a tenth of the simulator's CPU when paging search results. The text is kept
        until the resource changes.
        """
        with self.lock:
            text = self._json.get((kind, rid))
            if text is None:
                found = self._resources.get(kind, {}).get(rid)
                if not found:
                    return None
                text = self._json[(kind, rid)] = json.dumps(found)
            return text

    def vread(self, kind: str, rid: str, version: str) -> Resource | None:
        """Return a copy of one version of a resource."""
        with self.lock:
            found = self._history.get((kind, rid), {}).get(version)
            return copy.deepcopy(found) if found else None

    def _peek(self, kind: str, rid: str) -> Resource | None:
        return self._resources.get(kind, {}).get(rid)

    def search(self, kind: str, params: list[tuple[str, str]]) -> list[str]:
        """Return the ids of matching resources, in an order that is stable but not by time."""
        test = compile_query(kind, params, self.config.ignored_search_params)
        bounds = start_bounds(params, self.config.ignored_search_params) if kind == "Slot" else None
        with self.lock:
            stored = self._resources.get(kind, {})
            candidates = stored.keys() if bounds is None else self._slots_starting(*bounds)
            found = [rid for rid in candidates if test(stored[rid], self._peek)]
            # Many servers return search results unordered unless asked; clients must sort themselves.
            found.sort(key=lambda rid: hashlib.sha256(rid.encode()).hexdigest())
            order = [value for name, value in params if name == "_sort"]
            if kind == "Slot" and order and "_sort" not in self.config.ignored_search_params:
                # FHIR _sort: the first key decides here; "start" and "-start" are what a client of
                # free times needs. Other keys are ignored, as servers ignore what they do not know.
                first = order[-1].split(",")[0].strip()
                if first in ("start", "-start"):
                    found.sort(key=lambda rid: parse_instant(stored[rid]["start"]), reverse=first == "-start")
        return found

    def _slots_starting(self, low: Any, high: Any) -> list[str]:
        """Return the ids of Slots whose start lies in ``[low, high)`` (None: unbounded)."""
        if self._slot_starts is None:
            self._slot_starts = sorted(
                (parse_instant(slot["start"]), rid)
                for rid, slot in self._resources.get("Slot", {}).items()
                if slot.get("start")
            )
        index = self._slot_starts
        first = 0 if low is None else bisect.bisect_left(index, (low, ""))
        last = len(index) if high is None else bisect.bisect_left(index, (high, ""))
        return [rid for _start, rid in index[first:last]]

    def touch(self, kind: str, rid: str) -> None:
        """Write a new version without changes, as a concurrent writer would (tests use it for 412)."""
        with self.lock:
            current = self._peek(kind, rid)
            if current is not None:
                self._put(current)

    def set_slot_status(self, slot_id: str, status: str) -> None:
        """Mark a slot busy/free as staff in the record system would (tests, fallback scenarios)."""
        with self.lock:
            slot = self._peek("Slot", slot_id)
            if slot is None:
                raise KeyError(slot_id)
            slot["status"] = status
            self._put(slot)

    def count(self, kind: str) -> int:
        with self.lock:
            return len(self._resources.get(kind, {}))

    # -- setup ----------------------------------------------------------------------------------

    def _add_clinic(self, index: int, clinic: SimClinic) -> None:
        hsa = [{"system": HSA_SYSTEM, "value": clinic.hsa_id}]
        org_id, hs_id = f"org-{index}", f"hs-{index}"
        self._put(
            {
                "resourceType": "Organization",
                "id": org_id,
                "active": True,
                "identifier": hsa,
                "name": clinic.name,
            }
        )
        self._put(
            {
                "resourceType": "HealthcareService",
                "id": hs_id,
                "active": True,
                "identifier": hsa,
                "providedBy": {"reference": f"Organization/{org_id}", "display": clinic.name},
                "name": clinic.name,
                "type": [_coding(t.code, t.display) for t in clinic.slot_types],
            }
        )
        hs_ref = {"reference": f"HealthcareService/{hs_id}", "display": clinic.name}
        names = {}
        for prac in clinic.practitioners:
            names[prac.id] = f"{prac.given_name} {prac.family_name}"
            if self._peek("Practitioner", prac.id) is None:
                self._put(
                    {
                        "resourceType": "Practitioner",
                        "id": prac.id,
                        "active": True,
                        "name": [{"family": prac.family_name, "given": [prac.given_name]}],
                    }
                )
            role: Resource = {
                "resourceType": "PractitionerRole",
                "id": f"role-{index}-{prac.id}",
                "active": True,
                "practitioner": {"reference": f"Practitioner/{prac.id}", "display": names[prac.id]},
                "organization": {"reference": f"Organization/{org_id}"},
                "healthcareService": [hs_ref],
            }
            if prac.title:
                role["code"] = [{"text": prac.title}]
            self._put(role)
        types = {t.code: t for t in clinic.slot_types}
        horizon_start = local_to_utc(self.config.start_date, datetime.min.time(), clinic.timezone)
        horizon_end = horizon_start + timedelta(weeks=self.config.weeks)
        schedules: dict[str | None, str] = {}
        for window in clinic.windows:
            if window.practitioner_id not in schedules:
                sch_id = f"sch-{index}-{len(schedules) + 1}"
                schedules[window.practitioner_id] = sch_id
                actors = [hs_ref]
                if window.practitioner_id:
                    actors.append(
                        {
                            "reference": f"Practitioner/{window.practitioner_id}",
                            "display": names.get(window.practitioner_id, window.practitioner_id),
                        }
                    )
                self._put(
                    {
                        "resourceType": "Schedule",
                        "id": sch_id,
                        "active": True,
                        "actor": actors,
                        "serviceType": [_coding(t.code, t.display) for t in clinic.slot_types],
                        "planningHorizon": {
                            "start": _local_iso(horizon_start, clinic.timezone),
                            "end": _local_iso(horizon_end, clinic.timezone),
                        },
                    }
                )
            self._add_slots(clinic, window, schedules[window.practitioner_id], types)

    def _add_slots(self, clinic: SimClinic, window: SimWindow, sch_id: str, types: dict) -> None:
        slot_type = types[window.slot_type]
        step = timedelta(minutes=slot_type.duration_minutes)
        for offset in range(self.config.weeks * 7):
            day = self.config.start_date + timedelta(days=offset)
            if day.weekday() not in window.weekdays:
                continue
            # Step in instants, not wall-clock times, so a DST day has no doubled or lost slot.
            start = local_to_utc(day, window.start, clinic.timezone)
            end_of_window = local_to_utc(day, window.end, clinic.timezone)
            while start + step <= end_of_window:
                for _seat in range(window.capacity):
                    self._put(
                        {
                            "resourceType": "Slot",
                            "id": f"slot-{next(self._ids)}",
                            "schedule": {"reference": f"Schedule/{sch_id}"},
                            "serviceType": [_coding(slot_type.code, slot_type.display)],
                            "status": "free",
                            "start": _local_iso(start, clinic.timezone),
                            "end": _local_iso(start + step, clinic.timezone),
                        }
                    )
                start += step

    # -- patients -------------------------------------------------------------------------------

    def add_patient(self, value: str, system: str | None = None) -> str:
        """Register a patient by identifier (personal number by default) and return its id."""
        system = system or self.config.patient_identifier_system
        with self.lock:
            for rid, patient in self._resources.get("Patient", {}).items():
                if any(
                    i.get("system") == system and i.get("value") == value
                    for i in patient.get("identifier", [])
                ):
                    return rid
            rid = f"pat-{next(self._ids)}"
            self._put(
                {
                    "resourceType": "Patient",
                    "id": rid,
                    "active": True,
                    "identifier": [{"system": system, "value": value}],
                }
            )
            return rid

    # -- appointments ---------------------------------------------------------------------------

    def _slot_for(self, appointment: Resource) -> list[Resource]:
        slots = []
        for ref in appointment.get("slot", []):
            slot = self._peek("Slot", ref_key(ref.get("reference", "")).split("/")[-1])
            if slot is None:
                raise StoreError(422, "processing", "the referenced slot does not exist")
            slots.append(slot)
        return slots

    def _check_patient(self, appointment: Resource) -> None:
        for participant in appointment.get("participant", []):
            key = ref_key(participant.get("actor", {}).get("reference", ""))
            if key.startswith("Patient/") and self._peek("Patient", key.split("/")[1]):
                return
        raise StoreError(422, "processing", "the appointment names no known patient")

    def _hold(self, slots: list[Resource]) -> None:
        for slot in slots:
            if slot["status"] != "free":
                raise StoreError(409, "conflict", "the slot is not free")
        for slot in slots:
            slot["status"] = "busy"
            self._put(slot)

    def _release(self, slots: list[Resource]) -> None:
        for slot in slots:
            slot["status"] = "free"
            self._put(slot)

    def create_appointment(self, body: Resource) -> Resource:
        """Book: check and take the slot and store the appointment in one locked step."""
        if body.get("resourceType") != "Appointment":
            raise StoreError(400, "invalid", "expected an Appointment")
        with self.lock:
            slots = self._slot_for(body)
            if not slots:
                raise StoreError(422, "required", "an appointment needs a slot")
            self._check_patient(body)
            status = body.get("status", "booked")
            if status in ACTIVE_STATES:
                self._hold(slots)
            appointment = copy.deepcopy(body)
            appointment["id"] = f"appt-{next(self._ids)}"
            appointment.setdefault("start", slots[0]["start"])
            appointment.setdefault("end", slots[-1]["end"])
            return copy.deepcopy(self._put(appointment))

    def update_appointment(self, rid: str, body: Resource, if_match: str | None) -> Resource:
        """Replace an appointment if ``If-Match`` names its current version; move slots to match."""
        with self.lock:
            current = self._peek("Appointment", rid)
            if current is None:
                raise StoreError(404, "not-found", "no such appointment")
            if body.get("resourceType") != "Appointment" or body.get("id") != rid:
                raise StoreError(400, "invalid", "the body must be this Appointment")
            if if_match is None and self.config.require_if_match:
                raise StoreError(428, "required", "If-Match is required")
            version = current["meta"]["versionId"]
            if if_match is not None and if_match.removeprefix("W/").strip('"') != version:
                raise StoreError(412, "conflict", "the appointment was changed meanwhile")
            old_slots = self._slot_for(current) if current.get("status") in ACTIVE_STATES else []
            new_slots = self._slot_for(body) if body.get("status") in ACTIVE_STATES else []
            old_ids = {s["id"] for s in old_slots}
            self._hold([s for s in new_slots if s["id"] not in old_ids])
            new_ids = {s["id"] for s in new_slots}
            self._release([s for s in old_slots if s["id"] not in new_ids])
            appointment = copy.deepcopy(body)
            return copy.deepcopy(self._put(appointment))
