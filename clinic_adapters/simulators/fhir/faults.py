"""Faults a test injects into the simulator: latency, HTML 503s, dropped connections, 429, 401."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

# Kinds of injected faults, each consumed by one FHIR request (the token endpoint is spared).
HTML_503 = "html-503"
DROP = "drop"  # close the connection without any answer
RATE_LIMIT = "429"
UNAUTHORIZED = "401"
CONCURRENT_UPDATE = "concurrent-update"  # another writer changes the resource before this PUT
KINDS = frozenset({HTML_503, DROP, RATE_LIMIT, UNAUTHORIZED, CONCURRENT_UPDATE})


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    retry_after: str | None = None
    method: str | None = None  # only requests with this method consume the fault
    path: str | None = None  # only requests whose path below the base starts so, e.g. "Appointment"


class Faults:
    """A thread-safe queue of one-shot faults plus a fixed added latency."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.token_latency = 0.0
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        retry_after: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make the next ``count`` matching FHIR requests fail in the given way."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(KINDS)}")
        with self._lock:
            self._queue.extend([Fault(kind, retry_after, method and method.upper(), path)] * count)

    def take(self, method: str, path: str) -> Fault | None:
        """Remove and return the first fault that applies to a request of this method."""
        with self._lock:
            for fault in self._queue:
                if fault.kind == CONCURRENT_UPDATE and method != "PUT":
                    continue  # only a write can meet a concurrent write
                if fault.method in (None, method) and (fault.path is None or path.startswith(fault.path)):
                    self._queue.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.latency = 0.0
            self.token_latency = 0.0
