"""Roles and the one authorization check: who may do what, and grants in the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from identity import roles
from identity.roles import Action, Actor, NotAllowed, Role, can
from identity.subject import Audience

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = b"k" * 32
CLINIC = "SE2321000016-1hz5"

REGION = Actor("r" * 64, Audience.STAFF, frozenset({(Role.REGION_ADMIN, "")}))
CLINIC_ADMIN = Actor("c" * 64, Audience.STAFF, frozenset({(Role.CLINIC_ADMIN, CLINIC.casefold())}))
STAFF_WITHOUT_ROLE = Actor("s" * 64, Audience.STAFF)
CITIZEN = Actor("x" * 64, Audience.CITIZEN)
# The same grants reached through a citizen login count for nothing.
CITIZEN_WITH_GRANTS = Actor("c" * 64, Audience.CITIZEN, CLINIC_ADMIN.grants)


@pytest.mark.parametrize(
    ("actor", "action", "clinic", "allowed"),
    [
        (CITIZEN, Action.BOOK_FOR_SELF, None, True),
        (CITIZEN, Action.MANAGE_CLINIC, CLINIC, False),
        (CITIZEN_WITH_GRANTS, Action.MANAGE_CLINIC, CLINIC, False),
        (CLINIC_ADMIN, Action.MANAGE_CLINIC, CLINIC, True),
        (CLINIC_ADMIN, Action.MANAGE_CLINIC, CLINIC.upper(), True),  # ids compare case-insensitively
        (CLINIC_ADMIN, Action.VIEW_CLINIC_BOOKINGS, CLINIC, True),
        (CLINIC_ADMIN, Action.MANAGE_CLINIC, "SE2321000016-other", False),
        (CLINIC_ADMIN, Action.MANAGE_CLINIC, None, False),
        (CLINIC_ADMIN, Action.GRANT_CLINIC_ADMIN, None, False),
        (CLINIC_ADMIN, Action.MANAGE_REGION, None, False),
        (CLINIC_ADMIN, Action.BOOK_FOR_SELF, None, False),
        (REGION, Action.MANAGE_CLINIC, "any-clinic", True),
        (REGION, Action.GRANT_CLINIC_ADMIN, None, True),
        (REGION, Action.MANAGE_REGION, None, True),
        (STAFF_WITHOUT_ROLE, Action.MANAGE_CLINIC, CLINIC, False),
        (None, Action.BOOK_FOR_SELF, None, False),
    ],
)
def test_can(actor, action, clinic, allowed):
    assert can(actor, action, clinic) is allowed


@pytest.mark.storage
def test_region_admin_grants_and_revokes_clinic_admin(engine):
    with Session(engine) as db:
        region_key = roles.subject_key_for("19800101-0019", KEY)
        roles.bootstrap_region_admin(db, subject_key=region_key, label="Regional admin", now=NOW)
        region = roles.load_actor(db, region_key, Audience.STAFF)
        assert region.is_region_admin

        nurse_key = roles.subject_key_for("201501010001", KEY)
        roles.grant_clinic_admin(
            db, region, subject_key=nurse_key, clinic_id=CLINIC.upper(), label="N", now=NOW
        )
        roles.grant_clinic_admin(
            db, region, subject_key=nurse_key, clinic_id=CLINIC, label="N", now=NOW
        )  # idempotent
        db.commit()
        nurse = roles.load_actor(db, nurse_key, Audience.STAFF)
        assert nurse.grants == {(Role.CLINIC_ADMIN, CLINIC.casefold())}
        assert can(nurse, Action.MANAGE_CLINIC, CLINIC)
        assert roles.load_actor(db, nurse_key, Audience.CITIZEN).grants == frozenset()
        assert [g.clinic_id for g in roles.list_grants(db, region, CLINIC)] == [CLINIC.casefold()]

        with pytest.raises(NotAllowed):
            roles.grant_clinic_admin(db, nurse, subject_key=region_key, clinic_id=CLINIC, label="x", now=NOW)
        with pytest.raises(NotAllowed):
            roles.list_grants(db, nurse)

        assert roles.revoke_clinic_admin(db, region, subject_key=nurse_key, clinic_id=CLINIC)
        db.commit()
        assert roles.load_actor(db, nurse_key, Audience.STAFF).grants == frozenset()


def test_grant_keys_are_pseudonymous_and_need_a_valid_number():
    key = roles.subject_key_for("19800101-0019", KEY)
    assert key == roles.subject_key_for("198001010019", KEY)
    assert "198001010019" not in key and len(key) == 64
    with pytest.raises(ValueError):
        roles.subject_key_for("19800101-0018", KEY)
    assert roles.subject_key_for("198001010019", b"other-secret-16b") != key
