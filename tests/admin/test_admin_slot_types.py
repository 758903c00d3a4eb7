"""Slot types: the clinic picks which of its timebook's types citizens see and names them."""

from __future__ import annotations

from admin_support import ADMIN_A, fresh, post
from sqlalchemy import select

from hub.models import ClinicSlotType


def test_hidden_slot_types_never_reach_the_portal_and_names_are_per_language(
    admin_app, create_clinic, staff, citizen_client, db
) -> None:
    from standalone_calendar.models import Calendar, SlotType

    clinic = create_clinic(case_types=())  # nothing switched on: hiding every type is allowed
    calendar = db.scalar(select(Calendar).where(Calendar.clinic_hsa_id == clinic.hsa_id))
    db.add(
        SlotType(calendar_id=calendar.id, code="PROV", name="Provtagning", duration_minutes=10, capacity=2)
    )
    db.commit()
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    page = client.get(f"/admin/clinics/{clinic.hsa_id}/slot-types").get_data(as_text=True)
    assert "PROV" in page and "Provtagning" in page  # offered by the timebook, not yet chosen
    form = {
        "code": ["LAKARBESOK", "PROV"],
        "visible_PROV": "on",
        "name_sv_PROV": "Blodprov",
        "name_en_PROV": "Blood test",
        "name_de_PROV": "Blutabnahme",
        "name_sv_LAKARBESOK": "Läkarbesök",
    }
    assert post(client, f"/admin/clinics/{clinic.hsa_id}/slot-types", form).status_code == 303
    fresh(db)
    rows = {
        r.code: r for r in db.scalars(select(ClinicSlotType).where(ClinicSlotType.clinic_id == clinic.id))
    }
    assert rows["PROV"].visible and rows["PROV"].names == {
        "sv": "Blodprov",
        "en": "Blood test",
        "de": "Blutabnahme",
    }
    assert not rows["LAKARBESOK"].visible

    citizen = citizen_client()
    card = citizen.get(f"/api/v1/clinics/{clinic.hsa_id}", headers={"Accept-Language": "en"}).get_json()
    shown = str(card)
    assert "PROV" in shown and "LAKARBESOK" not in shown
    assert citizen.get(f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAKARBESOK").status_code in {
        404,
        422,
    }


def test_a_shown_type_needs_a_swedish_name_and_booking_keeps_one_shown(
    admin_app, create_clinic, staff, db
) -> None:
    clinic = create_clinic()  # book is on
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    url = f"/admin/clinics/{clinic.hsa_id}/slot-types"
    assert post(client, url, {"code": "LAKARBESOK", "visible_LAKARBESOK": "on"}).status_code == 422
    assert post(client, url, {"code": "LAKARBESOK", "name_sv_LAKARBESOK": "Läkarbesök"}).status_code == 422
    fresh(db)
    assert db.scalar(select(ClinicSlotType.visible).where(ClinicSlotType.clinic_id == clinic.id)) is True
