"""A time that is already full is refused by the statement that reads the booking's context, with
no seat taken or waited for; what that statement may not know sends the attempt the long way."""

from __future__ import annotations

import threading
import time

import pytest
from booking_helpers import book, free_slots
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import terms
from clinic_adapters.timezones import utc_now
from hub.models import Booking
from standalone_calendar import settings
from standalone_calendar.models import SeatCount, SlotType


def _full_time(client, login, create_clinic, app, **clinic_options):
    """A clinic whose first free time tolvan just booked (capacity 1), and anna's client."""
    clinic = create_clinic(**clinic_options)
    login(client, "tolvan")
    slot = free_slots(client, clinic.hsa_id)[0]
    assert book(client, clinic.hsa_id, slot["id"]).status_code == 201
    other = app.test_client()
    login(other, "anna")
    return clinic, slot, other


def test_a_full_time_is_refused_at_once_while_its_seat_is_locked(
    client, login, create_clinic, app, db, elsewhere
) -> None:
    """A cancellation in progress holds the seat's row: a citizen asking for the full time is
    told at once that it is taken, instead of queueing behind that change."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer at a time)")
    clinic, slot, other = _full_time(client, login, create_clinic, app)
    elsewhere.execute(text("SELECT id FROM sc_seat_count FOR UPDATE")).all()
    answers = []
    attempt = threading.Thread(
        target=lambda: answers.append(book(other, clinic.hsa_id, slot["id"], key="anna-key-1")), daemon=True
    )
    attempt.start()
    attempt.join(timeout=10)
    answered_while_locked = bool(answers)
    elsewhere.rollback()  # lets a waiting attempt through, so a failure does not hang the run
    attempt.join(timeout=10)
    assert answered_while_locked, "the attempt waited for the locked seat"
    assert answers[0].status_code == 409
    assert answers[0].get_json()["code"] == "slot_taken"


def test_a_time_whose_capacity_was_just_raised_is_booked(
    client, login, create_clinic, app, db, elsewhere
) -> None:
    """The process's snapshot of the calendar still says one seat: the statement proves it stale,
    and the second citizen gets the seat the administrator added."""
    clinic, slot, other = _full_time(client, login, create_clinic, app)
    elsewhere.scalar(select(SlotType)).capacity = 2
    elsewhere.commit()

    response = book(other, clinic.hsa_id, slot["id"], key="anna-key-1")

    assert response.status_code == 201, response.get_json()
    db.expire_all()
    assert db.scalar(select(SeatCount.booked)) == 2


def test_unaccepted_terms_come_before_a_full_time(client, login, create_clinic, app, db) -> None:
    """The citizen is first asked to accept the clinic's terms, as for a free time; only then may
    they hear the time is gone."""
    clinic, slot, other = _full_time(client, login, create_clinic, app)
    points = {"sv": ["Kom i tid"], "en": ["Be on time"], "de": ["Seien Sie pünktlich"]}
    version = terms.save_draft(db, clinic.hsa_id, "book", points, author_key="a", now=utc_now())
    terms.approve(db, version, approver_key="b", now=utc_now())
    db.commit()

    response = book(other, clinic.hsa_id, slot["id"], key="anna-key-1")

    assert response.status_code == 409
    assert response.get_json()["code"] == "terms_not_accepted"


def test_a_retry_of_the_booking_that_filled_the_time_is_answered_with_it(
    client, login, create_clinic, db
) -> None:
    clinic = create_clinic()
    login(client, "tolvan")
    slot = free_slots(client, clinic.hsa_id)[0]
    first = book(client, clinic.hsa_id, slot["id"], key="tolvan-key-1")

    again = book(client, clinic.hsa_id, slot["id"], key="tolvan-key-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    db.expire_all()
    assert db.scalar(select(SeatCount.booked)) == 1
    assert len(db.scalars(select(Booking)).all()) == 1


def test_a_full_time_of_a_kind_no_longer_shown_is_not_found_like_a_free_one(
    client, login, create_clinic, app, db, elsewhere
) -> None:
    from hub.models import ClinicSlotType

    clinic, slot, other = _full_time(client, login, create_clinic, app)
    elsewhere.scalar(select(ClinicSlotType)).visible = False
    elsewhere.commit()

    response = book(other, clinic.hsa_id, slot["id"], key="anna-key-1")

    assert response.status_code == 404
    db.expire_all()
    assert len(db.scalars(select(Booking)).all()) == 1


def test_a_citizen_no_longer_on_record_is_asked_to_log_in_even_at_a_full_time(
    client, login, create_clinic, app, db
) -> None:
    """The refusal of a full time needs nothing of the citizen but that there is one."""
    clinic, slot, other = _full_time(client, login, create_clinic, app)
    db.execute(text("DELETE FROM citizen WHERE id NOT IN (SELECT citizen_id FROM booking)"))  # anna's
    db.commit()

    response = book(other, clinic.hsa_id, slot["id"], key="anna-key-1")

    assert response.status_code == 401
    assert db.scalar(select(SeatCount.booked)) == 1


def test_a_booking_needs_no_query_of_its_own_to_prove_the_calendars_snapshot(
    client, login, create_clinic
) -> None:
    """The context statement read the calendar's settings stamp, before the request's
    transaction began on PostgreSQL; the booking in that transaction takes the stamp from it."""
    clinic = create_clinic()
    login(client)
    slot = free_slots(client, clinic.hsa_id)[0]
    stamp_queries = []

    def seen(state) -> None:
        if state.statement is settings._STAMP_QUERY:
            stamp_queries.append(state)

    event.listen(Session, "do_orm_execute", seen)  # on sessions: the engine's fast path stays on
    try:
        assert book(client, clinic.hsa_id, slot["id"]).status_code == 201
    finally:
        event.remove(Session, "do_orm_execute", seen)
    assert stamp_queries == []


def test_an_attempt_that_loses_the_race_lets_go_of_the_time_before_it_asks_anything_more(
    client, login, create_clinic, app, db, elsewhere
) -> None:
    """In a rush, the attempts that lost a time wait for its row one after another: each holds
    it from the moment it is refused until its transaction ends. So a refused attempt lets go
    first and only then asks whether a twin of its request (a double click) booked the time."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer at a time)")
    clinic = create_clinic(capacity=2)
    login(client, "tolvan")
    slot = free_slots(client, clinic.hsa_id)[0]
    assert book(client, clinic.hsa_id, slot["id"]).status_code == 201  # one of two seats
    other = app.test_client()
    login(other, "anna")
    # Someone takes the last seat and has not committed: anna's attempt sees a free seat, and its
    # seat statement waits for that change.
    elsewhere.execute(text("UPDATE sc_seat_count SET booked = booked + 1"))
    engine = db.get_bind()
    held_while_asking: list[bool] = []

    def note_the_lock(_conn, _cursor, statement: str, *_args) -> None:
        if statement.startswith("SELECT booking.id") and "booking.idempotency_key =" in statement:
            with engine.connect() as look:
                try:
                    look.execute(text("SELECT id FROM sc_seat_count FOR UPDATE NOWAIT")).all()
                    held_while_asking.append(False)
                except OperationalError:
                    held_while_asking.append(True)
                look.rollback()

    answers = []
    attempt = threading.Thread(
        target=lambda: answers.append(book(other, clinic.hsa_id, slot["id"], key="anna-key-1")), daemon=True
    )
    event.listen(engine, "before_cursor_execute", note_the_lock)
    try:
        attempt.start()
        _wait_for_a_lock_wait(engine)
        elsewhere.commit()  # the last seat is gone: anna's statement is refused
        attempt.join(timeout=10)
    finally:
        event.remove(engine, "before_cursor_execute", note_the_lock)

    assert answers and answers[0].status_code == 409, answers
    assert answers[0].get_json()["code"] == "slot_taken"
    assert held_while_asking == [False], "the refused attempt still held the time while it asked for its twin"


def _wait_for_a_lock_wait(engine, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with engine.connect() as watch:
        while time.monotonic() < deadline:
            waiting = watch.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            watch.rollback()  # a fresh snapshot of the activity view next time
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the attempt never waited for the seat")
