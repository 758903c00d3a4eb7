"""Cached free times in the last third of their life are reloaded once, in the background."""

from __future__ import annotations

import pytest

from hub.booking.cache import SlotCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> SlotCache:
    cache = SlotCache(30.0, clock=clock)
    cache.get_or_load(7, "first-three", lambda: "first answer")
    return cache


def test_an_entry_is_claimed_for_reload_only_in_its_last_third(cache, clock) -> None:
    clock.now += 19.9
    assert cache.claim_refresh(7, "first-three") is None
    clock.now += 0.2  # 20.1 s of 30
    assert cache.claim_refresh(7, "first-three") is not None
    clock.now += 10.0  # expired: a search loads it itself
    assert cache.claim_refresh(7, "first-three") is None


def test_one_reader_claims_it_and_the_reload_serves_a_full_life(cache, clock) -> None:
    clock.now += 25.0
    claim = cache.claim_refresh(7, "first-three")
    assert claim is not None
    assert cache.claim_refresh(7, "first-three") is None  # another search: already claimed
    cache.refresh(claim, lambda: "second answer")
    clock.now += 10.0  # past the first answer's end
    assert cache.peek(7, "first-three") == "second answer"
    assert cache.claim_refresh(7, "first-three") is None  # fresh again
    clock.now += 11.0  # the second answer's last third
    assert cache.claim_refresh(7, "first-three") is not None  # the claim was released


def test_a_booking_during_the_reload_leaves_its_answer_unused(cache, clock) -> None:
    clock.now += 25.0
    claim = cache.claim_refresh(7, "first-three")

    def load() -> str:
        cache.invalidate(7)  # a booking at the clinic while the record system answers
        return "read before the booking"

    cache.refresh(claim, load)
    assert cache.peek(7, "first-three") is None


def test_a_failed_reload_keeps_the_answer_and_lets_a_later_search_try_again(cache, clock) -> None:
    clock.now += 25.0
    claim = cache.claim_refresh(7, "first-three")

    def load() -> str:
        raise ConnectionError("record system down")

    with pytest.raises(ConnectionError):
        cache.refresh(claim, load)
    assert cache.peek(7, "first-three") == "first answer"
    assert cache.claim_refresh(7, "first-three") is not None


def test_a_claim_never_finished_lapses_after_a_time_to_live(cache, clock) -> None:
    clock.now += 25.0
    assert cache.claim_refresh(7, "first-three") is not None  # and its worker is lost
    clock.now += 15.0  # expired: a search loads it itself
    cache.get_or_load(7, "first-three", lambda: "loaded by a search")
    clock.now += 21.0  # the new answer's last third, 36 s after the lost claim
    assert cache.claim_refresh(7, "first-three") is not None


def test_refreshing_ahead_can_be_switched_off(clock) -> None:
    cache = SlotCache(30.0, clock=clock, refresh_ahead=0)
    cache.get_or_load(7, "first-three", lambda: "first answer")
    clock.now += 29.0
    assert cache.claim_refresh(7, "first-three") is None
