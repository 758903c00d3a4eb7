"""Bulk message pages: review who gets it (an audited read), send, see the report."""

from __future__ import annotations

from admin_support import ADMIN_A, fresh, post
from booking_helpers import book, free_slots
from sqlalchemy import select

from hub.models import AuditEvent
from hub.notifications.models import BulkSend


def test_review_send_and_report(admin_app, create_clinic, staff, citizen_client, db) -> None:
    clinic = create_clinic()
    citizen = citizen_client()
    assert book(citizen, clinic.hsa_id, free_slots(citizen, clinic.hsa_id)[0]["id"]).status_code == 201
    client = staff(ADMIN_A, clinics=[clinic.hsa_id])
    base = f"/admin/clinics/{clinic.hsa_id}/messages"
    form = {"channels": "email", "template_sv": "Din tid {date} {time} är flyttad. Ring oss."}
    review = post(client, f"{base}/review", form)
    assert review.status_code == 200 and "Tolvan Tolvansson" in review.get_data(as_text=True)
    assert post(client, f"{base}/review", {**form, "template_sv": "Gäller 191212121212"}).status_code == 422
    sent = post(client, f"{base}/send", form)
    assert sent.status_code == 303
    assert client.get(sent.headers["Location"]).status_code == 200
    fresh(db)
    assert db.scalar(select(BulkSend.clinic_id)) == clinic.id
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"notifications.bulk_review", "notifications.bulk_sent"} <= actions

    assert post(client, f"{base}/discreet", {"discreet": "on"}).status_code == 303
    assert (
        post(client, f"{base}/review", {**form, "template_sv": "Välkommen till {clinic_name}"}).status_code
        == 422
    )
