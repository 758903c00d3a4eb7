"""The RIV-TA ``crm:scheduling`` 1.1 adapter: a clinic's journal-system timebook over SOAP.

Configuration (plain JSON-able values, one set per connection)::

    RivSchedulingAdapter(
        endpoint="https://producer.example/scheduling",   # or ".../{operation}/1/rivtabp21"
        wsdl_url=None,               # default "<endpoint>?wsdl"; "{operation}" = one WSDL per interaction
        connect_timeout=2.0, read_timeout=5.0,
        actor_type="subject_of_care",
    )

No retries or circuit breaker here (the resilience layer wraps every adapter); this class sets
the time limits and maps every failure once (see :mod:`clinic_adapters.soap.transport`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import requests

from clinic_adapters.contract import (
    Booking,
    BookingResult,
    CancelResult,
    Capabilities,
    CareType,
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
    same_hsa_id,
)
from clinic_adapters.errors import AdapterError, InvalidResponse, NotFound, Unavailable
from clinic_adapters.soap.mapping import (
    SlotKey,
    booking_from,
    looks_not_found,
    result_message,
    slot_from,
    slot_from_key,
)
from clinic_adapters.soap.personal_data import InvalidSubject, normalize_personal_number
from clinic_adapters.soap.riv_time import format_dt, local_dates, parse_dt, parse_wall, steady_offset
from clinic_adapters.soap.transport import RivClient, SoapFault, Timeouts
from clinic_adapters.timezones import local_day_bounds_utc, to_local, utc_now

log = logging.getLogger("clinic_adapters.soap")

ACTOR_TYPES = ("subject_of_care", "subject_of_care_agent")
# The contract demands a subject_of_care even in catalogue and availability calls that concern
# no citizen. Tolvan Tolvansson is the Swedish Tax Agency's published test person; connections
# to production producers should set their agreed service number.
DEFAULT_CATALOGUE_SUBJECT = "191212121212"


class RivSchedulingAdapter(ClinicAdapter):
    """A RIV-TA ``crm:scheduling`` 1.1 producer reached with zeep (see the module docstring)."""

    key = "riv-crm-scheduling"
    capabilities = Capabilities(
        rebook=True,
        cancel=True,
        subject_schedule=True,
        booking_details=True,
        available_dates=True,
        care_types=True,
        series_booking=False,
        transactional=False,
    )

    def __init__(
        self,
        endpoint: str,
        wsdl_url: str | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        actor_type: str = "subject_of_care",
        *,
        health_timeout: float = 2.0,
        logical_address: str | None = None,
        catalogue_subject: str = DEFAULT_CATALOGUE_SUBJECT,
        default_slot_minutes: int = 15,
        session: requests.Session | None = None,
        plugins: list[Any] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Build the adapter; no network I/O happens until the first call.

        ``logical_address`` addresses GetAllHealthcareFacilities and the health check (default:
        blank, which a producer serving one system answers with all its facilities).
        ``default_slot_minutes`` is the length of a timeslot that has no end time.
        ``session``, ``plugins`` (zeep plugins) and ``clock`` are dependencies, not configuration.
        """
        if not endpoint:
            raise ValueError("endpoint is required")
        if actor_type not in ACTOR_TYPES:
            raise ValueError(f"actor_type must be one of {ACTOR_TYPES}")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("time limits must be positive")
        self.actor_type = actor_type
        self.logical_address = logical_address or ""
        self.catalogue_subject = normalize_personal_number(catalogue_subject)
        self.default_slot_minutes = default_slot_minutes
        self.clock = clock
        # Clinics whose next two days lately held too few free times: asked for the whole window.
        self._booked_up: set[str] = set()
        self.client = RivClient(
            endpoint,
            wsdl_url,
            Timeouts(connect_timeout, read_timeout),
            health_read_timeout=health_timeout,
            session=session,
            plugins=plugins,
        )

    def close(self) -> None:
        """Close the HTTP session's kept-alive connections (as the FHIR adapter's ``close``)."""
        self.client.close()

    # -- helpers ------------------------------------------------------------------------------

    def _call(self, operation: str, clinic_hsa_id: str, actor_id: str, **body: Any) -> Any:
        return self.client.call(
            operation,
            logical_address=clinic_hsa_id,
            actor_id=actor_id,
            actor_type=self.actor_type,
            **body,
        )

    def _catalogue(self, operation: str, clinic: ClinicRef, **body: Any) -> Any:
        return self._call(operation, clinic.hsa_id, self.catalogue_subject, **body)

    @staticmethod
    def _subject_number(subject: Subject) -> str:
        return normalize_personal_number(subject.personal_number)

    @staticmethod
    def _list(answer: Any, field: str) -> list[Any]:
        return list(getattr(answer, field, None) or [])

    # -- catalogue ----------------------------------------------------------------------------

    def list_time_types(self, clinic: ClinicRef) -> list[TimeType]:
        answer = self._catalogue(
            "GetAllTimeTypes",
            clinic,
            healthcare_facility=clinic.hsa_id,
            subject_of_care=self.catalogue_subject,
        )
        return [TimeType(id=t.timeTypeId, name=t.timeTypeName) for t in self._list(answer, "ListOfTimeTypes")]

    def list_care_types(self, clinic: ClinicRef) -> list[CareType]:
        answer = self._catalogue(
            "GetAllCareTypes",
            clinic,
            healthcare_facility=clinic.hsa_id,
            subject_of_care=self.catalogue_subject,
        )
        return [CareType(id=c.careTypeId, name=c.careTypeName) for c in self._list(answer, "careTypes")]

    def list_performers(self, clinic: ClinicRef) -> list[Performer]:
        answer = self._catalogue(
            "GetAllPerformers",
            clinic,
            healthcare_facility=clinic.hsa_id,
            subject_of_care=self.catalogue_subject,
        )
        return [
            Performer(id=p.perfomer, given_name=p.firstName, family_name=p.lastName, title=p.title)
            for p in self._list(answer, "performerInfos")
        ]

    def list_facilities(self) -> list[Facility]:
        answer = self._call(
            "GetAllHealthcareFacilities",
            self.logical_address,
            self.catalogue_subject,
            healthcare_facility=self.logical_address,
            subject_of_care=self.catalogue_subject,
        )
        return [
            Facility(hsa_id=f.healthcare_facility, name=f.healthcare_facility_name)
            for f in self._list(answer, "healthcareFacilityInfos")
        ]

    # -- availability -------------------------------------------------------------------------

    def available_slots(
        self,
        clinic: ClinicRef,
        time_type_id: str,
        start: datetime,
        end: datetime,
        performer_id: str | None = None,
    ) -> list[Slot]:
        return self._free_times(clinic, time_type_id, start, end, performer_id, None)

    def earliest_slots(
        self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime, limit: int
    ) -> list[Slot]:
        """The first free times: today's and tomorrow's first, and Slots for the first only.

        RIV-TA cannot ask for fewer than a day's times. The first are near, and two days' answer
        is a fraction of the window's, on both ends. A clinic booked up for those days costs a
        second round trip once; then it is asked for the whole window until it has near times.
        """
        require_limit(limit)
        hsa_id = normalize_hsa_id(clinic.hsa_id)
        first, _ = local_dates(start, end, clinic.timezone)
        _, near = local_day_bounds_utc(first + timedelta(days=NEAR_DAYS - 1), clinic.timezone)
        if near >= end or hsa_id in self._booked_up:
            slots = self._free_times(clinic, time_type_id, start, end, None, limit)
            near_slots = [s for s in slots if s.start < near]
            if len(near_slots) >= limit:
                self._booked_up.discard(hsa_id)
            return slots
        slots = self._free_times(clinic, time_type_id, start, near, None, limit)
        if len(slots) >= limit:
            return slots
        self._booked_up.add(hsa_id)
        return slots + self._free_times(clinic, time_type_id, near, end, None, limit - len(slots))

    def _free_times(
        self,
        clinic: ClinicRef,
        time_type_id: str,
        start: datetime,
        end: datetime,
        performer_id: str | None,
        limit: int | None,
    ) -> list[Slot]:
        first, last = local_dates(start, end, clinic.timezone)
        answer = self._catalogue(
            "GetAvailableTimeslots",
            clinic,
            flat_list="timeslotDetail",  # the hot path of a federated search: read lean
            healthcare_facility=clinic.hsa_id,
            startDateInclusive=format_dt(first),
            endDateInclusive=format_dt(last),
            performer=[performer_id] if performer_id else [],
            timeTypeID=time_type_id,
            subject_of_care=self.catalogue_subject,
        )
        # The contract has no seat count: a producer may list a time once per free seat.
        seats: dict[SlotKey, tuple[Any, int]] = {}
        skipped = 0
        for timeslot in self._list(answer, "timeslotDetail"):
            try:
                key = SlotKey.of(timeslot)
            except InvalidResponse:
                skipped += 1
                continue
            previous = seats.get(key)
            seats[key] = (timeslot, previous[1] + 1 if previous else 1)
        now = self.clock()
        slots = []
        horizon = None  # with a limit: a time whose wall clock starts later cannot be among the first
        margin = timedelta(0) if limit and steady_offset(first, last, clinic.timezone) else MAX_OFFSET_CHANGE
        for wall, key, (timeslot, free) in _by_wall_clock(seats) if limit else _unordered(seats):
            if horizon is not None and wall > horizon:
                break
            try:
                slot = slot_from(
                    timeslot, clinic, free=free, key=key, default_minutes=self.default_slot_minutes
                )
            except InvalidResponse:
                skipped += 1
                continue
            if time_type_id and slot.time_type_id and slot.time_type_id != time_type_id:
                continue
            if start <= slot.start < end and slot.start > now:
                slots.append(slot)
                if limit and horizon is None and len(slots) == limit:
                    horizon = wall + margin
        if skipped:
            log.warning(
                "RIV GetAvailableTimeslots from %s: skipped %d malformed timeslots", clinic.hsa_id, skipped
            )
        return sorted(slots, key=lambda s: (s.start, s.performer_id or "", s.id))[:limit]

    def available_dates(self, clinic: ClinicRef, time_type_id: str, start: date, end: date) -> list[date]:
        answer = self._catalogue(
            "GetAvailableDates",
            clinic,
            healthcare_facility=clinic.hsa_id,
            startDateInclusive=format_dt(start),
            endDateInclusive=format_dt(end),
            timeTypeID=time_type_id,
            subject_of_care=self.catalogue_subject,
        )
        today = to_local(self.clock(), clinic.timezone).date()
        days: set[date] = set()
        # One entry per date × performer × time type (trap 11): keep each date once.
        for entry in self._list(answer, "performerAvailabilityByDate"):
            if time_type_id and entry.timeTypeID and entry.timeTypeID != time_type_id:
                continue
            day = parse_dt(entry.date or "")
            if start <= day <= end and day >= today:
                days.add(day)
        return sorted(days)

    # -- booking ------------------------------------------------------------------------------

    def _subject_info(self, subject: Subject, *, required: bool) -> dict[str, Any] | None:
        if not (subject.given_name and subject.family_name):
            if required:
                raise InvalidSubject("MakeBooking needs the subject's given and family names")
            return None
        info = {"firstName": subject.given_name, "lastName": subject.family_name}
        if subject.phone:
            info["phone"] = subject.phone
        if subject.email:
            info["email"] = subject.email
        return info

    def _find_in_schedule(self, clinic: ClinicRef, subject: Subject, key: SlotKey) -> Booking | None:
        for booking in self.subject_schedule(clinic, subject):
            if SlotKey.decode(booking.slot.id).same_time(key):
                return booking
        return None

    def make_booking(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, reason: str | None = None
    ) -> BookingResult:
        key = SlotKey.decode(slot_id)
        number = self._subject_number(subject)
        info = self._subject_info(subject, required=True)
        extra = {"subject_of_care": number}
        if reason:
            extra["reason"] = reason
        try:
            answer = self._call(
                "MakeBooking",
                clinic.hsa_id,
                number,
                healthcare_facility_med=key.facility,
                requestedTimeslot=key.requested_timeslot(**extra),
                subject_of_care_info=info,
            )
            message = result_message(answer, "MakeBooking")
        except Unavailable:
            # No idempotency key in the contract (trap 9): the booking may have been made and
            # only the reply lost. Look before anyone retries or reports a failure.
            found = self._reconcile(clinic, subject, key)
            if found is None:
                raise
            log.info("RIV MakeBooking to %s: reply lost, booking found in schedule", clinic.hsa_id)
            return BookingResult(booking=found)
        except AdapterError:
            # An ERROR may be "already booked" by this very subject (a retry after a lost reply).
            found = self._reconcile(clinic, subject, key)
            if found is None:
                raise
            return BookingResult(booking=found)
        booking_id = getattr(answer, "bookingId", None)
        if not booking_id:
            found = self._reconcile(clinic, subject, key)
            if found is None:
                raise InvalidResponse("MakeBooking: OK without bookingId")
            return BookingResult(booking=found, message=message)
        slot = slot_from_key(key, clinic, default_minutes=self.default_slot_minutes)
        return BookingResult(
            booking=Booking(booking_id, slot, subject_ref=subject.ref, reason=reason), message=message
        )

    def _reconcile(self, clinic: ClinicRef, subject: Subject, key: SlotKey) -> Booking | None:
        try:
            return self._find_in_schedule(clinic, subject, key)
        except AdapterError:
            return None

    def update_booking(
        self, clinic: ClinicRef, booking_id: str, new_slot_id: str, subject: Subject
    ) -> BookingResult:
        key = SlotKey.decode(new_slot_id)
        number = self._subject_number(subject)
        body: dict[str, Any] = {
            "requestedTimeslot": key.requested_timeslot(bookingId=booking_id, subject_of_care=number),
        }
        info = self._subject_info(subject, required=False)
        if info:
            body["subject_of_care_info"] = info
        try:
            answer = self._call("UpdateBooking", clinic.hsa_id, number, **body)
            message = result_message(answer, "UpdateBooking")
        except Unavailable as lost:
            # The move may have happened with the reply lost: look at the booking before failing.
            try:
                current = self.booking_details(clinic, booking_id, subject)
            except AdapterError:
                raise lost from None
            if not SlotKey.decode(current.slot.id).same_time(key):
                raise
            log.info("RIV UpdateBooking to %s: reply lost, booking already moved", clinic.hsa_id)
            return BookingResult(booking=current)
        slot = slot_from_key(key, clinic, default_minutes=self.default_slot_minutes)
        return BookingResult(booking=Booking(booking_id, slot, subject_ref=subject.ref), message=message)

    def cancel_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CancelResult:
        number = self._subject_number(subject)
        try:
            answer = self._call(
                "CancelBooking",
                clinic.hsa_id,
                number,
                healthcare_facility=clinic.hsa_id,
                bookingId=booking_id,
            )
        except Unavailable as lost:
            # After a lost reply a booking that is gone was cancelled by us (trap 9, for cancel).
            try:
                self.booking_details(clinic, booking_id, subject)
            except NotFound:
                log.info("RIV CancelBooking to %s: reply lost, booking is gone", clinic.hsa_id)
                return CancelResult(booking_id=booking_id)
            except AdapterError:
                raise lost from None
            raise
        return CancelResult(booking_id=booking_id, message=result_message(answer, "CancelBooking"))

    def booking_details(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> Booking:
        number = self._subject_number(subject)
        try:
            answer = self._call(
                "GetBookingDetails",
                clinic.hsa_id,
                number,
                healthcare_facility=clinic.hsa_id,
                bookingId=booking_id,
            )
        except SoapFault as fault:
            # This operation has no resultCode: "not found" (also: cancelled) arrives as a fault
            # (trap 5). A client fault, or a fault saying so, is an answer, not an outage.
            if fault.is_client_fault or (fault.code and looks_not_found(fault.producer_text)):
                raise NotFound("GetBookingDetails: no such booking") from None
            raise
        timeslot = getattr(answer, "timeslotDetail", None)
        if timeslot is None:
            raise InvalidResponse("GetBookingDetails: no timeslotDetail")
        owner = getattr(timeslot, "subject_of_care", None)
        if owner and owner.upper() != number:
            raise NotFound("GetBookingDetails: booking of another subject")  # only one's own bookings
        booking = booking_from(timeslot, clinic, subject.ref, default_minutes=self.default_slot_minutes)
        if booking.booking_id != booking_id:
            raise InvalidResponse("GetBookingDetails: answer names another booking")
        return booking

    def subject_schedule(self, clinic: ClinicRef, subject: Subject) -> list[Booking]:
        number = self._subject_number(subject)
        answer = self._call(
            "GetSubjectOfCareSchedule",
            clinic.hsa_id,
            number,
            healthcare_facility=clinic.hsa_id,
            subject_of_care=number,
        )
        bookings = []
        for timeslot in self._list(answer, "timeslotDetail"):
            owner = getattr(timeslot, "subject_of_care", None)
            if owner and owner.upper() != number:
                continue  # never show a citizen someone else's booking
            if not same_hsa_id(
                getattr(timeslot, "healthcare_facility", None) or clinic.hsa_id, clinic.hsa_id
            ):
                continue
            bookings.append(
                booking_from(timeslot, clinic, subject.ref, default_minutes=self.default_slot_minutes)
            )
        return sorted(bookings, key=lambda b: b.slot.start)

    # -- operations ---------------------------------------------------------------------------

    def health(self) -> Health:
        """Call GetAllHealthcareFacilities with the short health time limit."""
        ok = True
        try:
            self.client.call(
                "GetAllHealthcareFacilities",
                logical_address=self.logical_address,
                actor_id=self.catalogue_subject,
                actor_type=self.actor_type,
                health=True,
                healthcare_facility=self.logical_address,
                subject_of_care=self.catalogue_subject,
            )
        except SoapFault as fault:
            ok = bool(fault.code)  # the producer answered; a code-less fault is an error page
        except AdapterError:
            ok = False
        return Health(
            ok=ok,
            last_success=self.client.last_success,
            last_error=self.client.last_error,
            last_error_text=self.client.last_error_text,
        )


#: The local days (today the first) a search for the first free times asks first.
NEAR_DAYS = 2

#: Wall-clock order is the order of instants except around a clock change, where a zone's offset
#: moves by at most two hours (one nearly everywhere). So a time whose wall-clock start is more
#: than this after that of the last of the first few starts after all of them. Days without a
#: clock change need no margin (:func:`~clinic_adapters.soap.riv_time.steady_offset`).
MAX_OFFSET_CHANGE = timedelta(hours=3)


def _by_wall_clock(seats: dict[SlotKey, tuple[Any, int]]) -> list[tuple[datetime, SlotKey, tuple[Any, int]]]:
    """The times by their wall-clock start; malformed starts first (they are skipped, and logged)."""
    ordered = []
    for key, value in seats.items():
        try:
            wall = parse_wall(key.start)
        except InvalidResponse:
            wall = datetime.min  # noqa: DTZ901 - a wall time, like the others
        ordered.append((wall, key, value))
    ordered.sort(key=lambda item: item[0])
    return ordered


def _unordered(seats: dict[SlotKey, tuple[Any, int]]) -> Iterator[tuple[None, SlotKey, tuple[Any, int]]]:
    return ((None, key, value) for key, value in seats.items())
