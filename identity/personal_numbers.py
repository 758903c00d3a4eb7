"""Personal identity numbers: validate, normalise, derive birth date and age, pseudonymise.

Validation goes through python-stdnum; the gaps it leaves (Swedish samordningsnummer, Finnish
birth dates) are filled here, as PITFALLS.md describes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from stdnum import luhn
from stdnum.dk import cpr
from stdnum.exceptions import ValidationError
from stdnum.fi import hetu
from stdnum.no import fodselsnummer
from stdnum.se import personnummer


class Country(StrEnum):
    """Countries whose personal identity numbers the hub understands."""

    SE = "se"
    NO = "no"
    FI = "fi"
    DK = "dk"


class InvalidPersonalNumber(ValueError):
    """The value is not a valid personal identity number of any configured country."""

    def __init__(self) -> None:
        # Never carry the offending value: exceptions end up in logs.
        super().__init__("invalid personal identity number")


@dataclass(frozen=True)
class PersonalNumber:
    """A validated personal identity number in its canonical compact form."""

    country: Country
    value: str
    kind: str
    # None only for a samordningsnummer issued without a known birth day or month.
    birth_date: date | None

    def __repr__(self) -> str:
        return f"PersonalNumber(country={self.country.value!r}, kind={self.kind!r}, value=<redacted>)"

    __str__ = __repr__

    def age_on(self, day: date) -> int | None:
        """Return the age in whole years on ``day`` (None when the birth date is unknown)."""
        return None if self.birth_date is None else age_on(self.birth_date, day)


def age_on(birth_date: date, day: date) -> int:
    """Return the age in whole years on ``day`` (a 29 February birthday counts from 1 March)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def parse(
    raw: str, countries: Iterable[Country | str] = (Country.SE,), *, today: date | None = None
) -> PersonalNumber:
    """Validate ``raw`` against the configured countries and return its canonical form.

    ``today`` is needed only to place a 10-digit Swedish number in its century.
    """
    if not isinstance(raw, str) or len(raw) > 32:
        raise InvalidPersonalNumber()
    today = today or date.today()  # noqa: DTZ011 - a calendar day, time zone irrelevant at this precision
    for country in countries:
        parser = _PARSERS[Country(country)]
        try:
            return parser(raw.strip(), today)
        except (ValidationError, ValueError):
            continue
    raise InvalidPersonalNumber()


def is_valid(
    raw: str, countries: Iterable[Country | str] = (Country.SE,), *, today: date | None = None
) -> bool:
    """Tell whether ``raw`` is a valid personal identity number of one of ``countries``."""
    try:
        parse(raw, countries, today=today)
    except InvalidPersonalNumber:
        return False
    return True


def pseudonymise(value: str, key: bytes) -> str:
    """Return a stable keyed hash of a canonical personal number (for grants, logs and joins).

    Keyed (HMAC) because the space of personal numbers is small enough to hash exhaustively.
    """
    if len(key) < 16:
        raise ValueError("pseudonym key must be at least 16 bytes")
    return hmac.new(key, value.encode("ascii"), hashlib.sha256).hexdigest()


# Ten or more digits in a row, optionally with the Swedish/Finnish separators: what a personal
# number looks like inside free text.
_NUMBER_LIKE = re.compile(r"\d{6,8}[-+A-Y]?\d{3,4}[0-9A-Z]?")


def redact(text: str) -> str:
    """Replace anything shaped like a personal number in ``text`` (used before logging)."""
    return _NUMBER_LIKE.sub("[redacted]", text)


# --- Sweden ---------------------------------------------------------------------------------

_SE_FORM = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)(\d{4})$")


def _parse_se(raw: str, today: date) -> PersonalNumber:
    match = _SE_FORM.match(raw.replace(" ", ""))
    if not match:
        raise ValueError("format")
    century, yy, mm, dd, sep, tail = match.groups()
    ten = f"{yy}{mm}{dd}{tail}"
    day, month = int(dd), int(mm)
    coordination = day >= 60  # samordningsnummer: day of birth + 60 (60 itself: day unknown)
    if coordination:
        day -= 60
    # A samordningsnummer may be issued with the day or month unknown (written as 0).
    known = day != 0 and month != 0
    if month > 12:
        raise ValueError("month")
    if century is None:
        century = _se_century(int(yy), month or 1, day or 1, sep == "+", today)
    elif sep == "+":
        raise ValueError("'+' only in the 10-digit form")
    if not known and not coordination:
        raise ValueError("a personnummer has a full birth date")
    birth = date(int(century + yy), month, day) if known else None
    if coordination:
        # stdnum 2.2 rejects samordningsnummer (InvalidComponent on the day): Luhn by hand.
        luhn.validate(ten)
    else:
        personnummer.validate(f"{century}{yy}{mm}{dd}{tail}")
    if birth is not None and birth > today:
        raise ValueError("born in the future")
    if birth is None and int(century + yy) > today.year:
        raise ValueError("born in the future")
    return PersonalNumber(
        Country.SE,
        f"{century}{ten}",
        "samordningsnummer" if coordination else "personnummer",
        birth,
    )


def _se_century(yy: int, mm: int, dd: int, plus: bool, today: date) -> str:
    """Place a 10-digit number: the latest century not in the future ('+' means 100 years or older)."""
    year = today.year - (today.year - yy) % 100
    if date(year, mm, dd) > today:
        year -= 100
    if plus:
        year -= 100
    return f"{year // 100:02d}"


# --- Norway, Finland, Denmark -----------------------------------------------------------------


def _parse_no(raw: str, today: date) -> PersonalNumber:
    compact = fodselsnummer.validate(raw)
    birth = fodselsnummer.get_birth_date(compact)
    kind = "d-nummer" if int(compact[0]) >= 4 else "fodselsnummer"
    return PersonalNumber(Country.NO, compact, kind, birth)


_FI_CENTURY = {"+": 1800, **dict.fromkeys("-UVWXY", 1900), **dict.fromkeys("ABCDEF", 2000)}


def _parse_fi(raw: str, today: date) -> PersonalNumber:
    compact = hetu.validate(raw.upper())
    # stdnum has no birth date for hetu: DDMMYY + century sign.
    birth = date(_FI_CENTURY[compact[6]] + int(compact[4:6]), int(compact[2:4]), int(compact[0:2]))
    return PersonalNumber(Country.FI, compact, "hetu", birth)


def _parse_dk(raw: str, today: date) -> PersonalNumber:
    compact = cpr.validate(raw)
    return PersonalNumber(Country.DK, compact, "cpr", cpr.get_birth_date(compact))


_PARSERS = {Country.SE: _parse_se, Country.NO: _parse_no, Country.FI: _parse_fi, Country.DK: _parse_dk}
