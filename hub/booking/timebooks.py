"""Which timebook serves a clinic: its record system (behind the resilience layer), its fallback
calendar when that system cannot answer, or the built-in calendar as its only timebook."""

from __future__ import annotations

import gc
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from clinic_adapters import ClinicAdapter, ClinicRef, get_adapter
from clinic_adapters.resilience import HealthBoard, ResiliencePolicy, ResilientAdapter
from hub import db
from hub.models import Clinic
from standalone_calendar import StandaloneCalendarAdapter

#: Slot ids of the fallback calendar carry this prefix, so a booking knows where it belongs.
FALLBACK_PREFIX = "fb:"

_lock = threading.Lock()
log = logging.getLogger(__name__)


def clinic_ref(clinic: Clinic) -> ClinicRef:
    return ClinicRef(hsa_id=clinic.hsa_id, timezone=clinic.timezone)


def standalone() -> StandaloneCalendarAdapter:
    """The built-in calendar, writing in the request's transaction."""
    return StandaloneCalendarAdapter(session=db.session)


def health_board(app: Flask | None = None) -> HealthBoard:
    app = app or current_app
    return app.extensions.setdefault("hub.health", HealthBoard())


@dataclass(frozen=True)
class _Cached:
    fingerprint: str
    adapter: ResilientAdapter


def _policy(app: Flask, overrides: dict[str, Any]) -> ResiliencePolicy:
    return ResiliencePolicy(
        deadline_seconds=float(
            overrides.get("deadline_seconds", app.config["RECORD_SYSTEM_DEADLINE_SECONDS"])
        ),
        failure_threshold=int(overrides.get("failure_threshold", app.config["BREAKER_FAILURE_THRESHOLD"])),
        reset_after_seconds=float(overrides.get("reset_after_seconds", app.config["BREAKER_RESET_SECONDS"])),
        read_retries=int(overrides.get("read_retries", 1)),
    )


@dataclass(frozen=True)
class Connection:
    """What it takes to reach a clinic's record system: plain values, safe to hand to a thread."""

    clinic_id: int
    hsa_id: str
    key: str
    config: dict[str, Any]

    @classmethod
    def of(cls, clinic: Clinic) -> Connection:
        return cls(clinic.id, clinic.hsa_id, clinic.connection, dict(clinic.connection_config or {}))


def connect(app: Flask, connection: Connection) -> ResilientAdapter:
    """Return the record-system adapter of a connection, built once per configuration and kept.

    Building one can take a while (TLS contexts, WSDL parsing), so callers that must answer
    within a deadline call this in a worker thread, not before it.
    """
    config = dict(connection.config)
    resilience = config.pop("resilience", {})
    fingerprint = json.dumps([connection.key, config, resilience], sort_keys=True)
    cache: dict[int, _Cached] = app.extensions.setdefault("hub.adapters", {})
    with _lock:
        cached = cache.get(connection.clinic_id)
        if cached is not None and cached.fingerprint == fingerprint:
            return cached.adapter
    # Remote adapters keep HTTP connections and parsed WSDLs, so one instance serves all requests.
    inner = get_adapter(connection.key, config)
    with _lock:
        cached = cache.get(connection.clinic_id)
        if cached is not None and cached.fingerprint == fingerprint:
            _retire(inner, after=0)  # another thread built it meanwhile; nobody holds this one
            return cached.adapter
        board = health_board(app)
        if cached is not None:
            board.unregister(cached.adapter.name)
            # Requests that took it before the change may still be using it; their deadlines are
            # seconds. Then its kept-alive connections to the old address are closed.
            _retire(cached.adapter.inner, after=RETIRE_AFTER_SECONDS)
        adapter = ResilientAdapter(inner, _policy(app, resilience), board=board, name=connection.hsa_id)
        cache[connection.clinic_id] = _Cached(fingerprint, adapter)
    # A parsed WSDL is a large graph of objects that lives as long as the process. Left in the
    # collected generations, every full collection walks it again: 100-160 ms pauses of every
    # thread, once per search or so at 100 clinics (bench/federated_search.py). Frozen, the
    # collector skips it.
    gc.freeze()
    return adapter


def built_adapter(app: Flask, clinic_id: int) -> ResilientAdapter | None:
    """The clinic's record-system adapter if one was built already (never builds one)."""
    with _lock:
        cached = app.extensions.get("hub.adapters", {}).get(clinic_id)
    return cached.adapter if cached is not None else None


#: How long an adapter replaced by a configuration change stays open for requests that hold it.
RETIRE_AFTER_SECONDS = 120.0


def _retire(adapter: ClinicAdapter, *, after: float) -> None:
    """Close an adapter's connections (those that keep any) now or ``after`` seconds from now."""
    close = getattr(adapter, "close", None)
    if close is None:
        return
    if after <= 0:
        _close_quietly(close)
        return
    timer = threading.Timer(after, _close_quietly, (close,))
    timer.daemon = True
    timer.start()


def _close_quietly(close: Any) -> None:
    try:
        close()
    except Exception:  # a connection that is already gone; nothing to release
        log.debug("closing a retired adapter failed", exc_info=True)


def record_system(clinic: Clinic) -> ResilientAdapter:
    """Return the clinic's record-system adapter (behind its circuit breaker and deadline)."""
    return connect(current_app._get_current_object(), Connection.of(clinic))  # type: ignore[attr-defined]


def timebook_for(clinic: Clinic) -> ClinicAdapter:
    """Return the adapter that holds the clinic's times."""
    if clinic.connection == "standalone":
        return standalone()
    return record_system(clinic)


def is_fallback_slot(slot_id: str) -> bool:
    return slot_id.startswith(FALLBACK_PREFIX)
