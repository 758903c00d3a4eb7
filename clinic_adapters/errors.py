"""Typed errors every adapter raises; the hub maps each to one answer for the citizen.

``citizen_message`` carries text the record system meant for the citizen (RIV-TA ``resultText``
of an ERROR or INFO answer). Technical details go in the exception message, which is logged and
therefore must never contain personal identity numbers, names or contact details.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base of every error an adapter raises."""

    def __init__(self, detail: str = "", *, citizen_message: str | None = None) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.citizen_message = citizen_message


class Unavailable(AdapterError):
    """The record system could not be reached or answered nonsense (time-out, refused, fault).

    The hub may fall back to the clinic's standalone calendar.
    """


class CircuitOpen(Unavailable):
    """Calls are not attempted because the clinic's circuit breaker is open."""


class InvalidResponse(Unavailable):
    """The record system answered, but not in the contract's shape."""


class SlotTaken(AdapterError):
    """The slot has no free seat left."""


class TooLateToCancel(AdapterError):
    """The cancellation (or rebooking) deadline of the slot has passed."""


class NotAllowed(AdapterError):
    """The action is not allowed for this slot or booking (past, too soon, flags off, horizon)."""


class NotFound(AdapterError):
    """No such slot or booking for this subject at this clinic."""


class NotSupported(AdapterError):
    """The adapter does not offer this operation (see its ``capabilities``)."""


class Refused(AdapterError):
    """The record system refused the request for a reason of its own (RIV-TA ERROR)."""
