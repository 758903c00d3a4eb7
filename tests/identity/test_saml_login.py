"""Full SAML logins against a real pysaml2 IdP on 127.0.0.1, and every refusal the issue lists."""

from __future__ import annotations

import pytest
import requests
from idtest_saml_idp import NextLogin, SamlTestIdp
from idtest_support import HUB, hub_client, local_path, parse_post_form

from identity import assurance

pytestmark = pytest.mark.once

ADULT = {
    "urn:oid:1.2.752.29.4.13": ["198001010019"],
    "urn:oid:2.5.4.42": ["Astrid"],
    "urn:oid:2.5.4.4": ["Andersson"],
    "urn:oid:2.16.840.1.113730.3.1.241": ["Astrid Andersson"],
}


def start_login(client, idp_key: str = "bankid", next_path: str | None = None) -> str:
    """Ask the SP for a login; return the IdP URL it redirects to."""
    response = client.get(f"/identity/login/{idp_key}" + (f"?next={next_path}" if next_path else ""))
    assert response.status_code == 303
    return response.headers["Location"]


def idp_answer(url: str) -> tuple[str, dict[str, str]]:
    """Let the real IdP handle the AuthnRequest (as a browser would); return its auto-POST form."""
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text[:500]
    return parse_post_form(response.text)


def saml_login(client, idp: SamlTestIdp, plan: NextLogin | None = None):
    idp.next = plan or NextLogin(attributes=ADULT)
    action, fields = idp_answer(start_login(client, idp.key))
    assert action == f"{HUB}/identity/saml/acs"
    return client.post(local_path(action), data=fields), fields


def test_full_login_round_trip_creates_a_session(saml_app, saml_idps):
    client = hub_client(saml_app)
    response, _ = saml_login(client, saml_idps["bankid"])
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/me")
    me = client.get("/me").get_json()
    assert me["personal_number"] == "198001010019"
    assert me["given_name"] == "Astrid"
    assert me["display_name"] == "Astrid Andersson"
    assert me["loa"] == assurance.LOA4  # the IdP chose the strongest requested context
    assert me["birth_date"] == "1980-01-01"
    assert me["audience"] == "citizen"
