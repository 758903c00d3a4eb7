"""Full SAML logins against a real pysaml2 IdP on 127.0.0.1, and every refusal the issue lists."""

from __future__ import annotations

import pytest
import requests
from idtest_saml_idp import OTHER_SP, NextLogin, SamlTestIdp
from idtest_support import (
    HUB,
    SECRET_KEY,
    hub_client,
    local_path,
    make_host_app,
    parse_post_form,
    sp_settings,
)

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


# --- helpers for the refusals ---------------------------------------------------------------

import base64  # noqa: E402
import copy  # noqa: E402
import logging  # noqa: E402
import zlib  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

from lxml import etree  # noqa: E402

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


def refused(response, caplog, reason: str) -> None:
    """The ACS answered with an error page (not 500, no session) and logged ``reason``."""
    assert response.status_code in {400, 403}, response.status_code
    assert "Set-Cookie" not in response.headers or "identity_session=" not in response.headers["Set-Cookie"]
    reasons = [r.getMessage() for r in caplog.records if "login refused" in r.getMessage()]
    assert any(f"reason={reason} " in message for message in reasons), reasons


def answer_fields(client, idp: SamlTestIdp, plan: NextLogin | None = None) -> dict[str, str]:
    idp.next = plan or NextLogin(attributes=ADULT)
    _, fields = idp_answer(start_login(client, idp.key))
    return fields


def xml_of(fields: dict[str, str]) -> etree._Element:
    return etree.fromstring(base64.b64decode(fields["SAMLResponse"]))


def with_xml(fields: dict[str, str], root: etree._Element) -> dict[str, str]:
    return {**fields, "SAMLResponse": base64.b64encode(etree.tostring(root)).decode()}


def pid_value(root: etree._Element) -> etree._Element:
    return root.find(".//saml:Attribute[@Name='urn:oid:1.2.752.29.4.13']/saml:AttributeValue", NS)


def post(client, fields: dict[str, str]):
    return client.post("/identity/saml/acs", data=fields)


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("sign_response", [True, False])
def test_unsigned_assertion_is_refused(saml_app, saml_idps, caplog, sign_response):
    client = hub_client(saml_app)
    plan = NextLogin(attributes=ADULT, sign_assertion=False, sign_response=sign_response)
    refused(post(client, answer_fields(client, saml_idps["bankid"], plan)), caplog, "signature")
    assert client.get("/me").status_code == 401


def test_tampered_signature_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    fields = answer_fields(client, saml_idps["bankid"])
    root = xml_of(fields)
    pid_value(root).text = "191212121212"  # someone else's number inside the signed assertion
    response = post(client, with_xml(fields, root))
    refused(response, caplog, "signature")


def test_signature_value_altered_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    fields = answer_fields(client, saml_idps["bankid"])
    root = xml_of(fields)
    value = root.find("saml:Assertion/ds:Signature/ds:SignatureValue", NS)
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0xFF
    value.text = base64.b64encode(bytes(raw)).decode()
    refused(post(client, with_xml(fields, root)), caplog, "signature")


def _evil_copy(assertion: etree._Element) -> etree._Element:
    evil = copy.deepcopy(assertion)
    for signature in evil.findall("ds:Signature", NS):
        evil.remove(signature)
    pid_value(evil).text = "191212121212"
    return evil


def test_signature_wrapping_second_assertion_is_refused(saml_app, saml_idps, caplog):
    """XSW: an unsigned evil assertion before the signed original (same ID)."""
    client = hub_client(saml_app)
    fields = answer_fields(client, saml_idps["bankid"])
    root = xml_of(fields)
    original = root.find("saml:Assertion", NS)
    original.addprevious(_evil_copy(original))
    response = post(client, with_xml(fields, root))
    assert response.status_code == 400
    assert client.get("/me").status_code == 401


def test_signature_wrapping_original_hidden_in_extensions_is_refused(saml_app, saml_idps, caplog):
    """XSW: the signed original moved into samlp:Extensions, an evil assertion in its place."""
    client = hub_client(saml_app)
    fields = answer_fields(client, saml_idps["bankid"])
    root = xml_of(fields)
    original = root.find("saml:Assertion", NS)
    evil = _evil_copy(original)
    evil.set("ID", "_evil")
    original.addprevious(evil)
    root.remove(original)
    extensions = etree.Element(f"{{{NS['samlp']}}}Extensions")
    extensions.append(original)
    root.find("saml:Issuer", NS).addnext(extensions)
    response = post(client, with_xml(fields, root))
    assert response.status_code == 400
    assert client.get("/me").status_code == 401


def test_signature_wrapping_evil_assertion_inside_signed_one_is_refused(saml_app, saml_idps, caplog):
    """XSW: an evil assertion nested in the signed one's Subject."""
    client = hub_client(saml_app)
    fields = answer_fields(client, saml_idps["bankid"])
    root = xml_of(fields)
    original = root.find("saml:Assertion", NS)
    evil = _evil_copy(original)
    evil.set("ID", "_evil")
    root.replace(original, evil)
    evil.find("saml:Subject", NS).append(original)
    response = post(client, with_xml(fields, root))
    assert response.status_code == 400
    assert client.get("/me").status_code == 401


def test_wrong_audience_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    plan = NextLogin(attributes=ADULT, audience=OTHER_SP)
    refused(post(client, answer_fields(client, saml_idps["bankid"], plan)), caplog, "audience")


def test_wrong_recipient_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    plan = NextLogin(attributes=ADULT, recipient="https://evil.example/acs")
    refused(post(client, answer_fields(client, saml_idps["bankid"], plan)), caplog, "recipient")


def test_recipient_merely_containing_our_acs_is_refused(saml_app, saml_idps, caplog):
    # python3-saml compares Recipient as a substring: this one passes the library.
    client = hub_client(saml_app)
    plan = NextLogin(attributes=ADULT, recipient=f"https://evil.example/?{HUB}/identity/saml/acs")
    refused(post(client, answer_fields(client, saml_idps["bankid"], plan)), caplog, "recipient")


def test_destination_extending_our_acs_is_refused(saml_app, saml_idps, caplog):
    # python3-saml compares Destination as a prefix: this one passes the library.
    client = hub_client(saml_app)
    plan = NextLogin(attributes=ADULT, destination=f"{HUB}/identity/saml/acs/extra")
    refused(post(client, answer_fields(client, saml_idps["bankid"], plan)), caplog, "destination")


def test_expired_assertion_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    plan = NextLogin(attributes=ADULT, lifetime_minutes=-10)
    refused(post(client, answer_fields(client, saml_idps["bankid"], plan)), caplog, "expired")


def test_replayed_post_is_refused(saml_app, saml_idps, caplog):
    """A captured POST sent again from the same browser (cookie and all) logs nobody in."""
    client = hub_client(saml_app)
    fields = answer_fields(client, saml_idps["bankid"])
    assert post(client, fields).status_code == 303
    client.post("/identity/logout")
    refused(post(client, fields), caplog, "unknown_request")
    assert client.get("/me").status_code == 401


def test_replayed_assertion_id_is_refused_by_the_shared_cache(saml_app, saml_idps, caplog):
    """Even when the request id were still pending (say, a second instance's stale read), the
    database replay cache refuses an assertion id it has seen."""
    from sqlalchemy.orm import Session

    from identity.models import LoginRequest

    client = hub_client(saml_app)
    fields = answer_fields(client, saml_idps["bankid"])
    engine = saml_app.config["ENGINE"]
    with Session(engine) as db:
        pending = db.get(LoginRequest, xml_of(fields).get("InResponseTo"))
        saved = {c.name: getattr(pending, c.name) for c in LoginRequest.__table__.columns}
    assert post(client, fields).status_code == 303
    with Session(engine, expire_on_commit=False) as db:
        db.add(LoginRequest(**saved))
        db.commit()
    refused(post(client, fields), caplog, "replayed")


def test_unsolicited_response_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    idp = saml_idps["bankid"]
    idp.next = NextLogin(attributes=ADULT)
    html = idp.post_form(None, f"{HUB}/identity/saml/acs", f"{HUB}/identity/saml/metadata", assurance.LOA3)
    _, fields = parse_post_form(html)
    refused(post(client, fields), caplog, "unsolicited")


def test_in_response_to_a_request_we_never_sent_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    idp = saml_idps["bankid"]
    idp.next = NextLogin(attributes=ADULT)
    html = idp.post_form(
        "_id-we-never-sent", f"{HUB}/identity/saml/acs", f"{HUB}/identity/saml/metadata", assurance.LOA3
    )
    _, fields = parse_post_form(html)
    refused(post(client, fields), caplog, "unknown_request")


def test_answer_posted_from_another_browser_is_refused(saml_app, saml_idps, caplog):
    victim, attacker = hub_client(saml_app), hub_client(saml_app)
    fields = answer_fields(attacker, saml_idps["bankid"])
    refused(post(victim, fields), caplog, "unknown_request")
    assert victim.get("/me").status_code == 401


def test_loa_not_requested_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    plan = NextLogin(attributes=ADULT, authn_context=assurance.LOA2)
    refused(post(client, answer_fields(client, saml_idps["bankid"], plan)), caplog, "loa_too_low")


def test_loa_below_minimum_is_refused_even_when_requested(saml_idps, sp_keys, sqlite_engine, caplog):
    """Misconfigured IdP entry that also requests loa2: our own ranking still refuses it."""

    from identity.settings import IdentitySettings

    idp = saml_idps["bankid"]
    settings = IdentitySettings(
        public_url=f"{HUB}/identity",
        secret_key=SECRET_KEY,
        sp=sp_settings(sp_keys),
        saml_idps=(idp.sp_settings(authn_contexts=(assurance.LOA2, assurance.LOA3)),),
    )
    app = make_host_app(settings, sqlite_engine)
    idp.load_sp_metadata(app.test_client().get("/identity/saml/metadata").get_data(as_text=True))
    client = hub_client(app)
    plan = NextLogin(attributes=ADULT, authn_context=assurance.LOA2)
    refused(post(client, answer_fields(client, idp, plan)), caplog, "loa_too_low")


def test_invalid_personal_number_is_refused(saml_app, saml_idps, caplog):
    client = hub_client(saml_app)
    attributes = {**ADULT, "urn:oid:1.2.752.29.4.13": ["198001010018"]}
    plan = NextLogin(attributes=attributes)
    refused(post(client, answer_fields(client, saml_idps["bankid"], plan)), caplog, "invalid_personal_number")


def test_response_with_doctype_is_refused_not_crashed(saml_app, caplog):
    client = hub_client(saml_app)
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]>'
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="_x"/>'
    )
    refused(post(client, {"SAMLResponse": base64.b64encode(xml).decode()}), caplog, "malformed")


def test_garbage_is_refused_not_crashed(saml_app, caplog):
    client = hub_client(saml_app)
    refused(post(client, {"SAMLResponse": "!!!not base64"}), caplog, "malformed")
    refused(post(client, {}), caplog, "malformed")


def test_no_personal_number_in_any_log_line(saml_app, saml_idps, caplog):
    """Over a whole login, a refused one and a logout, at DEBUG: the number never reaches a log.

    Records of the ``saml2`` logger are the test IdP's own (pysaml2), not the hub's.
    """
    caplog.set_level(logging.DEBUG)
    client = hub_client(saml_app)
    saml_login(client, saml_idps["bankid"])
    client.get("/me")
    client.post("/identity/logout")
    bad = {**ADULT, "urn:oid:1.2.752.29.4.13": ["198001010018"]}
    post(client, answer_fields(client, saml_idps["bankid"], NextLogin(attributes=bad)))
    ours = [r for r in caplog.records if not r.name.startswith("saml2")]
    assert any(r.name.startswith("identity") for r in ours)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in ours)
    for form in ("198001010019", "8001010019", "19800101-0019", "800101-0019", "198001010018"):
        assert form not in text


@pytest.fixture
def encrypting_app(saml_idps, sp_keys, sqlite_engine):
    """An SP that, as Sweden Connect asks, wants assertions encrypted to its key."""

    from identity.settings import IdentitySettings

    idp = saml_idps["bankid"]
    settings = IdentitySettings(
        public_url=f"{HUB}/identity",
        secret_key=SECRET_KEY,
        sp=sp_settings(sp_keys),
        saml_idps=(idp.sp_settings(want_assertions_encrypted=True),),
    )
    app = make_host_app(settings, sqlite_engine)
    idp.load_sp_metadata(app.test_client().get("/identity/saml/metadata").get_data(as_text=True))
    return app


ENCRYPT = {"encrypt_assertion": True, "encrypt_assertion_self_contained": False}


def test_encrypted_assertion_login(encrypting_app, saml_idps):
    client = hub_client(encrypting_app)
    response, fields = saml_login(client, saml_idps["bankid"], NextLogin(attributes=ADULT, extra=ENCRYPT))
    assert b"EncryptedAssertion" in base64.b64decode(fields["SAMLResponse"])
    assert response.status_code == 303, response.get_data(as_text=True)
    assert client.get("/me").get_json()["personal_number"] == "198001010019"


def test_plain_assertion_is_refused_when_encryption_is_required(encrypting_app, saml_idps, caplog):
    client = hub_client(encrypting_app)
    response, _ = saml_login(client, saml_idps["bankid"], NextLogin(attributes=ADULT))
    refused(response, caplog, "invalid_response")


def test_encrypted_but_unsigned_assertion_is_refused(encrypting_app, saml_idps, caplog):
    client = hub_client(encrypting_app)
    # pysaml2 encrypts an unsigned assertion only in its self-contained mode.
    extra = {"encrypt_assertion": True, "encrypt_assertion_self_contained": True}
    plan = NextLogin(attributes=ADULT, sign_assertion=False, extra=extra)
    response, fields = saml_login(client, saml_idps["bankid"], plan)
    assert b"EncryptedAssertion" in base64.b64decode(fields["SAMLResponse"])
    refused(response, caplog, "signature")


def test_answer_from_another_idp_than_the_one_asked_is_refused(saml_app, saml_idps, caplog):
    """Mix-up: the request went to "bankid", the (validly signed) answer comes from the staff IdP."""
    client = hub_client(saml_app)
    bankid, staff = saml_idps["bankid"], saml_idps["staff-saml"]
    staff.next = NextLogin(attributes=ADULT)
    url = start_login(client, "bankid")
    assert url.startswith(bankid.base_url)
    request_xml = zlib.decompress(base64.b64decode(parse_qs(urlsplit(url).query)["SAMLRequest"][0]), -15)
    request_id = etree.fromstring(request_xml).get("ID")
    html = staff.post_form(
        request_id, f"{HUB}/identity/saml/acs", f"{HUB}/identity/saml/metadata", assurance.LOA3
    )
    refused(post(client, parse_post_form(html)[1]), caplog, "issuer")
    assert client.get("/me").status_code == 401
