"""A short-lived cache of record systems' free times, dropped for a clinic when it is booked.

Per process: each instance keeps its own. A booking through this instance invalidates at once;
one through another instance shows here at the latest after the time-to-live.

An entry read in the last part of its life may be claimed for a reload in the background
(:meth:`SlotCache.claim_refresh`): a region searched all the time then keeps its answers, and no
search waits for every record system at once when the entries of a busy hour expire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from hub.booking.events import booking_changed

MAX_ENTRIES = 5000
#: The last part of an entry's life in which a read claims its reload (0: never).
REFRESH_AHEAD = 1 / 3


@dataclass(frozen=True)
class RefreshClaim:
    """The right to reload one entry: its full key (generation included) and when it was claimed."""

    full_key: Hashable
    claimed_at: float


class SlotCache:
    def __init__(
        self,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        refresh_ahead: float = REFRESH_AHEAD,
    ) -> None:
        self.ttl = ttl_seconds
        self.refresh_ahead = refresh_ahead
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation: dict[int, int] = {}
        self._refreshing: dict[Hashable, float] = {}  # full key -> when its reload was claimed

    def peek(self, clinic_id: int, key: Hashable) -> Any | None:
        """The live entry for ``key``, or None (cached values are never None)."""
        if self.ttl <= 0:
            return None
        with self._lock:
            hit = self._entries.get((clinic_id, self._generation.get(clinic_id, 0), key))
        return hit[1] if hit is not None and hit[0] > self._clock() else None

    def get_or_load(
        self,
        clinic_id: int,
        key: Hashable,
        load: Callable[[], Any],
        usable: Callable[[Any], bool] = lambda _value: True,
    ) -> Any:
        """The live entry for ``key`` if it is ``usable``, else what ``load`` returns (stored)."""
        hit = self.peek(clinic_id, key)
        if hit is not None and usable(hit):
            return hit
        if self.ttl <= 0:
            return load()
        with self._lock:
            # Taken before the load: a booking meanwhile leaves what the load read already stale.
            full_key = (clinic_id, self._generation.get(clinic_id, 0), key)
        return self._load_into(full_key, load)

    def _load_into(self, full_key: Hashable, load: Callable[[], Any]) -> Any:
        now = self._clock()
        value = load()  # outside the lock: a slow record system must not block other clinics
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
            self._entries[full_key] = (now + self.ttl, value)
        return value

    def claim_refresh(self, clinic_id: int, key: Hashable) -> RefreshClaim | None:
        """Claim the reload of a live entry in the last part of its life; None when it is not due
        or another reader claimed it (a claim never finished lapses after a time-to-live)."""
        if self.ttl <= 0 or self.refresh_ahead <= 0:
            return None
        now = self._clock()
        with self._lock:
            full_key = (clinic_id, self._generation.get(clinic_id, 0), key)
            hit = self._entries.get(full_key)
            if hit is None or not now < hit[0] <= now + self.ttl * self.refresh_ahead:
                return None
            claimed = self._refreshing.get(full_key)
            if claimed is not None and now - claimed < self.ttl:
                return None
            self._refreshing[full_key] = now
        return RefreshClaim(full_key, now)

    def refresh(self, claim: RefreshClaim, load: Callable[[], Any]) -> None:
        """Reload a claimed entry (stored under the generation of the claim: a booking since
        leaves it unused) and release the claim, whatever the load does."""
        try:
            self._load_into(claim.full_key, load)
        finally:
            with self._lock:
                if self._refreshing.get(claim.full_key) == claim.claimed_at:
                    del self._refreshing[claim.full_key]

    def invalidate(self, clinic_id: int) -> None:
        with self._lock:
            self._generation[clinic_id] = self._generation.get(clinic_id, 0) + 1


def slot_cache(app: Flask) -> SlotCache:
    return app.extensions["hub.slot_cache"]


def init_app(app: Flask) -> None:
    app.extensions["hub.slot_cache"] = SlotCache(
        float(app.config["FREE_SLOT_CACHE_SECONDS"]),
        refresh_ahead=float(app.config["FREE_SLOT_REFRESH_AHEAD"]),
    )

    def _invalidate(sender: Flask, **kwargs: Any) -> None:
        if sender is app:
            slot_cache(app).invalidate(kwargs["booking"].clinic_id)

    booking_changed.connect(_invalidate, weak=False)
