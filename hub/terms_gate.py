"""The terms gate of booking: a citizen must have accepted the clinic's current approved terms.

Kept apart from :mod:`hub.terms_flow` so that booking operations can import it without the pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

import terms
from hub.errors import Conflict
from hub.models import CaseType, Citizen, Clinic


@dataclass(frozen=True)
class TermsStatus:
    """The clinic's current approved terms for a case type (``None``: it has none) and whether
    the citizen accepted that version."""

    version: int | None
    accepted: bool


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


def require_accepted(status: TermsStatus, clinic: Clinic, case_type: CaseType) -> None:
    """Pass when ``status``, read already for this request, says there are no approved terms or
    the citizen accepted them."""
    if status.version is not None and not status.accepted:
        raise TermsNotAccepted(clinic.hsa_id, case_type, status.version)


def require_terms_accepted(
    db: Session, citizen: Citizen, clinic: Clinic, case_type: CaseType, known: TermsStatus | None = None
) -> None:
    """Pass when the clinic has no approved terms for the case type or the citizen accepted them.

    ``known``: the status read already for this request (``hub.booking.clinic_settings``);
    otherwise one query: the current version (the latest approved, as :func:`terms.current` finds
    it) with the citizen's acceptance of it, if any.
    """
    if known is not None:
        require_accepted(known, clinic, case_type)
        return
    version, acceptance = terms.TermsVersion, terms.Acceptance
    of_citizen = and_(acceptance.version_id == version.id, acceptance.citizen_ref == citizen.id)
    current = db.execute(
        select(version.number, acceptance.id)
        .outerjoin(acceptance, of_citizen)
        .where(
            version.clinic_key == clinic.hsa_id.strip().upper(),
            version.case_type == case_type,
            version.approved_at.is_not(None),
        )
        .order_by(version.number.desc())
        .limit(1)
    ).first()
    if current is None:
        return
    number, accepted = current
    if accepted is None:
        raise TermsNotAccepted(clinic.hsa_id, case_type, number)
