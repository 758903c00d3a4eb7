"""Case types switch on only when complete (the page lists what is missing); off works at once."""

from __future__ import annotations

from admin_support import ADMIN_A, fresh, post
from booking_helpers import book, free_slots
from sqlalchemy import select

from hub.models import AuditEvent, Booking, BookingState, CaseType


def test_activation_is_refused_with_every_missing_item_listed(admin_app, create_clinic, staff, db) -> None:
    clinic = create_clinic(case_types=(), visible=False)
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    refused = post(client, f"/admin/clinics/{clinic.hsa_id}/case-types/book", {"enabled": "true"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Ingen tidstyp visas för invånare." in page
    assert "Det finns ingen godkänd villkorstext för denna ärendetyp." in page
    fresh(db)
    db.refresh(clinic)
    assert clinic.enabled_case_types() == set()

    english = client.get(f"/admin/clinics/{clinic.hsa_id}/case-types", headers={"Accept-Language": "en"})
    text = english.get_data(as_text=True)
    assert "No slot type is shown to citizens." in text
    assert "There is no approved terms text for this case type." in text


def test_activation_succeeds_once_complete_and_is_audited(
    admin_app, create_clinic, staff, db, approved_terms
) -> None:
    clinic = create_clinic(case_types=())
    approved_terms(clinic.hsa_id)
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    assert (
        post(client, f"/admin/clinics/{clinic.hsa_id}/case-types/book", {"enabled": "true"}).status_code
        == 303
    )
    fresh(db)
    db.refresh(clinic)
    assert CaseType.BOOK in clinic.enabled_case_types()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "admin.case_type"))
    assert event.actor_kind == "staff" and event.details == {
        "before": False,
        "after": True,
        "case_type": "book",
    }


def test_a_standalone_clinic_without_opening_hours_is_not_ready(
    admin_app, create_clinic, staff, approved_terms
) -> None:
    clinic = create_clinic(case_types=(), weekdays=())
    approved_terms(clinic.hsa_id)
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    refused = post(
        client,
        f"/admin/clinics/{clinic.hsa_id}/case-types/book",
        {"enabled": "true"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422
    assert "The built-in calendar has no opening hours." in refused.get_data(as_text=True)


def test_deactivation_takes_effect_at_once_and_bookings_stay(
    admin_app, create_clinic, staff, citizen_client, db
) -> None:
    clinic = create_clinic()
    citizen = citizen_client()
    slot = free_slots(citizen, clinic.hsa_id)[0]
    assert book(citizen, clinic.hsa_id, slot["id"]).status_code == 201
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    assert (
        post(client, f"/admin/clinics/{clinic.hsa_id}/case-types/book", {"enabled": "false"}).status_code
        == 303
    )
    listing = citizen.get(f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAKARBESOK")
    assert listing.status_code == 422 and listing.get_json()["code"] == "not_allowed"
    fresh(db)
    assert db.scalar(select(Booking.status)) == BookingState.BOOKED
    assert len(citizen.get("/api/v1/bookings").get_json()["bookings"]) == 1


def test_an_unknown_case_type_is_not_found(admin_app, create_clinic, staff) -> None:
    clinic = create_clinic()
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    assert (
        post(client, f"/admin/clinics/{clinic.hsa_id}/case-types/teleport", {"enabled": "true"}).status_code
        == 404
    )


def test_a_record_system_clinic_needs_a_working_connection(
    admin_app, create_clinic, staff, db, approved_terms
) -> None:
    clinic = create_clinic(case_types=())
    approved_terms(clinic.hsa_id)
    clinic.connection, clinic.connection_config = "fhir-r4", {}
    db.commit()
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    english = {"Accept-Language": "en"}
    url = f"/admin/clinics/{clinic.hsa_id}/case-types/book"
    refused = post(client, url, {"enabled": "true"}, headers=english)
    assert "The record-system connection is not set up." in refused.get_data(as_text=True)
    clinic.connection_config = {"base_url": "http://127.0.0.1:9"}  # the adapter refuses this
    db.commit()
    refused = post(client, url, {"enabled": "true"}, headers=english)
    assert refused.status_code == 422
    assert "The record-system connection is set up wrongly." in refused.get_data(as_text=True)
    for page in ("slot-types", "connection"):
        assert client.get(f"/admin/clinics/{clinic.hsa_id}/{page}").status_code == 200
