"""What a simulated clinic offers: time types, performers, and weekly opening windows.

Everything is plain data (JSON-able through :func:`facility_from_dict`) so tests, the demo and the
conformance kit can describe a few clinics in a few lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

STOCKHOLM = "Europe/Stockholm"


@dataclass(frozen=True)
class TimeTypeSpec:
    """A slot type; ``booking_info`` makes MakeBooking answer INFO with that text for the citizen."""

    id: str
    name: str
    duration_minutes: int = 15
    care_type_id: str | None = None
    booking_info: str | None = None


@dataclass(frozen=True)
class CareTypeSpec:
    id: str
    name: str


@dataclass(frozen=True)
class PerformerSpec:
    id: str
    first_name: str
    last_name: str
    title: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class OpeningWindow:
    """Wall-clock hours on some weekdays (Monday = 0) cut into slots of the time type's length.

    ``dates`` limits the window to those dates (e.g. one day of a clock change); otherwise it
    repeats every week within the simulator's horizon.
    """

    time_type_id: str
    start: time
    end: time
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    performer_id: str | None = None
    resource_id: str | None = None
    resource_name: str | None = None
    capacity: int = 1
    cancel_booking_allowed: bool = True
    rebooking_allowed: bool = True
    message_allowed: bool = False
    dates: tuple[date, ...] = ()


@dataclass(frozen=True)
class FacilitySpec:
    """One clinic (healthcare facility) served by the simulated record system.

    ``cancel_deadline_hours``: cancelling or rebooking closer to the start than this is refused.
    """

    hsa_id: str
    name: str
    time_types: tuple[TimeTypeSpec, ...]
    windows: tuple[OpeningWindow, ...]
    performers: tuple[PerformerSpec, ...] = ()
    care_types: tuple[CareTypeSpec, ...] = ()
    cancel_deadline_hours: float = 0.0
    timezone: str = STOCKHOLM
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def time_type(self, time_type_id: str) -> TimeTypeSpec | None:
        return next((t for t in self.time_types if t.id == time_type_id), None)

    def performer(self, performer_id: str | None) -> PerformerSpec | None:
        return next((p for p in self.performers if p.id == performer_id), None)

    def care_type(self, care_type_id: str | None) -> CareTypeSpec | None:
        return next((c for c in self.care_types if c.id == care_type_id), None)


def _time(value: str | time) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def facility_from_dict(data: dict[str, Any]) -> FacilitySpec:
    """Build a facility from JSON-able data (times as ``"08:00"``, dates as ``"2026-10-25"``)."""
    windows = tuple(
        OpeningWindow(
            **{
                **w,
                "start": _time(w["start"]),
                "end": _time(w["end"]),
                "weekdays": tuple(w.get("weekdays", (0, 1, 2, 3, 4))),
                "dates": tuple(date.fromisoformat(d) for d in w.get("dates", ())),
            }
        )
        for w in data.get("windows", ())
    )
    return FacilitySpec(
        hsa_id=data["hsa_id"],
        name=data["name"],
        time_types=tuple(TimeTypeSpec(**t) for t in data.get("time_types", ())),
        windows=windows,
        performers=tuple(PerformerSpec(**p) for p in data.get("performers", ())),
        care_types=tuple(CareTypeSpec(**c) for c in data.get("care_types", ())),
        cancel_deadline_hours=float(data.get("cancel_deadline_hours", 0.0)),
        timezone=data.get("timezone", STOCKHOLM),
    )
