"""Small helpers for hub tests."""

from __future__ import annotations

from datetime import date, timedelta

from flask.testing import FlaskClient


def bookable_day() -> date:
    """A day far enough ahead that cancellation deadlines (24 h) have not passed."""
    return date.today() + timedelta(days=3)


def free_slots(
    client: FlaskClient, hsa_id: str, day: date | None = None, slot_type: str = "LAKARBESOK"
) -> list[dict]:
    day = day or bookable_day()
    response = client.get(f"/api/v1/clinics/{hsa_id}/slots?slot_type={slot_type}&from={day}&to={day}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["slots"]


def book(client: FlaskClient, hsa_id: str, slot_id: str, key: str = "key-00000001"):
    return client.post(
        "/api/v1/bookings", json={"clinic": hsa_id, "slot_id": slot_id, "idempotency_key": key}
    )
