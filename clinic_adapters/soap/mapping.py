"""RIV-TA answers ⇄ the hub's values: slot ids, timeslots, and resultCode/resultText."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from clinic_adapters.contract import Booking, BookingStatus, ClinicRef, Slot, same_hsa_id
from clinic_adapters.errors import (
    AdapterError,
    InvalidResponse,
    NotFound,
    Refused,
    SlotTaken,
    TooLateToCancel,
)
from clinic_adapters.soap.riv_time import interval_to_utc

_SLOT_ID_PREFIX = "riv1"
_PLAIN = re.compile(r"[A-Za-z0-9_.-]*")  # what quote() leaves as it is, but the separator "~"


def _escape(field: str) -> str:
    # Most fields are plain (HSA-ids, timestamps), and quote() is slow: a search reads thousands.
    # quote() keeps "~", the separator, so it is escaped here too.
    return field if _PLAIN.fullmatch(field) else quote(field, safe="").replace("~", "%7E")


@dataclass(frozen=True)
class SlotKey:
    """What identifies a RIV-TA time to its producer: the wall-clock texts as the producer sent them.

    The contract has no slot id, so the hub's opaque ``Slot.id`` encodes these fields and
    MakeBooking / UpdateBooking echo them back unchanged (no time-zone round trip).
    """

    facility: str
    start: str
    end: str | None
    time_type_id: str | None
    performer: str | None
    resource_id: str | None

    def encode(self) -> str:
        fields = (self.facility, self.start, self.end, self.time_type_id, self.performer, self.resource_id)
        return "~".join([_SLOT_ID_PREFIX, *(_escape(f or "") for f in fields)])

    @classmethod
    def decode(cls, slot_id: str) -> SlotKey:
        parts = slot_id.split("~")
        if len(parts) != 7 or parts[0] != _SLOT_ID_PREFIX or not parts[1] or not parts[2]:
            raise NotFound("not a slot id of this adapter")
        facility, start, end, time_type, performer, resource = (unquote(p) or None for p in parts[1:])
        assert facility is not None and start is not None
        return cls(facility, start, end, time_type, performer, resource)

    @classmethod
    def of(cls, timeslot: Any) -> SlotKey:
        if not getattr(timeslot, "startTimeInclusive", None) or not getattr(
            timeslot, "healthcare_facility", None
        ):
            raise InvalidResponse("timeslot without start or facility")
        return cls(
            facility=timeslot.healthcare_facility,
            start=timeslot.startTimeInclusive,
            end=timeslot.endTimeExclusive,
            time_type_id=timeslot.timeTypeID,
            performer=timeslot.performer,
            resource_id=timeslot.resourceID,
        )

    def same_time(self, other: SlotKey) -> bool:
        """Tell whether two keys name the same time (HSA-ids compared case-insensitively)."""
        return (
            same_hsa_id(self.facility, other.facility)
            and self.start == other.start
            and (self.time_type_id or None) == (other.time_type_id or None)
            and same_hsa_id(self.performer or "", other.performer or "")
            and (self.resource_id or None) == (other.resource_id or None)
        )

    def requested_timeslot(self, **extra: Any) -> dict[str, Any]:
        """Return a ``requestedTimeslot`` for MakeBooking / UpdateBooking (zeep keyword form)."""
        fields = {
            "startTimeInclusive": self.start,
            "endTimeExclusive": self.end,
            "healthcare_facility": self.facility,
            "performer": self.performer,
            "resourceID": self.resource_id,
            "timeTypeID": self.time_type_id,
            **extra,
        }
        return {k: v for k, v in fields.items() if v is not None}


def _clinic_id(clinic: ClinicRef, facility: str) -> str:
    # Producers answer in their own casing; keep the hub's spelling when it is the same clinic.
    return clinic.hsa_id if same_hsa_id(clinic.hsa_id, facility) else facility


def slot_from(
    timeslot: Any, clinic: ClinicRef, *, free: int = 1, default_minutes: int = 15, key: SlotKey | None = None
) -> Slot:
    """Return the hub's :class:`Slot` for a RIV-TA timeslot (flags: missing means False)."""
    key = key or SlotKey.of(timeslot)
    start, end = interval_to_utc(key.start, key.end, clinic.timezone, default_minutes=default_minutes)
    return Slot(
        id=key.encode(),
        clinic_hsa_id=_clinic_id(clinic, key.facility),
        time_type_id=key.time_type_id or "",
        start=start,
        end=end,
        time_type_name=getattr(timeslot, "timeTypeName", None),
        performer_id=key.performer,
        performer_name=getattr(timeslot, "performerName", None),
        resource_name=getattr(timeslot, "resourceName", None),
        care_type_id=getattr(timeslot, "careTypeID", None),
        capacity=free,
        free=free,
        cancel_booking_allowed=getattr(timeslot, "cancel_booking_allowed", None) is True,
        rebooking_allowed=getattr(timeslot, "rebooking_allowed", None) is True,
        message_allowed=getattr(timeslot, "message_allowed", None) is True,
    )


def slot_from_key(key: SlotKey, clinic: ClinicRef, *, default_minutes: int = 15) -> Slot:
    """Return a :class:`Slot` known only by its key (after MakeBooking answers with an id only)."""
    return slot_from(None, clinic, key=key, default_minutes=default_minutes)


def booking_from(
    timeslot: Any, clinic: ClinicRef, subject_ref: str | None, *, default_minutes: int = 15
) -> Booking:
    """Return the hub's :class:`Booking` for a booked RIV-TA timeslot."""
    if not getattr(timeslot, "bookingId", None):
        raise InvalidResponse("booked timeslot without bookingId")
    return Booking(
        booking_id=timeslot.bookingId,
        slot=slot_from(timeslot, clinic, default_minutes=default_minutes),
        status=BookingStatus.BOOKED,
        subject_ref=subject_ref,
        reason=getattr(timeslot, "reason", None),
    )


# -- resultCode ---------------------------------------------------------------------------------

# Producers explain an ERROR only in free text for the citizen; these fragments (Swedish and
# English, compared case-insensitively) let us give the hub a more precise error. Anything else
# is a plain Refused, which still carries the text.
TAKEN_PHRASES = (
    "redan bokad",
    "redan upptagen",
    "inte längre ledig",
    "ej ledig",
    "fullbokad",
    "already booked",
    "already taken",
    "no longer available",
    "fully booked",
)
TOO_LATE_PHRASES = ("för sent", "försent", "too late", "deadline", "avbokningsgräns")
NOT_FOUND_PHRASES = ("hittades inte", "finns inte", "not found", "okänd bokning", "unknown booking")


def _contains(text: str, phrases: tuple[str, ...]) -> bool:
    folded = text.casefold()
    return any(p in folded for p in phrases)


def looks_not_found(text: str | None) -> bool:
    return bool(text) and _contains(text or "", NOT_FOUND_PHRASES)


def error_for(operation: str, text: str | None) -> AdapterError:
    """Return the typed error for a resultCode ERROR; ``citizen_message`` is the producer's text."""
    detail = f"{operation}: resultCode ERROR"  # the text may name people: not in the message
    if text and _contains(text, TOO_LATE_PHRASES):
        return TooLateToCancel(detail, citizen_message=text)
    if text and _contains(text, TAKEN_PHRASES) and operation in ("MakeBooking", "UpdateBooking"):
        return SlotTaken(detail, citizen_message=text)
    if looks_not_found(text) and operation in ("UpdateBooking", "CancelBooking"):
        return NotFound(detail, citizen_message=text)
    return Refused(detail, citizen_message=text)


def result_message(answer: Any, operation: str) -> str | None:
    """Return the INFO text of an OK/INFO answer, or raise the typed error of an ERROR (trap 8)."""
    code = (getattr(answer, "resultCode", None) or "").strip().upper()
    text = getattr(answer, "resultText", None) or None
    if code == "OK":
        return None
    if code == "INFO":
        return text
    if code == "ERROR":
        raise error_for(operation, text)
    raise InvalidResponse(f"{operation}: unknown resultCode")
