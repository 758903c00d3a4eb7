"""E-mail against a real SMTP server on 127.0.0.1: language, calendar file, discretion, at most once."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from icalendar import Calendar
from notify_helpers import make_worker, outbox, readable

from clinic_adapters.timezones import to_local, utc_now
from hub.models import Booking
from hub.notifications.models import State
from hub.notifications.outbox import set_discreet

PERSONAL_NUMBER_FORMS = ("191212121212", "19121212-1212", "121212-1212", "1212121212", "19121212", "121212")


def _calendar_of(mail) -> Calendar:
    (part,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


def test_confirmation_arrives_in_the_citizens_language_with_a_calendar_file(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(email="Tolvan@Example.SE", email_consent=True, language="de")
    booking = book_one(clinic.hsa_id)

    assert make_worker(napp, smtp=smtp_server).run_once() == 1

    (mail,) = smtp_server.box.messages
    assert mail["To"] == "Tolvan@example.se"
    assert mail["Content-Language"] == "de"
    assert mail["Subject"] == "Buchung bestätigt"
    body = mail.get_body(("plain",)).get_content()
    assert "Ihr Termin ist gebucht." in body
    stored = db.get(Booking, booking["id"])
    local = to_local(stored.starts_at, clinic.timezone)
    assert f"{local:%H:%M}" in body and clinic.name in body

    event = _calendar_of(mail).walk("VEVENT")[0]
    assert event.decoded("dtstart") == local
    assert str(event["dtstart"].params["TZID"]) == "Europe/Stockholm"
    assert _calendar_of(mail).walk("VTIMEZONE"), "the zone travels with the invitation"
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=20)
    assert event["uid"] == f"{booking['id']}@bookings.hub"

    raw = readable(mail)
    for secret in (*PERSONAL_NUMBER_FORMS, "Tolvan ", "Tolvansson", "Arzttermin", "LAKARBESOK", "Läkarbesök"):
        assert secret not in raw
    assert [m.state for m in outbox(db)] == [State.SENT]


def test_a_discreet_clinic_is_not_named_in_mail_or_calendar(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, db
) -> None:
    clinic = create_clinic()
    set_discreet(db, clinic.id, True)
    db.commit()
    login(nclient, "anna")
    set_profile(email="anna@example.se", email_consent=True, language="en")
    book_one(clinic.hsa_id)

    make_worker(napp, smtp=smtp_server).run_once()

    (mail,) = smtp_server.box.messages
    raw = readable(mail)
    assert clinic.name not in raw and "Testmottagningen" not in raw and "Solna" not in raw
    assert "Your appointment is booked." in mail.get_body(("plain",)).get_content()
    assert "https://portal.example/bookings" in raw
    event = _calendar_of(mail).walk("VEVENT")[0]
    assert str(event["summary"]) == "Appointment" and "location" not in event


def test_cancellation_sends_a_cancelling_invitation(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(email="tolvan@example.se", email_consent=True, language="sv")
    booking = book_one(clinic.hsa_id)
    assert nclient.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}).status_code == 200

    assert make_worker(napp, smtp=smtp_server).run_once() == 2

    confirmation, cancellation = smtp_server.box.messages
    assert confirmation["Subject"] == "Bokningen är bekräftad"
    assert cancellation["Subject"] == "Bokningen är avbokad"
    calendar = _calendar_of(cancellation)
    assert str(calendar["method"]) == "CANCEL"
    assert calendar.walk("VEVENT")[0]["uid"] == f"{booking['id']}@bookings.hub"


def test_unreachable_mail_server_is_retried_later_with_backoff(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, db
) -> None:
    from notify_helpers import SmtpServer, free_port

    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(email="tolvan@example.se", email_consent=True)
    book_one(clinic.hsa_id)
    nobody = SmtpServer("127.0.0.1", free_port(), smtp_server.box)

    assert make_worker(napp, smtp=nobody, retry_base_seconds=60).run_once() == 0
    (message,) = outbox(db)
    assert (message.state, message.attempts) == (State.PENDING, 1)
    assert message.next_attempt_at > utc_now() + timedelta(seconds=40)
    assert message.last_error == "ConnectionRefusedError"

    worker = make_worker(napp, smtp=smtp_server)
    assert worker.run_once() == 0, "not before its time"
    assert worker.run_once(now=utc_now() + timedelta(minutes=2)) == 1
    assert len(smtp_server.box.messages) == 1


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


class DiesAfterSending:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.idempotent = inner.idempotent

    def send(self, message) -> str:
        self.inner.send(message)
        raise Killed


def test_mail_in_doubt_after_a_crash_is_not_sent_again_and_the_unsent_one_is(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, db
) -> None:
    from hub.notifications.models import Channel

    clinic = create_clinic(capacity=2)
    login(nclient, "tolvan")
    set_profile(email="tolvan@example.se", email_consent=True)
    first, second = book_one(clinic.hsa_id, 0), book_one(clinic.hsa_id, 1)

    doomed = make_worker(napp, smtp=smtp_server)
    doomed.senders = {Channel.EMAIL: DiesAfterSending(doomed.senders[Channel.EMAIL])}
    with contextlib.suppress(Killed):
        doomed.run_once()
    assert len(smtp_server.box.messages) == 1
    states = {m.booking_id: m.state for m in outbox(db)}
    assert states == {first["id"]: State.SENDING, second["id"]: State.PENDING}

    restarted = make_worker(napp, smtp=smtp_server, sending_lease_seconds=300)
    restarted.run_once()
    states = {m.booking_id: m.state for m in outbox(db)}
    assert states == {first["id"]: State.SENDING, second["id"]: State.SENT}, "the crashed claim's lease runs"
    restarted.run_once(now=utc_now() + timedelta(minutes=6))

    states = {m.booking_id: m.state for m in outbox(db)}
    assert states == {first["id"]: State.IN_DOUBT, second["id"]: State.SENT}
    ids = [m["Message-ID"] for m in smtp_server.box.messages]
    assert len(ids) == 2 and len(set(ids)) == 2, "each message went out exactly once"

    # An operator who checked the mail log may release it; then, and only then, it goes again.
    in_doubt = next(m for m in outbox(db) if m.state == State.IN_DOUBT)
    runner = napp.test_cli_runner()
    assert runner.invoke(args=["notifications-release", "no-such-id"]).exit_code == 1
    assert runner.invoke(args=["notifications-release", in_doubt.id]).exit_code == 0
    restarted.run_once()
    assert smtp_server.box.messages[-1]["Message-ID"] == ids[0]
