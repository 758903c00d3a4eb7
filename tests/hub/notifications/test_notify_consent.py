"""Consent per channel, the profile page and its JSON twin, contact details sealed at rest."""

from __future__ import annotations

from notify_helpers import make_worker, outbox
from sqlalchemy import select, text
from web_support import csrf_token

from hub.models import AuditEvent
from hub.notifications.models import Channel, NotificationProfile, State


def test_without_email_consent_nothing_is_sent_by_email(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, sms_provider, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(email="tolvan@example.se", email_consent=False, phone="0701234567", sms_consent=True)
    book_one(clinic.hsa_id)

    assert [m.channel for m in outbox(db)] == [Channel.SMS]
    make_worker(napp, smtp=smtp_server, sms=sms_provider).run_once()
    assert smtp_server.box.messages == []
    assert len(sms_provider.delivered) == 1


def test_without_any_consent_nothing_is_queued(napp, nclient, login, create_clinic, book_one, db) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    book_one(clinic.hsa_id)  # no profile at all
    assert outbox(db) == []


def test_consent_withdrawn_before_sending_stops_the_queued_message(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, db
) -> None:
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(email="tolvan@example.se", email_consent=True)
    book_one(clinic.hsa_id)
    set_profile(email="tolvan@example.se", email_consent=False)

    make_worker(napp, smtp=smtp_server).run_once()
    assert smtp_server.box.messages == []
    assert [(m.state, m.sealed_content) for m in outbox(db)] == [(State.SKIPPED, "")], "no copy kept"


def test_profile_page_saves_contact_details_and_consent(napp, nclient, login, db) -> None:
    login(nclient, "anna")
    page = nclient.get("/profile")
    assert page.status_code == 200 and "Meddelanden och kontaktuppgifter" in page.get_data(as_text=True)
    token = csrf_token(nclient, "/profile")
    response = nclient.post(
        "/profile",
        data={
            "csrf_token": token,
            "email": "anna@example.se",
            "email_consent": "1",
            "phone": "070 123 45 67",
            "language": "en",
        },
    )
    assert response.status_code == 302
    shown = nclient.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dina val är sparade." in shown and 'value="+46701234567"' in shown
    assert nclient.get("/api/v1/profile/notifications").get_json() == {
        "email": "anna@example.se",
        "phone": "+46701234567",
        "email_consent": True,
        "sms_consent": False,
        "language": "en",
    }
    db.rollback()
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "notifications.profile_updated")).one()
    assert "anna@" not in str(audit.details) and "4670" not in str(audit.details)


def test_profile_form_without_csrf_token_is_refused(napp, nclient, login, db) -> None:
    login(nclient, "anna")
    response = nclient.post("/profile", data={"email": "anna@example.se", "email_consent": "1"})
    assert response.status_code == 400
    db.rollback()
    assert db.scalar(select(NotificationProfile)) is None


def test_bad_input_is_explained_in_the_users_language_and_changes_nothing(napp, nclient, login, db) -> None:
    login(nclient, "anna")
    token = csrf_token(nclient, "/profile")
    response = nclient.post(
        "/profile",
        data={"csrf_token": token, "email": "anna@", "sms_consent": "1", "language": "sv"},
        headers={"Accept-Language": "de"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Geben Sie eine E-Mail-Adresse ein" in page and "Geben Sie eine Mobilnummer an" in page
    assert 'value="anna@"' in page, "what the citizen typed is kept"
    db.rollback()
    assert db.scalar(select(NotificationProfile)) is None


def test_json_endpoint_accepts_json_only_and_validates(napp, nclient, login) -> None:
    assert nclient.get("/api/v1/profile/notifications").status_code == 401
    login(nclient, "anna")
    assert nclient.put("/api/v1/profile/notifications", data={"email": "x"}).status_code == 415
    refused = nclient.put("/api/v1/profile/notifications", json={"email_consent": True, "language": "sv"})
    assert refused.status_code == 422 and set(refused.get_json()["fields"]) == {"email"}


def test_contact_details_are_sealed_at_rest(napp, nclient, login, set_profile, db) -> None:
    login(nclient, "anna")
    set_profile(email="anna.lindqvist@example.se", phone="0701234567", email_consent=True)
    db.rollback()
    stored = db.execute(text("SELECT sealed_contact FROM notification_profile")).scalar_one()
    assert "anna" not in stored and "701234567" not in stored


def test_profile_link_in_the_menu_for_logged_in_citizens(napp, nclient, login) -> None:
    assert 'href="/profile"' not in nclient.get("/").get_data(as_text=True)
    login(nclient, "anna")
    assert 'href="/profile"' in nclient.get("/").get_data(as_text=True)
