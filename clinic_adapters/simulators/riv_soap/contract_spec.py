"""The shape of the RIV-TA ``crm:scheduling`` 1.1 messages, as data.

The simulator generates its WSDL and schemas from this table, so the project holds no copy of the
published contract files. Namespaces, spellings (``perfomer``, ``ListOfTimeTypes``,
``healthcare_facility_med``) and the per-operation ``…Responder:1.1`` elements follow the
published TD_SCHEDULING_1_1_0_R exactly; the tests validate the messages against the real XSDs.
"""

from __future__ import annotations

from dataclasses import dataclass

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CORE = "urn:riv:crm:scheduling:1"
EXT = "urn:riv:crm:scheduling:1.1"
ITR = "urn:riv:itintegration:registry:1"
IH = "urn:riv:interoperability:headers:1"

OPERATIONS: tuple[str, ...] = (
    "GetAllTimeTypes",
    "GetAllCareTypes",
    "GetAllPerformers",
    "GetAllHealthcareFacilities",
    "GetAvailableDates",
    "GetAvailableTimeslots",
    "MakeBooking",
    "UpdateBooking",
    "CancelBooking",
    "GetBookingDetails",
    "GetSubjectOfCareSchedule",
)


def responder_ns(operation: str) -> str:
    """Return the namespace of an operation's request and response elements."""
    return f"urn:riv:crm:scheduling:{operation}Responder:1"


def responder_ext_ns(operation: str) -> str:
    """Return the ``…Responder:1.1`` namespace some 1.1 request elements live in (trap 2)."""
    return f"urn:riv:crm:scheduling:{operation}Responder:1.1"


def soap_action(operation: str) -> str:
    return f"urn:riv:crm:scheduling:{operation}Responder:1:{operation}"


@dataclass(frozen=True)
class El:
    """A local element ``name`` of ``type`` ("xs:string", "core:TS", "tns:…"), or a ``ref``."""

    name: str
    type: str = ""
    min: int = 1
    max: int | None = 1  # None: unbounded
    ref: str = ""  # "ext:firstName" or "rext:subject_of_care"


def _many(name: str, type_: str, min_: int = 0) -> El:
    return El(name, type_, min_, None)


def _opt(name: str, type_: str) -> El:
    return El(name, type_, 0, 1)


# -- core types (urn:riv:crm:scheduling:1) ---------------------------------------------------------

CORE_SIMPLE: dict[str, tuple[str, ...]] = {
    # name -> ("pattern", regex) | ("enum", values…) | () for a plain xs:string restriction
    "BookingIdType": (),
    "HsaIdType": (),
    # The published pattern is wrapped in ^…$, which XSD reads literally (trap 1); this is its intent.
    "SubjectOfCareIdType": ("pattern", "[0-9]{8}[0-9pPtTfF][0-9]{3}"),
    "ResultCodeEnum": ("enum", "OK", "ERROR", "INFO"),
    "ResourceIDType": (),
    "TimeTypeIDType": (),
    "CareTypeIDType": (),
    "TS": (
        "pattern",
        "[1-9]{1}[0-9]{3}(0[1-9]{1}|1[0-2]{1})([0-2]{1}[0-9]{1}|3[0-1]{1})"
        "([0-1]{1}[0-9]{1}|2[0-3]{1})[0-5]{1}[0-9]{1}[0-5]{1}[0-9]{1}",
    ),
    "DT": ("pattern", "[1-9]{1}[0-9]{3}(0[1-9]{1}|1[0-2]{1})([0-2]{1}[0-9]{1}|3[0-1]{1})"),
}

TIMESLOT_FIELDS: tuple[El, ...] = (
    _opt("startTimeInclusive", "core:TS"),
    _opt("endTimeExclusive", "core:TS"),
    El("healthcare_facility", "core:HsaIdType"),
    _opt("performer", "core:HsaIdType"),
    _opt("bookingId", "core:BookingIdType"),
    _opt("subject_of_care", "core:SubjectOfCareIdType"),
    _opt("purpose", "xs:string"),
    _opt("reason", "xs:string"),
    _opt("resourceName", "xs:string"),
    _opt("healthcare_facility_name", "xs:string"),
    _opt("performerName", "xs:string"),
    _opt("resourceID", "core:ResourceIDType"),
    _opt("timeTypeName", "xs:string"),
    _opt("timeTypeID", "core:TimeTypeIDType"),
    _opt("careTypeName", "xs:string"),
    _opt("careTypeID", "core:CareTypeIDType"),
    _opt("cancel_booking_allowed", "xs:boolean"),
    _opt("rebooking_allowed", "xs:boolean"),
    _opt("message_allowed", "xs:boolean"),
    El("isInvitation", min=0, ref="ext:isInvitation"),
)

# name -> (fields, open: ends with <xs:any namespace="##other">)
CORE_COMPLEX: dict[str, tuple[tuple[El, ...], bool]] = {
    "TimeslotType": (TIMESLOT_FIELDS, False),
    "SubjectOfCareType": (
        (
            _opt("phone", "xs:string"),
            _opt("email", "xs:string"),
            _opt("address", "xs:string"),
            _opt("coaddress", "xs:string"),
            El("firstName", ref="ext:firstName"),
            El("middleName", min=0, ref="ext:middleName"),
            El("lastName", ref="ext:lastName"),
        ),
        True,
    ),
    "TimeTypeType": ((El("timeTypeName", "xs:string"), El("timeTypeId", "core:TimeTypeIDType")), True),
    "CareTypeType": ((El("careTypeName", "xs:string"), El("careTypeId", "core:CareTypeIDType")), True),
    "PerformerInfoType": (
        (
            El("perfomer", "core:HsaIdType"),  # sic, as published (trap 3)
            El("firstName", "xs:string"),
            El("lastName", "xs:string"),
            _opt("title", "xs:string"),
        ),
        True,
    ),
    "HealthcareFacilityInfoType": (
        (El("healthcare_facility", "core:HsaIdType"), _opt("healthcare_facility_name", "xs:string")),
        True,
    ),
}

EXT_ELEMENTS: dict[str, str] = {
    "firstName": "xs:string",
    "middleName": "xs:string",
    "lastName": "xs:string",
    "isInvitation": "xs:boolean",
}


@dataclass(frozen=True)
class Interaction:
    """One operation: its request and response sequences (each ends open with ``xs:any``)."""

    request: tuple[El, ...]
    response: tuple[El, ...]
    # elements declared globally in the operation's …Responder:1.1 namespace (trap 2)
    ext_elements: tuple[tuple[str, str], ...] = ()
    # extra named complex types in the responder namespace
    extra_types: tuple[tuple[str, tuple[El, ...]], ...] = ()


_SEARCH_REQUEST: tuple[El, ...] = (
    El("healthcare_facility", "core:HsaIdType"),
    _opt("bookingId", "core:BookingIdType"),
    El("startDateInclusive", "core:DT"),
    El("endDateInclusive", "core:DT"),
    _many("performer", "core:HsaIdType"),
    _opt("timeTypeName", "xs:string"),
    _opt("timeTypeID", "core:TimeTypeIDType"),
    _opt("careTypeName", "xs:string"),
    _opt("careTypeID", "core:CareTypeIDType"),
    El("subject_of_care", ref="rext:subject_of_care"),
)

_RESULT: tuple[El, ...] = (El("resultCode", "core:ResultCodeEnum"), _opt("resultText", "xs:string"))

INTERACTIONS: dict[str, Interaction] = {
    "GetAllTimeTypes": Interaction(
        request=(
            El("healthcare_facility", "core:HsaIdType"),
            El("careTypeIDs", min=0, max=None, ref="rext:careTypeIDs"),
            El("subject_of_care", ref="rext:subject_of_care"),
        ),
        response=(_many("ListOfTimeTypes", "core:TimeTypeType"),),
        ext_elements=(
            ("subject_of_care", "core:SubjectOfCareIdType"),
            ("careTypeIDs", "core:CareTypeIDType"),
        ),
    ),
    "GetAllCareTypes": Interaction(
        request=(
            El("healthcare_facility", "core:HsaIdType"),
            _many("timeTypeIDs", "core:TimeTypeIDType"),
            _many("performer", "core:HsaIdType"),
            El("subject_of_care", "core:SubjectOfCareIdType"),
        ),
        response=(_many("careTypes", "core:CareTypeType"),),
    ),
    "GetAllPerformers": Interaction(
        request=(
            El("healthcare_facility", "core:HsaIdType"),
            _many("timeTypeIDs", "core:TimeTypeIDType"),
            _many("careTypeIDs", "core:CareTypeIDType"),
            El("subject_of_care", "core:SubjectOfCareIdType"),
        ),
        response=(_many("performerInfos", "core:PerformerInfoType"),),
    ),
    "GetAllHealthcareFacilities": Interaction(
        request=(
            El("healthcare_facility", "core:HsaIdType"),
            El("subject_of_care", "core:SubjectOfCareIdType"),
            _opt("bookingId", "core:BookingIdType"),
        ),
        response=(_many("healthcareFacilityInfos", "core:HealthcareFacilityInfoType"),),
    ),
    "GetAvailableDates": Interaction(
        request=_SEARCH_REQUEST,
        response=(_many("performerAvailabilityByDate", "tns:PerformerAvailabilityByDateType"),),
        ext_elements=(("subject_of_care", "core:SubjectOfCareIdType"),),
        extra_types=(
            (
                "PerformerAvailabilityByDateType",
                (
                    El("healthcare_facility", "core:HsaIdType"),
                    _opt("performer", "core:HsaIdType"),
                    El("date", "core:DT"),
                    _opt("resourceName", "xs:string"),
                    _opt("resourceID", "core:ResourceIDType"),
                    _opt("timeTypeName", "xs:string"),
                    _opt("timeTypeID", "core:TimeTypeIDType"),
                    _opt("careTypeName", "xs:string"),
                    _opt("careTypeID", "core:CareTypeIDType"),
                ),
            ),
        ),
    ),
    "GetAvailableTimeslots": Interaction(
        request=_SEARCH_REQUEST,
        response=(_many("timeslotDetail", "core:TimeslotType"),),
        ext_elements=(("subject_of_care", "core:SubjectOfCareIdType"),),
    ),
    "MakeBooking": Interaction(
        request=(
            El("healthcare_facility_med", "core:HsaIdType"),
            El("requestedTimeslot", "core:TimeslotType"),
            El("subject_of_care_info", "core:SubjectOfCareType"),
            _opt("notification", "xs:string"),
        ),
        response=(_opt("bookingId", "core:BookingIdType"), *_RESULT),
    ),
    "UpdateBooking": Interaction(
        request=(
            El("requestedTimeslot", "core:TimeslotType"),
            _opt("subject_of_care_info", "core:SubjectOfCareType"),
            _opt("notification", "xs:string"),
        ),
        response=_RESULT,
    ),
    "CancelBooking": Interaction(
        request=(
            El("healthcare_facility", "core:HsaIdType"),
            El("bookingId", "core:BookingIdType"),
            _opt("message", "xs:string"),
        ),
        response=_RESULT,
    ),
    "GetBookingDetails": Interaction(
        request=(El("healthcare_facility", "core:HsaIdType"), El("bookingId", "core:BookingIdType")),
        response=(El("timeslotDetail", "core:TimeslotType"),),
    ),
    "GetSubjectOfCareSchedule": Interaction(
        request=(
            El("healthcare_facility", "core:HsaIdType"),
            El("subject_of_care", "core:SubjectOfCareIdType"),
        ),
        response=(_many("timeslotDetail", "core:TimeslotType"),),
    ),
}
