"""Each process keeps a clinic's booking settings; a change anywhere reaches the next booking."""

from __future__ import annotations

from booking_helpers import book, free_slots
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import CaseType, Clinic, ClinicCaseType, ClinicSlotType


def _stamp(session: Session, hsa_id: str) -> str:
    stamp = session.scalar(select(Clinic.settings_stamp).where(Clinic.hsa_id == hsa_id))
    session.commit()
    return stamp


def test_online_booking_switched_off_elsewhere_refuses_the_next_attempt(
    client, login, create_clinic, elsewhere
):
    clinic = create_clinic(capacity=3)
    login(client)
    slots = free_slots(client, clinic.hsa_id)
    assert book(client, clinic.hsa_id, slots[0]["id"], key="key-first-0001").status_code == 201

    switch = elsewhere.scalar(
        select(ClinicCaseType).where(
            ClinicCaseType.clinic_id == clinic.id, ClinicCaseType.case_type == "book"
        )
    )
    switch.enabled = False
    elsewhere.commit()
    refused = book(client, clinic.hsa_id, slots[1]["id"], key="key-second-001")
    assert (refused.status_code, refused.get_json()["code"]) == (422, "not_allowed")

    switch.enabled = True
    elsewhere.commit()
    assert book(client, clinic.hsa_id, slots[1]["id"], key="key-third-0001").status_code == 201


def test_a_slot_type_hidden_elsewhere_cannot_be_booked(client, login, create_clinic, elsewhere) -> None:
    clinic = create_clinic()
    login(client)
    first, second = free_slots(client, clinic.hsa_id)[:2]
    assert book(client, clinic.hsa_id, first["id"], key="key-first-0001").status_code == 201  # kept now
    elsewhere.scalar(select(ClinicSlotType).where(ClinicSlotType.clinic_id == clinic.id)).visible = False
    elsewhere.commit()
    assert book(client, clinic.hsa_id, second["id"], key="key-second-001").status_code == 404


def test_a_clinic_closed_for_the_hub_elsewhere_is_not_found(client, login, create_clinic, elsewhere) -> None:
    clinic = create_clinic()
    login(client)
    first, second = free_slots(client, clinic.hsa_id)[:2]
    assert book(client, clinic.hsa_id, first["id"], key="key-first-0001").status_code == 201  # kept now
    elsewhere.get(Clinic, clinic.id).active = False
    elsewhere.commit()
    assert book(client, clinic.hsa_id, second["id"], key="key-second-001").status_code == 404


def test_settings_edits_change_the_stamp_and_bookings_do_not(client, login, create_clinic, elsewhere) -> None:
    clinic = create_clinic(case_types=(CaseType.BOOK,))
    login(client)
    before = _stamp(elsewhere, clinic.hsa_id)
    assert book(client, clinic.hsa_id, free_slots(client, clinic.hsa_id)[0]["id"]).status_code == 201
    assert _stamp(elsewhere, clinic.hsa_id) == before

    elsewhere.add(ClinicCaseType(clinic_id=clinic.id, case_type=CaseType.REBOOK_CANCEL, enabled=True))
    elsewhere.commit()
    assert _stamp(elsewhere, clinic.hsa_id) != before
