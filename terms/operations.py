"""Writing, approving and accepting terms; plain functions on the caller's session (flush only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from terms.errors import InvalidPoints, NotCurrent, NotEditable, NoTerms, SelfApproval, UnknownVersion
from terms.models import Acceptance, TermsVersion
from terms.sanitize import clean_point

LANGUAGES = ("sv", "en", "de")
MAX_POINTS = 20
MAX_POINT_LENGTH = 400


def _key(clinic_hsa_id: str) -> str:
    return clinic_hsa_id.strip().upper()


def check_points(raw: dict[str, list[str]]) -> dict[str, list[str]]:
    """Clean every point; each language needs 1 to MAX_POINTS points of at most MAX_POINT_LENGTH."""
    cleaned: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    for language in LANGUAGES:
        points = [p for p in (clean_point(text) for text in raw.get(language, [])) if p]
        if not points:
            problems[language] = "missing"
        elif len(points) > MAX_POINTS:
            problems[language] = "too_many"
        elif any(len(p) > MAX_POINT_LENGTH for p in points):
            problems[language] = "too_long"
        cleaned[language] = points
    if problems:
        raise InvalidPoints(problems)
    return cleaned


def current(db: Session, clinic_hsa_id: str, case_type: str) -> TermsVersion | None:
    """Return the approved version citizens see now (the latest approved), or None."""
    return db.scalar(
        select(TermsVersion)
        .where(
            TermsVersion.clinic_key == _key(clinic_hsa_id),
            TermsVersion.case_type == case_type,
            TermsVersion.approved_at.is_not(None),
        )
        .order_by(TermsVersion.number.desc())
        .limit(1)
    )


def draft_of(db: Session, clinic_hsa_id: str, case_type: str) -> TermsVersion | None:
    """Return the version waiting for approval, if one is being written."""
    return db.scalar(
        select(TermsVersion).where(
            TermsVersion.clinic_key == _key(clinic_hsa_id),
            TermsVersion.case_type == case_type,
            TermsVersion.approved_at.is_(None),
        )
    )


def history(db: Session, clinic_hsa_id: str, case_type: str) -> list[TermsVersion]:
    """Every version, newest first."""
    return list(
        db.scalars(
            select(TermsVersion)
            .where(TermsVersion.clinic_key == _key(clinic_hsa_id), TermsVersion.case_type == case_type)
            .order_by(TermsVersion.number.desc())
        )
    )


def get_version(db: Session, clinic_hsa_id: str, version_id: int) -> TermsVersion:
    version = db.get(TermsVersion, version_id)
    if version is None or version.clinic_key != _key(clinic_hsa_id):
        raise UnknownVersion(str(version_id))
    return version


def save_draft(
    db: Session,
    clinic_hsa_id: str,
    case_type: str,
    points: dict[str, list[str]],
    *,
    author_key: str,
    now: datetime,
) -> TermsVersion:
    """Write the next version (or rewrite the waiting draft); whoever wrote it last is its author."""
    cleaned = check_points(points)
    version = draft_of(db, clinic_hsa_id, case_type)
    if version is None:
        highest = db.scalar(
            select(func.max(TermsVersion.number)).where(
                TermsVersion.clinic_key == _key(clinic_hsa_id), TermsVersion.case_type == case_type
            )
        )
        version = TermsVersion(
            clinic_key=_key(clinic_hsa_id),
            case_type=case_type,
            number=(highest or 0) + 1,
            created_at=now,
        )
        db.add(version)
    # A co-author who edits becomes the author: nobody approves text they wrote any of.
    version.points = cleaned
    version.author_key = author_key
    version.updated_at = now
    db.flush()
    return version


def approve(db: Session, version: TermsVersion, *, approver_key: str, now: datetime) -> TermsVersion:
    """Approve a draft; the author never approves their own text."""
    if version.approved:
        raise NotEditable(str(version.id))
    if approver_key == version.author_key:
        raise SelfApproval(str(version.id))
    version.approved_by = approver_key
    version.approved_at = now
    db.flush()
    return version


def has_accepted(db: Session, clinic_hsa_id: str, case_type: str, citizen_ref: str) -> bool:
    """True when there are no approved terms, or the citizen accepted the current version."""
    version = current(db, clinic_hsa_id, case_type)
    if version is None:
        return True
    return (
        db.scalar(
            select(Acceptance.id).where(
                Acceptance.version_id == version.id, Acceptance.citizen_ref == citizen_ref
            )
        )
        is not None
    )


def accept(
    db: Session, clinic_hsa_id: str, case_type: str, number: int, *, citizen_ref: str, now: datetime
) -> Acceptance:
    """Record that the citizen accepted version ``number``, which must be the current one."""
    version = current(db, clinic_hsa_id, case_type)
    if version is None:
        raise NoTerms(case_type)
    if version.number != number:
        raise NotCurrent(str(number))
    existing = db.scalar(
        select(Acceptance).where(Acceptance.version_id == version.id, Acceptance.citizen_ref == citizen_ref)
    )
    if existing is not None:
        return existing
    acceptance = Acceptance(version=version, citizen_ref=citizen_ref, accepted_at=now)
    db.add(acceptance)
    db.flush()
    return acceptance
