"""Booking through the JSON API: directory, free times, book, idempotency, rebook, cancel."""

from __future__ import annotations

from datetime import date, timedelta

from booking_helpers import book, bookable_day, free_slots
from sqlalchemy import func, select

from hub.models import AuditEvent, Booking


def _counts(db) -> tuple[int, int]:
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(Booking)),
        db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "login")),
    )


def test_clinic_directory_filters_by_municipality(client, create_clinic) -> None:
    create_clinic(municipality="Solna")
    create_clinic(municipality="Sundbyberg")
    everyone = client.get("/api/v1/clinics").get_json()["clinics"]
    assert {c["municipality"] for c in everyone} == {"Solna", "Sundbyberg"}
    solna = client.get("/api/v1/clinics?municipality=solna").get_json()["clinics"]
    assert [c["municipality"] for c in solna] == ["Solna"]


def test_clinic_ids_are_case_insensitive(client, create_clinic) -> None:
    clinic = create_clinic(hsa_id="SE2321000016-1HZ5")
    assert client.get("/api/v1/clinics/se2321000016-1hz5").get_json()["hsa_id"] == clinic.hsa_id


def test_book_then_it_shows_in_my_bookings_and_leaves_free_times(client, login, create_clinic) -> None:
    clinic = create_clinic()
    login(client)
    slot = free_slots(client, clinic.hsa_id)[0]
    response = book(client, clinic.hsa_id, slot["id"])
    assert response.status_code == 201
    booking = response.get_json()
    assert booking["status"] == "booked" and booking["start"] == slot["start"]
    assert [b["id"] for b in client.get("/api/v1/bookings").get_json()["bookings"]] == [booking["id"]]
    assert slot["id"] not in {s["id"] for s in free_slots(client, clinic.hsa_id)}


def test_repeated_request_with_same_key_books_once(client, login, create_clinic, db) -> None:
    clinic = create_clinic(capacity=3)
    login(client)
    slot = free_slots(client, clinic.hsa_id)[0]
    first = book(client, clinic.hsa_id, slot["id"], key="retry-key-1")
    again = book(client, clinic.hsa_id, slot["id"], key="retry-key-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert _counts(db)[0] == 1
    assert free_slots(client, clinic.hsa_id)[0]["free"] == 2  # one seat taken, not two


def test_idempotency_key_from_header(client, login, create_clinic) -> None:
    clinic = create_clinic()
    login(client)
    slot = free_slots(client, clinic.hsa_id)[0]
    body = {"clinic": clinic.hsa_id, "slot_id": slot["id"]}
    first = client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": "header-key-1"})
    again = client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": "header-key-1"})
    assert first.get_json()["id"] == again.get_json()["id"]


def test_same_key_for_another_slot_is_refused(client, login, create_clinic) -> None:
    clinic = create_clinic()
    login(client)
    first, second = free_slots(client, clinic.hsa_id)[:2]
    assert book(client, clinic.hsa_id, first["id"], key="reused-key").status_code == 201
    response = book(client, clinic.hsa_id, second["id"], key="reused-key")
    assert response.status_code == 409


def test_taken_slot_answers_409_in_the_users_language(client, login, create_clinic, app) -> None:
    clinic = create_clinic()
    login(client, "tolvan")
    slot = free_slots(client, clinic.hsa_id)[0]
    assert book(client, clinic.hsa_id, slot["id"]).status_code == 201
    other = app.test_client()
    login(other, "anna")
    expected = {
        "sv": "Någon annan bokade just den tiden. Välj en annan tid.",
        "en": "Someone else just booked that time. Please choose another time.",
        "de": "Jemand anderes hat diesen Termin gerade gebucht. Bitte wählen Sie einen anderen.",
    }
    for n, language in enumerate(["sv", "en", "de", "sv"]):  # the message is kept per language
        response = other.post(
            "/api/v1/bookings",
            json={"clinic": clinic.hsa_id, "slot_id": slot["id"], "idempotency_key": f"anna-key-{n}"},
            headers={"Accept-Language": language},
        )
        assert response.status_code == 409
        assert response.get_json() == {"code": "slot_taken", "fields": {}, "message": expected[language]}


def test_rebook_to_taken_time_leaves_old_booking_intact(client, login, create_clinic, app) -> None:
    clinic = create_clinic()
    login(client, "tolvan")
    first, second = free_slots(client, clinic.hsa_id)[:2]
    mine = book(client, clinic.hsa_id, first["id"]).get_json()
    other = app.test_client()
    login(other, "anna")
    assert book(other, clinic.hsa_id, second["id"], key="anna-key-1").status_code == 201
    response = client.post(f"/api/v1/bookings/{mine['id']}/rebook", json={"slot_id": second["id"]})
    assert response.status_code == 409
    kept = client.get(f"/api/v1/bookings/{mine['id']}").get_json()
    assert kept["status"] == "booked" and kept["start"] == first["start"]
    assert first["id"] not in {s["id"] for s in free_slots(client, clinic.hsa_id)}


def test_rebook_moves_the_booking(client, login, create_clinic, db) -> None:
    clinic = create_clinic()
    login(client)
    first, second = free_slots(client, clinic.hsa_id)[:2]
    mine = book(client, clinic.hsa_id, first["id"]).get_json()
    moved = client.post(f"/api/v1/bookings/{mine['id']}/rebook", json={"slot_id": second["id"]})
    assert moved.status_code == 200 and moved.get_json()["start"] == second["start"]
    free = {s["id"] for s in free_slots(client, clinic.hsa_id)}
    assert first["id"] in free and second["id"] not in free
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"booking.created", "booking.rebooked"} <= actions


def test_cancel_frees_the_time_at_once(client, login, create_clinic) -> None:
    clinic = create_clinic()
    login(client)
    slot = free_slots(client, clinic.hsa_id)[0]
    mine = book(client, clinic.hsa_id, slot["id"]).get_json()
    response = client.post(f"/api/v1/bookings/{mine['id']}/cancel", json={})
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert slot["id"] in {s["id"] for s in free_slots(client, clinic.hsa_id)}
    again = client.post(f"/api/v1/bookings/{mine['id']}/cancel", json={})
    assert again.status_code == 409


def test_cancel_without_rebook_cancel_case_type_is_refused(client, login, create_clinic) -> None:
    from hub.models import CaseType

    clinic = create_clinic(case_types=(CaseType.BOOK,))
    login(client)
    slot = free_slots(client, clinic.hsa_id)[0]
    mine = book(client, clinic.hsa_id, slot["id"]).get_json()
    assert client.post(f"/api/v1/bookings/{mine['id']}/cancel", json={}).status_code == 422


def test_citizen_cannot_see_or_cancel_another_citizens_booking(client, login, create_clinic, app) -> None:
    clinic = create_clinic()
    login(client, "tolvan")
    mine = book(client, clinic.hsa_id, free_slots(client, clinic.hsa_id)[0]["id"]).get_json()
    other = app.test_client()
    login(other, "anna")
    assert other.get(f"/api/v1/bookings/{mine['id']}").status_code == 404
    assert other.post(f"/api/v1/bookings/{mine['id']}/cancel", json={}).status_code == 404
    assert other.get("/api/v1/bookings").get_json()["bookings"] == []


def test_hidden_slot_type_is_not_listed_or_bookable(client, login, create_clinic) -> None:
    clinic = create_clinic(visible=False)
    login(client)
    response = client.get(f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAKARBESOK")
    assert response.status_code == 404


def test_booking_needs_login(client, create_clinic) -> None:
    clinic = create_clinic()
    slot = free_slots(client, clinic.hsa_id)[0]
    response = book(client, clinic.hsa_id, slot["id"])
    assert response.status_code == 401 and response.get_json()["code"] == "not_logged_in"


def test_a_login_whose_citizen_is_gone_cannot_book(client, create_clinic, db) -> None:
    clinic = create_clinic()
    slot = free_slots(client, clinic.hsa_id)[0]
    with client.session_transaction() as session:  # a test login's session, its citizen since removed
        session.update(citizen_id="0f5e2a43-8a7e-4c1e-9d55-000000000000", login_method="dev")
    response = book(client, clinic.hsa_id, slot["id"])
    assert response.status_code == 401 and response.get_json()["code"] == "not_logged_in"
    assert _counts(db)[0] == 0


def test_series_books_two_linked_times(client, login, create_clinic) -> None:
    clinic = create_clinic(series_days=(7, 14), horizon_days=28)
    login(client)
    dose1 = free_slots(client, clinic.hsa_id, bookable_day())[0]
    dose2 = free_slots(client, clinic.hsa_id, bookable_day() + timedelta(days=8))[0]
    body = {
        "clinic": clinic.hsa_id,
        "slot_ids": [dose1["id"], dose2["id"]],
        "idempotency_key": "series-key-1",
    }
    response = client.post("/api/v1/bookings/series", json=body)
    assert response.status_code == 201
    bookings = response.get_json()["bookings"]
    assert len({b["series_id"] for b in bookings}) == 1 and len(bookings) == 2
    assert client.post("/api/v1/bookings/series", json=body).get_json()["bookings"] == bookings


def test_series_outside_interval_is_refused_and_writes_nothing(client, login, create_clinic, db) -> None:
    clinic = create_clinic(series_days=(7, 14))
    login(client)
    dose1 = free_slots(client, clinic.hsa_id, bookable_day())[0]
    dose2 = free_slots(client, clinic.hsa_id, bookable_day() + timedelta(days=2))[0]
    response = client.post(
        "/api/v1/bookings/series",
        json={
            "clinic": clinic.hsa_id,
            "slot_ids": [dose1["id"], dose2["id"]],
            "idempotency_key": "series-key-2",
        },
    )
    assert response.status_code == 422
    assert _counts(db) == (0, 0)


def test_write_without_json_is_refused(client, login, create_clinic) -> None:
    clinic = create_clinic()
    login(client)
    slot = free_slots(client, clinic.hsa_id)[0]
    response = client.post(
        "/api/v1/bookings",
        data={"clinic": clinic.hsa_id, "slot_id": slot["id"], "idempotency_key": "form-key-1"},
    )
    assert response.status_code == 415


class TestBadInputChangesNothing:
    def test_unknown_clinic(self, client, login, db) -> None:
        login(client)
        response = book(client, "SE0000000000-NONE", "1-1-0")
        assert response.status_code == 404
        assert response.get_json()["message"] == "Det finns ingen mottagning med det id:t."
        assert _counts(db) == (0, 0)

    def test_malformed_dates_in_german(self, client, create_clinic) -> None:
        clinic = create_clinic()
        response = client.get(
            f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAKARBESOK&from=2026-13-45",
            headers={"Accept-Language": "de-DE,de;q=0.9"},
        )
        assert response.status_code == 422
        assert response.get_json()["fields"] == {
            "from": ["Kein gültiges Datum. Bitte im Format JJJJ-MM-TT angeben."]
        }

    def test_past_days_in_english(self, client, create_clinic) -> None:
        clinic = create_clinic()
        yesterday = date.today() - timedelta(days=2)
        response = client.get(
            f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAKARBESOK&from={yesterday}",
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 422
        assert response.get_json()["fields"] == {"from": ["The first day cannot be in the past."]}

    def test_past_time(self, client, login, create_clinic, db) -> None:
        from standalone_calendar import SlotKey
        from standalone_calendar.models import SlotType

        clinic = create_clinic()
        login(client)
        slot_type_id = db.scalar(select(SlotType.id))
        past = free_slots(client, clinic.hsa_id)[0]["id"].split("-")
        past_id = f"{slot_type_id}-{int(past[1]) - 5 * 24 * 60}-0"  # two days ago, whatever the hour
        assert SlotKey.decode(past_id).slot_type_id == slot_type_id
        response = book(client, clinic.hsa_id, past_id)
        assert response.status_code == 422 and response.get_json()["code"] == "not_allowed"
        assert _counts(db) == (0, 0)

    def test_slot_of_another_clinic(self, client, login, create_clinic, db) -> None:
        mine, other = create_clinic(), create_clinic()
        login(client)
        foreign = free_slots(client, other.hsa_id)[0]
        response = book(client, mine.hsa_id, foreign["id"])
        assert response.status_code == 404
        assert _counts(db) == (0, 0)

    def test_missing_and_malformed_fields(self, client, login, db) -> None:
        login(client)
        response = client.post(
            "/api/v1/bookings",
            json={"slot_id": "", "idempotency_key": "x"},
            headers={"Accept-Language": "sv"},
        )
        assert response.status_code == 422
        fields = response.get_json()["fields"]
        assert fields["clinic"] == ["Fältet måste fyllas i."]
        assert set(fields) == {"clinic", "slot_id", "idempotency_key"}
        assert _counts(db) == (0, 0)


def test_a_repeated_request_after_cancelling_names_the_cancelled_booking_and_books_nothing(
    client, login, create_clinic, db
) -> None:
    clinic = create_clinic(capacity=3)
    login(client)
    slot = free_slots(client, clinic.hsa_id)[0]
    first = book(client, clinic.hsa_id, slot["id"], key="late-retry").get_json()
    assert client.post(f"/api/v1/bookings/{first['id']}/cancel", json={}).status_code == 200
    again = book(client, clinic.hsa_id, slot["id"], key="late-retry")
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"] and again.get_json()["status"] == "cancelled"
    assert _counts(db)[0] == 1
    assert free_slots(client, clinic.hsa_id)[0]["free"] == 3  # the retry took no seat


def test_the_built_in_calendar_is_told_no_personal_data(client, login, create_clinic, monkeypatch) -> None:
    """The built-in calendar stores only the hub's pseudonymous reference: booking, moving and
    cancelling there never unseal the citizen's personal number or names."""
    import hub.booking.operations as operations

    def unseal_refused(_citizen):
        raise AssertionError("personal data unsealed for the built-in calendar")

    monkeypatch.setattr(operations, "subject_of", unseal_refused)
    clinic = create_clinic()
    login(client)
    first, second = free_slots(client, clinic.hsa_id)[:2]
    mine = book(client, clinic.hsa_id, first["id"]).get_json()
    moved = client.post(f"/api/v1/bookings/{mine['id']}/rebook", json={"slot_id": second["id"]})
    assert moved.status_code == 200
    assert client.post(f"/api/v1/bookings/{mine['id']}/cancel", json={}).status_code == 200
