"""The demo region a newcomer sees: six clinics in two municipalities, four weeks of times."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from hub.demo import seed
from hub.models import Clinic


def test_demo_region_has_clinics_and_four_weeks_of_times(app, db, client) -> None:
    assert seed(db) is True
    db.commit()
    assert seed(db) is False  # seeding twice changes nothing
    clinics = db.scalars(select(Clinic)).all()
    assert len(clinics) >= 6 and len({c.municipality for c in clinics}) == 2
    first = clinics[0]
    detail = client.get(f"/api/v1/clinics/{first.hsa_id}").get_json()
    assert {s["name"] for s in detail["slot_types"]} >= {"Läkarbesök", "Provtagning", "Vaccination"}
    start = date.today() + timedelta(days=1)
    end = start + timedelta(days=26)
    response = client.get(f"/api/v1/clinics/{first.hsa_id}/slots?slot_type=PROVTAGNING&from={start}&to={end}")
    days = {s["local_start"][:10] for s in response.get_json()["slots"]}
    assert len(days) >= 15  # weekdays over four weeks, less public holidays


def test_demo_record_system_clinics_book_through_their_simulators(app, db, client, login) -> None:
    from hub import demo_record_systems

    seed(db)
    systems = demo_record_systems.start()
    try:
        demo_record_systems.connect(db, systems)
        db.commit()
        login(client)
        start = date.today() + timedelta(days=3)
        end = start + timedelta(days=6)
        for hsa_id in (demo_record_systems.SOAP_CLINIC, demo_record_systems.FHIR_CLINIC):
            response = client.get(
                f"/api/v1/clinics/{hsa_id}/slots?slot_type=PROVTAGNING&from={start}&to={end}"
            )
            listing = response.get_json()
            assert listing["source"] == "record_system" and listing["slots"], hsa_id
        slot = client.get(
            f"/api/v1/clinics/{demo_record_systems.SOAP_CLINIC}/slots?slot_type=PROVTAGNING&from={start}&to={end}"
        ).get_json()["slots"][0]
        booked = client.post(
            "/api/v1/bookings",
            json={
                "clinic": demo_record_systems.SOAP_CLINIC,
                "slot_id": slot["id"],
                "idempotency_key": "demo-key-1",
            },
        )
        assert booked.status_code == 201
        assert booked.get_json()["message"].startswith("Kom fastande")  # the record system's INFO text
    finally:
        systems.stop()
