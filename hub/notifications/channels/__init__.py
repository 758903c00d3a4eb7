"""Channels that deliver a message: e-mail over SMTP and SMS through a provider.

Every channel gets the same stable ``message_id`` on every attempt of a message. A channel raises
``TemporaryFailure`` (try again later), ``PermanentFailure`` (never try again) or, when it cannot
tell whether the message went out, ``OutcomeUnknown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as a channel sends it; ``repr`` never shows the address or the text."""

    message_id: str
    to: str = field(repr=False)
    subject: str = field(repr=False)
    text: str = field(repr=False)
    language: str = "sv"
    attachments: tuple[Attachment, ...] = ()


class DeliveryError(Exception):
    """A message could not be handed over; the message of the error holds no personal data."""


class TemporaryFailure(DeliveryError):
    """The provider may accept the message later."""


class PermanentFailure(DeliveryError):
    """The provider will never accept this message (e.g. the address is refused)."""


class OutcomeUnknown(DeliveryError):
    """The message may or may not have gone out (e.g. the connection broke after the data)."""


class Sender(Protocol):
    """A channel's transport."""

    #: whether repeating a send with the same ``message_id`` delivers at most once
    idempotent: bool

    def send(self, message: Outgoing) -> str:
        """Hand the message over and return the provider's reference for it."""
        ...
