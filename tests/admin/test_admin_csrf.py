"""Admin form posts without a valid CSRF token are refused and change nothing."""

from __future__ import annotations

from admin_support import ADMIN_A, fresh, post
from sqlalchemy import select

from hub.models import AuditEvent


def test_posts_without_or_with_a_wrong_token_are_refused(admin_app, create_clinic, staff, db) -> None:
    clinic = create_clinic()
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    url = f"/admin/clinics/{clinic.hsa_id}/case-types/book"
    for data in ({"enabled": "false"}, {"enabled": "false", "csrf_token": "forged"}):
        answer = client.post(url, data=data)
        assert answer.status_code == 400
        assert (
            "csrf" in answer.get_data(as_text=True).lower()
            or "formul" in answer.get_data(as_text=True).lower()
        )
    fresh(db)
    db.refresh(clinic)
    assert "book" in clinic.enabled_case_types()
    assert db.scalar(select(AuditEvent).where(AuditEvent.action.like("admin.%"))) is None
    # The same post with the page's token goes through.
    assert post(client, url, {"enabled": "false"}).status_code == 303


def test_another_sites_token_does_not_work_either(admin_app, create_clinic, staff) -> None:
    clinic = create_clinic()
    mine = staff(ADMIN_A, clinics=[clinic.hsa_id])
    other = admin_app.test_client()
    from web_support import csrf_token

    foreign = csrf_token(other, "/dev-login")  # valid, but for another browser session
    answer = mine.post(
        f"/admin/clinics/{clinic.hsa_id}/calendar/limits",
        data={"csrf_token": foreign, "horizon_days": "5", "min_notice_minutes": "0"},
    )
    assert answer.status_code == 400
