"""The built-in calendar passes the same vendor conformance kit as every record system.

The kit calls from several threads at once, so each call runs in a transaction of its own, as
the hub's requests do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from clinic_adapters import (
    Booking,
    BookingResult,
    CancelResult,
    ClinicAdapter,
    ClinicRef,
    Health,
    Performer,
    SeriesRequest,
    Slot,
    Subject,
    TimeType,
)
from clinic_adapters.testing.suite import ConformanceTests
from hub.db import database
from standalone_calendar import StandaloneCalendarAdapter
from standalone_calendar.models import Calendar, OpeningRule, Practitioner, SlotType

HSA = "SE2321000016-SKIT"


class TransactionPerCall(ClinicAdapter):
    """The standalone calendar with each call committed, like one hub request."""

    key = StandaloneCalendarAdapter.key
    capabilities = StandaloneCalendarAdapter.capabilities

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def _run(self, operation: str, *args: Any) -> Any:
        with self._sessions() as session, session.begin():
            return getattr(StandaloneCalendarAdapter(session=lambda: session), operation)(*args)

    def list_time_types(self, clinic: ClinicRef) -> list[TimeType]:
        return self._run("list_time_types", clinic)

    def list_performers(self, clinic: ClinicRef) -> list[Performer]:
        return self._run("list_performers", clinic)

    def available_slots(
        self,
        clinic: ClinicRef,
        time_type_id: str,
        start: datetime,
        end: datetime,
        performer_id: str | None = None,
    ) -> list[Slot]:
        return self._run("available_slots", clinic, time_type_id, start, end, performer_id)

    def available_dates(self, clinic: ClinicRef, time_type_id: str, start: date, end: date) -> list[date]:
        return self._run("available_dates", clinic, time_type_id, start, end)

    def make_booking(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, reason: str | None = None
    ) -> BookingResult:
        return self._run("make_booking", clinic, slot_id, subject, reason)

    def book_series(self, clinic: ClinicRef, series: SeriesRequest, subject: Subject) -> list[BookingResult]:
        return self._run("book_series", clinic, series, subject)

    def update_booking(
        self, clinic: ClinicRef, booking_id: str, new_slot_id: str, subject: Subject
    ) -> BookingResult:
        return self._run("update_booking", clinic, booking_id, new_slot_id, subject)

    def cancel_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CancelResult:
        return self._run("cancel_booking", clinic, booking_id, subject)

    def booking_details(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> Booking:
        return self._run("booking_details", clinic, booking_id, subject)

    def subject_schedule(self, clinic: ClinicRef, subject: Subject) -> list[Booking]:
        return self._run("subject_schedule", clinic, subject)

    def health(self) -> Health:
        return self._run("health")


@pytest.fixture
def kit_calendar(db: Session) -> None:
    # The kit books on the real clock up to the next two clock changes, so the horizon spans a year.
    calendar = Calendar(clinic_hsa_id=HSA, horizon_days=400, min_notice_minutes=60)
    db.add(calendar)
    db.flush()
    karin = Practitioner(calendar_id=calendar.id, code="prac-kit", given_name="Karin", family_name="Kit")
    visit = SlotType(
        calendar_id=calendar.id,
        code="visit",
        name="Besök",
        duration_minutes=30,
        capacity=1,
        cancel_deadline_minutes=0,
        series_min_days=0,
        series_max_days=400,
    )
    db.add_all([karin, visit])
    db.flush()
    for weekday in range(7):
        db.add(
            OpeningRule(
                calendar_id=calendar.id,
                slot_type_id=visit.id,
                weekday=weekday,
                start_time=time(8),
                end_time=time(10),
                practitioner_id=karin.id,
            )
        )
        db.add(
            OpeningRule(
                calendar_id=calendar.id,
                slot_type_id=visit.id,
                weekday=weekday,
                start_time=time(13),
                end_time=time(14),
                capacity=2,
            )
        )
    db.commit()


class TestStandaloneCalendarConforms(ConformanceTests):
    @pytest.fixture
    def adapter(self, app: Flask, kit_calendar: None) -> TransactionPerCall:
        return TransactionPerCall(database(app).sessions)

    @pytest.fixture
    def clinic(self) -> ClinicRef:
        return ClinicRef(HSA.lower())

    @pytest.fixture
    def time_type_id(self) -> str:
        return "visit"
