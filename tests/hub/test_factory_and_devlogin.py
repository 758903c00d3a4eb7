"""The app factory's settings and the development login's guard rails."""

from __future__ import annotations

import pytest

from hub import create_app
from hub.config import ConfigError


def test_production_settings_refuse_the_development_login(database_url) -> None:
    with pytest.raises(ConfigError, match="development login"):
        create_app(
            {
                "HUB_ENV": "production",
                "SECRET_KEY": "a-real-secret",
                "DEV_LOGIN": True,
                "DATABASE_URL": database_url,
            }
        )


def test_production_needs_a_real_secret(database_url) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"HUB_ENV": "production", "SECRET_KEY": "dev", "DATABASE_URL": database_url})


def test_production_app_has_no_test_login_and_secure_cookies(database_url) -> None:
    app = create_app(
        {
            "HUB_ENV": "production",
            "SECRET_KEY": "a-real-secret",
            "DATABASE_URL": database_url,
            "SMS_PROVIDER": "none",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.test_client().get("/dev-login").status_code == 404


def test_environment_variables_configure_the_app(monkeypatch, database_url) -> None:
    monkeypatch.setenv("HUB_SECRET_KEY", "from-env")
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    monkeypatch.setenv("HUB_DEV_LOGIN", "false")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env" and app.config["DEV_LOGIN"] is False
    assert app.test_client().get("/dev-login").status_code == 404


def test_dev_login_page_is_clearly_labelled_and_logs_in(client, login) -> None:
    page = client.get("/dev-login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "This is not a real e-ID" in page
    login(client, "anna")
    assert client.get("/api/v1/bookings").status_code == 200


def test_dev_login_refuses_a_form_without_csrf_token(client) -> None:
    response = client.post("/dev-login", data={"person": "tolvan"})
    assert response.status_code == 400
    assert client.get("/api/v1/bookings").status_code == 401


def test_login_redirect_stays_on_this_site(client) -> None:
    from web_support import csrf_token

    token = csrf_token(client)
    response = client.post(
        "/dev-login", data={"person": "tolvan", "csrf_token": token, "next": "//evil.example/phish"}
    )
    assert response.headers["Location"] == "/bookings"


def test_no_personal_number_in_the_session_cookie_or_logs(client, login, caplog) -> None:
    login(client, "tolvan")
    cookie = client.get_cookie("session").value
    import base64
    import zlib

    payload = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded = zlib.decompress(raw) if cookie.startswith(".") else raw
    assert b"191212121212" not in decoded and b"Tolvan" not in decoded
    assert "191212121212" not in caplog.text


def test_production_refuses_sms_to_a_local_file(database_url) -> None:
    with pytest.raises(ConfigError, match="SMS"):
        create_app({"HUB_ENV": "production", "SECRET_KEY": "a-real-secret", "DATABASE_URL": database_url})


def test_errors_can_be_raised_outside_a_request(app) -> None:
    from hub.errors import ValidationFailed

    with app.app_context():
        error = ValidationFailed(fields={"from": ["x"]})
    assert str(error) == "validation_failed" and error.status == 422


def test_the_apps_own_objects_are_left_out_of_full_collections(database_url) -> None:
    """A worker's full garbage collection pauses all its request threads: it must not walk the
    app, its routes and mappers again every time (bench/README.md)."""
    import gc

    app = create_app({"SECRET_KEY": "a-secret", "DATABASE_URL": database_url})
    tracked = {id(o) for o in gc.get_objects()}
    assert id(app) not in tracked and id(app.url_map) not in tracked
    assert app.test_client().get("/api/v1/clinics").status_code == 200
