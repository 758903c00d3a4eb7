"""Clinic terms texts (villkorstexter): versions per clinic and case type, four-eyes approval,
and citizens' acceptances.

Imports nothing of ours: clinics are named by their HSA-id and citizens by the hub's
pseudonymous reference, both plain strings. Functions only flush; the caller commits.
"""

from terms.errors import (
    InvalidPoints,
    NotCurrent,
    NotEditable,
    NoTerms,
    SelfApproval,
    TermsError,
    UnknownVersion,
)
from terms.models import Acceptance, Base, TermsVersion
from terms.operations import (
    LANGUAGES,
    accept,
    approve,
    check_points,
    current,
    draft_of,
    get_version,
    has_accepted,
    history,
    save_draft,
)
from terms.sanitize import clean_point

__all__ = [
    "LANGUAGES",
    "Acceptance",
    "Base",
    "InvalidPoints",
    "NoTerms",
    "NotCurrent",
    "NotEditable",
    "SelfApproval",
    "TermsError",
    "TermsVersion",
    "UnknownVersion",
    "accept",
    "approve",
    "check_points",
    "clean_point",
    "current",
    "draft_of",
    "get_version",
    "has_accepted",
    "history",
    "save_draft",
]
