"""The hub with e-ID: a citizen logs in at a real SAML IdP, books, and the session's end ends access."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from booking_helpers import book, free_slots
from flask import Flask
from idtest_saml_idp import NextLogin, SamlTestIdp
from idtest_support import HUB, hub_client, local_path, parse_post_form
from sqlalchemy import select

from hub import create_app
from hub.citizens import lookup_key
from hub.models import AuditEvent, Booking, Citizen
from identity.settings import IdentitySettings

ASTRID = {
    "urn:oid:1.2.752.29.4.13": ["198001010019"],
    "urn:oid:2.5.4.42": ["Astrid"],
    "urn:oid:2.5.4.4": ["Andersson"],
    "urn:oid:2.16.840.1.113730.3.1.241": ["Astrid Andersson"],
}


def _hub_with_eid(database_url: str, settings: IdentitySettings) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "IDENTITY": settings,
            "DEV_LOGIN": False,
        }
    )


@pytest.fixture
def eid_hub(
    app: Flask, database_url: str, saml_settings: IdentitySettings, saml_idps: dict[str, SamlTestIdp]
) -> Iterator[Flask]:
    hub = _hub_with_eid(database_url, saml_settings)
    metadata = hub.test_client().get("/identity/saml/metadata").get_data(as_text=True)
    for idp in saml_idps.values():
        idp.load_sp_metadata(metadata)
    yield hub
    from hub.db import database

    database(hub).engine.dispose()


def _log_in(client, idp: SamlTestIdp, next_path: str = "/bookings"):
    idp.next = NextLogin(attributes=ASTRID)
    started = client.get(f"/identity/login/{idp.key}?next={next_path}")
    assert started.status_code == 303
    answer = requests.get(started.headers["Location"], timeout=10)
    action, fields = parse_post_form(answer.text)
    assert action == f"{HUB}/identity/saml/acs"
    return client.post(local_path(action), data=fields)


def test_citizen_logs_in_with_eid_and_books(eid_hub, saml_idps, create_clinic, db, caplog) -> None:
    clinic = create_clinic()
    client = hub_client(eid_hub)
    assert client.get("/api/v1/bookings").status_code == 401
    assert "Logga in med e-legitimation" in client.get("/").get_data(as_text=True)

    landed = _log_in(client, saml_idps["bankid"])
    assert landed.status_code in {302, 303} and landed.headers["Location"].endswith("/bookings")

    slot = free_slots(client, clinic.hsa_id)[0]
    assert book(client, clinic.hsa_id, slot["id"]).status_code == 201
    assert len(client.get("/api/v1/bookings").get_json()["bookings"]) == 1
    citizen = db.scalar(select(Citizen).where(Citizen.lookup_key == lookup_key_in(eid_hub, "198001010019")))
    assert citizen is not None
    assert "login" in set(db.scalars(select(AuditEvent.action).where(AuditEvent.citizen_id.is_(None))))
    assert "198001010019" not in caplog.text


def lookup_key_in(app: Flask, number: str) -> str:
    with app.app_context():
        return lookup_key(number)


def test_the_test_login_is_gone_when_not_enabled(eid_hub) -> None:
    assert hub_client(eid_hub).get("/dev-login").status_code == 404


def test_logout_ends_the_eid_session(eid_hub, saml_idps, create_clinic) -> None:
    clinic = create_clinic()
    client = hub_client(eid_hub)
    _log_in(client, saml_idps["bankid"])
    assert client.get("/api/v1/bookings").status_code == 200
    page = client.get("/bookings").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 307
    client.post(response.headers["Location"].replace(HUB, ""), data={"csrf_token": token})
    assert client.get("/api/v1/bookings").status_code == 401
    assert book(client, clinic.hsa_id, free_slots(client, clinic.hsa_id)[0]["id"]).status_code == 401


def _logged_in_with_a_free_time(eid_hub, saml_idps, create_clinic):
    """Astrid logged in with e-ID, and a clinic's first free time: (client, clinic, slot)."""
    clinic = create_clinic()
    client = hub_client(eid_hub)
    _log_in(client, saml_idps["bankid"])
    return client, clinic, free_slots(client, clinic.hsa_id)[0]


def _cookie_cleared(response) -> bool:
    return any("identity_session=;" in h and "Max-Age=0" in h for h in response.headers.getlist("Set-Cookie"))


def _nothing_booked(db) -> bool:
    db.expire_all()
    return db.scalar(select(Booking)) is None


def _session_row(db):
    from identity.models import IdentitySession

    db.expire_all()
    return db.scalar(select(IdentitySession))


def test_the_login_names_the_citizen_on_the_session(eid_hub, saml_idps, db) -> None:
    """The booking statement finds the citizen through the session; the login names them."""
    _log_in(hub_client(eid_hub), saml_idps["bankid"])
    citizen = db.scalar(select(Citizen))
    assert _session_row(db).app_ref == citizen.id


def test_a_session_from_before_sessions_named_their_citizen_still_books(
    eid_hub, saml_idps, create_clinic, db
) -> None:
    client, clinic, slot = _logged_in_with_a_free_time(eid_hub, saml_idps, create_clinic)
    _session_row(db).app_ref = None
    db.commit()

    response = book(client, clinic.hsa_id, slot["id"])

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id"] in {
        b["id"] for b in client.get("/api/v1/bookings").get_json()["bookings"]
    }


def _expired(row) -> None:
    row.expires_at = row.created_at - timedelta(seconds=1)


def _idle(row) -> None:
    row.last_seen_at = row.last_seen_at - timedelta(hours=1)


@pytest.mark.parametrize("end", [_expired, _idle], ids=["expired", "idle"])
def test_an_ended_session_cannot_book_and_its_cookie_is_cleared(
    end, eid_hub, saml_idps, create_clinic, db
) -> None:
    client, clinic, slot = _logged_in_with_a_free_time(eid_hub, saml_idps, create_clinic)
    end(_session_row(db))
    db.commit()

    response = book(client, clinic.hsa_id, slot["id"])

    assert response.status_code == 401
    assert response.get_json()["code"] == "not_logged_in"
    assert _cookie_cleared(response), response.headers.getlist("Set-Cookie")
    assert _nothing_booked(db)


def test_a_staff_session_cannot_book_as_a_citizen(eid_hub, saml_idps, create_clinic, db) -> None:
    client, clinic, slot = _logged_in_with_a_free_time(eid_hub, saml_idps, create_clinic)
    _session_row(db).audience = "staff"
    db.commit()

    response = book(client, clinic.hsa_id, slot["id"])

    assert response.status_code == 401
    assert _nothing_booked(db)


def test_booking_checks_a_named_session_in_its_own_statement(
    eid_hub, saml_idps, create_clinic, monkeypatch
) -> None:
    """No separate read of the session (nor unsealing of the person's number) for a booking."""
    from identity import sessions

    client, clinic, slot = _logged_in_with_a_free_time(eid_hub, saml_idps, create_clinic)

    def no_full_read(*_args, **_kwargs):
        raise AssertionError("the session was read in full")

    monkeypatch.setattr(sessions, "load", no_full_read)
    assert book(client, clinic.hsa_id, slot["id"]).status_code == 201


def test_a_cookie_kept_from_before_the_logout_cannot_book(eid_hub, saml_idps, create_clinic, db) -> None:
    client, clinic, slot = _logged_in_with_a_free_time(eid_hub, saml_idps, create_clinic)
    cookie = client.get_cookie("__Host-identity_session")
    page = client.get("/bookings").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/logout", data={"csrf_token": token})
    client.post(response.headers["Location"].replace(HUB, ""), data={"csrf_token": token})
    assert _session_row(db) is None

    replayed = hub_client(eid_hub)
    replayed.set_cookie(cookie.key, cookie.value)
    response = book(replayed, clinic.hsa_id, slot["id"])

    assert response.status_code == 401
    assert _nothing_booked(db)


def test_a_session_sealed_under_a_rotated_secret_cannot_book(
    eid_hub, saml_idps, saml_settings, create_clinic, database_url, db
) -> None:
    """Rotating the identity secret ends every session, also for the booking statement that
    checks the session without unsealing it."""
    import dataclasses

    from hub.db import database

    client, clinic, slot = _logged_in_with_a_free_time(eid_hub, saml_idps, create_clinic)
    cookie = client.get_cookie("__Host-identity_session")
    rotated = _hub_with_eid(
        database_url, dataclasses.replace(saml_settings, secret_key=b"another secret, rotated in")
    )
    try:
        after = hub_client(rotated)
        after.set_cookie(cookie.key, cookie.value)
        response = book(after, clinic.hsa_id, slot["id"])
    finally:
        database(rotated).engine.dispose()

    assert response.status_code == 401
    assert _nothing_booked(db)
