"""Booking commands and queries; they flush, the request commits.

A booking at a clinic whose timebook shares our database (the built-in calendar) is one
transaction. A booking in a remote record system is first recorded as pending and committed,
then sent, then reconciled with the answer, so a crash or a lost reply never loses it. When the
record system cannot be reached, clinics with a fallback calendar are booked there and the
booking waits in the durable sync queue (see :mod:`hub.booking.sync`).
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import functools
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Executable, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from clinic_adapters import (
    AdapterError,
    BookingResult,
    ClinicRef,
    SeriesRequest,
    Slot,
    Subject,
    Unavailable,
    normalize_hsa_id,
)
from clinic_adapters.resilience import DeadlineExceeded
from clinic_adapters.timezones import local_day_bounds_utc, to_local, utc_now
from hub import audit
from hub.booking.cache import RefreshClaim, slot_cache
from hub.booking.clinic_settings import BookingContext, ClinicSettings, clinic_settings
from hub.booking.events import booking_changed
from hub.booking.timebooks import (
    FALLBACK_PREFIX,
    Connection,
    built_adapter,
    clinic_ref,
    connect,
    is_fallback_slot,
    record_system,
    standalone,
    timebook_for,
)
from hub.citizens import subject_of
from hub.db import adopt_stored
from hub.driver_reads import DriverRead
from hub.errors import Conflict, NotAllowed, NotFound, RecordSystemUnavailable, SlotTaken, ValidationFailed
from hub.models import (
    Booking,
    BookingState,
    CaseType,
    Citizen,
    Clinic,
    ClinicSlotType,
    SyncJob,
    SyncJobKind,
    SyncJobState,
)
from hub.terms_gate import TermsStatus, require_accepted, require_terms_accepted
from standalone_calendar import StandaloneCalendarAdapter


class Source(enum.StrEnum):
    STANDALONE = "standalone"  # the clinic's only timebook is the built-in calendar
    RECORD_SYSTEM = "record_system"
    FALLBACK = "fallback"  # the record system is unreachable: the clinic's reserve calendar


@dataclass(frozen=True)
class SlotListing:
    slots: list[Slot]
    source: Source


def _record_change(db: Session, booking: Booking, change: str, **details: object) -> None:
    """Audit a citizen's change and tell listeners, in the booking's own transaction."""
    audit.record(
        db,
        actor_kind="citizen",
        actor_id=booking.citizen_id,
        action=f"booking.{change}",
        clinic_id=booking.clinic_id,
        citizen_id=booking.citizen_id,
        booking_id=booking.id,
        **details,
    )
    booking_changed.send(current_app._get_current_object(), db=db, booking=booking, change=change)


# -- directory -------------------------------------------------------------------------------------


def list_clinics(db: Session, municipality: str | None = None, query: str | None = None) -> list[Clinic]:
    stmt = select(Clinic).where(Clinic.active.is_(True)).order_by(Clinic.municipality, Clinic.name)
    if municipality:
        stmt = stmt.where(func.lower(Clinic.municipality) == municipality.strip().lower())
    if query:
        stmt = stmt.where(func.lower(Clinic.name).contains(query.strip().lower()))
    return list(db.scalars(stmt))


def municipalities(db: Session) -> list[str]:
    return list(
        db.scalars(
            select(Clinic.municipality)
            .where(Clinic.active.is_(True))
            .distinct()
            .order_by(Clinic.municipality)
        )
    )


def get_clinic(db: Session, hsa_id: str) -> Clinic:
    # The case types come in the same query: every command checks them.
    clinic = (
        db.scalars(
            select(Clinic)
            .where(Clinic.hsa_id == normalize_hsa_id(hsa_id))
            .options(joinedload(Clinic.case_types))
        )
        .unique()
        .one_or_none()
    )
    if clinic is None or not clinic.active:
        raise NotFound(_l("There is no clinic with that id."))
    return clinic


def booking_context(
    db: Session,
    hsa_id: str,
    citizen: tuple[str, str],
    case_type: CaseType = CaseType.BOOK,
    idempotency_key: str | None = None,
    slot_id: str | None = None,
) -> BookingContext:
    """The clinic as a booking command needs it, the citizen's id, terms status, the booking
    the idempotency key made and whether ``slot_id``, at the built-in calendar, is full: one
    statement while the process's snapshots of the clinic and calendar are current (see
    :mod:`hub.booking.clinic_settings`). ``citizen``: as :func:`hub.auth.citizen_reference`."""
    hsa_id = normalize_hsa_id(hsa_id)
    # Any slot id the built-in calendar can read, even at a clinic booked elsewhere: book() uses
    # the answer only when the calendar books this very id.
    seat = (
        standalone().seat_probe(ClinicRef(hsa_id), slot_id.removeprefix(FALLBACK_PREFIX)) if slot_id else None
    )
    found = clinic_settings.for_booking(db, hsa_id, citizen, case_type, idempotency_key, seat)
    if found is None or not found.clinic.active:
        raise NotFound(_l("There is no clinic with that id."))
    return found


def require_case_type(clinic: Clinic, case_type: CaseType) -> None:
    if case_type not in clinic.enabled_case_types():
        raise NotAllowed(_l("The clinic does not offer this online."))


def shown_slot_types(clinic: Clinic) -> list[ClinicSlotType]:
    return sorted((s for s in clinic.slot_types if s.visible), key=lambda s: s.code)


def shown_slot_type(clinic: Clinic, code: str) -> ClinicSlotType:
    for slot_type in shown_slot_types(clinic):
        if slot_type.code == code:
            return slot_type
    raise NotFound(_l("The clinic does not offer that kind of time online."))


# -- free times ------------------------------------------------------------------------------------


def search_days(clinic: Clinic, first_day: date | None, last_day: date | None) -> tuple[date, date]:
    """Check and complete the local days a citizen asks free times for."""
    today = to_local(utc_now(), clinic.timezone).date()
    first_day = first_day or today
    last_day = last_day or first_day + timedelta(days=current_app.config["SLOT_SEARCH_DAYS"] - 1)
    problems: dict[str, list[object]] = {}
    if first_day < today:
        problems["from"] = [_l("The first day cannot be in the past.")]
    if last_day < first_day:
        problems["to"] = [_l("The last day must not be before the first day.")]
    elif (last_day - first_day).days >= current_app.config["SLOT_SEARCH_MAX_DAYS"]:
        problems["to"] = [
            _l("Search at most %(days)s days at a time.", days=current_app.config["SLOT_SEARCH_MAX_DAYS"])
        ]
    if problems:
        raise ValidationFailed(fields=problems)
    return first_day, last_day


def search_window(clinic: Clinic, first_day: date | None, last_day: date | None) -> tuple[datetime, datetime]:
    """Return the instants ``[start, end)`` of the local days asked for, never before now."""
    first_day, last_day = search_days(clinic, first_day, last_day)
    start, _ = local_day_bounds_utc(first_day, clinic.timezone)
    _, end = local_day_bounds_utc(last_day, clinic.timezone)
    return max(start, utc_now()), end


@dataclass(frozen=True)
class RecordSystemQuery:
    """A question to a clinic's record system, answered through the short-lived cache.

    Calling it needs no app or database context, so it can run in a worker thread.
    """

    app: Any
    connection: Connection
    ref: ClinicRef
    slot_type_code: str
    start: datetime
    end: datetime
    #: Only the first this many times (a first-free search), or every time of the window.
    limit: int | None = None

    @property
    def _key(self) -> tuple[str, str, datetime, int | None]:
        # Not the start: a search's window starts now, so it moves on every search. An answer
        # loaded from an earlier start holds every time of a later one (see _covers).
        return ("slots", self.slot_type_code, self.end, self.limit)

    def _covers(self, entry: tuple[datetime, list[Slot]]) -> bool:
        loaded_start, slots = entry
        if loaded_start > self.start:
            return False
        if self.limit is None or len(slots) < self.limit:
            return True  # every time of the window from the loaded start on
        # The first times from an earlier start: enough of them must be still to come.
        return len(slots) - bisect.bisect_left(slots, self.start, key=_start_of) >= self.limit

    def cached(self) -> list[Slot] | None:
        """The answer from the cache, or None when the record system has to be asked."""
        hit = slot_cache(self.app).peek(self.connection.clinic_id, self._key)
        return self._from_start(hit[1]) if hit is not None and self._covers(hit) else None

    def __call__(self) -> list[Slot]:
        cache = slot_cache(self.app)
        entry = cache.get_or_load(self.connection.clinic_id, self._key, self._load, usable=self._covers)
        return self._from_start(entry[1])

    def claim_refresh(self) -> RefreshClaim | None:
        """Claim the background reload of this answer's cache entry, if it is due."""
        return slot_cache(self.app).claim_refresh(self.connection.clinic_id, self._key)

    def refresh(self, claim: RefreshClaim) -> None:
        """Ask the record system again and keep its answer; no caller waits for this."""
        slot_cache(self.app).refresh(claim, self._load)

    def _load(self) -> tuple[datetime, list[Slot]]:
        adapter = connect(self.app, self.connection)
        if self.limit is None:
            slots = adapter.available_slots(self.ref, self.slot_type_code, self.start, self.end)
        else:
            slots = adapter.earliest_slots(self.ref, self.slot_type_code, self.start, self.end, self.limit)
        # Sorted already, as the contract asks: then this costs one pass, and the cached list
        # can be cut by bisection on every later search.
        return self.start, sorted(slots, key=_start_of)

    def typical_seconds(self) -> float:
        """How long the record system took to answer reads lately; infinite when not known yet."""
        adapter = built_adapter(self.app, self.connection.clinic_id)
        seconds = adapter.typical_read_seconds(self.ref) if adapter is not None else None
        return math.inf if seconds is None else seconds

    def _from_start(self, slots: list[Slot]) -> list[Slot]:
        return slots[bisect.bisect_left(slots, self.start, key=_start_of) :][: self.limit]


def _start_of(slot: Slot) -> datetime:
    return slot.start


def record_system_query(
    clinic: Clinic, slot_type_code: str, start: datetime, end: datetime, limit: int | None = None
) -> RecordSystemQuery:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return RecordSystemQuery(
        app, Connection.of(clinic), clinic_ref(clinic), slot_type_code, start, end, limit
    )


def fallback_slots(clinic: Clinic, slot_type_code: str, start: datetime, end: datetime) -> list[Slot]:
    """Return the clinic's reserve-calendar times, with ids marked as fallback times."""
    slots = standalone().available_slots(clinic_ref(clinic), slot_type_code, start, end)
    return [dataclasses.replace(s, id=FALLBACK_PREFIX + s.id) for s in slots]


def slots_between(clinic: Clinic, slot_type_code: str, start: datetime, end: datetime) -> SlotListing:
    if clinic.connection == "standalone":
        return SlotListing(
            standalone().available_slots(clinic_ref(clinic), slot_type_code, start, end), Source.STANDALONE
        )
    try:
        return SlotListing(record_system_query(clinic, slot_type_code, start, end)(), Source.RECORD_SYSTEM)
    except Unavailable:
        if not clinic.has_fallback_calendar:
            raise
        return SlotListing(fallback_slots(clinic, slot_type_code, start, end), Source.FALLBACK)


def free_slots(
    clinic: Clinic, slot_type_code: str, first_day: date | None = None, last_day: date | None = None
) -> SlotListing:
    """Return the free times of a shown slot type between two local days, inclusive."""
    require_case_type(clinic, CaseType.BOOK)
    shown_slot_type(clinic, slot_type_code)
    start, end = search_window(clinic, first_day, last_day)
    return slots_between(clinic, slot_type_code, start, end)


# -- booking ---------------------------------------------------------------------------------------


# Read past SQLAlchemy (hub.driver_reads): every attempt that lost a race for a seat asks it.
_BOOKING_OF_KEY = DriverRead(
    select(Booking.__table__.c.id).where(
        Booking.__table__.c.citizen_id == bindparam("citizen_id"),
        Booking.__table__.c.idempotency_key == bindparam("idempotency_key"),
    )
)


def _existing(db: Session, citizen: Citizen, idempotency_key: str) -> Booking | None:
    # The id first; the object only when there is one (most lookups find none).
    row = _BOOKING_OF_KEY.first(db, {"citizen_id": citizen.id, "idempotency_key": idempotency_key})
    return _by_id(db, row[0] if row is not None else None)


def _twin(db: Session, citizen_id: str, idempotency_key: str) -> Booking | None:
    """:func:`_existing`, asked by a request whose transaction has just been rolled back: on
    PostgreSQL in autocommit, so a refusal opens no transaction for it."""
    row = _BOOKING_OF_KEY.first_before_transaction(
        db, {"citizen_id": citizen_id, "idempotency_key": idempotency_key}
    )
    return _by_id(db, row[0] if row is not None else None)


@functools.cache
def _claim_statement(dialect: str) -> Executable:
    """``INSERT … ON CONFLICT (citizen_id, idempotency_key) DO NOTHING RETURNING id``, built once."""
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:  # pragma: no cover - the hub supports SQLite and PostgreSQL only
        raise RuntimeError(f"unsupported database: {dialect}")
    table = Booking.__table__
    return (
        insert(table)
        .values({column.key: bindparam(column.key, type_=column.type) for column in table.columns})
        .on_conflict_do_nothing(index_elements=["citizen_id", "idempotency_key"])
        .returning(table.c.id)
    )


def _pending_values(
    citizen: Citizen, clinic: Clinic, idempotency_key: str, slot_id: str, timebook: str
) -> dict[str, Any]:
    """Every column of a new booking row, as a pending booking (the time not yet booked)."""
    now = utc_now()
    return {
        "id": str(uuid.uuid4()),
        "citizen_id": citizen.id,
        "clinic_id": clinic.id,
        "idempotency_key": idempotency_key,
        "slot_id": slot_id,
        "slot_type_code": None,
        "external_id": None,
        "timebook": timebook,
        "starts_at": None,
        "ends_at": None,
        "performer_name": None,
        "status": BookingState.PENDING,
        "message": None,
        "series_id": None,
        "fallback_booking_id": None,
        "created_at": now,
        "updated_at": now,
    }


def _claim(db: Session, values: dict[str, Any]) -> bool:
    """Insert a booking row in one statement; ``False`` if its idempotency key was used already.

    A concurrent request with the same key waits for the first one's transaction and then
    inserts nothing. A Core statement, and no object until :func:`_stored` is asked for one.
    """
    return db.execute(_claim_statement(db.get_bind().dialect.name), values).first() is not None


def _claim_key(
    db: Session, citizen: Citizen, clinic: Clinic, idempotency_key: str, slot_id: str, timebook: str
) -> dict[str, Any] | None:
    """Store the pending booking and return its values; ``None`` if this key was used already."""
    values = _pending_values(citizen, clinic, idempotency_key, slot_id, timebook)
    return values if _claim(db, values) else None


def _stored(db: Session, values: dict[str, Any]) -> Booking:
    """The claimed booking as an object of the session, built from the values just inserted."""
    return adopt_stored(db, Booking, values)


def _earlier(db: Session, citizen: Citizen, clinic: Clinic, slot_id: str, idempotency_key: str) -> Booking:
    """The booking an earlier request with this key made (or is still making)."""
    earlier = _existing(db, citizen, idempotency_key)
    if earlier is None:
        raise Conflict(_l("This request is already being handled."))
    return _same_request(earlier, clinic, slot_id)


def _answer(result: BookingResult, timebook_key: str) -> dict[str, Any]:
    """A booking's columns as the timebook's answer sets them; ``slot_id`` stays what the citizen
    asked for (their key's request)."""
    slot = result.booking.slot
    return {
        "external_id": result.booking.booking_id,
        "slot_type_code": slot.time_type_id,
        "starts_at": slot.start,
        "ends_at": slot.end,
        "performer_name": slot.performer_name,
        "timebook": timebook_key,
        "message": result.message,
        "status": BookingState.BOOKED,
    }


def _apply(booking: Booking, result: BookingResult, timebook_key: str) -> None:
    """Copy the timebook's answer onto a stored booking."""
    for name, value in _answer(result, timebook_key).items():
        setattr(booking, name, value)


def _same_request(existing: Booking, clinic: Clinic, slot_id: str) -> Booking:
    if existing.clinic_id != clinic.id or existing.slot_id != slot_id:
        raise Conflict(_l("This request was already used for another booking."))
    return existing


class _NotLookedUp(enum.Enum):
    TOKEN = enum.auto()


#: ``book(earlier=...)`` when the caller has not looked the idempotency key up.
NOT_LOOKED_UP = _NotLookedUp.TOKEN


def book(
    db: Session,
    citizen: Citizen | Callable[[], Citizen],
    clinic: Clinic | ClinicSettings,
    slot_id: str,
    idempotency_key: str,
    terms: TermsStatus | None = None,
    earlier: str | _NotLookedUp | None = NOT_LOOKED_UP,
    full_slot_type: str | None = None,
) -> tuple[Booking, bool]:
    """Book a time once per idempotency key; return the booking and whether it is new.

    A repeated request is answered with the booking its key made, whatever changed since.
    ``earlier``: the id of that booking (``None``: there is none) when the caller read it for this
    request already (:func:`booking_context`); ``full_slot_type``: what that same statement
    said of the built-in calendar's time (:attr:`BookingContext.full_slot_type`). ``citizen``
    may be given as a function that makes it, called only when needed: a time that was full
    is refused without it.

    At a clinic whose timebook shares our database the key is stored together with the booking,
    after the timebook booked the time, so a refused attempt (nine of ten in a rush) writes
    nothing. Booking is the request's first write: a time refused by its seat rolls the request's
    transaction back at once. A remote record system is asked only after the key is stored and
    committed (:func:`_book_remotely`).
    """
    in_fallback = is_fallback_slot(slot_id)
    if in_fallback and not (clinic.connection != "standalone" and clinic.has_fallback_calendar):
        raise NotFound(_l("That time or booking does not exist."))
    timebook = standalone() if in_fallback else timebook_for(clinic)
    if not (in_fallback or timebook.capabilities.transactional):
        citizen = _made(citizen)
        return _book_claiming_first(db, citizen, clinic, slot_id, idempotency_key, timebook.key, terms)
    if earlier is NOT_LOOKED_UP:
        citizen = _made(citizen)
        found = _existing(db, citizen, idempotency_key)
    else:
        found = _by_id(db, earlier)
    if found is not None:
        return _same_request(found, clinic, slot_id), False
    require_case_type(clinic, CaseType.BOOK)
    if terms is None:
        citizen = _made(citizen)
        require_terms_accepted(db, citizen, clinic, CaseType.BOOK)
    else:
        require_accepted(terms, clinic, CaseType.BOOK)
    if (
        full_slot_type is not None
        and earlier is not NOT_LOOKED_UP
        and timebook.key == StandaloneCalendarAdapter.key
    ):
        # Full, and without this key's booking, in one snapshot: no twin of this request can have
        # booked the time before it, so the answer needs no seat and no second look at the key.
        shown_slot_type(clinic, full_slot_type)  # hidden types are never bookable
        raise SlotTaken()
    citizen = _made(citizen)
    try:
        result = timebook.make_booking(
            clinic_ref(clinic), slot_id.removeprefix(FALLBACK_PREFIX), _told(timebook, citizen)
        )
    except AdapterError:
        # A refused seat statement still holds the time's row (see hub.errors), and in a rush the
        # other attempts at the time queue behind it, one after another: the transaction, which
        # has written nothing else, ends before anything more is asked.
        citizen_id = citizen.id
        db.rollback()
        # A double click: the twin request waited for this time's seat while the first one booked
        # it, and is answered with that booking rather than "taken". Read now, after the wait.
        twin = _twin(db, citizen_id, idempotency_key)
        if twin is None:
            raise
        return _same_request(twin, clinic, slot_id), False
    shown_slot_type(clinic, result.booking.slot.time_type_id)  # hidden types are never bookable
    values = _pending_values(citizen, clinic, idempotency_key, slot_id, timebook.key)
    values.update(_answer(result, timebook.key))
    if in_fallback:
        # Booked in the reserve calendar: the record system gets it through the sync queue.
        values["fallback_booking_id"] = result.booking.booking_id
        values["status"] = BookingState.PENDING_SYNC
    if not _claim(db, values):
        # The same key, sent at the same moment for another time (the twin of a double click for
        # the same time is answered above): rolled back with this request, seat included.
        raise Conflict(_l("This request is already being handled."))
    booking = _stored(db, values)
    if in_fallback:
        db.add(
            SyncJob(booking=booking, clinic_id=clinic.id, kind=SyncJobKind.WRITE, next_attempt_at=utc_now())
        )
    db.flush()
    _record_change(db, booking, "created", fallback=in_fallback)
    return booking, True


def _made(citizen: Citizen | Callable[[], Citizen]) -> Citizen:
    return citizen if isinstance(citizen, Citizen) else citizen()


def _told(timebook: Any, citizen: Citizen) -> Subject:
    """What a timebook is told about the citizen. One in our own database (the built-in calendar)
    stores only the hub's pseudonymous reference, so it gets nothing more: no personal number or
    names unsealed for it. A record system gets what its contract requires."""
    if timebook.capabilities.transactional:
        return Subject(ref=citizen.id)
    return subject_of(citizen)


def _by_id(db: Session, booking_id: str | None) -> Booking | None:
    return db.get(Booking, booking_id) if booking_id is not None else None


def _book_claiming_first(
    db: Session,
    citizen: Citizen,
    clinic: Clinic | ClinicSettings,
    slot_id: str,
    idempotency_key: str,
    timebook_key: str,
    terms: TermsStatus | None,
) -> tuple[Booking, bool]:
    """Book in a remote record system: the key is claimed first, and every refusal after the claim
    rolls the request back, claim included."""
    claimed = _claim_key(db, citizen, clinic, idempotency_key, slot_id, timebook_key)
    if claimed is None:
        return _earlier(db, citizen, clinic, slot_id, idempotency_key), False
    require_case_type(clinic, CaseType.BOOK)
    require_terms_accepted(db, citizen, clinic, CaseType.BOOK, known=terms)
    booking = _stored(db, claimed)
    _book_remotely(db, citizen, clinic, booking, slot_id)
    db.flush()
    _record_change(db, booking, "created")
    return booking, True


def _book_remotely(db: Session, citizen: Citizen, clinic: Clinic, booking: Booking, slot_id: str) -> None:
    """Send a recorded pending booking to the record system and reconcile with the answer."""
    db.commit()  # the pending booking and its key survive whatever happens next
    adapter = record_system(clinic)
    try:
        result = adapter.make_booking(clinic_ref(clinic), slot_id, subject_of(citizen))
        shown_slot_type(clinic, result.booking.slot.time_type_id)
    except DeadlineExceeded:
        # The record system may still book it: keep the attempt and let the sync worker find out.
        db.add(
            SyncJob(
                booking=booking, clinic_id=clinic.id, kind=SyncJobKind.RECONCILE, next_attempt_at=utc_now()
            )
        )
        db.commit()
        raise RecordSystemUnavailable(
            _l(
                "The clinic's booking system did not answer in time. We will check whether the time "
                "was booked and show it under My bookings."
            )
        ) from None
    except Unavailable:
        db.delete(booking)  # definitely not booked: nothing may remain of the attempt
        db.commit()
        # Cached free times would hide the outage; the next listing shows the reserve calendar.
        slot_cache(current_app._get_current_object()).invalidate(clinic.id)  # type: ignore[attr-defined]
        if clinic.has_fallback_calendar:
            raise RecordSystemUnavailable(
                _l(
                    "The clinic's booking system is not answering right now. Please choose a time again: "
                    "the clinic's reserve times are shown meanwhile."
                )
            ) from None
        raise
    except Exception:
        db.delete(booking)  # refused or taken: nothing may remain of the attempt
        db.commit()
        raise
    _apply(booking, result, adapter.key)


def book_series(
    db: Session, citizen: Citizen, clinic: Clinic, slot_ids: Sequence[str], idempotency_key: str
) -> tuple[list[Booking], bool]:
    """Book linked times (dose 1 and dose 2) together: all of them or none."""
    keys = [f"{idempotency_key}#{n}" for n in range(1, len(slot_ids) + 1)]
    earlier = [b for b in (_existing(db, citizen, k) for k in keys) if b is not None]
    if earlier:
        if [b.slot_id for b in earlier] != list(slot_ids) or any(b.clinic_id != clinic.id for b in earlier):
            raise Conflict(_l("This request was already used for another booking."))
        return earlier, False
    require_case_type(clinic, CaseType.BOOK)
    require_terms_accepted(db, citizen, clinic, CaseType.BOOK)
    timebook = timebook_for(clinic)
    if not timebook.capabilities.series_booking:
        raise NotAllowed(_l("The clinic does not offer this online."))
    bookings = []
    for key, slot_id in zip(keys, slot_ids, strict=True):
        claimed = _claim_key(db, citizen, clinic, key, slot_id, timebook.key)
        if claimed is None:
            raise Conflict(_l("This request is already being handled."))
        bookings.append(_stored(db, claimed))
    results = timebook.book_series(
        clinic_ref(clinic), SeriesRequest(slot_ids=list(slot_ids)), _told(timebook, citizen)
    )
    series_id = results[0].booking.booking_id
    for booking, result in zip(bookings, results, strict=True):
        shown_slot_type(clinic, result.booking.slot.time_type_id)
        _apply(booking, result, timebook.key)
        booking.series_id = series_id
    db.flush()
    for booking in bookings:
        _record_change(db, booking, "created", series=True)
    return bookings, True


# -- changing a booking ----------------------------------------------------------------------------


def own_booking(db: Session, citizen: Citizen, booking_id: str) -> Booking:
    booking = db.get(Booking, booking_id)
    if booking is None or booking.citizen_id != citizen.id:
        raise NotFound(_l("We could not find that booking."))
    return booking


def _changeable(booking: Booking) -> None:
    if not booking.is_active:
        raise Conflict(_l("This booking is already cancelled."))
    require_case_type(booking.clinic, CaseType.REBOOK_CANCEL)


def _waiting_job(db: Session, booking: Booking) -> SyncJob | None:
    return db.scalar(
        select(SyncJob).where(SyncJob.booking_id == booking.id, SyncJob.state == SyncJobState.PENDING)
    )


def _release_fallback_seat(booking: Booking) -> None:
    """Give back the reserve-calendar seat of a booking that now lives in the record system."""
    if booking.fallback_booking_id:
        standalone().release(clinic_ref(booking.clinic), booking.fallback_booking_id)
        booking.fallback_booking_id = None


def rebook(db: Session, citizen: Citizen, booking_id: str, new_slot_id: str) -> Booking:
    """Move a booking to another time; the old time is kept until the new one is confirmed."""
    booking = own_booking(db, citizen, booking_id)
    _changeable(booking)
    require_terms_accepted(db, citizen, booking.clinic, CaseType.REBOOK_CANCEL)
    clinic = booking.clinic
    old_start = booking.starts_at
    if booking.status == BookingState.PENDING_SYNC:
        # Not yet in the record system: move it within the reserve calendar; the queue sends the new time.
        if not is_fallback_slot(new_slot_id):
            raise NotAllowed(_l("Choose one of the times shown for this booking."))
        result = standalone().update_booking(
            clinic_ref(clinic),
            booking.external_id or "",
            new_slot_id.removeprefix(FALLBACK_PREFIX),
            _told(standalone(), citizen),
        )
        _apply(booking, result, "standalone")
        booking.status = BookingState.PENDING_SYNC
    else:
        timebook = timebook_for(clinic)
        result = timebook.update_booking(
            clinic_ref(clinic), booking.external_id or "", new_slot_id, _told(timebook, citizen)
        )
        _apply(booking, result, timebook.key)
        _release_fallback_seat(booking)
    booking.slot_id = new_slot_id
    db.flush()
    _record_change(
        db,
        booking,
        "rebooked",
        before=old_start.isoformat() if old_start else None,
        after=booking.starts_at.isoformat() if booking.starts_at else None,
    )
    return booking


def cancel(db: Session, citizen: Citizen, booking_id: str) -> Booking:
    """Cancel a booking; the time is free for others at once."""
    booking = own_booking(db, citizen, booking_id)
    _changeable(booking)
    require_terms_accepted(db, citizen, booking.clinic, CaseType.REBOOK_CANCEL)
    clinic = booking.clinic
    if booking.status == BookingState.PENDING_SYNC:
        result = standalone().cancel_booking(
            clinic_ref(clinic), booking.external_id or "", _told(standalone(), citizen)
        )
        job = _waiting_job(db, booking)
        if job is not None:
            job.state = SyncJobState.CANCELLED
            job.finished_at = utc_now()
        booking.fallback_booking_id = None
    else:
        timebook = timebook_for(clinic)
        result = timebook.cancel_booking(
            clinic_ref(clinic), booking.external_id or "", _told(timebook, citizen)
        )
        _release_fallback_seat(booking)
    booking.status = BookingState.CANCELLED
    booking.message = result.message
    db.flush()
    _record_change(db, booking, "cancelled")
    return booking


def my_bookings(db: Session, citizen: Citizen) -> list[Booking]:
    """Return the citizen's bookings, soonest first (attempts still in flight left out)."""
    return list(
        db.scalars(
            select(Booking)
            .where(
                Booking.citizen_id == citizen.id,
                Booking.status != BookingState.PENDING,
                Booking.starts_at.is_not(None),
            )
            .order_by(Booking.starts_at)
        )
    )
