"""Resilience layer: circuit breaker, deadlines, read-only retries, health and fan-out."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from clinic_adapters import (
    BookingResult,
    BreakerState,
    CancelResult,
    CircuitOpen,
    ClinicAdapter,
    ClinicRef,
    Health,
    NotAllowed,
    NotFound,
    Refused,
    SlotTaken,
    Subject,
    TooLateToCancel,
    Unavailable,
)
from clinic_adapters.resilience import (
    CallPool,
    ConnectionBusy,
    DeadlineExceeded,
    HealthBoard,
    OutcomeStatus,
    ResilienceConfigError,
    ResiliencePolicy,
    ResilientAdapter,
    fan_out,
    private_pool,
)

CLINIC = ClinicRef("SE2321000016-1hz5")
OTHER = ClinicRef("SE2321000016-2abc")
SUBJECT = Subject(ref="kit-subject", personal_number="191212121212")
# Generous: these tests must not flake on a loaded two-core machine.
MARGIN = 1.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScriptedAdapter(ClinicAdapter):
    """Answers each call with the next scripted outcome (a value, an exception, or a callable)."""

    key = "scripted"

    def __init__(self) -> None:
        self.script: list[object] = []
        self.calls: list[str] = []
        self.release = threading.Event()

    def _next(self, name: str, default: object) -> object:
        self.calls.append(name)
        outcome = self.script.pop(0) if self.script else default
        if callable(outcome) and not isinstance(outcome, type):
            outcome = outcome()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def hang(self) -> str:
        """Scripted outcome: block until the test ends (far beyond any deadline)."""
        self.release.wait(30)
        return "late"

    def list_time_types(self, clinic):
        return self._next("list_time_types", [])

    def list_performers(self, clinic):
        return self._next("list_performers", [])

    def available_slots(self, clinic, time_type_id, start, end, performer_id=None):
        return self._next("available_slots", [])

    def make_booking(self, clinic, slot_id, subject, reason=None):
        return self._next("make_booking", BookingResult.__new__(BookingResult))

    def update_booking(self, clinic, booking_id, new_slot_id, subject):
        return self._next("update_booking", None)

    def cancel_booking(self, clinic, booking_id, subject):
        return self._next("cancel_booking", CancelResult(booking_id))

    def booking_details(self, clinic, booking_id, subject):
        return self._next("booking_details", None)

    def subject_schedule(self, clinic, subject):
        return self._next("subject_schedule", [])

    def health(self):
        return self._next("health", Health(ok=True))


@pytest.fixture
def pool():
    with private_pool(8) as p:
        yield p


@pytest.fixture
def inner():
    adapter = ScriptedAdapter()
    yield adapter
    adapter.release.set()  # let hanging worker threads finish


@pytest.fixture
def clock():
    return FakeClock()


def make(inner, pool, clock, **policy):
    defaults = dict(deadline_seconds=2.0, failure_threshold=3, reset_after_seconds=30.0,
                    read_retries=0, retry_backoff=0.0)
    defaults.update(policy)
    return ResilientAdapter(inner, ResiliencePolicy(**defaults), clock, pool=pool)


def slots(adapter, clinic=CLINIC):
    now = datetime.now(UTC)
    return adapter.available_slots(clinic, "tt", now, now + timedelta(days=1))


# -- circuit breaker ---------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_technical_failures(inner, pool, clock):
    adapter = make(inner, pool, clock)
    inner.script = [Unavailable("down")] * 3
    for _ in range(3):
        with pytest.raises(Unavailable):
            slots(adapter)
    assert adapter.breaker_state(CLINIC) is BreakerState.OPEN


def test_open_breaker_fails_fast_without_calling_the_record_system(inner, pool, clock):
    adapter = make(inner, pool, clock)
    inner.script = [Unavailable("down")] * 3
    for _ in range(3):
        with pytest.raises(Unavailable):
            slots(adapter)
    calls = len(inner.calls)
    started = time.monotonic()
    with pytest.raises(CircuitOpen):
        adapter.make_booking(CLINIC, "slot", SUBJECT)
    assert time.monotonic() - started < MARGIN
    assert len(inner.calls) == calls


def test_breaker_half_opens_after_cool_down_and_a_successful_trial_closes_it(inner, pool, clock):
    adapter = make(inner, pool, clock)
    inner.script = [Unavailable("down")] * 3
    for _ in range(3):
        with pytest.raises(Unavailable):
            slots(adapter)
    clock.advance(29)
    with pytest.raises(CircuitOpen):
        slots(adapter)
    clock.advance(2)
    assert slots(adapter) == []  # the trial call goes through
    assert adapter.breaker_state(CLINIC) is BreakerState.CLOSED
    assert slots(adapter) == []


def test_failed_trial_reopens_the_breaker_for_another_cool_down(inner, pool, clock):
    adapter = make(inner, pool, clock)
    inner.script = [Unavailable("down")] * 4
    for _ in range(3):
        with pytest.raises(Unavailable):
            slots(adapter)
    clock.advance(31)
    with pytest.raises(Unavailable) as trial:
        slots(adapter)
    assert not isinstance(trial.value, CircuitOpen)
    assert adapter.breaker_state(CLINIC) is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        slots(adapter)


def test_half_open_breaker_lets_only_one_trial_through(inner, pool, clock):
    adapter = make(inner, pool, clock, deadline_seconds=10.0)
    inner.script = [Unavailable("down")] * 3
    for _ in range(3):
        with pytest.raises(Unavailable):
            slots(adapter)
    clock.advance(31)
    entered, proceed = threading.Event(), threading.Event()

    def slow_success():
        entered.set()
        proceed.wait(10)
        return []

    inner.script = [slow_success]
    results: list[object] = []
    trial = threading.Thread(target=lambda: results.append(slots(adapter)))
    trial.start()
    assert entered.wait(10)
    assert adapter.breaker_state(CLINIC) is BreakerState.HALF_OPEN
    with pytest.raises(CircuitOpen):
        slots(adapter)
    proceed.set()
    trial.join(10)
    assert results == [[]]
    assert adapter.breaker_state(CLINIC) is BreakerState.CLOSED


@pytest.mark.parametrize("error", [NotFound, SlotTaken, Refused, TooLateToCancel, NotAllowed])
def test_logical_errors_do_not_trip_the_breaker(inner, pool, clock, error):
    adapter = make(inner, pool, clock)
    inner.script = [error("no")] * 10
    for _ in range(10):
        with pytest.raises(error):
            adapter.booking_details(CLINIC, "gone", SUBJECT)
    assert adapter.breaker_state(CLINIC) is BreakerState.CLOSED
    assert adapter.health(CLINIC).ok


def test_a_logical_answer_resets_the_consecutive_failure_count(inner, pool, clock):
    # A RIV-TA "not found" fault for a cancelled booking proves the producer is alive.
    adapter = make(inner, pool, clock)
    inner.script = [Unavailable(), Unavailable(), NotFound(), Unavailable(), Unavailable()]
    for _ in range(5):
        with pytest.raises((Unavailable, NotFound)):
            adapter.booking_details(CLINIC, "b", SUBJECT)
    assert adapter.breaker_state(CLINIC) is BreakerState.CLOSED


def test_unmapped_adapter_exceptions_become_unavailable_and_count(inner, pool, clock):
    adapter = make(inner, pool, clock, failure_threshold=2)
    inner.script = [TypeError("zeep choked"), KeyError("x")]
    for _ in range(2):
        with pytest.raises(Unavailable) as info:
            slots(adapter)
        assert "unmapped" in str(info.value)
    assert adapter.breaker_state(CLINIC) is BreakerState.OPEN


def test_breakers_are_per_clinic_and_hsa_ids_compare_case_insensitively(inner, pool, clock):
    adapter = make(inner, pool, clock)
    inner.script = [Unavailable()] * 3
    for _ in range(3):
        with pytest.raises(Unavailable):
            slots(adapter)
    with pytest.raises(CircuitOpen):
        slots(adapter, ClinicRef(CLINIC.hsa_id.lower()))
    assert slots(adapter, OTHER) == []
    assert adapter.breaker_state(OTHER) is BreakerState.CLOSED


# -- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["available_slots", "booking_details", "subject_schedule",
                                       "list_time_types"])
def test_reads_are_retried_after_a_technical_failure(inner, pool, clock, operation):
    adapter = make(inner, pool, clock, read_retries=2, retry_backoff=0.01)
    inner.script = [Unavailable(), Unavailable(), "answer"]
    now = datetime.now(UTC)
    args = {
        "available_slots": (CLINIC, "tt", now, now + timedelta(days=1)),
        "booking_details": (CLINIC, "b1", SUBJECT),
        "subject_schedule": (CLINIC, SUBJECT),
        "list_time_types": (CLINIC,),
    }[operation]
    assert getattr(adapter, operation)(*args) == "answer"
    assert inner.calls == [operation] * 3
    assert adapter.health(CLINIC).ok


@pytest.mark.parametrize("operation", ["make_booking", "update_booking", "cancel_booking"])
def test_writes_are_never_retried(inner, pool, clock, operation):
    adapter = make(inner, pool, clock, read_retries=3, retry_backoff=0.01)
    inner.script = [Unavailable(), "never reached"]
    args = {
        "make_booking": (CLINIC, "s1", SUBJECT),
        "update_booking": (CLINIC, "b1", "s2", SUBJECT),
        "cancel_booking": (CLINIC, "b1", SUBJECT),
    }[operation]
    with pytest.raises(Unavailable):
        getattr(adapter, operation)(*args)
    assert inner.calls == [operation]


def test_logical_errors_are_not_retried(inner, pool, clock):
    adapter = make(inner, pool, clock, read_retries=3)
    inner.script = [NotFound(), "never reached"]
    with pytest.raises(NotFound):
        adapter.booking_details(CLINIC, "b1", SUBJECT)
    assert inner.calls == ["booking_details"]


def test_retries_give_up_when_a_backoff_would_pass_the_deadline(inner, pool, clock):
    adapter = make(inner, pool, clock, deadline_seconds=0.5, read_retries=5, retry_backoff=2.0)
    inner.script = [Unavailable(), "never reached"]
    started = time.monotonic()
    with pytest.raises(Unavailable):
        slots(adapter)
    assert time.monotonic() - started < 0.5 + MARGIN
    assert inner.calls == ["available_slots"]


# -- deadline ----------------------------------------------------------------------------------


def test_slow_record_system_answers_unavailable_within_the_deadline(inner, pool, clock):
    adapter = make(inner, pool, clock, deadline_seconds=0.3, read_retries=2)
    inner.script = [inner.hang]
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as info:
        slots(adapter)
    elapsed = time.monotonic() - started
    assert isinstance(info.value, Unavailable)
    assert 0.25 <= elapsed < 0.3 + MARGIN
    assert inner.calls == ["available_slots"]  # no retry once the deadline is spent
    assert adapter.health(CLINIC).last_error_text == "DeadlineExceeded"


def test_slow_write_is_abandoned_at_the_deadline(inner, pool, clock):
    adapter = make(inner, pool, clock, deadline_seconds=0.3)
    inner.script = [inner.hang]
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        adapter.make_booking(CLINIC, "s1", SUBJECT)
    assert time.monotonic() - started < 0.3 + MARGIN


def test_hanging_calls_cannot_occupy_more_than_max_in_flight_workers(inner, pool, clock):
    adapter = make(inner, pool, clock, deadline_seconds=0.2, max_in_flight=2, failure_threshold=3)
    inner.script = [inner.hang, inner.hang]
    for _ in range(2):
        with pytest.raises(DeadlineExceeded):
            slots(adapter)
    calls = len(inner.calls)
    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(ConnectionBusy):
            slots(adapter)
    assert time.monotonic() - started < MARGIN
    assert len(inner.calls) == calls
    # Refusing to start a call says nothing about the record system: not a breaker failure.
    assert adapter.breaker_state(CLINIC) is BreakerState.CLOSED
    inner.release.set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the abandoned calls return their workers
        try:
            assert slots(adapter) == []
            break
        except Unavailable:
            time.sleep(0.05)
    else:
        pytest.fail("workers were not returned after the hanging calls ended")


def test_call_queued_behind_a_full_pool_is_not_started_after_its_deadline(inner, clock):
    with private_pool(1) as one_worker:
        adapter = make(inner, one_worker, clock, deadline_seconds=0.2)
        inner.script = [inner.hang, "must not run"]
        with pytest.raises(DeadlineExceeded):
            slots(adapter)
        with pytest.raises(ConnectionBusy):
            adapter.make_booking(CLINIC, "s1", SUBJECT)
        inner.release.set()
    assert inner.calls == ["available_slots"]


# -- health ------------------------------------------------------------------------------------


def test_health_records_last_success_and_last_error_class_without_personal_data(inner, pool, clock):
    times = iter([datetime(2026, 11, 27, 10, tzinfo=UTC), datetime(2026, 11, 27, 11, tzinfo=UTC)])
    adapter = ResilientAdapter(inner, ResiliencePolicy(failure_threshold=5, read_retries=0), clock,
                               wall_clock=lambda: next(times), pool=pool)
    assert adapter.health() == Health(ok=True)
    assert slots(adapter) == []
    inner.script = [Unavailable(f"fault for {SUBJECT.personal_number}")]
    with pytest.raises(Unavailable):
        adapter.subject_schedule(CLINIC, SUBJECT)
    health = adapter.health(CLINIC)
    assert health.last_success == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert health.last_error == datetime(2026, 11, 27, 11, tzinfo=UTC)
    assert health.last_error_text == "Unavailable"
    assert health.breaker is BreakerState.CLOSED
    assert not health.ok  # the latest call failed
    assert adapter.health() == health  # one clinic: the connection is that clinic


def test_a_clinics_typical_read_time_follows_its_successful_reads_only(inner, pool, clock):
    adapter = make(inner, pool, clock, failure_threshold=5)
    assert adapter.typical_read_seconds(CLINIC) is None  # never asked: unknown

    def answer_after(seconds):
        return lambda: (time.sleep(seconds), [])[1]

    inner.script = [answer_after(0.2)]
    slots(adapter)
    first = adapter.typical_read_seconds(CLINIC)
    assert first is not None and 0.2 <= first < 1.0
    inner.script = [answer_after(0.0), Unavailable("down"), answer_after(0.0)]
    slots(adapter)
    with pytest.raises(Unavailable):
        slots(adapter)
    adapter.cancel_booking(CLINIC, "b1", SUBJECT)  # a write: not a read's time
    latest = adapter.typical_read_seconds(CLINIC)
    assert latest is not None and latest < first  # quicker answers pull it down, a little at a time
    assert latest > 0.5 * first
    assert adapter.typical_read_seconds("se2321000016-other") is None  # per clinic


def test_health_board_shows_every_connection_and_clinic(inner, pool, clock):
    board = HealthBoard()
    broken = ScriptedAdapter()
    good = make(inner, pool, clock)
    bad = ResilientAdapter(broken, ResiliencePolicy(failure_threshold=1, read_retries=0), clock,
                           pool=pool, board=board, name="journal-b")
    board.register("journal-a", good)
    assert slots(good, ClinicRef("se2321000016-1hz5")) == []
    broken.script = [Unavailable()]
    with pytest.raises(Unavailable):
        slots(bad, OTHER)
    assert sorted(board) == ["journal-a", "journal-b"]
    connections = board.connections()
    assert connections["journal-a"].ok
    assert connections["journal-b"].breaker is BreakerState.OPEN
    clinics = board.clinics()
    assert clinics["SE2321000016-1HZ5"].ok
    assert not clinics["SE2321000016-2ABC"].ok
    assert board.clinic(OTHER.hsa_id.lower()).breaker is BreakerState.OPEN
    assert board.clinic("SE-never-called") == Health(ok=True)
    board.unregister("journal-b")
    assert list(board) == ["journal-a"]


def test_wrapper_passes_capabilities_and_key_through(inner, pool, clock):
    adapter = make(inner, pool, clock)
    assert adapter.key == "scripted"
    assert adapter.capabilities is inner.capabilities


def test_probe_reports_instead_of_raising(inner, pool, clock):
    adapter = make(inner, pool, clock, deadline_seconds=0.2)
    assert adapter.probe().ok
    inner.script = [inner.hang]
    probe = adapter.probe()
    assert not probe.ok and probe.last_error_text == "DeadlineExceeded"
    assert adapter.breaker_state() is BreakerState.CLOSED


@pytest.mark.parametrize("field, value", [("deadline_seconds", 0), ("failure_threshold", 0),
                                          ("read_retries", -1), ("max_in_flight", 0)])
def test_policy_rejects_out_of_range_values(field, value):
    with pytest.raises(ResilienceConfigError):
        ResiliencePolicy(**{field: value})


# -- fan-out -----------------------------------------------------------------------------------


def test_fan_out_reports_each_key_within_the_deadline(pool):
    release = threading.Event()

    def broken():
        raise Unavailable("down")

    try:
        started = time.monotonic()
        outcomes = fan_out({"fast": lambda: 42, "slow": lambda: release.wait(30), "broken": broken},
                           deadline=0.3, pool=pool)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert 0.25 <= elapsed < 0.3 + MARGIN
    assert outcomes["fast"].ok and outcomes["fast"].value == 42
    assert outcomes["slow"].status is OutcomeStatus.SLOW
    assert outcomes["broken"].status is OutcomeStatus.UNAVAILABLE
    assert isinstance(outcomes["broken"].error, Unavailable)


class SlowToStart(CallPool):
    """A pool that takes a while to start each call, as a busy machine does with a thousand."""

    def submit(self, fn, /, *args, **kwargs):
        time.sleep(0.15)
        return super().submit(fn, *args, **kwargs)


def test_fan_out_counts_its_deadline_from_the_call_not_from_the_last_call_started():
    release = threading.Event()
    pool = SlowToStart(4, "slow-to-start")
    try:
        started = time.monotonic()
        outcomes = fan_out({n: (lambda: release.wait(30)) for n in range(4)}, deadline=0.8, pool=pool)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        pool.shutdown()
    # Starting the four calls took 0.6 s of the 0.8: counted from the last start, it would be 1.4 s.
    assert 0.75 <= elapsed < 1.15, elapsed
    assert all(o.status is OutcomeStatus.SLOW for o in outcomes.values())


def test_fan_out_returns_as_soon_as_every_key_answered(pool):
    started = time.monotonic()
    outcomes = fan_out({n: (lambda n=n: n * 2) for n in range(5)}, deadline=20, pool=pool)
    assert time.monotonic() - started < 20 - MARGIN
    assert {k: o.value for k, o in outcomes.items()} == {n: n * 2 for n in range(5)}


def test_fan_out_over_resilient_adapters_uses_the_shared_pools(inner, clock):
    # No private pools: fan-out tasks and adapter calls must not starve each other.
    adapters = {f"clinic-{n}": ResilientAdapter(ScriptedAdapter(), ResiliencePolicy(deadline_seconds=5),
                                                clock) for n in range(40)}
    outcomes = fan_out({key: (lambda a=a: slots(a)) for key, a in adapters.items()}, deadline=10)
    assert all(o.ok for o in outcomes.values()), outcomes


def test_a_hundred_clinics_are_asked_at_once_not_in_rounds(clock):
    # A region's federated search: every clinic answers in 0.5 s, so all answers are in well
    # before a second round (1 s) would end; the shared call pool must not queue them.
    def answer_slowly():
        time.sleep(0.5)
        return []

    adapters = {}
    for n in range(100):
        inner = ScriptedAdapter()
        inner.script = [answer_slowly]
        adapters[n] = ResilientAdapter(inner, ResiliencePolicy(deadline_seconds=5), clock)
    with private_pool(128, "federated-test") as fan_out_pool:
        started = time.monotonic()
        outcomes = fan_out(
            {n: (lambda a=a: slots(a)) for n, a in adapters.items()}, deadline=5, pool=fan_out_pool
        )
        elapsed = time.monotonic() - started
    assert all(o.ok for o in outcomes.values()), outcomes
    assert elapsed < 0.95, f"{elapsed:.2f} s: the calls waited for free workers"
