"""Resilience around a clinic adapter: deadlines, retries, a circuit breaker and health tracking.

The hub never calls a record system directly; it calls a :class:`ResilientAdapter` wrapped
around the clinic's adapter::

    adapter = ResilientAdapter(get_adapter("riv-crm-scheduling", config), ResiliencePolicy(),
                               board=health_board, name="region-journal-1")

What the wrapper adds, and why:

* **A hard deadline per call.** The inner call runs in a worker thread from a shared, bounded
  pool; when ``deadline_seconds`` pass the caller gets :class:`DeadlineExceeded` (an
  :class:`~clinic_adapters.errors.Unavailable`) even if the record system is still busy, so one
  slow clinic never holds a citizen's request. Socket timeouts stay the inner adapter's job.
* **A circuit breaker per clinic** (HSA-id; calls without a clinic use the connection's own
  breaker). After ``failure_threshold`` consecutive *technical* failures (``Unavailable`` and
  anything the inner adapter failed to map) it opens and calls fail at once with
  :class:`~clinic_adapters.errors.CircuitOpen`; after ``reset_after_seconds`` one trial call is let
  through (half-open) and its outcome closes or re-opens the breaker. Logical answers
  (``SlotTaken``, ``NotFound``, ``Refused``, ``TooLateToCancel``, ``NotAllowed``, ...) prove the
  record system is alive and count as successes: a RIV-TA "not found" fault for a cancelled
  booking must not take a clinic offline.
* **Retries for reads only.** Catalogue, availability, booking details and schedule calls are
  retried on technical failures with a small exponential backoff, within the same deadline.
  Writes (make, update, cancel, series) are never retried: RIV-TA MakeBooking has no idempotency
  key, so a blind retry can double-book or be refused; the hub reconciles instead.
* **Health** per clinic and per connection (last success, last error time and error *class*,
  breaker state), as the contract's :class:`~clinic_adapters.contract.Health`, and a
  :class:`HealthBoard` the hub reads for all clinics.

:func:`fan_out` runs independent per-clinic calls in parallel and reports, per key, whether each
answered, failed or was too slow, within one deadline: the federated search shows a status per
clinic instead of silently showing fewer.

Nothing here logs personal data: only operation names, HSA-ids and exception class names.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from clinic_adapters.contract import (
    Booking,
    BookingResult,
    BreakerState,
    CancelResult,
    Capabilities,
    CareType,
    ClinicAdapter,
    ClinicRef,
    Facility,
    Health,
    Performer,
    SeriesRequest,
    Slot,
    Subject,
    TimeType,
    normalize_hsa_id,
)
from clinic_adapters.errors import AdapterError, CircuitOpen, Unavailable
from clinic_adapters.timezones import utc_now

__all__ = [
    "CONNECTION",
    "CallPool",
    "ConnectionBusy",
    "DeadlineExceeded",
    "HealthBoard",
    "Outcome",
    "OutcomeStatus",
    "ResilienceConfigError",
    "ResiliencePolicy",
    "ResilientAdapter",
    "fan_out",
    "private_pool",
    "shared_call_pool",
    "shared_fan_out_pool",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

#: Breaker key for calls that name no clinic (``list_facilities``).
CONNECTION = "*"


class ConnectionBusy(Unavailable):
    """The call was not started: too many calls of this connection are running, or no worker
    was free before the deadline. Nothing reached the record system, so the breaker does not
    count it (a busy hub is not a broken record system)."""


class ResilienceConfigError(ValueError):
    """A :class:`ResiliencePolicy` value is out of range."""


class DeadlineExceeded(Unavailable):
    """The call did not finish within the policy's deadline.

    For a write this means *outcome unknown*: the record system may still complete it. The hub
    keeps its pending booking and reconciles (e.g. through ``subject_schedule``) before retrying.
    """


@dataclass(frozen=True, slots=True)
class ResiliencePolicy:
    """How hard the hub tries one clinic connection.

    Connect and read timeouts belong to the inner adapter's configuration; these values bound
    what a caller experiences.

    :param deadline_seconds: hard upper bound for one call as seen by the caller, retries and
        backoff included. Keep it at or above the inner adapter's read timeout, so a write
        usually ends with the record system's own answer rather than "outcome unknown".
    :param failure_threshold: consecutive technical failures that open the breaker.
    :param reset_after_seconds: cool-down before an open breaker lets one trial call through.
    :param read_retries: extra attempts for read operations after a technical failure
        (0 disables retries). Writes are never retried.
    :param retry_backoff: seconds before the first retry; doubled for each further retry.
    :param max_in_flight: calls of this connection that may occupy pool threads at once,
        counting calls abandoned at their deadline that are still running; beyond it calls fail
        at once with :class:`ConnectionBusy`, so one hanging record system cannot exhaust the
        shared pool (``SHARED_CALL_WORKERS``) that every clinic uses.
    """

    deadline_seconds: float = 5.0
    failure_threshold: int = 5
    reset_after_seconds: float = 30.0
    read_retries: int = 1
    retry_backoff: float = 0.1
    max_in_flight: int = 16

    def __post_init__(self) -> None:
        if not self.deadline_seconds > 0:
            raise ResilienceConfigError("deadline_seconds must be positive")
        if self.failure_threshold < 1:
            raise ResilienceConfigError("failure_threshold must be at least 1")
        if self.reset_after_seconds < 0:
            raise ResilienceConfigError("reset_after_seconds must not be negative")
        if self.read_retries < 0:
            raise ResilienceConfigError("read_retries must not be negative")
        if self.retry_backoff < 0:
            raise ResilienceConfigError("retry_backoff must not be negative")
        if self.max_in_flight < 1:
            raise ResilienceConfigError("max_in_flight must be at least 1")


# -- worker pools ------------------------------------------------------------------------------


class CallPool:
    """A bounded pool of worker threads shared by many adapters.

    A thin wrapper over :class:`~concurrent.futures.ThreadPoolExecutor` so the pool size is
    explicit and tests can use a private pool.
    """

    def __init__(self, max_workers: int = 32, name: str = "clinic-call") -> None:
        self.max_workers = max_workers
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` on a worker thread."""
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = False) -> None:
        """Stop accepting work; queued work that has not started is dropped."""
        self._executor.shutdown(wait=wait, cancel_futures=True)


#: Workers of the process-wide call pool. A federated search asks every clinic of a region at
#: once (about 100); fewer workers would make the last clinics wait for the first to finish, a
#: second round trip on top of the slowest clinic. Threads start only when calls need them.
SHARED_CALL_WORKERS = 256

_pools_lock = threading.Lock()
_shared_pools: dict[str, CallPool] = {}


def _shared(name: str, size: int) -> CallPool:
    with _pools_lock:
        pool = _shared_pools.get(name)
        if pool is None:
            pool = _shared_pools[name] = CallPool(size, name)
        return pool


def shared_call_pool() -> CallPool:
    """Return the process-wide pool that runs inner adapter calls (created on first use)."""
    return _shared("clinic-call", SHARED_CALL_WORKERS)


def shared_fan_out_pool() -> CallPool:
    """Return the process-wide pool for :func:`fan_out` tasks.

    Separate from the call pool on purpose: a fan-out task usually calls a
    :class:`ResilientAdapter`, which waits for a call-pool worker; sharing one pool could fill it
    with waiting fan-out tasks and starve the calls they wait for.
    """
    return _shared("clinic-fan-out", 32)


# -- circuit breaker ---------------------------------------------------------------------------


class _Breaker:
    """State of one breaker; every access happens under the owning adapter's lock."""

    __slots__ = (
        "failures",
        "last_error",
        "last_error_class",
        "last_success",
        "opened_at",
        "read_seconds",
        "state",
        "trial_in_flight",
    )

    def __init__(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.trial_in_flight = False
        self.last_success: datetime | None = None
        self.last_error: datetime | None = None
        self.last_error_class: str | None = None
        self.read_seconds: float | None = None  # a moving average of successful reads

    def health(self) -> Health:
        failing = self.last_error is not None and (
            self.last_success is None or self.last_error >= self.last_success
        )
        return Health(
            ok=self.state is BreakerState.CLOSED and not failing,
            last_success=self.last_success,
            last_error=self.last_error,
            last_error_text=self.last_error_class,
            breaker=self.state,
        )


_READ = True
_WRITE = False
#: The weight of the latest read in a clinic's typical read time: a few reads follow a change.
READ_SECONDS_WEIGHT = 0.3


class ResilientAdapter(ClinicAdapter):
    """A :class:`ClinicAdapter` that delegates to ``inner`` with deadline, retries and breaker.

    Thread-safe: one instance serves all requests for its connection.

    :param inner: the adapter that talks to the record system.
    :param policy: deadline, breaker and retry settings.
    :param clock: monotonic seconds used for the breaker's cool-down (injectable for tests).
        The per-call deadline always uses the real monotonic clock.
    :param wall_clock: aware UTC ``datetime`` for health timestamps.
    :param pool: where inner calls run; the process-wide :func:`shared_call_pool` by default.
    :param board: a :class:`HealthBoard` to register with under ``name``.
    :param name: connection name shown on the health board; the inner adapter's ``key`` and
        object id by default.
    """

    def __init__(
        self,
        inner: ClinicAdapter,
        policy: ResiliencePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        wall_clock: Callable[[], datetime] = utc_now,
        pool: CallPool | None = None,
        board: HealthBoard | None = None,
        name: str | None = None,
    ) -> None:
        self.inner = inner
        self.policy = policy or ResiliencePolicy()
        self.key = inner.key
        self.name = name or f"{inner.key or type(inner).__name__}@{id(inner):x}"
        self._clock = clock
        self._wall_clock = wall_clock
        self._pool = pool
        self._lock = threading.Lock()
        self._breakers: dict[str, _Breaker] = {}
        self._in_flight = 0
        if board is not None:
            board.register(self.name, self)

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """The inner adapter's capabilities, unchanged."""
        return self.inner.capabilities

    # -- health --------------------------------------------------------------------------------

    def health(self, clinic: ClinicRef | str | None = None) -> Health:
        """Return tracked health without calling the record system.

        With a clinic: that clinic's breaker. Without: the connection as a whole (``ok`` only
        when no breaker is open or failing; the most severe breaker state; the latest success
        and the latest error with its class). ``last_error_text`` holds an exception class name,
        never a message, so it cannot carry personal data.
        """
        with self._lock:
            if clinic is not None:
                breaker = self._breakers.get(self._key_of(clinic))
                return breaker.health() if breaker else Health(ok=True)
            healths = [b.health() for b in self._breakers.values()]
        return _combine(healths)

    def clinic_health(self) -> dict[str, Health]:
        """Return the health of every clinic (normalised HSA-id) this wrapper has called."""
        with self._lock:
            return {key: b.health() for key, b in self._breakers.items() if key != CONNECTION}

    def typical_read_seconds(self, clinic: ClinicRef | str) -> float | None:
        """How long the clinic's successful reads took lately (a moving average); None before one.

        A fan-out asks the slowest first: their answers bound it, and the others fit in meanwhile.
        """
        with self._lock:
            breaker = self._breakers.get(self._key_of(clinic))
            return breaker.read_seconds if breaker else None

    def breaker_state(self, clinic: ClinicRef | str | None = None) -> BreakerState:
        """Return the breaker state of a clinic (or of the connection-level breaker)."""
        with self._lock:
            breaker = self._breakers.get(self._key_of(clinic) if clinic is not None else CONNECTION)
            return breaker.state if breaker else BreakerState.CLOSED

    def probe(self) -> Health:
        """Call the inner adapter's ``health()`` under the deadline (for a "test connection").

        Does not touch the breakers: a probe says whether the system answers now, and an
        administrator pressing the button repeatedly should not open or close a circuit.
        """
        try:
            return self._run_with_deadline(
                self.inner.health, (), {}, time.monotonic() + self.policy.deadline_seconds
            )
        except Exception as exc:  # a probe reports; it never raises
            return Health(ok=False, last_error=self._wall_clock(), last_error_text=type(exc).__name__)

    # -- delegated operations ------------------------------------------------------------------

    def list_time_types(self, clinic: ClinicRef) -> list[TimeType]:
        """Delegate GetAllTimeTypes (read: retried)."""
        return self._call("list_time_types", clinic, _READ, clinic)

    def list_care_types(self, clinic: ClinicRef) -> list[CareType]:
        """Delegate GetAllCareTypes (read: retried)."""
        return self._call("list_care_types", clinic, _READ, clinic)

    def list_performers(self, clinic: ClinicRef) -> list[Performer]:
        """Delegate GetAllPerformers (read: retried)."""
        return self._call("list_performers", clinic, _READ, clinic)

    def list_facilities(self) -> list[Facility]:
        """Delegate GetAllHealthcareFacilities (read: retried; connection-level breaker)."""
        return self._call("list_facilities", None, _READ)

    def available_slots(
        self,
        clinic: ClinicRef,
        time_type_id: str,
        start: datetime,
        end: datetime,
        performer_id: str | None = None,
    ) -> list[Slot]:
        """Delegate GetAvailableTimeslots (read: retried)."""
        return self._call(
            "available_slots", clinic, _READ, clinic, time_type_id, start, end, performer_id=performer_id
        )

    def earliest_slots(
        self, clinic: ClinicRef, time_type_id: str, start: datetime, end: datetime, limit: int
    ) -> list[Slot]:
        """Delegate the first free times (read: retried)."""
        return self._call("earliest_slots", clinic, _READ, clinic, time_type_id, start, end, limit)

    def available_dates(self, clinic: ClinicRef, time_type_id: str, start: date, end: date) -> list[date]:
        """Delegate GetAvailableDates (read: retried)."""
        return self._call("available_dates", clinic, _READ, clinic, time_type_id, start, end)

    def make_booking(
        self, clinic: ClinicRef, slot_id: str, subject: Subject, reason: str | None = None
    ) -> BookingResult:
        """Delegate MakeBooking (write: never retried; a deadline means outcome unknown)."""
        return self._call("make_booking", clinic, _WRITE, clinic, slot_id, subject, reason=reason)

    def book_series(self, clinic: ClinicRef, series: SeriesRequest, subject: Subject) -> list[BookingResult]:
        """Delegate a series booking (write: never retried)."""
        return self._call("book_series", clinic, _WRITE, clinic, series, subject)

    def update_booking(
        self, clinic: ClinicRef, booking_id: str, new_slot_id: str, subject: Subject
    ) -> BookingResult:
        """Delegate UpdateBooking (write: never retried)."""
        return self._call("update_booking", clinic, _WRITE, clinic, booking_id, new_slot_id, subject)

    def cancel_booking(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> CancelResult:
        """Delegate CancelBooking (write: never retried)."""
        return self._call("cancel_booking", clinic, _WRITE, clinic, booking_id, subject)

    def booking_details(self, clinic: ClinicRef, booking_id: str, subject: Subject) -> Booking:
        """Delegate GetBookingDetails (read: retried)."""
        return self._call("booking_details", clinic, _READ, clinic, booking_id, subject)

    def subject_schedule(self, clinic: ClinicRef, subject: Subject) -> list[Booking]:
        """Delegate GetSubjectOfCareSchedule (read: retried)."""
        return self._call("subject_schedule", clinic, _READ, clinic, subject)

    # -- machinery -----------------------------------------------------------------------------

    @staticmethod
    def _key_of(clinic: ClinicRef | str) -> str:
        return normalize_hsa_id(clinic.hsa_id if isinstance(clinic, ClinicRef) else clinic)

    def _call(
        self, operation: str, clinic: ClinicRef | None, is_read: bool, *args: Any, **kwargs: Any
    ) -> Any:
        key = self._key_of(clinic) if clinic is not None else CONNECTION
        started = time.monotonic()
        deadline = started + self.policy.deadline_seconds
        trial = self._admit(key)
        method = getattr(self.inner, operation)
        attempts = 1 + (self.policy.read_retries if is_read else 0)
        backoff = self.policy.retry_backoff
        try:
            for attempt in range(1, attempts + 1):
                try:
                    result = self._run_with_deadline(method, args, kwargs, deadline)
                except AdapterError as exc:
                    if not _is_technical(exc):
                        raise  # a logical answer: the system is alive (recorded below)
                    if (
                        attempt == attempts
                        or isinstance(exc, DeadlineExceeded | CircuitOpen | ConnectionBusy)
                        or time.monotonic() + backoff >= deadline
                    ):
                        raise
                    log.info(
                        "retrying %s for %s after %s (attempt %d)",
                        operation,
                        key,
                        type(exc).__name__,
                        attempt,
                    )
                    time.sleep(backoff)
                    backoff *= 2
                else:
                    self._record(
                        key, trial, failure=None, read_seconds=time.monotonic() - started if is_read else None
                    )
                    return result
        except ConnectionBusy:
            self._record(key, trial, failure=None, neutral=True)
            raise
        except AdapterError as exc:
            self._record(key, trial, failure=exc if _is_technical(exc) else None)
            raise
        except BaseException:
            # Interrupted (e.g. KeyboardInterrupt): nothing learned about the record system, but
            # never leave a half-open breaker waiting for a trial that will not report back.
            self._record(key, trial, failure=None, neutral=True)
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _admit(self, key: str) -> bool:
        """Let a call through or raise CircuitOpen; return True when it is the half-open trial."""
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = self._breakers[key] = _Breaker()
            if breaker.state is BreakerState.CLOSED:
                return False
            if breaker.state is BreakerState.OPEN:
                if self._clock() - breaker.opened_at < self.policy.reset_after_seconds:
                    raise CircuitOpen(f"circuit open for {key}")
                breaker.state = BreakerState.HALF_OPEN
                breaker.trial_in_flight = False
            if breaker.trial_in_flight:
                # Only one trial at a time: the others fail fast rather than pile onto a
                # system that may still be down.
                raise CircuitOpen(f"circuit half-open for {key}; trial call in progress")
            breaker.trial_in_flight = True
            return True

    def _record(
        self,
        key: str,
        trial: bool,
        failure: BaseException | None,
        neutral: bool = False,
        read_seconds: float | None = None,
    ) -> None:
        with self._lock:
            breaker = self._breakers[key]
            if trial:
                breaker.trial_in_flight = False
            if neutral:
                return  # nothing was learned about the record system
            if read_seconds is not None:
                previous = breaker.read_seconds
                breaker.read_seconds = (
                    read_seconds
                    if previous is None
                    else previous + READ_SECONDS_WEIGHT * (read_seconds - previous)
                )
            if failure is None:
                breaker.last_success = self._wall_clock()
                breaker.failures = 0
                if breaker.state is not BreakerState.CLOSED:
                    log.warning("circuit closed for %s", key)
                breaker.state = BreakerState.CLOSED
                return
            breaker.last_error = self._wall_clock()
            breaker.last_error_class = type(failure).__name__
            breaker.failures += 1
            reopen = breaker.state is BreakerState.HALF_OPEN and trial
            if reopen or (
                breaker.state is BreakerState.CLOSED and breaker.failures >= self.policy.failure_threshold
            ):
                breaker.state = BreakerState.OPEN
                breaker.opened_at = self._clock()
                log.warning("circuit opened for %s after %s", key, type(failure).__name__)

    def _run_with_deadline(
        self, method: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any], deadline: float
    ) -> T:
        with self._lock:
            if self._in_flight >= self.policy.max_in_flight:
                raise ConnectionBusy(f"{self.name}: {self._in_flight} calls still running")
            self._in_flight += 1
        try:
            future = (self._pool or shared_call_pool()).submit(_guarded, method, args, kwargs)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _f: self._release())
        remaining = deadline - time.monotonic()
        try:
            return future.result(timeout=max(remaining, 0.0))
        except TimeoutError:
            if future.cancel():
                # It never started (the pool was busy): nothing reached the record system.
                raise ConnectionBusy(f"{self.name}: no worker free before the deadline") from None
            raise DeadlineExceeded(
                f"{self.name}: no answer within {self.policy.deadline_seconds:g} s"
            ) from None

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1


def _guarded(method: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """Run an inner call; turn anything the adapter failed to map into ``Unavailable``."""
    try:
        return method(*args, **kwargs)
    except AdapterError:
        raise
    except Exception as exc:
        # The class name only: an unmapped library error's text may echo request data.
        raise Unavailable(f"unmapped {type(exc).__name__} from adapter") from exc


def _is_technical(exc: BaseException) -> bool:
    # Our own CircuitOpen is raised before a call starts and never reaches here; one coming
    # from the inner adapter (a nested wrapper) is a technical failure like any other.
    return isinstance(exc, Unavailable)


_SEVERITY = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def _combine(healths: list[Health]) -> Health:
    """Fold several breakers' health into one (worst state, latest times)."""
    if not healths:
        return Health(ok=True)
    successes = [h.last_success for h in healths if h.last_success is not None]
    errors = [h for h in healths if h.last_error is not None]
    latest_error = max(errors, key=lambda h: h.last_error) if errors else None  # type: ignore[arg-type,return-value]
    return Health(
        ok=all(h.ok for h in healths),
        last_success=max(successes) if successes else None,
        last_error=latest_error.last_error if latest_error else None,
        last_error_text=latest_error.last_error_text if latest_error else None,
        breaker=max((h.breaker for h in healths), key=_SEVERITY.__getitem__),
    )


# -- health board ------------------------------------------------------------------------------


class HealthBoard:
    """Where the hub reads the health of every connection and clinic. Thread-safe.

    ``ResilientAdapter(..., board=board, name=...)`` registers itself; the admin page and the
    federated search read :meth:`connections` and :meth:`clinics`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._adapters: dict[str, ResilientAdapter] = {}

    def register(self, name: str, adapter: ResilientAdapter) -> None:
        """Add (or replace) a connection under ``name``."""
        with self._lock:
            self._adapters[name] = adapter

    def unregister(self, name: str) -> None:
        """Forget a connection (e.g. after its configuration changed)."""
        with self._lock:
            self._adapters.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._adapters))

    def adapter(self, name: str) -> ResilientAdapter:
        """Return the connection registered under ``name`` (``KeyError`` if none)."""
        with self._lock:
            return self._adapters[name]

    def connections(self) -> dict[str, Health]:
        """Return the health of every registered connection, by name."""
        with self._lock:
            adapters = dict(self._adapters)
        return {name: adapter.health() for name, adapter in adapters.items()}

    def clinics(self) -> dict[str, Health]:
        """Return the health of every clinic called so far, by normalised HSA-id.

        A clinic reached through two connections (e.g. its record system and a fallback) gets
        the combined health of both.
        """
        with self._lock:
            adapters = list(self._adapters.values())
        per_clinic: dict[str, list[Health]] = {}
        for adapter in adapters:
            for hsa_id, health in adapter.clinic_health().items():
                per_clinic.setdefault(hsa_id, []).append(health)
        return {hsa_id: _combine(healths) for hsa_id, healths in per_clinic.items()}

    def clinic(self, hsa_id: str) -> Health:
        """Return one clinic's health; ``ok`` with no history when it was never called."""
        return self.clinics().get(normalize_hsa_id(hsa_id), Health(ok=True))


# -- fan-out -----------------------------------------------------------------------------------


class OutcomeStatus(enum.StrEnum):
    OK = "ok"
    SLOW = "slow"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What one key of a :func:`fan_out` produced.

    ``value`` is set when ``status`` is ``ok``; ``error`` holds the exception when it is
    ``unavailable`` (any exception, logical ones included, so the caller can tell
    ``CircuitOpen`` from ``NotSupported``); ``slow`` means the deadline passed first.
    """

    status: OutcomeStatus
    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.status is OutcomeStatus.OK


def fan_out(
    calls: Mapping[K, Callable[[], T]],
    deadline: float,
    *,
    pool: CallPool | None = None,
) -> dict[K, Outcome[T]]:
    """Run ``calls`` in parallel and return every key's :class:`Outcome` within ``deadline`` s.

    Returns when all calls finished or the deadline passed, whichever is first; keys still
    running are ``slow`` (they keep running in the background and their results are dropped;
    keys still queued are cancelled). Every key of ``calls`` is in the answer. The shared pool
    runs 32 tasks at once; pass a larger ``pool`` when fanning out to more clinics than that.
    """
    if deadline <= 0:
        raise ValueError("deadline must be positive")
    # From this call, not from the last call started: starting a thousand calls on a busy machine
    # takes a noticeable part of the deadline.
    ends = time.monotonic() + deadline
    executor = pool or shared_fan_out_pool()
    futures: dict[K, Future[T]] = {key: executor.submit(call) for key, call in calls.items()}
    wait_futures(futures.values(), timeout=max(0.0, ends - time.monotonic()))
    outcomes: dict[K, Outcome[T]] = {}
    for key, future in futures.items():
        if not future.done():
            future.cancel()
            outcomes[key] = Outcome(OutcomeStatus.SLOW)
        elif future.cancelled():
            outcomes[key] = Outcome(OutcomeStatus.SLOW)
        elif (error := future.exception()) is not None:
            outcomes[key] = Outcome(OutcomeStatus.UNAVAILABLE, error=error)
        else:
            outcomes[key] = Outcome(OutcomeStatus.OK, value=future.result())
    return outcomes


@contextmanager
def private_pool(max_workers: int = 4, name: str = "clinic-test") -> Iterator[CallPool]:
    """Yield a short-lived :class:`CallPool` (for tests and batch jobs); shut down on exit."""
    pool = CallPool(max_workers, name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=False)
