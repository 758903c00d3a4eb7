"""A deployment configures e-ID in a file that HUB_IDENTITY_FILE names."""

from __future__ import annotations

import json

import pytest

from hub import create_app
from hub.config import ConfigError
from hub.eid import citizen_login_available

FREJA = {"key": "freja", "label": "Freja eID", "issuer": "https://idp.example", "client_id": "hub"}


def _app(tmp_path, identity_file):
    return create_app(
        {
            "SECRET_KEY": "a-test-secret-of-some-length",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
            "IDENTITY_FILE": str(identity_file),
        }
    )


def test_citizens_can_log_in_with_the_providers_the_file_lists(tmp_path) -> None:
    settings = tmp_path / "identity.json"
    settings.write_text(
        json.dumps(
            {
                "public_url": "http://127.0.0.1:5000/identity",
                "secret_key": "an-identity-secret-of-32-bytes!!",
                "cookie_secure": False,
                "oidc_providers": [{**FREJA, "client_secret": "from-the-vault"}],
            }
        )
    )
    app = _app(tmp_path, settings)
    with app.app_context():
        assert citizen_login_available()
    assert [p.label for p in app.extensions["identity"].settings.oidc_providers] == ["Freja eID"]


def test_an_unreadable_identity_file_stops_the_start_with_its_name(tmp_path) -> None:
    broken = tmp_path / "identity.json"
    broken.write_text('{"public_url": ')
    with pytest.raises(ConfigError, match=r"identity\.json"):
        _app(tmp_path, broken)
    with pytest.raises(ConfigError, match=r"missing\.json"):
        _app(tmp_path, tmp_path / "missing.json")
