"""Onboarding: register → region verifies and activates → region assigns administrators, who
accept the platform agreements before anything else; the region reads the audit log."""

from __future__ import annotations

from admin_support import ADMIN_A, REGION, fresh, post
from sqlalchemy import select

from hub.admin.models import AgreementAcceptance, ClinicRegistration
from hub.models import AuditEvent, Clinic
from identity.models import RoleGrant

NEW = {
    "hsa_id": "SE2321000016-NEW1",
    "name": "Nya mottagningen",
    "municipality": "Solna",
    "email": "info@example.se",
}


def test_a_clinic_goes_from_registration_to_active_with_its_administrator(
    admin_app, staff, citizen_client, db, caplog
) -> None:
    someone = staff("195505052398")  # staff e-ID, no role yet
    assert post(someone, "/admin/register", NEW).status_code == 303
    fresh(db)
    clinic = db.scalar(select(Clinic).where(Clinic.hsa_id == "SE2321000016-NEW1"))
    assert clinic is not None and not clinic.active
    assert citizen_client().get("/api/v1/clinics/SE2321000016-NEW1").status_code == 404  # hidden until active
    assert post(someone, "/admin/register", NEW).status_code == 422  # the id is taken

    region = staff(REGION, region=True)
    assert post(region, "/admin/region/clinics/SE2321000016-NEW1/activate").status_code == 422  # verify first
    assert post(region, "/admin/region/clinics/SE2321000016-NEW1/verify").status_code == 303
    assert post(region, "/admin/region/clinics/SE2321000016-NEW1/activate").status_code == 303
    fresh(db)
    assert db.get(Clinic, clinic.id).active
    assert db.scalar(select(ClinicRegistration.status)) == "active"

    admins = "/admin/region/clinics/SE2321000016-NEW1/admins"
    assert post(region, admins, {"personal_number": "19700215-2391", "label": "Klara"}).status_code == 422
    assert (
        post(region, admins, {"personal_number": "19700215-2390", "label": "Klara K, chef"}).status_code
        == 303
    )
    fresh(db)
    grant = db.scalar(select(RoleGrant).where(RoleGrant.role == "clinic_admin"))
    assert grant.clinic_id == "se2321000016-new1"
    assert "197002152390" not in caplog.text

    # The new administrator is sent to the agreements first, whatever page they open.
    klara = staff(ADMIN_A, agreements=False)
    first = klara.get("/admin/clinics/SE2321000016-NEW1/day-list")
    assert first.status_code == 303 and "/admin/agreements" in first.headers["Location"]
    assert klara.get("/admin/").status_code == 303
    assert post(klara, "/admin/agreements", {"agreement": "terms_of_use"}).status_code == 422  # both needed
    accepted = post(
        klara,
        "/admin/agreements",
        {
            "agreement": ["terms_of_use", "data_processing"],
            "next": "/admin/clinics/SE2321000016-NEW1/day-list",
        },
    )
    assert accepted.status_code == 303 and accepted.headers["Location"].endswith("/day-list")
    assert klara.get("/admin/clinics/SE2321000016-NEW1/day-list").status_code == 200
    fresh(db)
    assert db.scalar(
        select(AgreementAcceptance.agreement).where(AgreementAcceptance.agreement == "data_processing")
    )

    log = region.get(
        "/admin/region/audit?clinic=SE2321000016-NEW1&staff_only=1", headers={"Accept-Language": "en"}
    )
    text = log.get_data(as_text=True)
    for action in (
        "admin.clinic_registered",
        "admin.clinic_verified",
        "admin.clinic_activated",
        "admin.admin_assigned",
    ):
        assert action in text
    assert "197002152390" not in text
    events = db.scalars(select(AuditEvent).where(AuditEvent.action.like("admin.%"))).all()
    assert all(e.actor_kind == "staff" and len(e.actor_id) == 64 for e in events)


def test_only_staff_register_and_only_the_region_activates(
    admin_app, create_clinic, staff, citizen_client
) -> None:
    clinic = create_clinic()
    assert citizen_client().post("/admin/register", data=NEW).status_code in {400, 401, 403}
    admin = staff(ADMIN_A, clinics=[clinic.hsa_id])
    assert post(admin, f"/admin/region/clinics/{clinic.hsa_id}/activate").status_code == 403
    assert (
        post(
            admin, f"/admin/region/clinics/{clinic.hsa_id}/admins", {"personal_number": REGION, "label": "x"}
        ).status_code
        == 403
    )
