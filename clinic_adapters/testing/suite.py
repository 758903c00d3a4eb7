"""The kit as pytest mixins: a vendor's test file is a few stub classes.

Override the fixtures of :class:`KitFixtures` in a ``Test...`` class that inherits
:class:`ConformanceTests` (every group) or only the group mixins you want::

    import pytest
    from clinic_adapters import ClinicRef
    from clinic_adapters.testing.suite import ConformanceTests

    class TestMyTimebook(ConformanceTests):
        @pytest.fixture
        def adapter(self):
            return MyAdapter(endpoint="http://127.0.0.1:8080")

        @pytest.fixture
        def clinic(self):
            return ClinicRef("SE2321000016-1hz5", timezone="Europe/Stockholm")

        @pytest.fixture
        def time_type_id(self):
            return "10"

Required: ``adapter``, ``clinic``, ``time_type_id``. Optional: ``timezone``, ``subject``,
``requirements``, ``kit_window``, ``dst_days``. Each generated test is named after its check
(``test_second_booking_of_a_full_time_is_refused``) and skips with the kit's reason when a
capability is off. Add ``-p clinic_adapters.testing.plugin`` for a kit summary at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import pytest

from clinic_adapters.contract import ClinicAdapter, ClinicRef, Subject
from clinic_adapters.testing.checks import Check, checks_in
from clinic_adapters.testing.context import KitContext
from clinic_adapters.testing.requirements import Requirements
from clinic_adapters.testing.runner import CheckResult, Verdict, run_check
from clinic_adapters.testing.subjects import SubjectFactory
from clinic_adapters.testing.version import KIT_VERSION

__all__ = [
    "AvailabilityTests",
    "BookingTests",
    "CancellationTests",
    "ConformanceTests",
    "DoubleBookingTests",
    "ErrorMappingTests",
    "KitFixtures",
    "RebookingTests",
    "TimeZoneTests",
    "results_key",
]

#: Where each kit result of a session is kept (``config.stash``) for the summary plugin.
results_key = pytest.StashKey[list[CheckResult]]()


class KitFixtures:
    """The fixtures the kit's tests use; override the first three in your test class."""

    @pytest.fixture
    def adapter(self) -> ClinicAdapter:
        """The adapter under test, configured for a *test* endpoint. Override this."""
        pytest.fail("override the `adapter` fixture in your conformance test class", pytrace=False)

    @pytest.fixture
    def clinic(self) -> ClinicRef:
        """The clinic (HSA-id) to test at. Override this."""
        pytest.fail("override the `clinic` fixture in your conformance test class", pytrace=False)

    @pytest.fixture
    def time_type_id(self) -> str:
        """A time type with free times in the kit's window. Override this."""
        pytest.fail("override the `time_type_id` fixture in your conformance test class",
                    pytrace=False)

    @pytest.fixture
    def timezone(self, clinic: ClinicRef) -> str:
        """The clinic's IANA time zone; the clinic's own by default."""
        return clinic.timezone

    @pytest.fixture
    def subject(self) -> Callable[[], Subject]:
        """A factory of distinct test citizens (valid Swedish test personal numbers)."""
        return SubjectFactory()

    @pytest.fixture
    def requirements(self, adapter: ClinicAdapter) -> Requirements:
        """Which checks apply; the adapter's capabilities by default. Override to switch off."""
        return Requirements(adapter.capabilities)

    @pytest.fixture
    def kit_window(self) -> tuple[timedelta, timedelta]:
        """``(lead, horizon)``: free times from now+lead for horizon are used by the checks."""
        return timedelta(hours=48), timedelta(days=28)

    @pytest.fixture
    def dst_days(self) -> Sequence[date] | None:
        """Local days with a clock change to test; ``None`` picks the next ones in the zone."""
        return None

    @pytest.fixture
    def kit_context(self, adapter: ClinicAdapter, clinic: ClinicRef, time_type_id: str,
                    timezone: str, subject: Callable[[], Subject], requirements: Requirements,
                    kit_window: tuple[timedelta, timedelta],
                    dst_days: Sequence[date] | None) -> KitContext:
        """The context every check runs with (built from the fixtures above)."""
        lead, horizon = kit_window
        return KitContext(adapter=adapter, clinic=clinic, time_type_id=time_type_id,
                          subjects=subject, requirements=requirements, timezone=timezone,
                          lead=lead, horizon=horizon, dst=dst_days)


def _as_test(check: Check) -> Callable[..., None]:
    def test(self: Any, kit_context: KitContext, request: pytest.FixtureRequest) -> None:
        result = run_check(check, kit_context)
        request.config.stash.setdefault(results_key, []).append(result)
        if result.verdict is Verdict.SKIP:
            pytest.skip(f"[kit {KIT_VERSION}] {check.id}: {result.reason}")
        if result.verdict is Verdict.FAIL:
            pytest.fail(f"[kit {KIT_VERSION}] {check.id}: {result.reason}", pytrace=False)

    test.__name__ = test.__qualname__ = f"test_{check.name}"
    test.__doc__ = check.doc
    return test


def _mixin(name: str, groups: Sequence[str], doc: str) -> type:
    namespace: dict[str, Any] = {"__doc__": doc, "__module__": __name__}
    for check in checks_in(groups):
        namespace[f"test_{check.name}"] = _as_test(check)
    return type(name, (KitFixtures,), namespace)


AvailabilityTests: type = _mixin(
    "AvailabilityTests", ["availability"],
    "Free times: well-formed aware UTC, sorted, in range, never past, of the clinic and type.")
BookingTests: type = _mixin(
    "BookingTests", ["booking"],
    "Booking: the time leaves the free list and shows in the schedule and details, privately.")
DoubleBookingTests: type = _mixin(
    "DoubleBookingTests", ["double_booking"],
    "Idempotency and double booking: full times refused, repeats book once, races stay in capacity.")
CancellationTests: type = _mixin(
    "CancellationTests", ["cancellation"],
    "Cancellation: the time is free again at once; only the owner can cancel.")
RebookingTests: type = _mixin(
    "RebookingTests", ["rebooking"],
    "Rebooking: moves and frees the old time; a refused rebooking changes nothing.")
ErrorMappingTests: type = _mixin(
    "ErrorMappingTests", ["error_mapping"],
    "Error mapping: unknown ids are logical errors (NotFound), never technical ones.")
TimeZoneTests: type = _mixin(
    "TimeZoneTests", ["timezones"],
    "Time zones: local dates, and the days the clocks change.")


class ConformanceTests(AvailabilityTests, BookingTests, DoubleBookingTests,  # type: ignore[misc,valid-type]
                       CancellationTests, RebookingTests, ErrorMappingTests, TimeZoneTests):
    """Every check of the kit; inherit this in one ``Test...`` class and override the fixtures."""
