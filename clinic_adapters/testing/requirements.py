"""Capability flags that switch conformance checks on and off (SQLAlchemy ``Requirements`` style)."""

from __future__ import annotations

from collections.abc import Iterable

from clinic_adapters.contract import Capabilities

__all__ = ["CAPABILITY_FLAGS", "KIT_FLAGS", "Requirements"]

#: Flags read from the adapter's :class:`~clinic_adapters.contract.Capabilities`.
CAPABILITY_FLAGS = (
    "rebook",
    "cancel",
    "subject_schedule",
    "booking_details",
    "available_dates",
    "series_booking",
)

#: Flags of the kit itself, on unless switched off.
KIT_FLAGS = ("concurrent_booking", "dst")


class Requirements:
    """Which kinds of check apply to an adapter.

    Every capability flag is read from ``adapter.capabilities`` and every kit flag is on, unless
    overridden in one of two ways (a keyword wins over a subclass, a subclass over the adapter)::

        Requirements(adapter.capabilities, dst=False)

        class MyRequirements(Requirements):
            concurrent_booking = False

    Flags:

    ``rebook``, ``cancel``, ``subject_schedule``, ``booking_details``, ``available_dates``,
    ``series_booking``
        the operations of the same name in :class:`~clinic_adapters.contract.Capabilities`.
    ``concurrent_booking``
        run the check that books one time from several threads at once. Switch it off only for
        a test endpoint that cannot take parallel calls; a production timebook must pass it.
    ``dst``
        run the checks on the local days the clocks change.
    """

    rebook: bool
    cancel: bool
    subject_schedule: bool
    booking_details: bool
    available_dates: bool
    series_booking: bool
    concurrent_booking: bool = True
    dst: bool = True

    def __init__(self, capabilities: Capabilities | None = None, **overrides: bool) -> None:
        self.capabilities = capabilities or Capabilities()
        unknown = set(overrides) - set(CAPABILITY_FLAGS) - set(KIT_FLAGS)
        if unknown:
            raise ValueError(f"unknown requirement flags: {', '.join(sorted(unknown))}")
        self._overridden = {flag for flag in (*CAPABILITY_FLAGS, *KIT_FLAGS)
                            if flag in overrides or self._declared_by_subclass(flag)}
        for flag in CAPABILITY_FLAGS:
            if not self._declared_by_subclass(flag):
                setattr(self, flag, bool(getattr(self.capabilities, flag)))
        for flag, value in overrides.items():
            setattr(self, flag, bool(value))

    @classmethod
    def _declared_by_subclass(cls, flag: str) -> bool:
        return any(flag in vars(klass) for klass in cls.__mro__
                   if klass not in (Requirements, object))

    def unmet(self, flags: Iterable[str]) -> str | None:
        """Return why a check needing ``flags`` must be skipped, or ``None`` when it can run."""
        for flag in flags:
            if getattr(self, flag):
                continue
            if flag in self._overridden or flag in KIT_FLAGS:
                return f"requires {flag!r}, switched off in Requirements"
            return f"requires {flag!r}, and the adapter declares Capabilities.{flag}=False"
        return None

    def as_dict(self) -> dict[str, bool]:
        """Return every flag and its value (for the report header)."""
        return {flag: bool(getattr(self, flag)) for flag in (*CAPABILITY_FLAGS, *KIT_FLAGS)}
