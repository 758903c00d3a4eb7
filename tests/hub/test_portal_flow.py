"""The citizen portal's steps, messages and files, driven with plain forms (no JavaScript)."""

from __future__ import annotations

from datetime import time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from booking_helpers import bookable_day
from icalendar import Calendar
from portal_support import choose_and_confirm, time_choice
from web_support import csrf_token

import terms
from clinic_adapters.timezones import utc_now
from hub.models import CaseType


def _book(client, clinic, day=None) -> str:
    day = day or bookable_day()
    action, fields = choose_and_confirm(
        client, f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={day}&day={day}"
    )
    booked = client.post(action, data=fields)
    assert booked.status_code == 302, booked.get_data(as_text=True)
    return booked.headers["Location"].split("/")[2].split("?")[0]


def test_the_steps_lead_from_the_clinic_card_to_the_day_picker(client, create_clinic) -> None:
    clinic = create_clinic()
    card = client.get(f"/clinics/{clinic.hsa_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Book a new time" in card and "Move or cancel a booked time" in card
    steps = client.get(f"/clinics/{clinic.hsa_id}/book", headers={"Accept-Language": "en"})
    assert "Step 1 of 5" in steps.get_data(as_text=True)
    chosen = client.get(f"/clinics/{clinic.hsa_id}/book?case_type=book")
    assert chosen.headers["Location"] == f"/clinics/{clinic.hsa_id}/book/kind"
    kinds = client.get(chosen.headers["Location"]).get_data(as_text=True)
    assert 'name="slot_type" value="LAKARBESOK"' in kinds
    moving = client.get(f"/clinics/{clinic.hsa_id}/book?case_type=rebook_cancel")
    assert moving.headers["Location"] == "/bookings"


def test_clinic_search_filters_by_case_type(client, create_clinic) -> None:
    both = create_clinic()
    only_book = create_clinic(case_types=(CaseType.BOOK,))
    page = client.get("/?case_type=rebook_cancel").get_data(as_text=True)
    assert both.name in page and only_book.name not in page


def test_day_picker_shows_each_days_count_and_the_chosen_days_times(client, create_clinic) -> None:
    clinic = create_clinic(opens=time(8), closes=time(9))
    day = bookable_day()
    page = client.get(
        f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={day}&day={day}",
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert 'role="status"' in page and "3 free times on" in page
    assert page.count('name="slot"') == 3


def test_continuing_without_a_time_or_with_a_taken_one_explains_it_at_the_picker(
    client, login, create_clinic
) -> None:
    clinic = create_clinic()
    login(client)
    day = bookable_day()
    base = f"/clinics/{clinic.hsa_id}/confirm?slot_type=LAKARBESOK&day={day}"
    missing = client.get(base, headers={"Accept-Language": "en"}, follow_redirects=True)
    text = missing.get_data(as_text=True)
    assert 'id="slot-error"' in text and "Choose a time." in text and 'aria-describedby="slot-error"' in text
    gone = client.get(base + "&slot=no-such-slot", headers={"Accept-Language": "en"}, follow_redirects=True)
    assert "That time is no longer free" in gone.get_data(as_text=True)


def test_a_past_first_day_is_an_error_tied_to_its_field(client, create_clinic) -> None:
    clinic = create_clinic()
    yesterday = bookable_day() - timedelta(days=10)
    page = client.get(
        f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={yesterday}",
        headers={"Accept-Language": "de"},
    ).get_data(as_text=True)
    assert 'aria-invalid="true" aria-describedby="from-error"' in page
    assert 'id="from-error"' in page and "Vergangenheit" in page


def test_confirm_page_asks_to_log_in_and_comes_back(client, create_clinic) -> None:
    clinic = create_clinic()
    day = bookable_day()
    picker = client.get(f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={day}&day={day}")
    action, fields = time_choice(picker.get_data(as_text=True))
    page = client.get(action, query_string=fields, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Log in to book" in page and "/dev-login?next=" in page and "confirm-form" not in page


def test_my_bookings_show_the_cancellation_deadline_and_the_calendar_file(
    client, login, create_clinic
) -> None:
    clinic = create_clinic(cancel_deadline_minutes=48 * 60)
    login(client)
    booking_id = _book(client, clinic)
    mine = client.get("/bookings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "You can move or cancel online until" in mine
    assert f"/bookings/{booking_id}/rebook" in mine and f"/bookings/{booking_id}/cancel" in mine

    ics = client.get(f"/bookings/{booking_id}/calendar.ics")
    assert ics.mimetype == "text/calendar"
    assert ics.headers["Content-Disposition"] == 'attachment; filename="booking.ics"'
    calendar = Calendar.from_ical(ics.data)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["dtstart"].dt.tzinfo) == "Europe/Stockholm"
    assert event["dtstart"].dt.hour == 8 and event["uid"] == f"{booking_id}@bookings.hub"
    assert calendar.walk("VTIMEZONE")


def test_too_late_to_change_says_so_instead_of_offering_buttons(client, login, create_clinic) -> None:
    clinic = create_clinic(cancel_deadline_minutes=30 * 24 * 60)
    login(client)
    booking_id = _book(client, clinic)
    page = client.get(f"/bookings/{booking_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "too late to change this booking online" in page
    assert f"/bookings/{booking_id}/cancel" not in page


def test_cancel_asks_first(client, login, create_clinic) -> None:
    clinic = create_clinic()
    login(client)
    booking_id = _book(client, clinic)
    page = client.get(f"/bookings/{booking_id}/cancel", headers={"Accept-Language": "sv"})
    page = page.get_data(as_text=True)
    assert "Ja, avboka tiden" in page and "Nej, behåll bokningen" in page


def _approved_terms(db, clinic) -> None:
    points = {
        "sv": ["Avboka senast dagen före."],
        "en": ["Cancel at the latest the day before."],
        "de": ["Absagen spätestens am Vortag."],
    }
    version = terms.save_draft(db, clinic.hsa_id, "book", points, author_key="anna", now=utc_now())
    terms.approve(db, version, approver_key="bert", now=utc_now())
    db.commit()


def test_terms_come_after_the_case_type_and_lead_on_to_the_kind_of_visit(
    client, db, login, create_clinic
) -> None:
    clinic = create_clinic()
    _approved_terms(db, clinic)
    login(client)
    chosen = client.get(f"/clinics/{clinic.hsa_id}/book?case_type=book")
    terms_page = chosen.headers["Location"]
    assert terms_page.startswith(f"/clinics/{clinic.hsa_id}/terms/book?next=")
    page = client.get(terms_page, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Cancel at the latest the day before." in page
    accepted = client.post(
        f"/clinics/{clinic.hsa_id}/terms/book",
        data={
            "version": "1",
            "next": f"/clinics/{clinic.hsa_id}/book/kind",
            "csrf_token": csrf_token(client),
        },
    )
    assert accepted.headers["Location"] == f"/clinics/{clinic.hsa_id}/book/kind"
    again = client.get(f"/clinics/{clinic.hsa_id}/book?case_type=book")
    assert again.headers["Location"] == f"/clinics/{clinic.hsa_id}/book/kind"  # accepted once is enough
    _book(client, clinic)


def test_booking_before_accepting_the_terms_goes_to_them_keeping_the_chosen_time(
    client, db, login, create_clinic
) -> None:
    clinic = create_clinic()
    login(client)
    day = bookable_day()
    action, fields = choose_and_confirm(
        client, f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={day}&day={day}"
    )
    _approved_terms(db, clinic)  # approved while the citizen was choosing
    response = client.post(action, data=fields)
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.path == f"/clinics/{clinic.hsa_id}/terms/book"
    back = parse_qs(target.query)["next"][0]
    assert back.startswith(f"/clinics/{clinic.hsa_id}/confirm?") and f"slot={fields['slot_id']}" in back
    assert "Du har inga kommande bokningar." in client.get("/bookings").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/search", "/bookings"])
def test_pages_carry_a_strict_content_security_policy(client, path) -> None:
    policy = client.get(path).headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_error_pages_offer_a_way_forward(client) -> None:
    page = client.get("/no-such-page", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "What you can do" in page and "Back to the start page" in page


def test_a_record_system_that_is_down_gets_a_friendly_page_with_ways_forward(client, db) -> None:
    from hub.models import Clinic, ClinicCaseType, ClinicSlotType

    clinic = Clinic(
        hsa_id="SE2321000016-DOWN",
        name="Nedlagda vårdcentralen",
        municipality="Solna",
        connection="riv-crm-scheduling",
        connection_config={
            "endpoint": "http://127.0.0.1:9/dead",
            "connect_timeout": 0.5,
            "read_timeout": 0.5,
            "resilience": {"deadline_seconds": 1.0, "failure_threshold": 1, "read_retries": 0},
        },
    )
    db.add(clinic)
    db.flush()
    db.add(ClinicCaseType(clinic_id=clinic.id, case_type=CaseType.BOOK, enabled=True))
    db.add(ClinicSlotType(clinic_id=clinic.id, code="LAKARBESOK", visible=True, names={"sv": "Läkarbesök"}))
    db.commit()
    page = client.get(
        f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK", headers={"Accept-Language": "de"}
    )
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "Buchungssystem der Praxis antwortet gerade nicht" in text
    assert "Erneut versuchen" in text and "Zurück zur Startseite" in text
    assert "Traceback" not in text and "127.0.0.1:9" not in text


def test_first_free_times_say_for_every_clinic_how_it_answered(client, create_clinic, monkeypatch) -> None:
    from datetime import UTC, datetime

    from clinic_adapters import Slot
    from hub import portal
    from hub.booking.search import ClinicAnswer, ClinicStatus, FederatedResult

    clinics = [create_clinic() for _ in range(4)]
    start = datetime.combine(bookable_day(), time(8), tzinfo=UTC)
    slot = Slot("s-1", clinics[0].hsa_id, "LAKARBESOK", start, start + timedelta(minutes=20))
    statuses = [ClinicStatus.OK, ClinicStatus.FALLBACK, ClinicStatus.SLOW, ClinicStatus.UNAVAILABLE]
    answers = [
        ClinicAnswer(c, s, [slot] if s in {ClinicStatus.OK, ClinicStatus.FALLBACK} else [])
        for c, s in zip(clinics, statuses, strict=True)
    ]
    result = FederatedResult("LAKARBESOK", answers, 0.1)
    monkeypatch.setattr(portal.search, "first_free_times", lambda *args, **kwargs: result)
    page = client.get("/search?slot_type=LAKARBESOK", headers={"Accept-Language": "en"})
    page = page.get_data(as_text=True)
    for clinic in clinics:
        assert clinic.name in page  # never a silently shorter list
    assert "these are times from its reserve calendar" in page
    assert "did not answer in time" in page and "is not answering right now" in page
    assert "4 clinics asked." in page and "2 clinics could not answer." in page
