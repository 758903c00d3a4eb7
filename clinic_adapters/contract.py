"""The contract every clinic timebook implements.

A record-system vendor reads this module and knows everything it must implement. The operations
mirror the RIV-TA ``crm:scheduling`` 1.1 contract one to one, so the SOAP adapter maps directly:

=============================  ==========================================
ClinicAdapter method           RIV-TA operation
=============================  ==========================================
``list_time_types``            GetAllTimeTypes
``list_care_types``            GetAllCareTypes
``list_performers``            GetAllPerformers
``list_facilities``            GetAllHealthcareFacilities
``available_dates``            GetAvailableDates
``available_slots``            GetAvailableTimeslots
``make_booking``               MakeBooking
``update_booking``             UpdateBooking
``cancel_booking``             CancelBooking
``booking_details``            GetBookingDetails
``subject_schedule``           GetSubjectOfCareSchedule
=============================  ==========================================

One operation is the hub's own: ``earliest_slots``, the first few free times for a search across
a region. It has a default built on ``available_slots``; an adapter overrides it only when its
record system can answer that with less work (contract 1.1; 1.0 adapters work unchanged).

Rules that hold for every implementation:

* Every instant crossing this border is a timezone-aware ``datetime`` in UTC. Adapters convert
  to and from the record system's own representation (RIV-TA: Swedish local time, no zone).
* Clinic ids are HSA-ids and compare case-insensitively; use :func:`same_hsa_id`.
* Adapters raise the typed errors of :mod:`clinic_adapters.errors`; they never return error
  tuples, never commit a transaction they did not open, and never log personal identity numbers,
  names or contact details.
* No ORM object or database session crosses this border.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

CONTRACT_VERSION = "1.1"  # 1.1: earliest_slots (with a default, so 1.0 adapters still work)


def normalize_hsa_id(hsa_id: str) -> str:
    """Return the canonical (upper-case, stripped) form of an HSA-id."""
    return hsa_id.strip().upper()


def same_hsa_id(a: str | None, b: str | None) -> bool:
    """Compare two HSA-ids the way the contract does: case-insensitively."""
    if a is None or b is None:
        return a is b
    return normalize_hsa_id(a) == normalize_hsa_id(b)


def require_limit(limit: int) -> None:
    """The check every ``earliest_slots`` makes first: it answers at least one time."""
    if limit < 1:
        raise ValueError("limit must be at least 1")


def _require_utc(value: datetime | None, name: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class ClinicRef:
    """The clinic a call is addressed to (RIV-TA ``LogicalAddress``) and its IANA time zone."""

    hsa_id: str
    timezone: str = "Europe/Stockholm"


@dataclass(frozen=True, slots=True)
class Subject:
    """The citizen a call is made for.

    ``ref`` is the hub's stable pseudonymous id for the citizen: an adapter that keeps its own
    store (the standalone calendar) stores only this. ``personal_number`` (12 digits) and the
    names are for record systems whose contract requires them (RIV-TA MakeBooking); never log them.
    """

    ref: str
    personal_number: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    phone: str | None = None
    email: str | None = None

    def __repr__(self) -> str:  # keep personal data out of tracebacks and logs
        return f"Subject(ref={self.ref!r})"


@dataclass(frozen=True, slots=True)
class TimeType:
    """A slot type offered by a timebook (RIV-TA ``TimeTypeType``)."""

    id: str
    name: str
    duration_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class CareType:
    """A care type (RIV-TA ``CareTypeType``)."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Performer:
    """A practitioner or resource (RIV-TA ``PerformerInfoType``)."""

    id: str
    given_name: str
    family_name: str
    title: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True, slots=True)
class Facility:
    """A healthcare facility served by an endpoint (RIV-TA ``HealthcareFacilityInfoType``)."""

    hsa_id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable time (RIV-TA ``TimeslotType``).

    ``id`` is opaque to the hub and must be accepted back by ``make_booking`` / ``update_booking``.
    ``free`` is the number of seats still free (1 for an ordinary time). The three flags follow
    the contract: ``False`` also when the record system left them out.
    """

    id: str
    clinic_hsa_id: str
    time_type_id: str
    start: datetime
    end: datetime
    time_type_name: str | None = None
    performer_id: str | None = None
    performer_name: str | None = None
    resource_name: str | None = None
    care_type_id: str | None = None
    capacity: int = 1
    free: int = 1
    cancel_booking_allowed: bool = False
    rebooking_allowed: bool = False
    message_allowed: bool = False

    def __post_init__(self) -> None:
        _require_utc(self.start, "start")
        _require_utc(self.end, "end")
        if self.end <= self.start:
            raise ValueError("a slot must end after it starts")


class BookingStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Booking:
    """A booking as the timebook knows it (RIV-TA ``TimeslotType`` with a ``bookingId``)."""

    booking_id: str
    slot: Slot
    status: BookingStatus = BookingStatus.BOOKED
    subject_ref: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class BookingResult:
    """The answer to a successful ``make_booking`` / ``update_booking``.

    ``message`` carries text for the citizen (RIV-TA ``resultCode`` INFO ``resultText``,
    e.g. "come fasting"); ``None`` when the record system answered plain OK.
    """

    booking: Booking
    message: str | None = None


@dataclass(frozen=True, slots=True)
class CancelResult:
    """The answer to a successful ``cancel_booking``."""

    booking_id: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class SeriesRequest:
    """Two or more linked times booked together (e.g. dose 1 and dose 2): all or none."""

    slot_ids: Sequence[str]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Health:
    """What the hub shows about a connection: reachable now, and the last success and error."""

    ok: bool
    last_success: datetime | None = None
    last_error: datetime | None = None
    last_error_text: str | None = None
    breaker: BreakerState = BreakerState.CLOSED


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an adapter supports; the conformance kit skips what is declared unsupported.

    ``transactional``: the adapter writes in the caller's database transaction (the standalone
    calendar does), so the hub can record its own booking and the adapter's in one commit.
    """

    rebook: bool = True
    cancel: bool = True
    subject_schedule: bool = True
    booking_details: bool = True
    available_dates: bool = True
    care_types: bool = False
    series_booking: bool = False
    transactional: bool = False
    extra: frozenset[str] = field(default_factory=frozenset)


class ClinicAdapter(abc.ABC):
    """A connection to one clinic timebook (possibly serving several clinics).

    Subclasses set ``key`` (a stable registry key such as ``"riv-crm-scheduling"``) and
    ``capabilities``, and implement every abstract method. Optional operations raise
    :class:`~clinic_adapters.errors.NotSupported` and are declared off in ``capabilities``.
    """

    key: str = ""
    capabilities: Capabilities = Capabilities()

    # -- catalogue ---------------------------------------------------------------------------

    @abc.abstractmethod
    def list_time_types(self, clinic: ClinicRef) -> list[TimeType]:
        """Return the slot types the clinic's timebook offers (GetAllTimeTypes)."""

    def list_care_types(self, clinic: ClinicRef) -> list[CareType]:
        """Return the care types of the clinic (GetAllCareTypes); optional."""
        from clinic_adapters.errors import NotSupported

        raise NotSupported("care types")

    @abc.abstractmethod
    def list_performers(self, clinic: ClinicRef) -> list[Performer]:
        """Return the practitioners and resources of the clinic (GetAllPerformers)."""

    def list_facilities(self) -> list[Facility]:
        """Return the clinics this connection serves (GetAllHealthcareFacilities); optional."""
        from clinic_adapters.errors import NotSupported

        raise NotSupported("facility listing")

    # -- availability ------------------------------------------------------------------------

    @abc.abstractmethod
    def available_slots(
        self,
        clinic: ClinicRef,
        time_type_id: str,
        start: datetime,
        end: datetime,
        performer_id: str | None = None,
    ) -> list[Slot]:
        """Return free slots of a type whose start lies in ``[start, end)`` (GetAvailableTimeslots).

        ``start`` and ``end`` are aware UTC instants. Results are sorted by start time, never in
        the past, and carry the number of free seats.
        """

    def earliest_slots(
        self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime, limit: int
    ) -> list[Slot]:
        """Return the first ``limit`` of :meth:`available_slots` (a hub extension, no RIV-TA twin).

        A first-free search across a region needs a few times per clinic, not every time of
        several days. The default asks for all and keeps the first; an adapter whose record system
        can answer with less (a sorted, paged search) overrides this. Either way the answer is
        exactly the first ``limit`` times :meth:`available_slots` would return, seats included.
        """
        require_limit(limit)
        return self.available_slots(clinic, time_type_id, start, end)[:limit]

    def available_dates(self, clinic: ClinicRef, time_type_id: str, start: date, end: date) -> list[date]:
        """Return the local dates in ``[start, end]`` with at least one free slot (GetAvailableDates).

        The default derives them from :meth:`available_slots` in the clinic's time zone.
        """
        from clinic_adapters.timezones import local_day_bounds_utc, to_local

        first, _ = local_day_bounds_utc(start, clinic.timezone)
        _, last = local_day_bounds_utc(end, clinic.timezone)
        days = {
            to_local(s.start, clinic.timezone).date()
            for s in self.available_slots(clinic, time_type_id, first, last)
        }
        return sorted(days)

    # -- booking -----------------------------------------------------------------------------

    @abc.abstractmethod
    def make_booking(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, reason: str | None = None
    ) -> BookingResult:
        """Book one seat of a slot for the subject (MakeBooking).

        Raises ``SlotTaken`` when no seat is left, ``NotAllowed`` when the time may not be booked
        (past, too soon, beyond the horizon), ``Refused`` with the record system's text otherwise.
        """

    def book_series(self, clinic: ClinicRef, series: SeriesRequest, subject: Subject) -> list[BookingResult]:
        """Book linked times atomically: every slot or none (optional)."""
        from clinic_adapters.errors import NotSupported

        raise NotSupported("series booking")

    @abc.abstractmethod
    def update_booking(
        self, clinic: ClinicRef, booking_id: str, new_slot_id: str, subject: Subject
    ) -> BookingResult:
        """Move a booking to another slot (UpdateBooking).

        Atomic: if the new slot cannot be had, the old booking stays exactly as it was.
        """

    @abc.abstractmethod
    def cancel_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CancelResult:
        """Cancel a booking (CancelBooking); the seat is free again at once.

        Raises ``TooLateToCancel`` past the cancellation deadline, ``NotFound`` for an unknown
        booking or one of another subject.
        """

    @abc.abstractmethod
    def booking_details(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> Booking:
        """Return one booking of the subject (GetBookingDetails); ``NotFound`` otherwise."""

    @abc.abstractmethod
    def subject_schedule(self, clinic: ClinicRef, subject: Subject) -> list[Booking]:
        """Return the subject's bookings at the clinic (GetSubjectOfCareSchedule)."""

    # -- operations --------------------------------------------------------------------------

    @abc.abstractmethod
    def health(self) -> Health:
        """Say whether the timebook answers now; cheap, safe to call often."""
