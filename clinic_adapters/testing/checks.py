"""The conformance checks, written once as plain functions of a :class:`KitContext`.

Both forms of the kit run these: the pytest mixins in :mod:`clinic_adapters.testing.suite`
and the command ``python -m clinic_adapters.testing``. A check passes by returning, fails with
:class:`~clinic_adapters.testing.context.CheckFailed` (a message for the vendor), and skips with
:class:`~clinic_adapters.testing.context.CheckSkipped`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from clinic_adapters.contract import (
    Booking,
    BookingResult,
    BookingStatus,
    CancelResult,
    SeriesRequest,
    Slot,
    Subject,
    same_hsa_id,
)
from clinic_adapters.errors import (
    AdapterError,
    NotAllowed,
    NotFound,
    Refused,
    SlotTaken,
    Unavailable,
)
from clinic_adapters.testing.context import CheckFailed, CheckSkipped, KitContext, expect
from clinic_adapters.timezones import local_day_bounds_utc, to_local

__all__ = ["CHECKS", "GROUPS", "Check", "checks_in"]

GROUPS = ("availability", "booking", "double_booking", "cancellation", "rebooking",
          "error_mapping", "timezones")

#: Clock skew tolerated between the kit and the timebook when judging "in the past".
SKEW = timedelta(seconds=60)
_UNKNOWN_ID = "kit-no-such-id-0000"


CheckFunction = Callable[[KitContext], None]


@dataclass(frozen=True)
class Check:
    """One conformance check: ``group.name``, what it verifies, and the flags it needs."""

    group: str
    name: str
    doc: str
    requires: tuple[str, ...]
    run: CheckFunction

    @property
    def id(self) -> str:
        return f"{self.group}.{self.name}"


CHECKS: list[Check] = []


def check(group: str, *requires: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function under ``group``; its docstring's first line is its description."""
    assert group in GROUPS

    def register(fn: CheckFunction) -> CheckFunction:
        doc = (fn.__doc__ or fn.__name__).strip().splitlines()[0]
        CHECKS.append(Check(group, fn.__name__, doc, tuple(requires), fn))
        return fn

    return register


def checks_in(groups: Iterable[str] | None = None) -> list[Check]:
    """Return the registered checks of ``groups`` (all by default), in definition order."""
    wanted = set(groups) if groups is not None else set(GROUPS)
    return [c for c in CHECKS if c.group in wanted]


# -- shared assertions ---------------------------------------------------------------------------


def _slot_problems(ctx: KitContext, slot: object, start: datetime, end: datetime) -> list[str]:
    """Return what is wrong with one free time returned for ``[start, end)``."""
    if not isinstance(slot, Slot):
        return [f"available_slots returned a {type(slot).__name__}, not a Slot"]
    problems = []
    label = f"slot {slot.id!r}"
    for name in ("start", "end"):
        value = getattr(slot, name)
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            problems.append(f"{label}: {name} {value!r} is a naive datetime; instants crossing the "
                            "contract must be timezone-aware UTC")
        elif value.utcoffset() != timedelta(0):
            problems.append(f"{label}: {name} {value.isoformat()} is not in UTC "
                            "(convert with clinic_adapters.timezones.as_utc)")
    if problems:
        return problems  # comparisons below need aware datetimes
    label = ctx.describe(slot)
    if slot.end <= slot.start:
        problems.append(f"{label}: ends at or before its start")
    if slot.start < ctx.now() - SKEW:
        problems.append(f"{label}: is in the past (starts {slot.start.isoformat()}); a timebook "
                        "must never offer past times")
    if not start <= slot.start < end:
        problems.append(f"{label}: starts {slot.start.isoformat()}, outside the asked range "
                        f"[{start.isoformat()}, {end.isoformat()})")
    if not same_hsa_id(slot.clinic_hsa_id, ctx.clinic.hsa_id):
        problems.append(f"{label}: belongs to clinic {slot.clinic_hsa_id!r}, not {ctx.clinic.hsa_id!r}")
    if slot.time_type_id != ctx.time_type_id:
        problems.append(f"{label}: has time type {slot.time_type_id!r}, not the asked "
                        f"{ctx.time_type_id!r}")
    if not 1 <= slot.free <= max(slot.capacity, 1):
        problems.append(f"{label}: free={slot.free} with capacity={slot.capacity}; a free time has "
                        "1..capacity free seats")
    if not slot.id:
        problems.append(f"{label}: has an empty id")
    return problems


def _check_free_list(ctx: KitContext, slots: list[Slot], start: datetime, end: datetime) -> None:
    problems = [p for slot in slots for p in _slot_problems(ctx, slot, start, end)]
    expect(not problems, "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)"
                                                    if len(problems) > 5 else ""))
    starts = [s.start for s in slots]
    expect(starts == sorted(starts), "available_slots must be sorted by start time")
    ids = [s.id for s in slots]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    expect(not duplicates, f"available_slots returned the slot id(s) {duplicates[:3]} more than once")
    instants = [(s.start, s.performer_id) for s in slots if s.performer_id is not None]
    expect(len(instants) == len(set(instants)),
           "two free times of one performer start at the same instant (local times converted "
           "without regard to the clock change?)")


def _booking_matches(ctx: KitContext, booking: object, slot: Slot, source: str) -> None:
    expect(isinstance(booking, Booking), f"{source} returned {type(booking).__name__}, not a Booking")
    assert isinstance(booking, Booking)
    got = booking.slot
    for name in ("start", "end"):
        value = getattr(got, name)
        expect(value.tzinfo is not None and value.utcoffset() == timedelta(0),
               f"{source}: booking {name} {value!r} is not an aware UTC datetime")
    expect(got.start == slot.start and got.end == slot.end,
           f"{source}: booking is for {got.start.isoformat()}–{got.end.isoformat()}, but "
           f"{ctx.describe(slot)} ({slot.start.isoformat()}–{slot.end.isoformat()}) was booked")
    expect(same_hsa_id(got.clinic_hsa_id, ctx.clinic.hsa_id),
           f"{source}: booking belongs to clinic {got.clinic_hsa_id!r}")


def _expect_error(ctx: KitContext, expected: tuple[type[AdapterError], ...], what: str,
                  operation: str, *args: object) -> AdapterError:
    """Call an operation that must fail with one of ``expected``; return the error."""
    names = "/".join(e.__name__ for e in expected)
    try:
        result = ctx.call(operation, *args)
    except expected as exc:
        return exc
    except Unavailable as exc:
        raise CheckFailed(
            f"{what}: {operation} raised {type(exc).__name__} ({exc}); expected {names}. A "
            "technical error here makes the hub's circuit breaker treat a logical answer as an "
            "outage") from exc
    except AdapterError as exc:
        raise CheckFailed(f"{what}: {operation} raised {type(exc).__name__} ({exc}); "
                          f"expected {names}") from exc
    raise CheckFailed(f"{what}: {operation} succeeded (returned {type(result).__name__}); "
                      f"expected {names}")


def _is_live(ctx: KitContext, booking_id: str, subject: Subject) -> Booking | None:
    """Return the booking if the timebook still holds it as booked for ``subject``."""
    if ctx.reqs.booking_details:
        try:
            booking = ctx.call("booking_details", ctx.clinic, booking_id, subject)
        except NotFound:
            return None
        return booking if booking.status is BookingStatus.BOOKED else None
    if ctx.reqs.subject_schedule:
        booking = ctx.schedule(subject).get(booking_id)
        return booking if booking is not None and booking.status is BookingStatus.BOOKED else None
    raise CheckSkipped("needs booking_details or subject_schedule to look a booking up")


# -- availability --------------------------------------------------------------------------------


@check("availability")
def free_times_exist(ctx: KitContext) -> None:
    """The timebook offers free times of the kit's time type in the window."""
    start, end = ctx.window()
    expect(ctx.free_slots(start, end),
           f"no free times of type {ctx.time_type_id!r} at {ctx.clinic.hsa_id} between "
           f"{start.isoformat()} and {end.isoformat()}; the other checks need some (choose "
           "another time type or window)")


@check("availability")
def free_times_are_well_formed(ctx: KitContext) -> None:
    """Free times are aware UTC, end after start, sorted, in the asked range, of the clinic and type."""
    start, end = ctx.window()
    _check_free_list(ctx, ctx.free_slots(start, end), start, end)


@check("availability")
def free_times_are_never_in_the_past(ctx: KitContext) -> None:
    """Asked for a range reaching back three days, the timebook offers no past times."""
    now = ctx.now()
    start, end = now - timedelta(days=3), now + ctx.lead + ctx.horizon
    past = [s for s in ctx.free_slots(start, end)
            if isinstance(s, Slot) and s.start.tzinfo is not None and s.start < now - SKEW]
    expect(not past, f"{len(past)} free time(s) in the past, e.g. {ctx.describe(past[0])}"
           if past else "")


@check("availability")
def free_times_respect_the_asked_range(ctx: KitContext) -> None:
    """A narrower range returns exactly the free times starting in ``[start, end)``."""
    start, end = ctx.window()
    slots = ctx.free_slots(start, end)
    starts = sorted({s.start for s in slots})
    if len(starts) < 3:
        raise CheckSkipped("needs free times at three distinct instants in the window")
    low, high = starts[1], starts[-1]
    expected = {s.id for s in slots if low <= s.start < high}
    got = {s.id for s in ctx.free_slots(low, high)}
    missing, extra = expected - got, got - expected
    expect(not missing, f"asked for [{low.isoformat()}, {high.isoformat()}): {len(missing)} free "
           f"time(s) starting in it are missing, e.g. {sorted(missing)[0]!r} (start is inclusive)"
           if missing else "")
    expect(not extra, f"asked for [{low.isoformat()}, {high.isoformat()}): got {len(extra)} free "
           f"time(s) outside it, e.g. {sorted(extra)[0]!r} (end is exclusive)" if extra else "")


@check("availability")
def performer_filter_returns_only_that_performer(ctx: KitContext) -> None:
    """Asked for one performer, the timebook returns only that performer's free times."""
    start, end = ctx.window()
    performers = [s.performer_id for s in ctx.free_slots(start, end) if s.performer_id]
    if not performers:
        raise CheckSkipped("the free times carry no performer ids")
    performer = performers[0]
    slots = ctx.free_slots(start, end, performer_id=performer)
    expect(slots, f"no free times for performer {performer!r}, who has free times in the window")
    others = {s.performer_id for s in slots} - {performer}
    expect(not others, f"asked for performer {performer!r}, got times of {sorted(map(str, others))}")


@check("availability")
def earliest_times_are_the_first_free_times(ctx: KitContext) -> None:
    """``earliest_slots`` answers the first free times exactly as ``available_slots`` lists them."""
    start, end = ctx.window()
    slots = ctx.free_slots(start, end)
    for limit in (1, 3, len(slots) + 1):
        got = ctx.call("earliest_slots", ctx.clinic, ctx.time_type_id, start, end, limit)
        expect(isinstance(got, list), f"earliest_slots returned {type(got).__name__}, not a list")
        expect(got == slots[:limit], f"earliest_slots(limit={limit}) gave "
               f"{[ctx.describe(s) for s in got[:3]]}, available_slots begins with "
               f"{[ctx.describe(s) for s in slots[:3]]} (same times, seats and order expected)")


# -- booking -------------------------------------------------------------------------------------


@check("booking")
def booked_time_leaves_the_free_times(ctx: KitContext) -> None:
    """A booking is for the chosen time, and that time's free seats drop by one at once."""
    (slot,) = ctx.pick()
    before = ctx.seats(slot)
    booking = ctx.book(slot)
    _booking_matches(ctx, booking, slot, "make_booking")
    expect(booking.status is BookingStatus.BOOKED, f"make_booking returned status {booking.status}")
    after = ctx.seats(slot)
    expect(after == before - 1, f"{ctx.describe(slot)} had {before} free seat(s) before the "
           f"booking and {after} after; expected {before - 1}")


@check("booking", "subject_schedule")
def booking_appears_in_the_schedule(ctx: KitContext) -> None:
    """A new booking appears, booked and at its time, in the citizen's schedule."""
    (slot,) = ctx.pick()
    subject = ctx.subjects()
    booking = ctx.book(slot, subject)
    schedule = ctx.schedule(subject)
    expect(booking.booking_id in schedule, f"booking {booking.booking_id!r} is missing from "
           "subject_schedule right after make_booking")
    found = schedule[booking.booking_id]
    expect(found.status is BookingStatus.BOOKED, f"subject_schedule shows status {found.status}")
    _booking_matches(ctx, found, slot, "subject_schedule")


@check("booking", "booking_details")
def booking_details_match_the_booked_time(ctx: KitContext) -> None:
    """``booking_details`` returns the booking, booked and at its time."""
    (slot,) = ctx.pick()
    subject = ctx.subjects()
    booking = ctx.book(slot, subject)
    details = ctx.call("booking_details", ctx.clinic, booking.booking_id, subject)
    _booking_matches(ctx, details, slot, "booking_details")
    expect(details.booking_id == booking.booking_id,
           f"booking_details returned booking {details.booking_id!r} for {booking.booking_id!r}")
    expect(details.status is BookingStatus.BOOKED, f"booking_details shows status {details.status}")


@check("booking")
def another_citizen_cannot_see_the_booking(ctx: KitContext) -> None:
    """Another citizen gets ``NotFound`` for the booking and does not see it in their schedule."""
    if not (ctx.reqs.booking_details or ctx.reqs.subject_schedule):
        raise CheckSkipped("needs booking_details or subject_schedule")
    (slot,) = ctx.pick()
    booking = ctx.book(slot)
    stranger = ctx.subjects()
    if ctx.reqs.booking_details:
        _expect_error(ctx, (NotFound,), "another citizen's booking", "booking_details",
                      ctx.clinic, booking.booking_id, stranger)
    if ctx.reqs.subject_schedule:
        expect(booking.booking_id not in ctx.schedule(stranger),
               "another citizen's booking appears in a stranger's subject_schedule")


@check("booking", "series_booking")
def series_booking_is_all_or_nothing(ctx: KitContext) -> None:
    """A series books every time, and with one time full books none."""
    first, second, third = ctx.pick(3)
    subject = ctx.subjects()
    results = ctx.call("book_series", ctx.clinic, SeriesRequest([first.id, second.id]), subject)
    expect(isinstance(results, list) and len(results) == 2,
           "book_series of two times must return two BookingResults")
    for result, slot in zip(results, (first, second), strict=True):
        expect(isinstance(result, BookingResult), "book_series must return BookingResults")
        ctx.track(result.booking.booking_id, subject)
        _booking_matches(ctx, result.booking, slot, "book_series")
    ctx.fill(third)
    before = ctx.seats(first)
    _expect_error(ctx, (SlotTaken,), "series with a full time", "book_series", ctx.clinic,
                  SeriesRequest([first.id, third.id]), ctx.subjects())
    expect(ctx.seats(first) == before, "a refused series still took a seat of its free time "
           "(a series is all or nothing)")


# -- double booking and idempotency --------------------------------------------------------------


@check("double_booking")
def second_booking_of_a_full_time_is_refused(ctx: KitContext) -> None:
    """When every seat of a time is taken, another booking raises ``SlotTaken``."""
    (slot,) = ctx.pick()
    ctx.fill(slot)
    latecomer = ctx.subjects()
    try:
        extra = ctx.call("make_booking", ctx.clinic, slot.id, latecomer)
    except SlotTaken:
        pass
    except AdapterError as exc:
        raise CheckFailed(f"booking a full time raised {type(exc).__name__} ({exc}); expected "
                          "SlotTaken") from exc
    else:
        if isinstance(extra, BookingResult):
            ctx.track(extra.booking.booking_id, latecomer)
        raise CheckFailed(f"{ctx.describe(slot)} was booked beyond its capacity of "
                          f"{slot.capacity}: double booking; expected SlotTaken")
    expect(ctx.seats(slot) == 0, f"{ctx.describe(slot)} is full but still listed as free")


@check("double_booking")
def repeated_booking_request_books_once(ctx: KitContext) -> None:
    """The same citizen asking twice for one time holds it once (a retry after a lost reply)."""
    (slot,) = ctx.pick()
    subject = ctx.subjects()
    before = ctx.seats(slot)
    first = ctx.book(slot, subject)
    try:
        again = ctx.call("make_booking", ctx.clinic, slot.id, subject)
    except (SlotTaken, Refused, NotAllowed):
        again = None
    if again is not None:
        ctx.track(again.booking.booking_id, subject)
        expect(again.booking.booking_id == first.booking_id,
               f"a repeated request by the same citizen made a second booking "
               f"({again.booking.booking_id!r} besides {first.booking_id!r}); answer with the "
               "existing booking or refuse (SlotTaken/Refused)")
    after = ctx.seats(slot)
    expect(after == before - 1, f"after two identical requests {ctx.describe(slot)} has {after} "
           f"free seat(s); expected {before - 1}")
    if ctx.reqs.subject_schedule:
        mine = [b for b in ctx.schedule(subject).values()
                if b.status is BookingStatus.BOOKED and b.slot.start == slot.start]
        expect(len(mine) == 1, f"the citizen's schedule holds {len(mine)} bookings of one time")


@check("double_booking", "concurrent_booking")
def concurrent_bookings_never_exceed_capacity(ctx: KitContext) -> None:
    """Several citizens booking one time at the same moment: exactly its free seats succeed."""
    (slot,) = ctx.pick()
    free = ctx.seats(slot)
    if free > ctx.max_seats_to_fill:
        raise CheckSkipped(f"{ctx.describe(slot)} has {free} free seats")
    contenders = [ctx.subjects() for _ in range(free + 3)]
    barrier = threading.Barrier(len(contenders))
    outcomes: list[object] = [None] * len(contenders)

    def attempt(index: int, subject: Subject) -> None:
        try:
            barrier.wait(10)
            outcomes[index] = ctx.adapter.make_booking(ctx.clinic, slot.id, subject)
        except Exception as exc:  # collected and judged below
            outcomes[index] = exc

    threads = [threading.Thread(target=attempt, args=(i, s), daemon=True)
               for i, s in enumerate(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    won = [(o, s) for o, s in zip(outcomes, contenders, strict=True) if isinstance(o, BookingResult)]
    for result, subject in won:
        ctx.track(result.booking.booking_id, subject)
    odd = [o for o in outcomes if not isinstance(o, BookingResult | SlotTaken)]
    expect(len(won) <= free, f"{len(contenders)} citizens booked {ctx.describe(slot)} at once: "
           f"{len(won)} succeeded but it had {free} free seat(s) — double booking under "
           "concurrency (check and insert in one atomic step)")
    expect(not odd, f"concurrent bookings: expected BookingResult or SlotTaken, got "
           f"{sorted({type(o).__name__ for o in odd})}")
    expect(len(won) == free, f"concurrent bookings: only {len(won)} of {free} free seat(s) were "
           "booked; the others were refused although free")


# -- cancellation --------------------------------------------------------------------------------


@check("cancellation", "cancel")
def cancelled_time_is_free_again_at_once(ctx: KitContext) -> None:
    """After ``cancel_booking`` the time's free seats are back immediately."""
    (slot,) = ctx.pick(cancellable=True)
    subject = ctx.subjects()
    before = ctx.seats(slot)
    booking = ctx.book(slot, subject)
    result = ctx.call("cancel_booking", ctx.clinic, booking.booking_id, subject)
    expect(isinstance(result, CancelResult), f"cancel_booking returned {type(result).__name__}")
    expect(result.booking_id == booking.booking_id,
           f"cancel_booking answered for booking {result.booking_id!r}, not {booking.booking_id!r}")
    after = ctx.seats(slot)
    expect(after == before, f"{ctx.describe(slot)} had {before} free seat(s) before booking and "
           f"{after} after cancelling; a cancelled time must be bookable again at once")


@check("cancellation", "cancel")
def cancelled_booking_is_no_longer_held(ctx: KitContext) -> None:
    """A cancelled booking is no longer held (gone or shown cancelled); its seat can be booked again."""
    (slot,) = ctx.pick(cancellable=True)
    subject = ctx.subjects()
    booking = ctx.book(slot, subject)
    ctx.call("cancel_booking", ctx.clinic, booking.booking_id, subject)
    if ctx.reqs.booking_details or ctx.reqs.subject_schedule:
        expect(_is_live(ctx, booking.booking_id, subject) is None,
               f"booking {booking.booking_id!r} is still shown as booked after cancel_booking")
    ctx.fill(slot)  # every seat, including the cancelled one, can be booked again


@check("cancellation", "cancel")
def another_citizen_cannot_cancel_the_booking(ctx: KitContext) -> None:
    """Another citizen's cancel raises ``NotFound`` and the booking stays."""
    (slot,) = ctx.pick(cancellable=True)
    owner = ctx.subjects()
    booking = ctx.book(slot, owner)
    after_booking = ctx.seats(slot)
    _expect_error(ctx, (NotFound,), "cancelling another citizen's booking", "cancel_booking",
                  ctx.clinic, booking.booking_id, ctx.subjects())
    expect(ctx.seats(slot) == after_booking,
           "a stranger's refused cancel_booking still freed the owner's seat")
    if ctx.reqs.booking_details or ctx.reqs.subject_schedule:
        expect(_is_live(ctx, booking.booking_id, owner) is not None,
               "the owner's booking is gone after a stranger's refused cancel_booking")


# -- rebooking -----------------------------------------------------------------------------------


@check("rebooking", "rebook")
def rebooking_moves_the_booking_and_frees_the_old_time(ctx: KitContext) -> None:
    """``update_booking`` moves the booking to the new time and frees the old one at once."""
    old, new = ctx.pick(2, rebookable=True)
    subject = ctx.subjects()
    old_before, new_before = ctx.seats(old), ctx.seats(new)
    booking = ctx.book(old, subject)
    result = ctx.call("update_booking", ctx.clinic, booking.booking_id, new.id, subject)
    expect(isinstance(result, BookingResult), f"update_booking returned {type(result).__name__}")
    moved = result.booking
    ctx.track(moved.booking_id, subject)
    _booking_matches(ctx, moved, new, "update_booking")
    expect(ctx.seats(old) == old_before, f"the old time ({ctx.describe(old)}) was not freed by "
           "the rebooking")
    expect(ctx.seats(new) == new_before - 1, f"the new time ({ctx.describe(new)}) did not lose a "
           "free seat")
    if ctx.reqs.booking_details:
        _booking_matches(ctx, ctx.call("booking_details", ctx.clinic, moved.booking_id, subject),
                         new, "booking_details after update_booking")
    if ctx.reqs.subject_schedule:
        held = [b for b in ctx.schedule(subject).values() if b.status is BookingStatus.BOOKED]
        expect([b.slot.start for b in held] == [new.start],
               f"after rebooking the schedule holds {[b.slot.start.isoformat() for b in held]}, "
               f"expected only {new.start.isoformat()}")


@check("rebooking", "rebook")
def rebooking_to_a_taken_time_keeps_the_old_booking(ctx: KitContext) -> None:
    """Rebooking to a full time raises ``SlotTaken`` and leaves the old booking exactly as it was."""
    old, full = ctx.pick(2, rebookable=True)
    subject = ctx.subjects()
    booking = ctx.book(old, subject)
    ctx.fill(full)
    old_seats = ctx.seats(old)
    _expect_error(ctx, (SlotTaken,), "rebooking to a full time", "update_booking", ctx.clinic,
                  booking.booking_id, full.id, subject)
    expect(ctx.seats(old) == old_seats, f"a refused rebooking freed the old time "
           f"({ctx.describe(old)}); update_booking must be atomic")
    if ctx.reqs.booking_details or ctx.reqs.subject_schedule:
        live = _is_live(ctx, booking.booking_id, subject)
        expect(live is not None, "the old booking is gone after a refused rebooking; "
               "update_booking must be atomic")
        assert live is not None
        _booking_matches(ctx, live, old, "the old booking after a refused rebooking")


# -- error mapping -------------------------------------------------------------------------------


@check("error_mapping", "booking_details")
def details_of_an_unknown_booking_are_not_found(ctx: KitContext) -> None:
    """``booking_details`` of an unknown id raises ``NotFound``, not a technical error."""
    _expect_error(ctx, (NotFound,), "unknown booking", "booking_details", ctx.clinic,
                  _UNKNOWN_ID, ctx.subjects())


@check("error_mapping", "cancel")
def cancelling_an_unknown_booking_is_not_found(ctx: KitContext) -> None:
    """``cancel_booking`` of an unknown id raises ``NotFound``."""
    _expect_error(ctx, (NotFound,), "unknown booking", "cancel_booking", ctx.clinic,
                  _UNKNOWN_ID, ctx.subjects())


@check("error_mapping", "rebook")
def rebooking_an_unknown_booking_is_a_logical_error(ctx: KitContext) -> None:
    """``update_booking`` of an unknown id raises ``NotFound`` (or ``Refused``), never a technical error."""
    (slot,) = ctx.pick()
    _expect_error(ctx, (NotFound, Refused, NotAllowed), "unknown booking", "update_booking",
                  ctx.clinic, _UNKNOWN_ID, slot.id, ctx.subjects())


@check("error_mapping")
def booking_an_unknown_time_is_a_logical_error(ctx: KitContext) -> None:
    """``make_booking`` of an unknown slot id raises ``NotFound``/``Refused``/``NotAllowed``/``SlotTaken``."""
    _expect_error(ctx, (NotFound, Refused, NotAllowed, SlotTaken), "unknown time", "make_booking",
                  ctx.clinic, _UNKNOWN_ID, ctx.subjects())


@check("error_mapping", "cancel")
def a_cancelled_booking_does_not_look_like_an_outage(ctx: KitContext) -> None:
    """Reading or cancelling an already cancelled booking is a logical answer, not ``Unavailable``."""
    (slot,) = ctx.pick(cancellable=True)
    subject = ctx.subjects()
    booking = ctx.book(slot, subject)
    ctx.call("cancel_booking", ctx.clinic, booking.booking_id, subject)
    if ctx.reqs.booking_details:
        try:
            details = ctx.call("booking_details", ctx.clinic, booking.booking_id, subject)
        except NotFound:
            pass
        except Unavailable as exc:
            raise CheckFailed(f"booking_details of a cancelled booking raised "
                              f"{type(exc).__name__}; expected NotFound or status cancelled") from exc
        else:
            expect(details.status is BookingStatus.CANCELLED,
                   f"booking_details of a cancelled booking shows status {details.status}")
    try:
        ctx.call("cancel_booking", ctx.clinic, booking.booking_id, subject)
    except Unavailable as exc:
        raise CheckFailed(f"cancelling a cancelled booking raised {type(exc).__name__}; expected "
                          "a logical answer (NotFound, or success)") from exc
    except AdapterError:
        pass


# -- time zones ----------------------------------------------------------------------------------


@check("timezones", "available_dates")
def available_dates_are_the_clinics_local_days(ctx: KitContext) -> None:
    """``available_dates`` are the local (clinic time zone) dates of the free times, not UTC dates."""
    start, end = ctx.window()
    first, last = to_local(start, ctx.tz).date() + timedelta(days=1), to_local(end, ctx.tz).date()
    if last - first > timedelta(days=14):
        last = first + timedelta(days=14)
    low, _ = local_day_bounds_utc(first, ctx.tz)
    _, high = local_day_bounds_utc(last, ctx.tz)
    expected = sorted({to_local(s.start, ctx.tz).date() for s in ctx.free_slots(low, high)})
    got = ctx.call("available_dates", ctx.clinic, ctx.time_type_id, first, last)
    expect(all(isinstance(d, date) and not isinstance(d, datetime) for d in got),
           "available_dates must return datetime.date values")
    expect(list(got) == expected, f"available_dates {[d.isoformat() for d in got][:7]} differ from "
           f"the local dates of the free times {[d.isoformat() for d in expected][:7]} "
           f"(zone {ctx.tz})")


def _dst_day(ctx: KitContext, longer: bool) -> date:
    for day in ctx.dst or ():
        start, end = local_day_bounds_utc(day, ctx.tz)
        if (end - start > timedelta(hours=24)) == longer and end - start != timedelta(hours=24):
            return day
    kind = "back (25-hour day)" if longer else "forward (23-hour day)"
    raise CheckSkipped(f"no local day with the clocks going {kind} given for zone {ctx.tz}")


def _dst_free_times(ctx: KitContext, longer: bool) -> tuple[date, list[Slot]]:
    day = _dst_day(ctx, longer)
    start, end = local_day_bounds_utc(day, ctx.tz)
    slots = ctx.free_slots(start, end)
    if not slots:
        raise CheckSkipped(f"the timebook has no free times on {day.isoformat()} ({ctx.tz}), the "
                           "day the clocks change (give days with free times: --dst-day, or the "
                           "dst_days fixture)")
    _check_free_list(ctx, slots, start, end)
    # Wall-clock arithmetic across the change makes a slot an hour too long or short: compare
    # each duration with the durations the same time type has on the ordinary day before.
    previous = ctx.free_slots(*local_day_bounds_utc(day - timedelta(days=1), ctx.tz))
    usual = {s.end - s.start for s in previous}
    if usual:
        odd = [s for s in slots if s.end - s.start not in usual]
        expect(not odd, f"{ctx.describe(odd[0])} lasts {odd[0].end - odd[0].start} on the day the "
               f"clocks change; the day before, this time type lasts "
               f"{sorted(str(u) for u in usual)}" if odd else "")
    return day, slots


def _dst_round_trip(ctx: KitContext, longer: bool) -> None:
    day, slots = _dst_free_times(ctx, longer)
    # A time after the change shows a wrong offset; avoid the repeated autumn hour, which the
    # RIV-TA time format cannot express unambiguously.
    later = [s for s in slots if to_local(s.start, ctx.tz).hour >= 4] or slots[-1:]
    slot = later[0]
    subject = ctx.subjects()
    try:
        booking = ctx.book(slot, subject)
    except NotAllowed as exc:
        raise CheckSkipped(f"the timebook does not allow booking on {day.isoformat()} ({exc})") from exc
    _booking_matches(ctx, booking, slot, "make_booking on the day the clocks change")
    if ctx.reqs.booking_details:
        _booking_matches(ctx, ctx.call("booking_details", ctx.clinic, booking.booking_id, subject),
                         slot, "booking_details on the day the clocks change")
    if ctx.reqs.subject_schedule:
        found = ctx.schedule(subject).get(booking.booking_id)
        expect(found is not None, "a booking on the day the clocks change is missing from the schedule")
        _booking_matches(ctx, found, slot, "subject_schedule on the day the clocks change")


@check("timezones", "dst")
def spring_forward_day_free_times(ctx: KitContext) -> None:
    """Free times on the 23-hour local day are well-formed, distinct instants of usual length."""
    _dst_free_times(ctx, longer=False)


@check("timezones", "dst")
def spring_forward_day_booking_round_trip(ctx: KitContext) -> None:
    """A time booked on the 23-hour day comes back at the same instant from every operation."""
    _dst_round_trip(ctx, longer=False)


@check("timezones", "dst")
def fall_back_day_free_times(ctx: KitContext) -> None:
    """Free times on the 25-hour local day are well-formed, distinct instants of usual length."""
    _dst_free_times(ctx, longer=True)


@check("timezones", "dst")
def fall_back_day_booking_round_trip(ctx: KitContext) -> None:
    """A time booked on the 25-hour day comes back at the same instant from every operation."""
    _dst_round_trip(ctx, longer=True)
