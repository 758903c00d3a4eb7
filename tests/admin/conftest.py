"""Fixtures for the admin pages: a hub with a staff-only identity service, and staff clients.

Staff sessions are opened directly with identity's own session store (as a staff e-ID login
would), so the tests exercise the real session middleware and role checks without an IdP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

STAFF_SECRET = b"admin-tests-identity-secret-32by"


@pytest.fixture(scope="session")
def staff_hub(migrated_app: Flask, database_url: str) -> Iterator[Flask]:
    from hub import create_app
    from hub.db import database
    from identity.settings import IdentitySettings

    hub = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "DEV_LOGIN": True,
            "IDENTITY": IdentitySettings(
                public_url="http://localhost/identity", secret_key=STAFF_SECRET, cookie_secure=False
            ),
        }
    )
    yield hub
    database(hub).engine.dispose()


@pytest.fixture
def admin_app(app: Flask, staff_hub: Flask) -> Flask:
    """The staff hub on emptied tables (``app`` empties them), with no cached adapters."""
    from hub.booking.cache import SlotCache

    staff_hub.extensions.pop("hub.adapters", None)
    staff_hub.extensions.pop("hub.health", None)
    staff_hub.extensions["hub.slot_cache"] = SlotCache(float(staff_hub.config["FREE_SLOT_CACHE_SECONDS"]))
    return staff_hub


StaffClient = Callable[..., FlaskClient]


@pytest.fixture
def staff(admin_app: Flask) -> StaffClient:
    """Open a staff session: ``staff("197002152390", clinics=[hsa_id])`` or ``region=True``."""
    from hub.admin.access import AGREEMENTS
    from hub.admin.models import AgreementAcceptance
    from hub.db import database
    from identity import crypto, roles, sessions
    from identity.roles import Actor, Role
    from identity.subject import Audience, VerifiedSubject

    def _staff(
        personal_number: str,
        *,
        clinics: tuple[str, ...] | list[str] = (),
        region: bool = False,
        agreements: bool = True,
    ) -> FlaskClient:
        service = admin_app.extensions["identity"]
        now = datetime.now(UTC)
        subject = VerifiedSubject(
            personal_number=personal_number,
            given_name="Test",
            family_name="Staff",
            display_name="Test Staff",
            loa="http://id.elegnamnden.se/loa/1.0/loa3",
            idp="staff-test",
            birth_date=None,
            audience=Audience.STAFF,
        )
        key = crypto.subject_key(service.settings.secret_key, personal_number)
        with database(admin_app).session_scope() as db:
            token = sessions.start(
                db, service.policy, subject, protocol="test", idp_session={}, idp_subject=None, now=now
            )
            if region:
                roles.bootstrap_region_admin(db, subject_key=key, label="region (test)", now=now)
            granter = Actor("granter", Audience.STAFF, frozenset({(Role.REGION_ADMIN, "")}))
            for hsa_id in clinics:
                roles.grant_clinic_admin(
                    db, granter, subject_key=key, clinic_id=hsa_id, label="clinic admin (test)", now=now
                )
            if agreements:
                for name, version in AGREEMENTS.items():
                    db.add(
                        AgreementAcceptance(subject_key=key, agreement=name, version=version, accepted_at=now)
                    )
        client = admin_app.test_client()
        client.set_cookie(service.settings.session_cookie_name, token)
        return client

    return _staff


@pytest.fixture
def citizen_client(admin_app: Flask, login: Callable[[FlaskClient, str], None]) -> Callable[..., FlaskClient]:
    """A citizen logged in with the test login on the staff hub."""

    def _citizen(person: str = "tolvan") -> FlaskClient:
        client = admin_app.test_client()
        login(client, person)
        return client

    return _citizen


@pytest.fixture
def approved_terms(db: Session) -> Callable[..., int]:
    """Write and approve a terms version directly (two different staff keys)."""
    import terms

    def _approve(hsa_id: str, case_type: str = "book", text: str = "Kom i tid") -> int:
        now = datetime.now(UTC)
        points = {"sv": [text], "en": [text + " (en)"], "de": [text + " (de)"]}
        version = terms.save_draft(db, hsa_id, case_type, points, author_key="author", now=now)
        terms.approve(db, version, approver_key="approver", now=now)
        db.commit()
        return version.number

    return _approve
