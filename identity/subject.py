"""The verified subject: who logged in, as the identity provider vouched for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from identity.personal_numbers import age_on


class Audience(StrEnum):
    """Who an identity provider serves: citizens, or staff of clinics and region."""

    CITIZEN = "citizen"
    STAFF = "staff"


@dataclass(frozen=True, repr=False)
class VerifiedSubject:
    """A person authenticated by an e-ID; always the person acting (never a proxy).

    ``personal_number`` is canonical (12 digits for Sweden). ``repr`` leaves out the number and
    the names so the object can appear in logs and tracebacks.
    """

    personal_number: str
    given_name: str | None
    family_name: str | None
    display_name: str | None
    loa: str
    idp: str
    birth_date: date | None
    country: str = "se"
    audience: Audience = Audience.CITIZEN

    def age_on(self, day: date) -> int | None:
        """Return the age in whole years on ``day`` when the birth date is known."""
        return None if self.birth_date is None else age_on(self.birth_date, day)

    def __repr__(self) -> str:
        return (
            f"VerifiedSubject(idp={self.idp!r}, loa={self.loa!r}, audience={self.audience.value!r}, "
            "personal_number=<redacted>)"
        )

    __str__ = __repr__
