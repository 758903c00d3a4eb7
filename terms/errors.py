"""What terms refuses; each carries a code the hub maps to a translated message."""

from __future__ import annotations


class TermsError(Exception):
    """A refused terms operation; ``code`` names why (no personal data in the message)."""

    code = "terms_error"


class SelfApproval(TermsError):
    """The author of a version may not approve it (four-eyes rule)."""

    code = "self_approval"


class NotEditable(TermsError):
    """An approved version never changes; write a new one."""

    code = "not_editable"


class UnknownVersion(TermsError):
    """No such version for this clinic and case type."""

    code = "unknown_version"


class NotCurrent(TermsError):
    """The version asked for is not the current approved one (it changed meanwhile)."""

    code = "not_current"


class NoTerms(TermsError):
    """The clinic has no approved terms for this case type."""

    code = "no_terms"


class InvalidPoints(TermsError):
    """The points are missing, too many or too long; ``problems`` maps language to a reason code."""

    code = "invalid_points"

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in sorted(problems.items())))
        self.problems = problems
