"""Citizens for kit runs: distinct Swedish *test* personal identity numbers, never real people."""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections.abc import Iterator

from stdnum import luhn
from stdnum.se import personnummer

from clinic_adapters.contract import Subject

__all__ = ["SubjectFactory", "swedish_test_personal_numbers"]

# Birth dates of the Swedish Tax Agency's published test-number style (19121212-1212 is the
# best known): people born 1900-1915 are past any record system's active population, so a kit
# run against a vendor's staging system cannot collide with a real patient.
_BIRTH_DATES = ("19121212", "19100101", "19111111", "19130313", "19140414", "19150515")


def swedish_test_personal_numbers(start_serial: int = 0) -> Iterator[str]:
    """Yield distinct, Luhn-valid 12-digit personal numbers (``YYYYMMDDNNNC``) from test ranges.

    Each number is checked with ``stdnum.se.personnummer``; the sequence is finite
    (``len(_BIRTH_DATES) * 1000`` numbers) and starts at ``start_serial`` within each date.
    """
    for birth_date in _BIRTH_DATES:
        for offset in range(1000):
            serial = f"{(start_serial + offset) % 1000:03d}"
            body = birth_date[2:] + serial  # the Luhn digit covers YYMMDDNNN
            number = birth_date + serial + luhn.calc_check_digit(body)
            if personnummer.is_valid(number):
                yield number


class SubjectFactory:
    """Make distinct test citizens; call it: ``subject = factory()``. Thread-safe.

    Each factory starts at a random serial so two kit runs against the same staging system
    rarely meet each other's leftovers. ``Subject.ref`` is a fresh pseudonymous id.
    """

    def __init__(self, start_serial: int | None = None) -> None:
        if start_serial is None:
            start_serial = random.SystemRandom().randrange(1000)
        self._numbers = swedish_test_personal_numbers(start_serial)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._run = uuid.uuid4().hex[:8]

    def __call__(self) -> Subject:
        """Return a new citizen with a valid test personal number not handed out before."""
        with self._lock:
            number = next(self._numbers)
            n = next(self._counter)
        return Subject(
            ref=f"kit-{self._run}-{n}",
            personal_number=number,
            given_name="Tolvan",
            family_name="Kitsson",
        )
