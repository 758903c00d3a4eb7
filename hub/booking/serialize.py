"""The JSON shapes of clinics, times and bookings."""

from __future__ import annotations

from typing import Any

from clinic_adapters import Slot
from clinic_adapters.timezones import to_local
from hub.booking.search import FederatedResult
from hub.i18n import current_language
from hub.models import Booking, Clinic


def clinic_json(clinic: Clinic, *, detail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "hsa_id": clinic.hsa_id,
        "name": clinic.name,
        "municipality": clinic.municipality,
        "case_types": sorted(clinic.enabled_case_types()),
    }
    if detail:
        language = current_language()
        data.update(
            address={"street": clinic.street_address, "postal_code": clinic.postal_code, "city": clinic.city},
            contact={"phone": clinic.phone, "email": clinic.email, "website": clinic.website},
            timezone=clinic.timezone,
            slot_types=[
                {"code": s.code, "name": s.name_in(language)} for s in clinic.slot_types if s.visible
            ],
        )
    return data


def slot_json(slot: Slot, tz_name: str) -> dict[str, Any]:
    return {
        "id": slot.id,
        "slot_type": slot.time_type_id,
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "local_start": to_local(slot.start, tz_name).isoformat(),
        "local_end": to_local(slot.end, tz_name).isoformat(),
        "performer": slot.performer_name,
        "free": slot.free,
        "capacity": slot.capacity,
    }


def booking_json(booking: Booking, clinic: Any = None) -> dict[str, Any]:
    """``clinic``: the booking's clinic when the caller has it (a settings snapshot will do)."""
    if clinic is None or clinic.id != booking.clinic_id:
        clinic = booking.clinic
    tz_name = clinic.timezone
    return {
        "id": booking.id,
        "status": booking.status,
        "clinic": {"hsa_id": clinic.hsa_id, "name": clinic.name},
        "slot_id": booking.slot_id,
        "slot_type": booking.slot_type_code,
        "start": booking.starts_at.isoformat() if booking.starts_at else None,
        "end": booking.ends_at.isoformat() if booking.ends_at else None,
        "local_start": to_local(booking.starts_at, tz_name).isoformat() if booking.starts_at else None,
        "performer": booking.performer_name,
        "message": booking.message,
        "series_id": booking.series_id,
    }


def federated_json(result: FederatedResult, limit: int) -> dict[str, Any]:
    return {
        "slot_type": result.slot_type,
        "clinics": [
            {
                "hsa_id": a.clinic.hsa_id,
                "name": a.clinic.name,
                "municipality": a.clinic.municipality,
                "status": a.status,
                "first_free": a.first_free.start.isoformat() if a.first_free else None,
            }
            for a in result.answers
        ],
        "times": [
            {"clinic": {"hsa_id": c.hsa_id, "name": c.name}, **slot_json(s, c.timezone)}
            for c, s in result.first_times(limit)
        ],
    }
