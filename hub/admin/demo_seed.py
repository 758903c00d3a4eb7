"""Demo data for the admin side: an approved terms text, so the demo shows the terms step.

``hub.demo`` may call :func:`seed_demo_terms` after seeding clinics; nothing else needs it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

import terms
from clinic_adapters.timezones import utc_now

DEMO_POINTS = {
    "sv": [
        "Kom tio minuter före din tid och ta med legitimation.",
        "Avboka senast 24 timmar före, annars kan avgift tas ut.",
        "Är du sjuk med feber eller hosta: ring oss innan du kommer.",
    ],
    "en": [
        "Arrive ten minutes before your time and bring identification.",
        "Cancel at least 24 hours ahead, or a fee may be charged.",
        "If you have a fever or a cough: call us before you come.",
    ],
    "de": [
        "Kommen Sie zehn Minuten vor Ihrem Termin und bringen Sie einen Ausweis mit.",
        "Sagen Sie spätestens 24 Stunden vorher ab, sonst kann eine Gebühr anfallen.",
        "Bei Fieber oder Husten: Rufen Sie uns an, bevor Sie kommen.",
    ],
}


def seed_demo_terms(db: Session, clinic_hsa_id: str, case_type: str = "book") -> bool:
    """Give one clinic an approved terms version (two demo staff keys); False if it has one."""
    if terms.current(db, clinic_hsa_id, case_type) is not None:
        return False
    now = utc_now()
    version = terms.save_draft(db, clinic_hsa_id, case_type, DEMO_POINTS, author_key="demo-author", now=now)
    terms.approve(db, version, approver_key="demo-approver", now=now)
    return True
