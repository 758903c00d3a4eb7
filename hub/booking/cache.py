"""A short-lived cache of record systems' free times, dropped for a clinic when it is booked.

Per process: each instance keeps its own. A booking through this instance invalidates at once;
one through another instance shows here at the latest after the time-to-live.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask

from hub.booking.events import booking_changed

MAX_ENTRIES = 5000


class SlotCache:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation: dict[int, int] = {}

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
        now = self._clock()
        with self._lock:
            # Taken before the load: a booking meanwhile leaves what the load read already stale.
            full_key = (clinic_id, self._generation.get(clinic_id, 0), key)
        value = load()  # outside the lock: a slow record system must not block other clinics
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
            self._entries[full_key] = (now + self.ttl, value)
        return value

    def invalidate(self, clinic_id: int) -> None:
        with self._lock:
            self._generation[clinic_id] = self._generation.get(clinic_id, 0) + 1


def slot_cache(app: Flask) -> SlotCache:
    return app.extensions["hub.slot_cache"]


def init_app(app: Flask) -> None:
    app.extensions["hub.slot_cache"] = SlotCache(float(app.config["FREE_SLOT_CACHE_SECONDS"]))

    def _invalidate(sender: Flask, **kwargs: Any) -> None:
        if sender is app:
            slot_cache(app).invalidate(kwargs["booking"].clinic_id)

    booking_changed.connect(_invalidate, weak=False)
