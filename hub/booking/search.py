"""Federated search: the first free times of a slot type across many clinics, in parallel.

Every clinic gets an answer status, so the citizen never sees a silently partial list: ``ok``,
``slow`` (did not answer within the deadline), ``unavailable`` (its system is down) or
``fallback`` (its system is down and its reserve calendar answered instead).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters import Slot
from clinic_adapters.resilience import CallPool, Outcome, OutcomeStatus, fan_out
from clinic_adapters.timezones import to_local, utc_now
from hub.booking import operations as ops
from hub.models import CaseType, Clinic, ClinicCaseType, ClinicSlotType


class ClinicStatus(enum.StrEnum):
    OK = "ok"
    SLOW = "slow"
    UNAVAILABLE = "unavailable"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class ClinicAnswer:
    clinic: Clinic
    status: ClinicStatus
    slots: list[Slot]

    @property
    def first_free(self) -> Slot | None:
        return self.slots[0] if self.slots else None


@dataclass(frozen=True)
class FederatedResult:
    slot_type: str
    answers: list[ClinicAnswer]
    seconds: float

    def first_times(self, limit: int) -> list[tuple[Clinic, Slot]]:
        """Return the earliest times over all clinics that answered, soonest first."""
        merged = [(a.clinic, s) for a in self.answers for s in a.slots]
        return sorted(merged, key=lambda pair: (pair[1].start, pair[0].name))[:limit]


#: Fan-out workers: one per clinic asked at once. A region has about 100 clinics with record
#: systems; a smaller pool would queue the last ones behind the first answers (a second round
#: trip). Threads start only when needed, so the cap costs nothing until it is used.
FEDERATED_WORKERS = 256


#: What the record systems are given when reading the region took the whole deadline: they are
#: still asked (their answers fill the cache for the next search), but nobody waits for them.
NO_TIME_LEFT = 0.001


#: Workers reloading cached answers in the background. Few: a reload has no one waiting, and in a
#: large region one search can claim hundreds at once; in the search pool they would hold the
#: workers the next searches' own calls need, and take the processor in one burst.
RELOAD_WORKERS = 16


def _pool(app: Flask) -> CallPool:
    return app.extensions.setdefault("hub.federated_pool", CallPool(FEDERATED_WORKERS, "federated-search"))


def _reload_pool(app: Flask) -> CallPool:
    return app.extensions.setdefault("hub.reload_pool", CallPool(RELOAD_WORKERS, "free-time-reload"))


def clinics_offering(db: Session, slot_type_code: str, municipality: str | None = None) -> list[Clinic]:
    query = (
        select(Clinic)
        .join(ClinicSlotType, ClinicSlotType.clinic_id == Clinic.id)
        .join(ClinicCaseType, ClinicCaseType.clinic_id == Clinic.id)
        .where(
            Clinic.active.is_(True),
            ClinicSlotType.code == slot_type_code,
            ClinicSlotType.visible.is_(True),
            ClinicCaseType.case_type == CaseType.BOOK,
            ClinicCaseType.enabled.is_(True),
        )
        .order_by(Clinic.name)
    )
    clinics = list(db.scalars(query).unique())
    if municipality:
        clinics = [c for c in clinics if c.municipality.lower() == municipality.strip().lower()]
    return clinics


def _short_last_day(clinic: Clinic, first_day: date | None) -> date:
    # The first free times are near: a short window keeps each record system's answer small.
    first = first_day or to_local(utc_now(), clinic.timezone).date()
    return first + timedelta(days=int(current_app.config["FEDERATED_SEARCH_DAYS"]) - 1)


def first_free_times(
    db: Session,
    slot_type_code: str,
    *,
    municipality: str | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
    per_clinic: int = 3,
) -> FederatedResult:
    """Ask every clinic offering the slot type at once; answer within the federated deadline,
    which counts from the start of the search: reading a large region's clinics and cached
    answers comes out of it, as the citizen waits for that too."""
    started = time.perf_counter()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    clinics = clinics_offering(db, slot_type_code, municipality)
    # A window depends only on the clinic's time zone, and a region's clinics mostly share one.
    by_zone: dict[str, tuple[datetime, datetime]] = {}
    for c in clinics:
        if c.timezone not in by_zone:
            by_zone[c.timezone] = ops.search_window(c, first_day, last_day or _short_last_day(c, first_day))
    windows = {c.id: by_zone[c.timezone] for c in clinics}
    remote = [c for c in clinics if c.connection != "standalone"]
    # Only the first few times: a record system that can sort reads and sends no more.
    queries = {c.id: ops.record_system_query(c, slot_type_code, *windows[c.id], per_clinic) for c in remote}
    # Cached answers are read here: a worker thread per clinic would cost more than the answer.
    outcomes: dict[int, Outcome[list[Slot]]] = {}
    refreshes = []
    for clinic_id, query in queries.items():
        if (cached := query.cached()) is not None:
            outcomes[clinic_id] = Outcome(OutcomeStatus.OK, value=cached)
            if (claim := query.claim_refresh()) is not None:
                refreshes.append((query, claim))
    # The slowest first (and those not asked yet, which may be slow): the search waits for them
    # anyway, and the quick ones answer while they are still on their way.
    asked = sorted((q for k, q in queries.items() if k not in outcomes), key=lambda q: -q.typical_seconds())
    calls: dict[int, Callable[[], list[Slot]]] = {q.connection.clinic_id: q for q in asked}
    if calls:
        left = float(app.config["FEDERATED_DEADLINE_SECONDS"]) - (time.perf_counter() - started)
        outcomes |= fan_out(calls, max(left, NO_TIME_LEFT), pool=_pool(app))
    # Answers soon to expire are asked again in the background, after this search's own calls:
    # the next searches then read them too, and no search waits for all of them at once.
    for query, claim in refreshes:
        _reload_pool(app).submit(query.refresh, claim)
    answers = []
    for clinic in clinics:
        start, end = windows[clinic.id]
        if clinic.connection == "standalone":
            slots = ops.slots_between(clinic, slot_type_code, start, end).slots
            answers.append(ClinicAnswer(clinic, ClinicStatus.OK, slots[:per_clinic]))
            continue
        outcome = outcomes[clinic.id]
        if outcome.ok:
            answers.append(ClinicAnswer(clinic, ClinicStatus.OK, (outcome.value or [])[:per_clinic]))
        elif clinic.has_fallback_calendar:
            slots = ops.fallback_slots(clinic, slot_type_code, start, end)
            answers.append(ClinicAnswer(clinic, ClinicStatus.FALLBACK, slots[:per_clinic]))
        else:
            status = ClinicStatus.SLOW if outcome.status is OutcomeStatus.SLOW else ClinicStatus.UNAVAILABLE
            answers.append(ClinicAnswer(clinic, status, []))
    return FederatedResult(slot_type_code, answers, time.perf_counter() - started)
