"""Terms through the pages: write, four-eyes approval, citizens accept before booking, text stays inert."""

from __future__ import annotations

from admin_support import ADMIN_A, ADMIN_A2, REGION, fresh, post
from booking_helpers import book, free_slots
from sqlalchemy import select

import terms
from hub.models import AuditEvent

POINTS = {
    "points_sv": "Kom i god tid\nAvboka senast dagen före",
    "points_en": "Come in good time\nCancel a day ahead",
    "points_de": "Kommen Sie rechtzeitig\nSagen Sie einen Tag vorher ab",
}


def _write(client, hsa_id: str, points: dict[str, str] = POINTS):
    return post(client, f"/admin/clinics/{hsa_id}/terms/book", POINTS | points)


def _draft_id(db, hsa_id: str) -> int:
    fresh(db)
    draft = terms.draft_of(db, hsa_id, "book")
    assert draft is not None
    return draft.id


def test_the_author_cannot_approve_and_a_second_administrator_can(
    admin_app, create_clinic, staff, db
) -> None:
    clinic = create_clinic()
    author = staff(ADMIN_A, clinics=[clinic.hsa_id])
    assert _write(author, clinic.hsa_id).status_code == 303
    version_id = _draft_id(db, clinic.hsa_id)
    page = author.get(f"/admin/clinics/{clinic.hsa_id}/terms/book").get_data(as_text=True)
    assert "Kom i god tid" in page and "/approve" not in page  # no approve button for the author

    refused = post(author, f"/admin/clinics/{clinic.hsa_id}/terms/versions/{version_id}/approve")
    assert refused.status_code == 422
    assert "Another administrator" in refused.get_data(
        as_text=True
    ) or "annan administratör" in refused.get_data(as_text=True)
    assert terms.current(db, clinic.hsa_id, "book") is None

    colleague = staff(ADMIN_A2, clinics=[clinic.hsa_id])
    assert (
        post(colleague, f"/admin/clinics/{clinic.hsa_id}/terms/versions/{version_id}/approve").status_code
        == 303
    )
    fresh(db)
    assert terms.current(db, clinic.hsa_id, "book").points["sv"] == [
        "Kom i god tid",
        "Avboka senast dagen före",
    ]
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.clinic_id == clinic.id)))
    assert {"admin.terms.draft_saved", "admin.terms.approved"} <= actions


def test_the_region_may_approve_a_clinic_administrators_text(admin_app, create_clinic, staff, db) -> None:
    clinic = create_clinic()
    _write(staff(ADMIN_A, clinics=[clinic.hsa_id]), clinic.hsa_id)
    region = staff(REGION, region=True)
    answer = post(
        region, f"/admin/clinics/{clinic.hsa_id}/terms/versions/{_draft_id(db, clinic.hsa_id)}/approve"
    )
    assert answer.status_code == 303


def test_a_citizen_must_accept_the_new_version_before_booking(
    admin_app, create_clinic, staff, citizen_client, db
) -> None:
    clinic = create_clinic()
    citizen = citizen_client()
    slots = free_slots(citizen, clinic.hsa_id)
    assert (
        book(citizen, clinic.hsa_id, slots[0]["id"], key="first-booking").status_code == 201
    )  # no terms yet

    author, colleague = staff(ADMIN_A, clinics=[clinic.hsa_id]), staff(ADMIN_A2, clinics=[clinic.hsa_id])
    _write(author, clinic.hsa_id)
    post(colleague, f"/admin/clinics/{clinic.hsa_id}/terms/versions/{_draft_id(db, clinic.hsa_id)}/approve")

    refused = book(citizen, clinic.hsa_id, slots[1]["id"], key="second-booking")
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "terms_not_accepted"
    assert body["terms"]["version"] == 1 and body["terms"]["case_type"] == "book"
    shown = citizen.get(body["terms"]["url"]).get_json()
    assert shown["points"] == ["Kom i god tid", "Avboka senast dagen före"] and shown["accepted"] is False
    assert citizen.post(body["terms"]["accept_url"], json={"version": 1}).status_code == 200
    assert book(citizen, clinic.hsa_id, slots[1]["id"], key="second-booking").status_code == 201

    # A changed text, once approved, is asked for again.
    _write(colleague, clinic.hsa_id, {"points_sv": "Ny regel"})
    post(author, f"/admin/clinics/{clinic.hsa_id}/terms/versions/{_draft_id(db, clinic.hsa_id)}/approve")
    again = book(citizen, clinic.hsa_id, slots[2]["id"], key="third-booking")
    assert again.status_code == 409 and again.get_json()["terms"]["version"] == 2
    stale = citizen.post(again.get_json()["terms"]["accept_url"], json={"version": 1})
    assert stale.status_code == 409 and stale.get_json()["code"] == "terms_changed"
    assert citizen.post(again.get_json()["terms"]["accept_url"], json={"version": 2}).status_code == 200
    assert book(citizen, clinic.hsa_id, slots[2]["id"], key="third-booking").status_code == 201

    fresh(db)
    accepted = db.scalars(select(terms.Acceptance).order_by(terms.Acceptance.id)).all()
    assert [a.version.number for a in accepted] == [1, 2]
    assert all(a.accepted_at is not None and len(a.citizen_ref) == 36 for a in accepted)


def test_the_portal_sends_a_citizen_to_the_terms_page_and_back(
    admin_app, create_clinic, citizen_client, approved_terms
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from web_support import csrf_token

    clinic = create_clinic()
    approved_terms(clinic.hsa_id)
    citizen = citizen_client()
    slot = free_slots(citizen, clinic.hsa_id)[0]
    form = {"clinic": clinic.hsa_id, "slot_id": slot["id"], "idempotency_key": "portal-key-1"}
    form["csrf_token"] = csrf_token(citizen, f"/clinics/{clinic.hsa_id}/terms/book")
    answer = citizen.post("/bookings", data=form)
    assert answer.status_code in {302, 303}
    terms_page = urlsplit(answer.headers["Location"])
    assert terms_page.path == f"/clinics/{clinic.hsa_id}/terms/book"
    back = parse_qs(terms_page.query)["next"][0]
    page = citizen.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Kom i tid" in page and 'name="version" value="1"' in page
    accepted = citizen.post(
        terms_page.path, data={"version": "1", "next": back, "csrf_token": form["csrf_token"]}
    )
    assert accepted.status_code == 303 and accepted.headers["Location"] == back
    assert "/bookings/" in citizen.post("/bookings", data=form).headers["Location"]  # booked now


def test_rebooking_and_cancelling_ask_only_when_the_clinic_has_terms_for_them(
    admin_app, create_clinic, citizen_client, approved_terms
) -> None:
    clinic = create_clinic()
    citizen = citizen_client()
    slot = free_slots(citizen, clinic.hsa_id)[0]
    booking = book(citizen, clinic.hsa_id, slot["id"]).get_json()
    approved_terms(clinic.hsa_id, "rebook_cancel", "Avbokning kostar inget")
    refused = citizen.post(f"/api/v1/bookings/{booking['id']}/cancel", json={})
    assert refused.status_code == 409 and refused.get_json()["terms"]["case_type"] == "rebook_cancel"
    citizen.post(f"/api/v1/clinics/{clinic.hsa_id}/terms/rebook_cancel/accept", json={"version": 1})
    assert citizen.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}).status_code == 200


def test_script_and_onerror_in_terms_are_inert_everywhere(
    admin_app, create_clinic, staff, citizen_client, db
) -> None:
    clinic = create_clinic()
    author, colleague = staff(ADMIN_A, clinics=[clinic.hsa_id]), staff(ADMIN_A2, clinics=[clinic.hsa_id])
    hostile = {
        "points_sv": "<script>alert('x')</script>Kom i tid\n<img src=x onerror=alert(1)>Ta med legitimation",
        "points_en": '"><svg onload=alert(1)>Be on time',
        "points_de": "<iframe src=javascript:alert(1)></iframe>Pünktlich",
    }
    assert _write(author, clinic.hsa_id, hostile).status_code == 303
    post(colleague, f"/admin/clinics/{clinic.hsa_id}/terms/versions/{_draft_id(db, clinic.hsa_id)}/approve")
    fresh(db)
    stored = terms.current(db, clinic.hsa_id, "book").points
    assert stored["sv"] == ["Kom i tid", "Ta med legitimation"]
    assert stored["en"] == ['">Be on time']

    # Even a row written around the sanitizer (an old import, a database edit) is shown escaped.
    raw = terms.current(db, clinic.hsa_id, "book")
    raw.points = {
        "sv": ["<script>alert(2)</script>", '<img src=x onerror="alert(3)">'],
        "en": ["x"],
        "de": ["x"],
    }
    db.commit()
    for client, path in [
        (author, f"/admin/clinics/{clinic.hsa_id}/terms/book"),
        (citizen_client(), f"/clinics/{clinic.hsa_id}/terms/book"),
    ]:
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(2)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=&#34;alert(3)&#34;&gt;" in page


def test_the_terms_api_answers_clearly(admin_app, create_clinic, citizen_client, approved_terms) -> None:
    clinic = create_clinic()
    anonymous = admin_app.test_client()
    base = f"/api/v1/clinics/{clinic.hsa_id}/terms"
    assert anonymous.get(f"{base}/book").status_code == 404  # no approved terms yet
    approved_terms(clinic.hsa_id)
    shown = anonymous.get(f"{base}/book", headers={"Accept-Language": "de"}).get_json()
    assert shown["points"] == ["Kom i tid (de)"] and shown["accepted"] is None and shown["language"] == "de"
    assert anonymous.get(f"{base}/teleport").status_code == 404
    assert anonymous.post(f"{base}/book/accept", json={"version": 1}).status_code == 401
    citizen = citizen_client()
    assert citizen.post(f"{base}/book/accept", data={"version": "1"}).status_code == 415
    bad = citizen.post(f"{base}/book/accept", json={"version": "one"})
    assert bad.status_code == 422 and "version" in bad.get_json()["fields"]
    assert citizen.post(f"{base}/book/accept", json={"version": 1}).get_json()["version"] == 1
    assert citizen.get(f"{base}/book").get_json()["accepted"] is True
