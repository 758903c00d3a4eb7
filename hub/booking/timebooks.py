"""Which timebook serves a clinic: its record system through an adapter, or the built-in calendar."""

from __future__ import annotations

from flask import current_app

from clinic_adapters import ClinicAdapter, ClinicRef, get_adapter
from hub import db
from hub.models import Clinic
from standalone_calendar import StandaloneCalendarAdapter


def clinic_ref(clinic: Clinic) -> ClinicRef:
    return ClinicRef(hsa_id=clinic.hsa_id, timezone=clinic.timezone)


def timebook_for(clinic: Clinic) -> ClinicAdapter:
    """Return the adapter that holds the clinic's times."""
    if clinic.connection == "standalone":
        return StandaloneCalendarAdapter(session=db.session)
    # Remote adapters keep HTTP connections open, so one instance serves every request.
    cache: dict[int, ClinicAdapter] = current_app.extensions.setdefault("hub.adapters", {})
    if clinic.id not in cache:
        cache[clinic.id] = get_adapter(clinic.connection, clinic.connection_config)
    return cache[clinic.id]
