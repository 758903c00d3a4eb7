"""Reminders: a configurable time before the visit, once per time, following moves and cancellations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar
from notify_helpers import make_worker, outbox

from hub.db import database
from hub.models import Booking
from hub.notifications.messages import Visit, calendar_file, render_booking_message
from hub.notifications.models import Kind, State
from hub.notifications.outbox import queue_due_reminders


def _sweep(napp, now: datetime) -> int:
    with napp.app_context(), database(napp).session_scope() as session:
        return queue_due_reminders(session, now)


def _start(db, booking_id: str) -> datetime:
    db.rollback()
    return db.get(Booking, booking_id).starts_at


def test_reminder_is_queued_once_when_its_time_comes(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(email="tolvan@example.se", email_consent=True)
    booking = book_one(clinic.hsa_id)
    start = _start(db, booking["id"])

    assert _sweep(napp, start - timedelta(hours=25)) == 0, "not yet"
    assert _sweep(napp, start - timedelta(hours=23)) == 1
    assert _sweep(napp, start - timedelta(hours=22)) == 0, "never twice"
    reminders = [m for m in outbox(db) if m.kind == Kind.REMINDER]
    assert [(m.visit_at, m.state) for m in reminders] == [(start, State.PENDING)]

    make_worker(napp, smtp=smtp_server).run_once(now=start - timedelta(hours=22))
    subjects = sorted(m["Subject"] for m in smtp_server.box.messages)
    assert subjects == ["Bokningen är bekräftad", "Påminnelse om besök"]


def test_a_moved_booking_is_reminded_of_its_new_time_only(
    napp, nclient, login, create_clinic, set_profile, book_one, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    booking = book_one(clinic.hsa_id)
    old_start = _start(db, booking["id"])
    assert _sweep(napp, old_start - timedelta(hours=23)) == 1

    day = date.today() + timedelta(days=4)
    slots = nclient.get(f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAKARBESOK&from={day}&to={day}")
    moved = nclient.post(
        f"/api/v1/bookings/{booking['id']}/rebook", json={"slot_id": slots.get_json()["slots"][0]["id"]}
    )
    assert moved.status_code == 200, moved.get_json()
    new_start = _start(db, booking["id"])

    assert _sweep(napp, new_start - timedelta(hours=23)) == 1
    reminders = {(m.visit_at, m.state) for m in outbox(db) if m.kind == Kind.REMINDER}
    assert reminders == {(old_start, State.CANCELLED), (new_start, State.PENDING)}
    assert [m.kind for m in outbox(db) if m.kind == Kind.CHANGE] == [Kind.CHANGE]


def test_a_cancelled_booking_gets_no_reminder(
    napp, nclient, login, create_clinic, set_profile, book_one, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    booking = book_one(clinic.hsa_id)
    start = _start(db, booking["id"])
    assert _sweep(napp, start - timedelta(hours=23)) == 1
    assert nclient.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}).status_code == 200

    assert _sweep(napp, start - timedelta(hours=22)) == 0
    states = {m.kind: m.state for m in outbox(db)}
    assert states[Kind.REMINDER] == State.CANCELLED and states[Kind.CANCELLATION] == State.PENDING


def test_a_booking_made_inside_the_reminder_window_is_not_reminded(
    napp, nclient, login, create_clinic, set_profile, book_one, db, monkeypatch
) -> None:
    monkeypatch.setitem(napp.config, "REMINDER_HOURS_BEFORE", 24 * 7)  # the visit is sooner than that
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    booking = book_one(clinic.hsa_id)
    assert _sweep(napp, _start(db, booking["id"]) - timedelta(hours=1)) == 0


def test_messages_and_invitations_keep_the_clinics_wall_clock_across_a_clock_change(napp) -> None:
    # 2026-10-25: Stockholm leaves summer time at 03:00; a 09:00 visit is 08:00 UTC, not 07:00.
    visit = Visit(
        starts_at=datetime(2026, 10, 25, 8, 0, tzinfo=UTC),
        ends_at=datetime(2026, 10, 25, 8, 20, tzinfo=UTC),
        timezone="Europe/Stockholm",
        clinic_name=None,
        place=None,
    )
    with napp.app_context():
        rendered = render_booking_message(Kind.REMINDER, visit, "sv", "b-1")
        invitation = Calendar.from_ical(calendar_file(visit, "b-1", "REQUEST", "en"))
    assert "söndag 25 oktober 2026 kl. 09:00" in rendered.text
    assert "Påminnelse: du har en bokad tid." in rendered.sms and "09:00" in rendered.sms
    start = invitation.walk("VEVENT")[0].decoded("dtstart")
    assert (start.hour, start.minute, str(start.tzinfo)) == (9, 0, "Europe/Stockholm")
