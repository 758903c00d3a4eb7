"""The terms gate of booking: a citizen must have accepted the clinic's current approved terms.

Kept apart from :mod:`hub.terms_flow` so that booking operations can import it without the pages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import terms
from hub.errors import Conflict
from hub.models import CaseType, Citizen, Clinic


class TermsNotAccepted(Conflict):
    """The citizen must accept the current terms first; the answer says which (see terms_flow)."""

    code = "terms_not_accepted"
    default_message = _l("Please read and accept the clinic's terms before you continue.")

    def __init__(self, clinic_hsa_id: str, case_type: CaseType, version: int) -> None:
        super().__init__()
        self.clinic_hsa_id = clinic_hsa_id
        self.case_type = case_type
        self.version = version


class TermsChanged(Conflict):
    code = "terms_changed"
    default_message = _l("The terms have changed meanwhile. Please read the new version.")


def require_terms_accepted(db: Session, citizen: Citizen, clinic: Clinic, case_type: CaseType) -> None:
    """Pass when the clinic has no approved terms for the case type or the citizen accepted them."""
    version = terms.current(db, clinic.hsa_id, case_type)
    if version is None:
        return
    accepted = db.scalar(
        select(terms.Acceptance.id).where(
            terms.Acceptance.version_id == version.id, terms.Acceptance.citizen_ref == citizen.id
        )
    )
    if accepted is None:
        raise TermsNotAccepted(clinic.hsa_id, case_type, version.number)
