"""Personal data never reaches the logs, however far a message travels."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from notify_helpers import make_worker
from sqlalchemy import select

from hub.models import AuditEvent, Clinic
from hub.notifications import bulk
from hub.notifications.models import Channel

SECRETS = ("tolvan@example.se", "+46701234567", "0701234567", "191212121212", "Tolvan", "Tolvansson")


def test_no_contact_details_or_identity_in_logs_or_audit(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, sms_provider, db, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(email="tolvan@example.se", phone="0701234567", email_consent=True, sms_consent=True)
    booking = book_one(clinic.hsa_id)
    nclient.post(f"/api/v1/bookings/{booking['id']}/cancel", json={})
    sms_provider.fail_with = 503  # the error path logs too
    make_worker(napp, smtp=smtp_server, sms=sms_provider).run_once()
    with napp.test_request_context():
        bulk.review(
            db,
            db.get(Clinic, clinic.id),
            bulk.Criteria(day=date.today() + timedelta(days=3)),
            [Channel.SMS],
            "s-1",
        )
        db.commit()

    assert len(smtp_server.box.messages) == 2
    # Everything our process logged (hub, httpx, SQLAlchemy …), not the test SMTP server's own log.
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "message" in logged  # the worker did log, just not about people
    for secret in SECRETS:
        assert secret not in logged
    db.rollback()
    events = list(db.scalars(select(AuditEvent)))
    sent = [e for e in events if e.action == "notifications.sent"]
    assert len(sent) == 2 and {e.actor_kind for e in sent} == {"system"}, (
        "each read of an address is on record"
    )
    details = " ".join(str(e.details) for e in events)
    for secret in SECRETS:
        assert secret not in details
