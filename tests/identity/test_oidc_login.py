"""Full OpenID Connect code-flow logins against a real oidc-provider on 127.0.0.1, and refusals."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from idtest_support import follow_until_hub, hub_client, local_path

from identity import assurance

pytestmark = pytest.mark.once


def authorization_url(client) -> str:
    response = client.get("/identity/login/idporten")
    assert response.status_code == 303
    return response.headers["Location"]


def callback_url(client, op, account: str = "adult", acr: str = assurance.LOA3, **tamper) -> str:
    """Log in at the OP as ``account`` (optionally altering the next id_token); return the callback URL."""
    op.next_login(account, acr)
    if tamper:
        op.tamper_next_id_token(**tamper)
    with requests.Session() as browser:
        return follow_until_hub(browser, authorization_url(client))


def refused(response, caplog, reason: str) -> None:
    assert response.status_code in {400, 403}, (response.status_code, response.get_data(as_text=True)[:300])
    reasons = [r.getMessage() for r in caplog.records if "login refused" in r.getMessage()]
    assert any(f"reason={reason} " in message for message in reasons), reasons


def test_full_code_flow_login(oidc_app, oidc_op):
    client = hub_client(oidc_app)
    response = client.get(local_path(callback_url(client, oidc_op)))
    assert response.status_code == 303, response.get_data(as_text=True)
    me = client.get("/me").get_json()
    assert me["personal_number"] == "198001010019"
    assert me["given_name"] == "Astrid"
    assert me["family_name"] == "Andersson"
    assert me["loa"] == assurance.LOA3
    assert me["idp"] == "idporten"
    assert me["birth_date"] == "1980-01-01"


def test_authorization_request_uses_pkce_state_nonce_and_acr(oidc_app, oidc_op):
    query = parse_qs(urlsplit(authorization_url(hub_client(oidc_app))).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"] and query["nonce"]
    requested = query["acr_values"][0].split()
    assert assurance.LOA3 in requested and assurance.LOA2 not in requested


def test_wrong_state_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    url = callback_url(client, oidc_op)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = "not-a-state-we-sent"
    refused(client.get(f"{parts.path}?{urlencode(query)}"), caplog, "state")


def test_replayed_callback_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    url = local_path(callback_url(client, oidc_op))
    assert client.get(url).status_code == 303
    client.post("/identity/logout")
    refused(client.get(url), caplog, "state")
    assert client.get("/me").status_code == 401


def test_callback_in_another_browser_is_refused(oidc_app, oidc_op, caplog):
    attacker, victim = hub_client(oidc_app), hub_client(oidc_app)
    url = local_path(callback_url(attacker, oidc_op))
    refused(victim.get(url), caplog, "state")
    assert victim.get("/me").status_code == 401


def test_wrong_nonce_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    url = callback_url(client, oidc_op, nonce="a-nonce-we-never-sent")
    refused(client.get(local_path(url)), caplog, "nonce")


def test_wrong_audience_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    url = callback_url(client, oidc_op, aud="another-client")
    refused(client.get(local_path(url)), caplog, "audience")


def test_wrong_issuer_in_token_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    url = callback_url(client, oidc_op, iss="https://evil.example")
    refused(client.get(local_path(url)), caplog, "issuer")


def test_expired_id_token_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    now = int(time.time())
    url = callback_url(client, oidc_op, iat=now - 1200, exp=now - 600)
    refused(client.get(local_path(url)), caplog, "expired")


def test_acr_too_low_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    url = callback_url(client, oidc_op, acr=assurance.LOA2)
    refused(client.get(local_path(url)), caplog, "loa_too_low")


def test_missing_acr_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    url = callback_url(client, oidc_op, acr=None)
    response = client.get(local_path(url))
    assert response.status_code == 400
    assert client.get("/me").status_code == 401


def test_iss_parameter_of_another_issuer_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    parts = urlsplit(callback_url(client, oidc_op))
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert "iss" in query  # RFC 9207: oidc-provider sends it
    query["iss"] = "https://evil.example"
    refused(client.get(f"{parts.path}?{urlencode(query)}"), caplog, "issuer")


def test_invalid_personal_number_is_refused(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    url = callback_url(client, oidc_op, account="broken")
    refused(client.get(local_path(url)), caplog, "invalid_personal_number")


def test_provider_error_is_shown_not_crashed(oidc_app, oidc_op, caplog):
    client = hub_client(oidc_app)
    state = parse_qs(urlsplit(authorization_url(client)).query)["state"][0]
    query = urlencode({"error": "access_denied", "state": state, "iss": oidc_op.issuer})
    refused(client.get(f"/identity/oidc/callback?{query}"), caplog, "provider_error")


def test_logout_ends_the_session_and_the_provider_session(oidc_app, oidc_op):
    client = hub_client(oidc_app)
    client.get(local_path(callback_url(client, oidc_op)))
    response = client.post("/identity/logout")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"{oidc_op.issuer}/session/end")
    assert "id_token_hint=" in location
    assert client.get("/me").status_code == 401


def test_no_personal_number_in_any_log_line(oidc_app, oidc_op, caplog):
    caplog.set_level(logging.DEBUG)
    client = hub_client(oidc_app)
    client.get(local_path(callback_url(client, oidc_op)))
    client.get("/me")
    client.post("/identity/logout")
    client.get(local_path(callback_url(client, oidc_op, account="broken")))
    assert any(r.name.startswith("identity") for r in caplog.records)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for form in ("198001010019", "8001010019", "19800101-0019", "800101-0019", "19800101-0018"):
        assert form not in text


def test_staff_provider_gives_a_staff_session(oidc_settings, oidc_op, sqlite_engine):
    import dataclasses

    from idtest_support import make_host_app

    from identity import Audience

    staff_op = dataclasses.replace(oidc_settings.oidc_providers[0], audience=Audience.STAFF)
    app = make_host_app(dataclasses.replace(oidc_settings, oidc_providers=(staff_op,)), sqlite_engine)
    client = hub_client(app)
    response = client.get(local_path(callback_url(client, oidc_op)))
    assert response.headers["Location"].endswith("/staff")
    assert client.get("/me").get_json()["audience"] == "staff"


def test_country_per_provider_decides_which_numbers_are_valid(oidc_settings, oidc_op, sqlite_engine, caplog):
    """A provider configured for Norwegian numbers refuses a Swedish one."""
    import dataclasses

    from idtest_support import make_host_app

    norwegian = dataclasses.replace(oidc_settings.oidc_providers[0], personal_number_countries=("no",))
    app = make_host_app(dataclasses.replace(oidc_settings, oidc_providers=(norwegian,)), sqlite_engine)
    client = hub_client(app)
    refused(client.get(local_path(callback_url(client, oidc_op))), caplog, "invalid_personal_number")
