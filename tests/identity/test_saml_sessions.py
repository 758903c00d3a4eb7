"""The blueprint end to end with the real SAML IdP: cookies, rotation, time-outs, logout, age, staff roles."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from idtest_saml_idp import NextLogin
from idtest_support import HUB, FakeClock, hub_client, local_path, make_host_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_saml_login import ADULT, idp_answer, saml_login, start_login

from identity import assurance, roles
from identity.models import IdentitySession

pytestmark = pytest.mark.once

CHILD = {**ADULT, "urn:oid:1.2.752.29.4.13": ["201501010001"]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sp_app(saml_settings, saml_idps, sqlite_engine, clock):
    settings = dataclasses.replace(saml_settings, clock=clock, minimum_age=13)
    app = make_host_app(settings, sqlite_engine)
    metadata = app.test_client().get("/identity/saml/metadata").get_data(as_text=True)
    for idp in saml_idps.values():
        idp.load_sp_metadata(metadata)
    app.config["ENGINE"] = sqlite_engine
    return app


def session_count(app) -> int:
    with Session(app.config["ENGINE"]) as db:
        return db.scalar(select(func.count()).select_from(IdentitySession))


def test_metadata_publishes_acs_slo_and_signing_key(sp_app):
    xml = sp_app.test_client().get("/identity/saml/metadata").get_data(as_text=True)
    assert f'entityID="{HUB}/identity/saml/metadata"' in xml
    assert f'Location="{HUB}/identity/saml/acs"' in xml
    assert f'Location="{HUB}/identity/saml/slo"' in xml
    assert 'AuthnRequestsSigned="true"' in xml and 'WantAssertionsSigned="true"' in xml


def test_authn_request_is_signed_and_asks_for_every_acceptable_level(sp_app, saml_idps):
    query = parse_qs(urlsplit(start_login(hub_client(sp_app))).query)
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"] and query["Signature"]
    idp = saml_idps["bankid"]
    idp.next = NextLogin(attributes=ADULT)
    idp_answer(start_login(hub_client(sp_app)))
    requested = idp.last_authn_request.requested_authn_context
    assert requested.comparison == "exact"
    uris = {ref.text for ref in requested.authn_context_class_ref}
    assert {assurance.LOA3, assurance.LOA4, assurance.EIDAS_SUBSTANTIAL} <= uris
    assert assurance.LOA2 not in uris


def test_session_cookie_flags(sp_app, saml_idps):
    client = hub_client(sp_app)
    response, _ = saml_login(client, saml_idps["bankid"])
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-identity_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path=/", "samesite=lax"} <= flags
    assert not any(flag.startswith("domain") for flag in flags)
    assert response.headers["Cache-Control"] == "no-store"


def test_login_rotates_the_session_token(sp_app, saml_idps):
    client = hub_client(sp_app)
    saml_login(client, saml_idps["bankid"])
    first = client.get_cookie("__Host-identity_session").value
    saml_login(client, saml_idps["bankid"])
    second = client.get_cookie("__Host-identity_session").value
    assert first != second
    assert session_count(sp_app) == 1
    assert client.get("/me").status_code == 200


def test_return_to_only_a_local_path(sp_app, saml_idps):
    client = hub_client(sp_app)
    idp = saml_idps["bankid"]
    idp.next = NextLogin(attributes=ADULT)
    action, fields = idp_answer(start_login(client, next_path="/bookings/42"))
    assert client.post(local_path(action), data=fields).headers["Location"].endswith("/bookings/42")
    action, fields = idp_answer(start_login(client, next_path="//evil.example/x"))
    assert client.post(local_path(action), data=fields).headers["Location"].endswith("/me")


def test_idle_time_out(sp_app, saml_idps, clock):
    client = hub_client(sp_app)
    saml_login(client, saml_idps["bankid"])
    clock.advance(minutes=14)
    assert client.get("/me").status_code == 200
    clock.advance(minutes=15, seconds=1)
    response = client.get("/me")
    assert response.status_code == 401
    assert "__Host-identity_session=;" in response.headers.get("Set-Cookie", "")
    assert session_count(sp_app) == 0


def test_absolute_time_out_despite_activity(sp_app, saml_idps, clock):
    client = hub_client(sp_app)
    saml_login(client, saml_idps["bankid"])
    for _ in range(47):
        clock.advance(minutes=10)
        assert client.get("/me").status_code == 200
    clock.advance(minutes=10)
    assert client.get("/me").status_code == 401


def test_child_below_the_minimum_age_gets_no_session(sp_app, saml_idps, caplog):
    client = hub_client(sp_app)
    saml_idps["bankid"].next = NextLogin(attributes=CHILD)
    # 2015-01-01 is 11 in 2026; this region's minimum is 13.
    action, fields = idp_answer(start_login(client))
    response = client.post(local_path(action), data=fields)
    assert response.status_code == 403
    assert "too young" in response.get_data(as_text=True)
    assert client.get("/me").status_code == 401
    assert session_count(sp_app) == 0


def test_child_logs_in_as_themselves_when_old_enough(saml_settings, saml_idps, sqlite_engine):
    app = make_host_app(dataclasses.replace(saml_settings, minimum_age=0), sqlite_engine)
    client = hub_client(app)
    response, _ = saml_login(client, saml_idps["bankid"], NextLogin(attributes=CHILD))
    assert response.status_code == 303
    assert client.get("/me").get_json()["personal_number"] == "201501010001"


def test_logout_ends_the_idp_session_too(sp_app, saml_idps):
    client = hub_client(sp_app)
    idp = saml_idps["bankid"]
    saml_login(client, idp)
    idp.logout_requests.clear()
    response = client.post("/identity/logout")
    assert response.status_code == 303
    assert client.get("/me").status_code == 401
    with requests.Session() as browser:
        answer = browser.get(response.headers["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert [r.name_id.text for r in idp.logout_requests] == ["persistent-id-1"]
    back = client.get(local_path(answer.headers["Location"]))
    assert back.status_code == 303
    assert back.headers["Location"] == "/"


def test_identity_provider_initiated_logout(sp_app, saml_idps):
    client, other = hub_client(sp_app), hub_client(sp_app)
    idp = saml_idps["bankid"]
    saml_login(client, idp)
    saml_login(other, idp, NextLogin(attributes=ADULT, name_id="persistent-id-2"))
    url = idp.logout_request_url(f"{HUB}/identity/saml/metadata", "persistent-id-1")
    response = hub_client(sp_app).get(local_path(url))
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{idp.base_url}/slo?SAMLResponse=")
    assert client.get("/me").status_code == 401
    assert other.get("/me").status_code == 200


def test_forged_logout_request_ends_nothing(sp_app, saml_idps):
    client = hub_client(sp_app)
    idp = saml_idps["bankid"]
    saml_login(client, idp)
    url = idp.logout_request_url(f"{HUB}/identity/saml/metadata", "persistent-id-1")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["Signature"] = query["Signature"][:-8] + "AAAAAAA="
    hub_client(sp_app).get(f"/identity/saml/slo?{urlencode(query)}")
    assert client.get("/me").status_code == 200


def test_staff_login_carries_granted_roles_and_citizen_login_does_not(sp_app, saml_idps):
    engine = sp_app.config["ENGINE"]
    key = sp_app.extensions["identity"].settings.secret_key
    subject_key = roles.subject_key_for("198001010019", key)
    region_key = roles.subject_key_for("191212121212", key)
    with Session(engine) as db:
        roles.bootstrap_region_admin(db, subject_key=region_key, label="Region", now=FakeClock().now)
        region = roles.load_actor(db, region_key, roles.Audience.STAFF)
        roles.grant_clinic_admin(
            db,
            region,
            subject_key=subject_key,
            clinic_id="SE2321000016-1HZ5",
            label="Astrid",
            now=FakeClock().now,
        )
        db.commit()

    staff = hub_client(sp_app)
    response, _ = saml_login(staff, saml_idps["staff-saml"])
    assert response.headers["Location"].endswith("/staff")
    me = staff.get("/me").get_json()
    assert me["audience"] == "staff"
    assert me["grants"] == ["clinic_admin:se2321000016-1hz5"]

    assert staff.get("/clinic/se2321000016-1hz5/admin").status_code == 200
    assert staff.get("/clinic/SE2321000016-OTHER/admin").status_code == 403
    assert staff.get("/book").status_code == 403  # staff sessions do not book

    citizen = hub_client(sp_app)
    saml_login(citizen, saml_idps["bankid"])
    assert citizen.get("/me").get_json()["grants"] == []
    assert citizen.get("/clinic/SE2321000016-1HZ5/admin").status_code == 403
    assert citizen.get("/book").status_code == 200
    assert hub_client(sp_app).get("/book").status_code == 401
    assert hub_client(sp_app).get("/clinic/SE2321000016-1HZ5/admin").status_code == 401


def test_login_pages_list_the_providers_per_audience(sp_app):
    client = hub_client(sp_app)
    citizen = client.get("/identity/login").get_data(as_text=True)
    staff = client.get("/identity/staff/login").get_data(as_text=True)
    assert "/identity/login/bankid" in citizen and "staff-saml" not in citizen
    assert "/identity/login/staff-saml" in staff and "bankid" not in staff
    assert client.get("/identity/login/nope").status_code == 404


def test_with_csrf_protection_the_acs_still_accepts_the_idp_post_and_logout_needs_a_token(
    saml_settings, saml_idps, sqlite_engine
):
    app = make_host_app(saml_settings, sqlite_engine, csrf=True)
    client = hub_client(app)
    response, _ = saml_login(client, saml_idps["bankid"])
    assert response.status_code == 303
    assert client.post("/identity/logout").status_code == 400  # no CSRF token: the hub's forms carry one
    assert client.get("/me").status_code == 200


def test_rotation_ends_the_old_session_even_without_the_cookie_on_the_cross_site_post(sp_app, saml_idps):
    """Browsers do not send a SameSite=Lax cookie on the IdP's cross-site POST to the ACS."""
    client = hub_client(sp_app)
    saml_login(client, saml_idps["bankid"])
    old = client.get_cookie("__Host-identity_session").value
    idp = saml_idps["bankid"]
    idp.next = NextLogin(attributes=ADULT)
    action, fields = idp_answer(start_login(client))  # same-site GET: the cookie goes along
    flow = client.get_cookie("__Host-identity_flow").value
    cross_site = hub_client(sp_app)  # the POST arrives with the flow cookie only
    cross_site.set_cookie("__Host-identity_flow", flow)
    assert cross_site.post(local_path(action), data=fields).status_code == 303
    assert session_count(sp_app) == 1
    stale = hub_client(sp_app)
    stale.set_cookie("__Host-identity_session", old)
    assert stale.get("/me").status_code == 401


def test_logout_message_that_inflates_too_far_is_refused(sp_app, caplog):
    import base64
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(b"<" + b"a" * 5_000_000) + compressor.flush()
    query = urlencode({"SAMLRequest": base64.b64encode(bomb).decode()})
    response = hub_client(sp_app).get(f"/identity/saml/slo?{query}")
    assert response.status_code == 303
    assert any("reason=malformed" in r.getMessage() for r in caplog.records)
