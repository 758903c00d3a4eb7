"""Settings: from plain configuration, from IdP metadata, and the checks made at start-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from idtest_support import HUB, hub_client, make_host_app
from test_saml_login import ADULT, saml_login

from identity import Audience, IdentitySettings, assurance
from identity.settings import SamlIdp, saml_idp_from_metadata, settings_from_mapping


def test_settings_from_plain_configuration(sp_keys, idp_keys):
    settings = settings_from_mapping(
        {
            "public_url": f"{HUB}/identity",
            "secret_key": "a-secret-of-at-least-16-bytes",
            "sp": {"entity_id": "urn:sp", "certificate": sp_keys.cert_pem, "private_key": sp_keys.key_pem},
            "saml_idps": [
                {
                    "key": "bankid",
                    "label": "BankID",
                    "entity_id": "urn:idp",
                    "sso_url": "https://idp.example/sso",
                    "certificates": [idp_keys.cert_pem],
                    "want_assertions_encrypted": True,
                },
                {
                    "key": "siths",
                    "label": "SITHS",
                    "entity_id": "urn:staff",
                    "sso_url": "https://staff.example/sso",
                    "certificates": [idp_keys.cert_pem],
                    "audience": "staff",
                },
            ],
            "oidc_providers": [
                {
                    "key": "idporten",
                    "label": "ID-porten",
                    "issuer": "https://idporten.example",
                    "client_id": "hub",
                    "client_secret": "s",
                    "acr_values": ["idporten-loa-high"],
                }
            ],
            "minimum_loa": assurance.LOA3,
            "minimum_age": 13,
            "personal_number_countries": ["se", "no"],
            "idle_timeout_minutes": 10,
            "absolute_timeout_minutes": 240,
        }
    )
    assert settings.secret_key == b"a-secret-of-at-least-16-bytes"
    assert settings.idle_timeout == timedelta(minutes=10)
    assert settings.saml_idp("siths").audience is Audience.STAFF
    assert settings.saml_idp("bankid").certificates == (idp_keys.cert_pem,)
    assert settings.oidc_provider("idporten").acr_values == ("idporten-loa-high",)
    assert settings.personal_number_countries == ("se", "no")
    assert settings.acs_url == f"{HUB}/identity/saml/acs"
    assert settings.session_cookie_name == "__Host-identity_session"


@pytest.mark.parametrize(
    "change",
    [
        {"nonsense": 1},
        {"minimum_loa": "http://example.org/unknown"},
        {"secret_key": "short"},
        {"public_url": "hub.example/identity"},
    ],
)
def test_bad_configuration_fails_at_start_up(change):
    base = {"public_url": f"{HUB}/identity", "secret_key": "a-secret-of-at-least-16-bytes"}
    with pytest.raises(ValueError):
        settings_from_mapping({**base, **change})


def test_duplicate_provider_keys_are_refused(idp_keys, sp_keys):
    idp = SamlIdp("x", "X", "urn:idp", "https://idp.example/sso", (idp_keys.cert_pem,))
    with pytest.raises(ValueError):
        IdentitySettings(
            public_url=f"{HUB}/identity",
            secret_key=b"s" * 16,
            sp=settings_from_mapping(
                {
                    "public_url": f"{HUB}/identity",
                    "secret_key": "s" * 16,
                    "sp": {
                        "entity_id": "urn:sp",
                        "certificate": sp_keys.cert_pem,
                        "private_key": sp_keys.key_pem,
                    },
                }
            ).sp,
            saml_idps=(idp, idp),
        )


@pytest.mark.once
def test_idp_from_its_published_metadata_logs_in(saml_idps, saml_settings, sqlite_engine, saml_app):
    """The pysaml2 IdP's own metadata, read by saml_idp_from_metadata, configures a working login."""
    from saml2.metadata import entity_descriptor  # idtest_saml_idp already silenced pysaml2's import warning

    idp = saml_idps["bankid"]
    metadata = str(entity_descriptor(idp.server.config))
    entry = saml_idp_from_metadata(metadata, key="bankid", label="BankID")
    assert entry.entity_id == idp.entity_id
    assert entry.sso_url == f"{idp.base_url}/sso" and entry.slo_url == f"{idp.base_url}/slo"
    assert "".join(entry.certificates[0].split()) == "".join(idp.keys.cert_pem.split())
    settings = settings_from_mapping(
        {"public_url": f"{HUB}/identity", "secret_key": "a-secret-of-at-least-16-bytes"},
        sp=saml_settings.sp,
        saml_idps=(entry,),
    )
    client = hub_client(make_host_app(settings, sqlite_engine))
    response, _ = saml_login(client, idp)
    assert response.status_code == 303
    assert client.get("/me").get_json()["given_name"] == ADULT["urn:oid:2.5.4.42"][0]
