"""The eleven operations of the simulated producer: request element in, response element out."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from datetime import date, datetime

from lxml import etree

from clinic_adapters.simulators.riv_soap.contract_spec import CORE, EXT, responder_ext_ns, responder_ns
from clinic_adapters.simulators.riv_soap.model import FacilitySpec
from clinic_adapters.simulators.riv_soap.soap import ClientFault, Request
from clinic_adapters.simulators.riv_soap.store import (
    DT_FORMAT,
    TEXT_NOT_FOUND,
    TEXT_UNKNOWN_FACILITY,
    TS_FORMAT,
    Refusal,
    SimBooking,
    SimSlot,
    Timebook,
    UnknownBooking,
)

_PNR = re.compile(r"[0-9]{8}[0-9pPtTfF][0-9]{3}")


class NotFoundFault(Exception):
    """GetBookingDetails has no resultCode: "not found" is a SOAP fault (trap 5)."""


def _sub(parent: etree._Element, ns: str, name: str, value: object) -> None:
    if value is None:
        return
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    etree.SubElement(parent, f"{{{ns}}}{name}").text = text


def _timeslot(parent: etree._Element, tag: str, slot: SimSlot, booking: SimBooking | None) -> None:
    """Write a ``core:TimeslotType`` in the published element order; flags only when true."""
    element = etree.SubElement(parent, tag)
    facility, window, time_type = slot.facility, slot.window, slot.time_type
    performer = facility.performer(window.performer_id)
    care_type = facility.care_type(time_type.care_type_id)
    _sub(element, CORE, "startTimeInclusive", slot.start_wall.strftime(TS_FORMAT))
    _sub(element, CORE, "endTimeExclusive", slot.end_wall.strftime(TS_FORMAT))
    _sub(element, CORE, "healthcare_facility", facility.hsa_id)
    _sub(element, CORE, "performer", window.performer_id)
    if booking is not None:
        _sub(element, CORE, "bookingId", booking.id)
        _sub(element, CORE, "subject_of_care", booking.subject)
        _sub(element, CORE, "reason", booking.reason)
    _sub(element, CORE, "resourceName", window.resource_name)
    _sub(element, CORE, "healthcare_facility_name", facility.name)
    _sub(element, CORE, "performerName", performer.display_name if performer else None)
    _sub(element, CORE, "resourceID", window.resource_id)
    _sub(element, CORE, "timeTypeName", time_type.name)
    _sub(element, CORE, "timeTypeID", time_type.id)
    _sub(element, CORE, "careTypeName", care_type.name if care_type else None)
    _sub(element, CORE, "careTypeID", time_type.care_type_id)
    # A missing flag means "not allowed" (the contract): leave false flags out, as many producers do.
    for flag in ("cancel_booking_allowed", "rebooking_allowed", "message_allowed"):
        if getattr(window, flag):
            _sub(element, CORE, flag, True)


@functools.lru_cache(maxsize=8192)
def _free_timeslot(response_tag: str, tag: str, slot: SimSlot) -> etree._Element:
    """Return a free slot's element, built once: a slot is immutable and was rendered anew for
    every search (a third of the SOAP simulator's CPU). Callers append a copy."""
    parent = etree.Element(response_tag)  # the real response's shape, so namespaces come out alike
    _timeslot(parent, tag, slot, None)
    return parent[0]


class Handlers:
    """Dispatch a parsed request to its operation against a :class:`Timebook`."""

    def __init__(self, book: Timebook) -> None:
        self.book = book
        self._ops: dict[str, Callable[[Request, etree._Element], str | None]] = {
            "GetAllTimeTypes": self._time_types,
            "GetAllCareTypes": self._care_types,
            "GetAllPerformers": self._performers,
            "GetAllHealthcareFacilities": self._facilities,
            "GetAvailableDates": self._dates,
            "GetAvailableTimeslots": self._timeslots,
            "MakeBooking": self._make,
            "UpdateBooking": self._update,
            "CancelBooking": self._cancel,
            "GetBookingDetails": self._details,
            "GetSubjectOfCareSchedule": self._schedule,
        }

    def handle(self, request: Request) -> tuple[etree._Element, str | None]:
        """Return the response element and, for booking operations, the resultCode sent."""
        response = etree.Element(f"{{{responder_ns(request.operation)}}}{request.operation}Response")
        code = self._ops[request.operation](request, response)
        return response, code

    # -- helpers ------------------------------------------------------------------------------

    def _facility(self, request: Request, field: str = "healthcare_facility") -> FacilitySpec:
        facility = self.book.facility(request.required(field))
        if facility is None:
            raise ClientFault(TEXT_UNKNOWN_FACILITY)
        return facility

    @staticmethod
    def _subject(value: str | None) -> str:
        if not value or not _PNR.fullmatch(value):
            raise ClientFault("subject_of_care is missing or not a 12-digit personal number")
        return value

    @staticmethod
    def _date(value: str) -> date:
        try:
            return datetime.strptime(value, DT_FORMAT).date()  # noqa: DTZ007 - a local date
        except ValueError as exc:
            raise ClientFault("dates must be YYYYMMDD") from exc

    def _search(self, request: Request) -> list[tuple[SimSlot, int]]:
        facility = self._facility(request)
        self._subject(request.text("subject_of_care", responder_ext_ns(request.operation)))
        return self.book.free_slots(
            facility,
            self._date(request.required("startDateInclusive")),
            self._date(request.required("endDateInclusive")),
            time_type_id=request.text("timeTypeID"),
            performers=request.texts("performer"),
            care_type_id=request.text("careTypeID"),
        )

    @staticmethod
    def _result(response: etree._Element, code: str, text: str | None = None) -> str:
        ns = etree.QName(response).namespace
        _sub(response, ns, "resultCode", code)
        _sub(response, ns, "resultText", text)
        return code

    # -- catalogue ----------------------------------------------------------------------------

    def _time_types(self, request: Request, response: etree._Element) -> None:
        facility = self._facility(request)
        ext = responder_ext_ns(request.operation)
        self._subject(request.text("subject_of_care", ext))
        care_types = set(request.texts("careTypeIDs", ext))
        ns = responder_ns(request.operation)
        for tt in facility.time_types:
            if care_types and tt.care_type_id not in care_types:
                continue
            item = etree.SubElement(response, f"{{{ns}}}ListOfTimeTypes")
            _sub(item, CORE, "timeTypeName", tt.name)
            _sub(item, CORE, "timeTypeId", tt.id)

    def _care_types(self, request: Request, response: etree._Element) -> None:
        facility = self._facility(request)
        self._subject(request.text("subject_of_care"))
        ns = responder_ns(request.operation)
        for ct in facility.care_types:
            item = etree.SubElement(response, f"{{{ns}}}careTypes")
            _sub(item, CORE, "careTypeName", ct.name)
            _sub(item, CORE, "careTypeId", ct.id)

    def _performers(self, request: Request, response: etree._Element) -> None:
        facility = self._facility(request)
        self._subject(request.text("subject_of_care"))
        ns = responder_ns(request.operation)
        for p in facility.performers:
            item = etree.SubElement(response, f"{{{ns}}}performerInfos")
            _sub(item, CORE, "perfomer", p.id)  # sic (trap 3)
            _sub(item, CORE, "firstName", p.first_name)
            _sub(item, CORE, "lastName", p.last_name)
            _sub(item, CORE, "title", p.title)

    def _facilities(self, request: Request, response: etree._Element) -> None:
        self._subject(request.text("subject_of_care"))
        wanted = self.book.facility(request.text("healthcare_facility"))
        ns = responder_ns(request.operation)
        # An unknown or blank address lists every facility this producer serves.
        for f in [wanted] if wanted else self.book.facilities:
            item = etree.SubElement(response, f"{{{ns}}}healthcareFacilityInfos")
            _sub(item, CORE, "healthcare_facility", f.hsa_id)
            _sub(item, CORE, "healthcare_facility_name", f.name)

    # -- availability -------------------------------------------------------------------------

    def _dates(self, request: Request, response: etree._Element) -> None:
        ns = responder_ns(request.operation)
        # One entry per date × performer × time type × resource, as producers do (trap 11);
        # adjacent slots of one combination share an entry, different ones do not.
        seen: set[tuple[str, ...]] = set()
        for slot, _free in self._search(request):
            key = (
                slot.start_wall.strftime(DT_FORMAT),
                slot.window.performer_id or "",
                slot.time_type.id,
                slot.window.resource_id or "",
            )
            if key in seen:
                continue
            seen.add(key)
            item = etree.SubElement(response, f"{{{ns}}}performerAvailabilityByDate")
            _sub(item, ns, "healthcare_facility", slot.facility.hsa_id)
            _sub(item, ns, "performer", slot.window.performer_id)
            _sub(item, ns, "date", key[0])
            _sub(item, ns, "resourceName", slot.window.resource_name)
            _sub(item, ns, "resourceID", slot.window.resource_id)
            _sub(item, ns, "timeTypeName", slot.time_type.name)
            _sub(item, ns, "timeTypeID", slot.time_type.id)
            care = slot.facility.care_type(slot.time_type.care_type_id)
            _sub(item, ns, "careTypeName", care.name if care else None)
            _sub(item, ns, "careTypeID", slot.time_type.care_type_id)

    def _timeslots(self, request: Request, response: etree._Element) -> None:
        tag = f"{{{responder_ns(request.operation)}}}timeslotDetail"
        for slot, free in self._search(request):
            # The contract has no seat count: a time with several free seats is listed once per seat.
            template = _free_timeslot(response.tag, tag, slot)
            for _ in range(free):
                response.append(copy.deepcopy(template))

    # -- booking ------------------------------------------------------------------------------

    def _requested_slot(
        self, request: Request, facility: FacilitySpec
    ) -> tuple[etree._Element, SimSlot | None]:
        requested = request.child("requestedTimeslot")
        if requested is None:
            raise ClientFault(f"{request.operation}: missing requestedTimeslot")

        def core(name: str) -> str | None:
            value = requested.findtext(f"{{{CORE}}}{name}")
            return value.strip() if value else None

        slot_facility = self.book.facility(core("healthcare_facility")) or facility
        slot = self.book.find_slot(
            slot_facility,
            core("timeTypeID"),
            core("performer"),
            core("resourceID"),
            core("startTimeInclusive"),
        )
        return requested, slot

    def _make(self, request: Request, response: etree._Element) -> str:
        facility = self._facility(request, "healthcare_facility_med")
        requested, slot = self._requested_slot(request, facility)
        subject = self._subject(requested.findtext(f"{{{CORE}}}subject_of_care"))
        info = request.child("subject_of_care_info")
        if (
            info is None
            or not info.findtext(f"{{{EXT}}}firstName")
            or not info.findtext(f"{{{EXT}}}lastName")
        ):
            raise ClientFault("MakeBooking: subject_of_care_info needs firstName and lastName")
        try:
            booking = self.book.book(slot, subject, requested.findtext(f"{{{CORE}}}reason"))
        except Refusal as refusal:
            return self._result(response, "ERROR", refusal.text)
        _sub(response, responder_ns(request.operation), "bookingId", booking.id)
        text = booking.slot.time_type.booking_info
        return self._result(response, "INFO" if text else "OK", text)

    def _update(self, request: Request, response: etree._Element) -> str:
        requested = request.child("requestedTimeslot")
        if requested is None:
            raise ClientFault("UpdateBooking: missing requestedTimeslot")
        # UpdateBooking names its facility only inside the timeslot (or by the LogicalAddress).
        facility = self.book.facility(
            requested.findtext(f"{{{CORE}}}healthcare_facility")
        ) or self.book.facility(request.logical_address)
        if facility is None:
            raise ClientFault(TEXT_UNKNOWN_FACILITY)
        _, slot = self._requested_slot(request, facility)
        subject = requested.findtext(f"{{{CORE}}}subject_of_care") or request.actor_id
        try:
            booking = self.book.rebook(facility, requested.findtext(f"{{{CORE}}}bookingId"), subject, slot)
        except Refusal as refusal:
            return self._result(response, "ERROR", refusal.text)
        text = booking.slot.time_type.booking_info
        return self._result(response, "INFO" if text else "OK", text)

    def _cancel(self, request: Request, response: etree._Element) -> str:
        facility = self._facility(request)
        # CancelBooking names no subject: the Actor header says who asks.
        try:
            self.book.cancel(facility, request.required("bookingId"), request.actor_id)
        except Refusal as refusal:
            return self._result(response, "ERROR", refusal.text)
        return self._result(response, "OK")

    def _details(self, request: Request, response: etree._Element) -> None:
        facility = self._facility(request)
        try:
            booking = self.book.details(facility, request.required("bookingId"), request.actor_id)
        except UnknownBooking:
            raise NotFoundFault(TEXT_NOT_FOUND) from None
        _timeslot(response, f"{{{responder_ns(request.operation)}}}timeslotDetail", booking.slot, booking)

    def _schedule(self, request: Request, response: etree._Element) -> None:
        facility = self._facility(request)
        subject = self._subject(request.text("subject_of_care"))
        tag = f"{{{responder_ns(request.operation)}}}timeslotDetail"
        for booking in self.book.schedule(facility, subject):
            _timeslot(response, tag, booking.slot, booking)
