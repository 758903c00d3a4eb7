"""Personal identity numbers for RIV-TA, and keeping them out of logs.

zeep does not check XSD patterns (trap 1), so numbers are validated here before anything is sent.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.se import personnummer

from clinic_adapters.errors import NotAllowed

# The contract's pattern, without the ^…$ that XSD would read literally (trap 1).
_CONTRACT_PATTERN = re.compile(r"[0-9]{8}[0-9pPtTfF][0-9]{3}")
# Anything that looks like a 10- or 12-digit Swedish number, with or without a separator.
_LOOKS_LIKE_NUMBER = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+ ]?[0-9pPtTfF]\d{3}(?!\d)")


class InvalidSubject(NotAllowed, ValueError):
    """The subject cannot be sent: no valid 12-digit personal number, or names missing."""


def _valid_samordningsnummer(digits: str) -> bool:
    # stdnum 2.2 rejects day + 60 (PITFALLS.md): check the date and the Luhn digit ourselves.
    day = int(digits[6:8])
    if not 61 <= day <= 91:
        return False
    try:
        date(int(digits[0:4]), int(digits[4:6]), day - 60)
    except ValueError:
        return False
    return luhn.is_valid(digits[2:])


def normalize_personal_number(value: str | None) -> str:
    """Return the 12-character form the contract wants, or raise :class:`InvalidSubject`.

    Accepts ``YYYYMMDD-NNNC`` and ``YYYYMMDDNNNC``; personnummer and samordningsnummer are checked
    (date and Luhn digit); reserve numbers with a letter (``T``, ``F``, ``P``) match the contract's
    pattern but have no check digit to verify.
    """
    if not value:
        raise InvalidSubject("a personal identity number is required")
    compact = re.sub(r"[\s\-+]", "", value)
    if not _CONTRACT_PATTERN.fullmatch(compact):
        raise InvalidSubject("personal identity number must have 12 characters")
    if not compact.isdigit():
        return compact.upper()
    try:
        personnummer.validate(compact)  # its return value keeps a "-": send our 12 digits
        return compact
    except ValidationError:
        if _valid_samordningsnummer(compact):
            return compact
    raise InvalidSubject("personal identity number fails its date or check digit")


def redact(text: str) -> str:
    """Replace anything shaped like a personal identity number (for texts that may be logged)."""
    return _LOOKS_LIKE_NUMBER.sub("[personnummer]", text)


class NoBodyLogger:
    """Stands in for zeep's transport logger, which logs whole envelopes (numbers, names) at DEBUG."""

    def isEnabledFor(self, level: int) -> bool:
        return False

    def debug(self, *args: object, **kwargs: object) -> None:
        """Drop the message: it may carry an envelope."""
