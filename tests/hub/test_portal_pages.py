"""The booking flow with plain forms: clinic list → day picker → confirm → book → my bookings →
move → cancel, without JavaScript."""

from __future__ import annotations

from booking_helpers import bookable_day
from portal_support import choose_and_confirm
from web_support import csrf_token


def test_citizen_books_moves_and_cancels_with_plain_forms(client, login, create_clinic) -> None:
    clinic = create_clinic()
    assert clinic.name in client.get("/").get_data(as_text=True)
    assert "Läkarbesök" in client.get(f"/clinics/{clinic.hsa_id}").get_data(as_text=True)
    login(client)
    day = bookable_day()
    action, fields = choose_and_confirm(
        client, f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={day}&day={day}"
    )
    booked = client.post(action, data=fields)
    assert booked.status_code == 302
    confirmation = client.get(booked.headers["Location"]).get_data(as_text=True)
    assert "Din tid är bokad." in confirmation and "08:00" in confirmation

    double_click = client.post(action, data=fields)  # same form sent twice books once
    assert double_click.headers["Location"] == booked.headers["Location"]

    mine = client.get("/bookings").get_data(as_text=True)
    assert clinic.name in mine and "08:00" in mine
    booking_id = booked.headers["Location"].split("/")[2].split("?")[0]
    move_action, move_fields = choose_and_confirm(
        client, f"/bookings/{booking_id}/rebook?from={day}&day={day}", index=0
    )
    assert move_action == f"/bookings/{booking_id}/rebook"
    assert client.post(move_action, data=move_fields).status_code == 302
    assert "08:20" in client.get(f"/bookings/{booking_id}").get_data(as_text=True)

    cancelled = client.post(
        f"/bookings/{booking_id}/cancel", data={"csrf_token": csrf_token(client, "/bookings")}
    )
    assert cancelled.status_code == 302
    assert "Du har inga kommande bokningar." in client.get("/bookings").get_data(as_text=True)


def test_booking_form_without_csrf_token_is_refused(client, login, create_clinic) -> None:
    clinic = create_clinic()
    login(client)
    day = bookable_day()
    action, fields = choose_and_confirm(
        client, f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={day}&day={day}"
    )
    fields.pop("csrf_token")
    response = client.post(action, data=fields, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    assert "Du har inga kommande bokningar." in client.get("/bookings").get_data(as_text=True)


def test_taken_time_shows_a_translated_page_with_a_way_back(client, login, create_clinic, app) -> None:
    clinic = create_clinic()
    login(client, "tolvan")
    day = bookable_day()
    url = f"/clinics/{clinic.hsa_id}/times?slot_type=LAKARBESOK&from={day}&day={day}"
    action, fields = choose_and_confirm(client, url)
    other = app.test_client()
    login(other, "anna")
    _, other_fields = choose_and_confirm(other, url)
    assert client.post(action, data=fields).status_code == 302
    refused = other.post(action, data=other_fields, headers={"Accept-Language": "de"})
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "Jemand anderes hat diesen Termin gerade gebucht" in text and "Zurück zur Startseite" in text
