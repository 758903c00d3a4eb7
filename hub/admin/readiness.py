"""When a case type may be switched on: its settings must be complete; say exactly what is missing."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import terms
from clinic_adapters import AdapterError
from hub.booking.timebooks import clinic_ref, record_system
from hub.models import CaseType, Clinic
from standalone_calendar.models import Calendar, OpeningRule

CASE_TYPE_LABELS = {
    CaseType.BOOK: _l("Book a new time"),
    CaseType.REBOOK_CANCEL: _l("Rebook or cancel"),
    CaseType.REQUEST: _l("Request a time"),
    CaseType.CAMPAIGN: _l("Campaign (invitations)"),
}


def calendar_of(db: Session, clinic: Clinic) -> Calendar | None:
    return db.scalar(select(Calendar).where(Calendar.clinic_hsa_id == clinic.hsa_id))


def timebook_problem(db: Session, clinic: Clinic) -> Any:
    """Return why the clinic's timebook cannot serve citizens, or None when it can."""
    if clinic.connection == "standalone":
        calendar = calendar_of(db, clinic)
        if calendar is None:
            return _l("The clinic has no built-in calendar yet.")
        if db.scalar(select(OpeningRule.id).where(OpeningRule.calendar_id == calendar.id).limit(1)) is None:
            return _l("The built-in calendar has no opening hours.")
        return None
    if not clinic.connection_config:
        return _l("The record-system connection is not set up.")
    try:
        health = record_system(clinic).health(clinic_ref(clinic))
    except (AdapterError, ValueError, TypeError):
        return _l("The record-system connection is set up wrongly.")
    if not health.ok:
        return _l("The record-system connection is not working right now.")
    return None


def missing_for(db: Session, clinic: Clinic, case_type: CaseType) -> list[Any]:
    """List, in the user's language, what the clinic still lacks to offer ``case_type``."""
    missing: list[Any] = []
    problem = timebook_problem(db, clinic)
    if problem is not None:
        missing.append(problem)
    needs_slot_types = case_type in {CaseType.BOOK, CaseType.REQUEST, CaseType.CAMPAIGN}
    if needs_slot_types and not any(s.visible for s in clinic.slot_types):
        missing.append(_l("No slot type is shown to citizens."))
    # Rebooking and cancelling follow terms a citizen already accepted when booking; the other
    # case types start something new and need the clinic's own approved terms.
    if case_type is not CaseType.REBOOK_CANCEL and terms.current(db, clinic.hsa_id, case_type) is None:
        missing.append(_l("There is no approved terms text for this case type."))
    if case_type is CaseType.REQUEST and not (clinic.email or clinic.phone):
        missing.append(_l("The clinic has no contact details for answering requests."))
    return missing
