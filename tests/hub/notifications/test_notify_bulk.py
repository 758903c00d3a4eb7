"""Bulk messages: recipients, a review that shows who cannot be reached, restricted templates, report."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from notify_helpers import make_worker, outbox, readable
from sqlalchemy import select

from hub.errors import ValidationFailed
from hub.models import AuditEvent, Clinic
from hub.notifications import bulk
from hub.notifications.models import Channel, State
from hub.notifications.outbox import set_discreet

DAY = date.today() + timedelta(days=3)  # the day book_one books on
TEMPLATES = {
    "sv": "Din tid {date} kl. {time} på {clinic_name} är flyttad till rum 2. {portal_url}",
    "en": "Your appointment on {date} at {time} at {clinic_name} is in room 2 now. {portal_url}",
}


@pytest.fixture
def day_of_bookings(nclient, login, create_clinic, set_profile, book_one):
    """Four citizens booked on one day: e-mail consent, e-mail without consent, nothing, SMS only."""
    clinic = create_clinic(capacity=4)
    people = {
        "anna": {"email": "anna@example.se", "email_consent": True, "language": "en"},
        "erik": {"email": "erik@example.se", "email_consent": False},
        "fatima": None,
        "tolvan": {"phone": "0701234567", "sms_consent": True},
    }
    bookings = {}
    for person, profile in people.items():
        login(nclient, person)
        if profile:
            set_profile(**profile)
        bookings[person] = book_one(clinic.hsa_id)["id"]
    return clinic, bookings


def test_review_shows_who_lacks_consent_or_contact_details(napp, db, day_of_bookings) -> None:
    clinic, bookings = day_of_bookings
    with napp.test_request_context():
        rows = bulk.review(
            db, db.get(Clinic, clinic.id), bulk.Criteria(day=DAY), [Channel.EMAIL, Channel.SMS], "staff-7"
        )
        db.commit()
    by_booking = {row.booking_id: row for row in rows}
    assert by_booking[bookings["anna"]].status == {"email": "ok", "sms": "no_contact"}
    assert by_booking[bookings["erik"]].status == {"email": "no_consent", "sms": "no_contact"}
    assert by_booking[bookings["fatima"]].status == {"email": "no_contact", "sms": "no_contact"}
    assert by_booking[bookings["tolvan"]].status == {"email": "no_contact", "sms": "ok"}
    included = {row.citizen_name for row in rows if row.included}
    assert included == {"Anna Lindqvist", "Tolvan Tolvansson"}, "the others are excluded by default"
    assert "Anna" not in repr(rows[0])
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "notifications.bulk_review")).one()
    assert (audit.actor_kind, audit.actor_id, audit.details["bookings"]) == ("staff", "staff-7", 4)


def test_bulk_goes_only_to_those_with_consent_and_reports_what_went_out(
    napp, db, day_of_bookings, smtp_server, sms_provider
) -> None:
    clinic, bookings = day_of_bookings
    with napp.test_request_context():
        sent = bulk.send_bulk(
            db,
            db.get(Clinic, clinic.id),
            criteria=bulk.Criteria(day=DAY, slot_type_code="LAKARBESOK"),
            channels=[Channel.EMAIL, Channel.SMS],
            templates=TEMPLATES,
            actor_id="staff-7",
        )
        db.commit()
    assert {(m.booking_id, m.channel) for m in outbox(db) if m.bulk_id == sent.id} == {
        (bookings["anna"], Channel.EMAIL),
        (bookings["tolvan"], Channel.SMS),
    }

    make_worker(napp, smtp=smtp_server, sms=sms_provider).run_once()

    # The confirmations of the bookings went out too; pick the bulk message.
    (mail,) = [m for m in smtp_server.box.messages if m["Subject"].startswith("Message from")]
    assert mail["To"] == "anna@example.se" and mail["Subject"] == f"Message from {clinic.name}"
    body = readable(mail)
    assert "is in room 2 now" in body and clinic.name in body and "https://portal.example/bookings" in body
    (sms,) = [m for m in sms_provider.delivered.values() if "rum 2" in m["text"]]
    assert sms["to"] == "+46701234567" and sms["text"].startswith("Din tid ") and "rum 2" in sms["text"]
    for text in (body, sms["text"]):
        assert "Lindqvist" not in text and "Läkarbesök" not in text and "191212121212" not in text

    db.rollback()  # see the worker's commits
    with napp.test_request_context():
        report = bulk.report(db, db.get(Clinic, clinic.id), sent.id)
    assert report.counts == {"email": {"sent": 1}, "sms": {"sent": 1}}
    assert report.excluded == {
        "email:no_consent": 1,
        "email:no_contact": 2,
        "sms:no_contact": 3,
    }


def test_chosen_recipients_can_be_left_out(napp, db, day_of_bookings) -> None:
    clinic, bookings = day_of_bookings
    with napp.test_request_context():
        sent = bulk.send_bulk(
            db,
            db.get(Clinic, clinic.id),
            criteria=bulk.Criteria(day=DAY),
            channels=[Channel.EMAIL],
            templates={"sv": "Välkommen {date} kl. {time}."},
            actor_id="staff-7",
            excluded_bookings=frozenset({bookings["anna"]}),
        )
        db.commit()
    assert [m for m in outbox(db) if m.bulk_id == sent.id] == []
    assert sent.excluded["chosen"] == 1


def test_another_day_or_slot_type_selects_nobody(napp, db, day_of_bookings) -> None:
    clinic, _ = day_of_bookings
    found = db.get(Clinic, clinic.id)
    assert bulk.select_bookings(db, found, bulk.Criteria(day=DAY + timedelta(days=1))) == []
    assert bulk.select_bookings(db, found, bulk.Criteria(slot_type_code="VACCINATION")) == []
    assert len(bulk.select_bookings(db, found, bulk.Criteria())) == 4


@pytest.mark.parametrize(
    "template",
    [
        "Hej {name}, din tid är {time}.",
        "Ditt personnummer {personal_number}",
        "Född {birth_date}",
        "Besök för {slot_type}",
        "Tid {time.__class__}",
        "Tid {time!r}",
        "Tid {time:>20}",
        "Tid {0}",
        "Hej 19121212-1212, välkommen.",
        "Hej 121212-1212, välkommen.",
        "Obalanserad { klammer",
        "",
    ],
)
def test_templates_allow_only_time_place_and_clinic(napp, template: str) -> None:
    with napp.test_request_context(), pytest.raises(ValidationFailed):
        bulk.check_template(template, discreet=False)


def test_templates_with_plain_braces_and_allowed_placeholders_pass(napp) -> None:
    with napp.test_request_context():
        text = "Tid {date} {time} på {place} ({clinic_name}) {{rum 2}} {portal_url}"
        assert bulk.check_template(text, discreet=False) == text


def test_a_discreet_clinic_cannot_be_named_in_bulk(napp, db, day_of_bookings) -> None:
    clinic, _ = day_of_bookings
    set_discreet(db, clinic.id, True)
    db.commit()
    with napp.test_request_context(), pytest.raises(ValidationFailed) as refused:
        bulk.send_bulk(
            db,
            db.get(Clinic, clinic.id),
            criteria=bulk.Criteria(day=DAY),
            channels=[Channel.EMAIL],
            templates={"sv": "Välkommen till {clinic_name} {time}."},
            actor_id="staff-7",
        )
    assert "template_sv" in refused.value.fields
    db.rollback()
    assert [m for m in outbox(db) if m.state == State.PENDING and m.bulk_id] == []
