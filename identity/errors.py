"""Why a login was refused; codes are safe to log, messages safe to show."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Stable reason codes for a refused login (logged, asserted in tests, never PII)."""

    UNKNOWN_IDP = "unknown_idp"
    MALFORMED = "malformed"
    UNSOLICITED = "unsolicited"
    UNKNOWN_REQUEST = "unknown_request"
    INVALID_RESPONSE = "invalid_response"
    SIGNATURE = "signature"
    AUDIENCE = "audience"
    DESTINATION = "destination"
    RECIPIENT = "recipient"
    EXPIRED = "expired"
    REPLAYED = "replayed"
    LOA_TOO_LOW = "loa_too_low"
    MISSING_ATTRIBUTE = "missing_attribute"
    INVALID_PERSONAL_NUMBER = "invalid_personal_number"
    TOO_YOUNG = "too_young"
    STATE = "state"
    NONCE = "nonce"
    ISSUER = "issuer"
    TOKEN = "token"  # noqa: S105 - a reason code
    SUBJECT_MISMATCH = "subject_mismatch"
    PROVIDER_ERROR = "provider_error"


class LoginRefused(Exception):
    """A login attempt failed a check; ``reason`` is a code, ``detail`` is redacted technical text."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
