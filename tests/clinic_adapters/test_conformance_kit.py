"""The vendor conformance kit: passes a correct timebook, fails broken ones clearly, both forms."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, time
from pathlib import Path

import kit_memory_timebook as memory
import pytest
from stdnum.se import personnummer

from clinic_adapters import CONTRACT_VERSION, Capabilities, ClinicRef
from clinic_adapters.resilience import ResiliencePolicy, ResilientAdapter
from clinic_adapters.testing import (
    CHECKS,
    KIT_VERSION,
    KitContext,
    Requirements,
    SubjectFactory,
    Verdict,
    dst_days,
    run_kit,
)
from clinic_adapters.testing.cli import main
from clinic_adapters.testing.suite import ConformanceTests

HERE = Path(__file__).parent
CLINIC = ClinicRef("SE2321000016-KIT1")
# A personal number as it could leak into a report: 12 digits starting with a century.
PERSONAL_NUMBER = re.compile(r"\b(?:18|19|20)\d{6}[-+]?\d{4}\b")


def context(adapter, **kwargs) -> KitContext:
    return KitContext(adapter=adapter, clinic=CLINIC, time_type_id="TT1", **kwargs)


def verdicts(report) -> dict[str, tuple[Verdict, str]]:
    return {r.check: (r.verdict, r.reason) for r in report.results}


# -- the mixin form: what a vendor's test file looks like ------------------------------------------


class TestMemoryTimebookConforms(ConformanceTests):
    @pytest.fixture
    def adapter(self):
        return memory.MemoryTimebook()

    @pytest.fixture
    def clinic(self):
        return ClinicRef("se2321000016-kit1")  # HSA-ids compare case-insensitively

    @pytest.fixture
    def time_type_id(self):
        return "TT1"


class TestResilientWrapperConforms(ConformanceTests):
    """The resilience layer is transparent: the wrapped timebook keeps the contract."""

    @pytest.fixture
    def adapter(self):
        return ResilientAdapter(memory.MemoryTimebook(), ResiliencePolicy(deadline_seconds=10))

    @pytest.fixture
    def clinic(self):
        return CLINIC

    @pytest.fixture
    def time_type_id(self):
        return "TT1"


# -- the plain form against broken timebooks -------------------------------------------------------


@pytest.mark.parametrize("broken, check, message", [
    (memory.PastTimesTimebook, "availability.free_times_are_never_in_the_past", "in the past"),
    (memory.DoubleBookingTimebook, "double_booking.second_booking_of_a_full_time_is_refused",
     "double booking; expected SlotTaken"),
    (memory.DoubleBookingTimebook, "double_booking.concurrent_bookings_never_exceed_capacity",
     "double booking under concurrency"),
    (memory.CancelKeepsSeatTimebook, "cancellation.cancelled_time_is_free_again_at_once",
     "must be bookable again at once"),
    (memory.NaiveTimesTimebook, "availability.free_times_are_well_formed", "naive datetime"),
    (memory.LocalOffsetTimebook, "availability.free_times_are_well_formed", "is not in UTC"),
    (memory.NotFoundAsOutageTimebook, "error_mapping.details_of_an_unknown_booking_are_not_found",
     "circuit breaker"),
    (memory.RebookNotAtomicTimebook, "rebooking.rebooking_to_a_taken_time_keeps_the_old_booking",
     "must be atomic"),
    (memory.NosyTimebook, "booking.another_citizen_cannot_see_the_booking", "expected NotFound"),
    (memory.LeakyErrorsTimebook, "error_mapping.cancelling_an_unknown_booking_is_not_found",
     "raised KeyError"),
    (memory.WallClockEndTimebook, "timezones.fall_back_day_free_times", "the day the clocks change"),
    (memory.FoldBlindTimebook, "timezones.fall_back_day_free_times", "same instant"),
    (memory.UnsortedEarliestTimebook, "availability.earliest_times_are_the_first_free_times",
     "same times, seats and order expected"),
])
def test_kit_fails_a_broken_timebook_with_a_clear_message(broken, check, message):
    report = run_kit(context(broken()))
    verdict, reason = verdicts(report)[check]
    assert verdict is Verdict.FAIL
    assert message in reason
    assert not report.ok
    assert "FAILED" in report.summary()
    assert not PERSONAL_NUMBER.search(report.render())


def test_kit_fails_available_dates_taken_from_utc_instead_of_local_days():
    # Only a 00:30 time on Mondays: in UTC it is still Sunday.
    sparse = {"wall_times": ((time(0, 30), 1),), "weekdays": frozenset({0})}
    broken = memory.UtcDatesTimebook(**sparse)
    report = run_kit(context(broken), groups=["timezones"])
    verdict, reason = verdicts(report)["timezones.available_dates_are_the_clinics_local_days"]
    assert verdict is Verdict.FAIL and "local dates" in reason
    correct = run_kit(context(memory.MemoryTimebook(**sparse)), groups=["timezones"])
    assert correct.ok


def test_kit_runs_on_given_dst_days_of_2026():
    # A timebook whose "now" is early 2026 has free times on both 2026 change days.
    now = datetime(2026, 1, 10, 9, tzinfo=UTC)
    days = [date(2026, 3, 29), date(2026, 10, 25)]
    report = run_kit(context(memory.MemoryTimebook(clock=lambda: now), clock=lambda: now, dst=days),
                     groups=["timezones"])
    assert report.ok, report.render()
    assert report.count(Verdict.PASS) == 5


def test_dst_checks_skip_when_the_timebook_has_no_free_times_on_those_days():
    report = run_kit(context(memory.MemoryTimebook(), dst=[date(2025, 3, 30), date(2025, 10, 26)]),
                     groups=["timezones"])
    results = verdicts(report)
    verdict, reason = results["timezones.spring_forward_day_free_times"]
    assert verdict is Verdict.SKIP and "no free times on 2025-03-30" in reason
    assert report.ok  # a skip is not a failure, but the report says what was not proven
    assert {r.check for r in report.skipped} >= {"timezones.fall_back_day_booking_round_trip"}


def test_next_dst_days_are_found_per_zone():
    assert dst_days("Europe/Stockholm", date(2026, 11, 27)) == [date(2027, 3, 28), date(2027, 10, 31)]
    assert dst_days("Europe/Stockholm", date(2026, 1, 1)) == [date(2026, 3, 29), date(2026, 10, 25)]
    assert dst_days("UTC", date(2026, 1, 1)) == []


# -- capability flags and the skip report -----------------------------------------------------------


def test_checks_an_adapter_declares_unsupported_are_skipped_with_the_reason():
    report = run_kit(context(memory.NoRebookTimebook()))
    assert report.ok
    skipped = {r.check: r.reason for r in report.skipped}
    assert set(skipped) == {
        "booking.series_booking_is_all_or_nothing",
        "rebooking.rebooking_moves_the_booking_and_frees_the_old_time",
        "rebooking.rebooking_to_a_taken_time_keeps_the_old_booking",
        "error_mapping.rebooking_an_unknown_booking_is_a_logical_error",
    }
    assert "Capabilities.rebook=False" in skipped["rebooking.rebooking_to_a_taken_time_keeps_the_old_booking"]
    assert "4 skipped" in report.summary()


def test_requirements_switch_checks_off_by_keyword_or_subclass():
    class NoRaces(Requirements):
        concurrent_booking = False
        cancel = False

    by_keyword = Requirements(Capabilities(), dst=False)
    assert by_keyword.unmet(["dst"]) == "requires 'dst', switched off in Requirements"
    assert by_keyword.unmet(["rebook", "cancel"]) is None
    by_subclass = NoRaces(Capabilities(cancel=True))
    assert by_subclass.cancel is False
    assert "switched off" in by_subclass.unmet(["cancel"])
    assert by_subclass.as_dict()["concurrent_booking"] is False
    with pytest.raises(ValueError, match="unknown requirement"):
        Requirements(Capabilities(), teleport=False)


def test_kit_reports_no_free_times_as_a_failure_and_skips_what_needs_them():
    report = run_kit(KitContext(adapter=memory.MemoryTimebook(), clinic=CLINIC, time_type_id="nope"))
    results = verdicts(report)
    assert results["availability.free_times_exist"][0] is Verdict.FAIL
    assert results["booking.booked_time_leaves_the_free_times"][0] is Verdict.SKIP
    assert "needs 1 free time" in results["booking.booked_time_leaves_the_free_times"][1]


# -- versions and test citizens --------------------------------------------------------------------


def test_kit_version_moves_with_the_contract_version():
    assert KIT_VERSION.startswith(CONTRACT_VERSION + ".")


def test_every_check_has_a_unique_name_and_a_description():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    assert all(c.doc for c in CHECKS)


def test_subject_factory_makes_distinct_valid_swedish_test_numbers():
    factory = SubjectFactory()
    subjects = [factory() for _ in range(300)]
    numbers = [s.personal_number for s in subjects]
    assert len(set(numbers)) == 300 and len({s.ref for s in subjects}) == 300
    for number in numbers:
        assert re.fullmatch(r"[0-9]{8}[0-9pPtTfF][0-9]{3}", number)  # the RIV-TA pattern
        assert personnummer.is_valid(number)
        assert number[:4] in {"1910", "1911", "1912", "1913", "1914", "1915"}
    assert numbers[0] not in repr(subjects[0])


# -- the command line ------------------------------------------------------------------------------


def run_cli(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    paths = [str(HERE)] + ([str(extra_path)] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run([sys.executable, "-m", "clinic_adapters.testing", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_cli_passes_a_correct_timebook_registered_through_an_entry_point(tmp_path):
    # A vendor package registers its adapter in the hub.clinic_adapters entry-point group.
    dist = tmp_path / "kit_vendor-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kit-vendor\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[hub.clinic_adapters]\nkit-memory = kit_memory_timebook:MemoryTimebook\n")
    result = run_cli("--adapter", "kit-memory", "--config", '{"time_type_id": "T9"}',
                     "--clinic", "SE2321000016-KIT1", "--time-type", "T9", extra_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "PASS double_booking.second_booking_of_a_full_time_is_refused" in lines
    assert lines[-1].startswith(f"PASSED: {len(CHECKS)} passed, 0 failed, 0 skipped")
    assert not PERSONAL_NUMBER.search(result.stdout)


def test_cli_fails_a_double_booking_timebook_with_exit_code_1():
    result = run_cli("--adapter-class", "kit_memory_timebook:DoubleBookingTimebook",
                     "--clinic", "SE2321000016-KIT1", "--time-type", "TT1",
                     "--timezone", "Europe/Stockholm", "--off", "dst")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAIL ")]
    assert any(line.startswith("FAIL double_booking.second_booking_of_a_full_time_is_refused — ")
               and "double booking" in line for line in failed)
    assert "SKIP timezones.fall_back_day_free_times — requires 'dst', switched off in Requirements" in lines
    assert lines[-1].startswith("FAILED: ")
    assert not PERSONAL_NUMBER.search(result.stdout)


def test_cli_reports_an_adapter_it_cannot_build_and_exits_1():
    out = io.StringIO()
    code = main(["--adapter", "no-such-adapter", "--clinic", "SE1", "--time-type", "X"], out=out)
    assert code == 1
    assert "FAIL setup — cannot build adapter 'no-such-adapter': NotSupported" in out.getvalue()


def test_cli_lists_checks_and_rejects_incomplete_arguments(capsys):
    out = io.StringIO()
    assert main(["--list", "--group", "rebooking"], out=out) == 0
    assert out.getvalue().splitlines()[0].startswith("rebooking.rebooking_moves_the_booking")
    with pytest.raises(SystemExit) as info:
        main(["--adapter", "kit-memory"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["--adapter-class", "x:Y", "--clinic", "SE1", "--time-type", "X", "--timezone", "Mars/Base"])
    capsys.readouterr()


def test_vendor_stub_file_runs_under_pytest_with_the_summary_plugin(tmp_path):
    (tmp_path / "test_vendor.py").write_text(textwrap.dedent('''
        import pytest
        from clinic_adapters import Capabilities, ClinicRef
        from clinic_adapters.testing.suite import ConformanceTests
        from kit_memory_timebook import CancelKeepsSeatTimebook

        class VendorTimebook(CancelKeepsSeatTimebook):
            capabilities = Capabilities()  # no series booking

        class TestVendorTimebook(ConformanceTests):
            @pytest.fixture
            def adapter(self):
                return VendorTimebook(clinic_hsa_id="SE999")

            @pytest.fixture
            def clinic(self):
                return ClinicRef("SE999")

            @pytest.fixture
            def time_type_id(self):
                return "TT1"
    '''))
    env = dict(os.environ, PYTHONPATH=str(HERE))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "clinic_adapters.testing.plugin", "-k", "cancel or series", "test_vendor.py"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "test_cancelled_time_is_free_again_at_once FAILED" in out or "FAILED test_vendor.py" in out
    assert "must be bookable again at once" in out
    assert "clinic adapter conformance kit" in out
    assert "SKIP booking.series_booking_is_all_or_nothing — requires 'series_booking'" in out
    assert re.search(r"FAILED: \d+ passed, 1 failed, 1 skipped \(conformance kit", out)


# -- the reference simulators -------------------------------------------------------------------------

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


@pytest.fixture(scope="module")
def riv_simulator():
    riv = pytest.importorskip("clinic_adapters.simulators.riv_soap")
    from clinic_adapters.timezones import utc_now

    change_days = tuple(dst_days("Europe/Stockholm", utc_now().date()))
    doctor = "SE2321000016-P001"
    facility = riv.FacilitySpec(
        hsa_id="SE2321000016-SKIT", name="Konformitetsmottagningen",
        time_types=(riv.TimeTypeSpec("V30", "Besök", 30),),
        performers=(riv.PerformerSpec(doctor, "Karin", "Kit", "Läkare"),),
        windows=(
            riv.OpeningWindow("V30", time(8), time(10), EVERY_DAY, performer_id=doctor),
            riv.OpeningWindow("V30", time(13), time(14), EVERY_DAY, resource_id="CHAIR",
                              resource_name="Stol", capacity=2),
            # Night hours only on the days the clocks change: the skipped and repeated hours.
            riv.OpeningWindow("V30", time(1), time(4), EVERY_DAY, performer_id=doctor,
                              dates=change_days),
        ),
    )
    with riv.RivSoapSimulator([facility], weeks=53) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def fhir_simulator():
    fhir = pytest.importorskip("clinic_adapters.simulators.fhir")
    from clinic_adapters.timezones import utc_now

    clinic = fhir.SimClinic(
        hsa_id="SE2321000016-FKIT", name="Konformitetsmottagningen",
        slot_types=(fhir.SimSlotType("visit", "Besök", 30),),
        practitioners=(fhir.SimPractitioner("prac-kit", "Karin", "Kit"),),
        windows=(fhir.SimWindow("visit", time(1), time(4), weekdays=EVERY_DAY, practitioner_id="prac-kit"),
                 fhir.SimWindow("visit", time(13), time(14), weekdays=EVERY_DAY, capacity=2)),
    )
    config = fhir.SimConfig(clinics=(clinic,), start_date=utc_now().date(), weeks=53, max_page_size=50)
    with fhir.FhirSimulator(config) as simulator:
        yield simulator


def assert_cli_passed(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("FAIL")]
    assert lines[-1].startswith("PASSED: ")
    assert not PERSONAL_NUMBER.search(result.stdout)
    return lines


def test_cli_passes_the_riv_soap_reference_simulator(riv_simulator):
    lines = assert_cli_passed(run_cli(
        "--adapter", "riv-crm-scheduling", "--config", json.dumps({"endpoint": riv_simulator.url}),
        "--clinic", "se2321000016-skit", "--time-type", "V30", "--timezone", "Europe/Stockholm"))
    # The days the clocks change really were tested, not skipped.
    assert "PASS timezones.fall_back_day_booking_round_trip" in lines
    assert "PASS timezones.spring_forward_day_booking_round_trip" in lines


def test_cli_passes_the_fhir_reference_simulator(fhir_simulator):
    lines = assert_cli_passed(run_cli(
        "--adapter", "fhir-r4", "--config", json.dumps(fhir_simulator.adapter_config()),
        "--clinic", "SE2321000016-FKIT", "--time-type", "visit"))
    assert "PASS timezones.fall_back_day_booking_round_trip" in lines
    assert "PASS double_booking.concurrent_bookings_never_exceed_capacity" in lines


def test_riv_logical_faults_in_a_kit_run_never_trip_the_circuit_breaker(riv_simulator):
    # Every "not found" fault the kit provokes must stay a logical answer: with a threshold of
    # one, a single one counted as technical would open the breaker and fail the next checks.
    from clinic_adapters import BreakerState, get_adapter

    wrapped = ResilientAdapter(get_adapter("riv-crm-scheduling", {"endpoint": riv_simulator.url}),
                               ResiliencePolicy(deadline_seconds=10, failure_threshold=1))
    report = run_kit(KitContext(adapter=wrapped, clinic=ClinicRef("SE2321000016-SKIT"),
                                time_type_id="V30"),
                     groups=["booking", "cancellation", "error_mapping"])
    assert report.ok, report.render()
    assert wrapped.breaker_state(ClinicRef("SE2321000016-SKIT")) is BreakerState.CLOSED
    assert wrapped.health().ok
