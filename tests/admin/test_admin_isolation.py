"""An administrator of clinic A can neither read nor change anything of clinic B.

The routes come from the app's URL map, so a new admin route cannot escape this test.
"""

from __future__ import annotations

import re

from admin_support import ADMIN_A, ADMIN_B, REGION, post, token

# Harmless values for the other parts of a URL: access is decided before anything is looked up.
FILLERS = {"case_type": "book", "booking_id": "0" * 36, "bulk_id": "0" * 36, "subject_key": "x" * 64}
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _url(rule: str, hsa_id: str) -> str:
    def fill(match: re.Match[str]) -> str:
        if match["name"] == "hsa_id":
            return hsa_id
        return "1" if match["converter"] == "int" else FILLERS[match["name"]]

    return PARAMETER.sub(fill, rule)


def _clinic_rules(app) -> list[tuple[str, set[str]]]:
    rules = [
        (rule.rule, set(rule.methods or ()) & {"GET", "POST"})
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin") and "hsa_id" in rule.arguments
    ]
    assert len(rules) >= 30  # every page of the issue is there
    return rules


def test_every_admin_route_of_another_clinic_is_forbidden(admin_app, create_clinic, staff) -> None:
    clinic_a, clinic_b = create_clinic(), create_clinic()
    client = staff(ADMIN_A, clinics=[clinic_a.hsa_id])
    csrf = token(client)
    checked = 0
    for rule, methods in _clinic_rules(admin_app):
        for hsa_id in (clinic_b.hsa_id, clinic_b.hsa_id.lower()):
            url = _url(rule, hsa_id)
            if "GET" in methods:
                assert client.get(url).status_code == 403, url
            if "POST" in methods:
                assert client.post(url, data={"csrf_token": csrf}).status_code == 403, url
            checked += 1
    assert checked >= 60


def test_the_own_clinic_opens_and_the_region_sees_all(admin_app, create_clinic, staff) -> None:
    clinic_a, clinic_b = create_clinic(), create_clinic()
    client = staff(ADMIN_A, clinics=[clinic_a.hsa_id])
    region = staff(REGION, region=True)
    pages = [r for r, m in _clinic_rules(admin_app) if m == {"GET"} and r.startswith("/admin/clinics")]
    for rule in pages:
        if "bulk_id" in rule:
            continue
        assert client.get(_url(rule, clinic_a.hsa_id)).status_code == 200, rule
        assert region.get(_url(rule, clinic_b.hsa_id)).status_code == 200, rule
    # Region pages are the region's only.
    assert client.get("/admin/region").status_code == 403
    assert client.get("/admin/region/audit").status_code == 403
    assert region.get("/admin/region/audit").status_code == 200


def test_staff_without_login_or_with_a_citizen_session_get_nothing(
    admin_app, create_clinic, citizen_client
) -> None:
    clinic = create_clinic()
    anonymous = admin_app.test_client()
    page = f"/admin/clinics/{clinic.hsa_id}/day-list"
    answer = anonymous.get(page)
    assert answer.status_code == 303  # to the staff e-ID login, and back afterwards
    assert answer.headers["Location"].startswith("/identity/staff/login?next=")
    assert anonymous.get(page, headers={"Accept": "application/json"}).status_code == 401
    citizen = citizen_client()
    assert citizen.get(page).status_code in {303, 403}
    assert "Tolvan" not in citizen.get(page, follow_redirects=True).get_data(as_text=True)


def test_an_object_of_clinic_b_is_not_found_through_clinic_a(
    admin_app, create_clinic, staff, db, approved_terms
) -> None:
    import terms

    clinic_a, clinic_b = create_clinic(), create_clinic()
    from datetime import UTC, datetime

    draft = terms.save_draft(
        db,
        clinic_b.hsa_id,
        "book",
        {"sv": ["a"], "en": ["a"], "de": ["a"]},
        author_key="x",
        now=datetime.now(UTC),
    )
    db.commit()
    client = staff(ADMIN_A, clinics=[clinic_a.hsa_id])
    answer = post(client, f"/admin/clinics/{clinic_a.hsa_id}/terms/versions/{draft.id}/approve")
    assert answer.status_code == 404
    db.refresh(draft)
    assert draft.approved_at is None


def test_an_administrator_of_b_is_refused_at_a_too(admin_app, create_clinic, staff) -> None:
    clinic_a, clinic_b = create_clinic(), create_clinic()
    client = staff(ADMIN_B, clinics=[clinic_b.hsa_id])
    assert client.get(f"/admin/clinics/{clinic_a.hsa_id}/").status_code == 403
    assert client.get(f"/admin/clinics/{clinic_b.hsa_id}/").status_code == 200
