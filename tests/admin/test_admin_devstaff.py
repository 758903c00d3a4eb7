"""The staff test login: only when switched on, never in production."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.config import ConfigError, check, defaults
from identity.models import RoleGrant


def test_production_refuses_the_staff_test_login() -> None:
    config = defaults("/tmp") | {"HUB_ENV": "production", "SECRET_KEY": "x" * 32, "SMS_PROVIDER": "http"}
    check(dict(config))
    with pytest.raises(ConfigError):
        check(config | {"DEV_STAFF_LOGIN": True})


def test_staff_test_login_is_absent_unless_switched_on(admin_app) -> None:
    assert admin_app.test_client().get("/admin/dev-login").status_code == 404


def test_staff_test_login_opens_a_staff_session_for_a_test_administrator(
    app, database_url, create_clinic, db
) -> None:
    from web_support import csrf_token

    from hub import create_app
    from hub.db import database

    clinic = create_clinic()
    demo = create_app(
        {"TESTING": True, "SECRET_KEY": "dev", "DATABASE_URL": database_url, "DEV_STAFF_LOGIN": True}
    )
    try:
        client = demo.test_client()
        page = client.get("/admin/dev-login").get_data(as_text=True)
        assert "Klara Klinisk" in page and clinic.name in page
        token = csrf_token(client, "/admin/dev-login")
        answer = client.post("/admin/dev-login", data={"person": "klara", "csrf_token": token})
        assert answer.status_code == 303
        assert client.get(f"/admin/clinics/{clinic.hsa_id}/").status_code == 303  # agreements first
        assert client.get("/admin/region").status_code == 403
        rut = demo.test_client()
        rut.post(
            "/admin/dev-login", data={"person": "rut", "csrf_token": csrf_token(rut, "/admin/dev-login")}
        )
        assert rut.get("/admin/region").status_code == 200
        db.rollback()
        roles = {(g.role, g.clinic_id) for g in db.scalars(select(RoleGrant))}
        assert ("clinic_admin", clinic.hsa_id.lower()) in roles and ("region_admin", "") in roles
    finally:
        database(demo).engine.dispose()
