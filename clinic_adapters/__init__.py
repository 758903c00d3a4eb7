"""The vendor-facing adapter interface: what a clinic timebook implements to join the hub.

Read :mod:`clinic_adapters.contract` for the operations, :mod:`clinic_adapters.errors` for the
errors, and ``clinic_adapters/testing`` for the conformance kit a vendor runs against its endpoint.
"""

from clinic_adapters.contract import (
    CONTRACT_VERSION,
    Booking,
    BookingResult,
    BookingStatus,
    BreakerState,
    CancelResult,
    Capabilities,
    CareType,
    ClinicAdapter,
    ClinicRef,
    Facility,
    Health,
    Performer,
    SeriesRequest,
    Slot,
    Subject,
    TimeType,
    normalize_hsa_id,
    same_hsa_id,
)
from clinic_adapters.errors import (
    AdapterError,
    CircuitOpen,
    InvalidResponse,
    NotAllowed,
    NotFound,
    NotSupported,
    Refused,
    SlotTaken,
    TooLateToCancel,
    Unavailable,
)
from clinic_adapters.registry import adapter_class, get_adapter

__all__ = [
    "CONTRACT_VERSION",
    "AdapterError",
    "Booking",
    "BookingResult",
    "BookingStatus",
    "BreakerState",
    "CancelResult",
    "Capabilities",
    "CareType",
    "CircuitOpen",
    "ClinicAdapter",
    "ClinicRef",
    "Facility",
    "Health",
    "InvalidResponse",
    "NotAllowed",
    "NotFound",
    "NotSupported",
    "Performer",
    "Refused",
    "SeriesRequest",
    "Slot",
    "SlotTaken",
    "Subject",
    "TimeType",
    "TooLateToCancel",
    "Unavailable",
    "adapter_class",
    "get_adapter",
    "normalize_hsa_id",
    "same_hsa_id",
]
