"""Single-use login requests and the assertion replay cache, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from identity import store
from identity.errors import LoginRefused, Reason
from identity.models import Base, LoginRequest, UsedAssertion

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def remember(
    db: Session, request_id: str = "_req1", browser: str = "browser-a", protocol: str = "saml"
) -> None:
    store.remember_request(
        db,
        request_id=request_id,
        protocol=protocol,
        idp="bankid",
        browser=browser,
        payload={"return_to": "/bookings"},
        now=NOW,
        expires_at=NOW + timedelta(minutes=10),
    )


def test_a_request_is_consumed_once(engine):
    with Session(engine) as db:
        remember(db)
        db.commit()
        pending = store.consume_request(db, request_id="_req1", protocol="saml", browser="browser-a", now=NOW)
        assert pending.idp == "bankid" and pending.payload == {"return_to": "/bookings"}
        db.commit()
        with pytest.raises(LoginRefused) as caught:
            store.consume_request(db, request_id="_req1", protocol="saml", browser="browser-a", now=NOW)
        assert caught.value.reason is Reason.UNKNOWN_REQUEST


@pytest.mark.parametrize(
    ("protocol", "browser", "now"),
    [
        ("oidc", "browser-a", NOW),  # another protocol
        ("saml", "browser-b", NOW),  # another browser
        ("saml", None, NOW),  # no flow cookie at all
        ("saml", "browser-a", NOW + timedelta(minutes=10)),  # expired
    ],
)
def test_a_request_is_refused_from_the_wrong_place_or_too_late(engine, protocol, browser, now):
    with Session(engine) as db:
        remember(db)
        db.commit()
        with pytest.raises(LoginRefused):
            store.consume_request(db, request_id="_req1", protocol=protocol, browser=browser, now=now)
        db.commit()
        # Refused answers still use the request up: no second try with the same id.
        assert db.get(LoginRequest, "_req1") is None


def test_replay_cache_refuses_a_second_use_per_issuer(engine):
    with Session(engine) as db:
        expires = NOW + timedelta(minutes=5)
        assert store.record_assertion(db, issuer="idp-a", assertion_id="_a1", expires_at=expires)
        assert not store.record_assertion(db, issuer="idp-a", assertion_id="_a1", expires_at=expires)
        assert store.record_assertion(db, issuer="idp-b", assertion_id="_a1", expires_at=expires)
        db.commit()
        # Still usable after the conflict (no broken transaction on PostgreSQL).
        assert store.is_assertion_known(db, "idp-a", "_a1")


def test_replay_cache_holds_across_instances_racing(engine):
    """Two instances (sessions) record the same id at once: exactly one wins."""
    expires = NOW + timedelta(minutes=5)
    first = Session(engine)
    assert store.record_assertion(first, issuer="idp", assertion_id="_race", expires_at=expires)
    results: list[bool] = []

    def second_instance() -> None:
        with Session(engine) as db:
            results.append(store.record_assertion(db, issuer="idp", assertion_id="_race", expires_at=expires))
            db.commit()

    thread = threading.Thread(target=second_instance)
    thread.start()
    thread.join(timeout=0.3)  # it waits for the first transaction's lock
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert results == [False]


def test_instants_are_stored_in_utc_and_read_aware(engine):
    with Session(engine) as db:
        local = datetime(2026, 3, 29, 3, 30, tzinfo=UTC).astimezone()
        db.add(UsedAssertion(key="k" * 64, expires_at=local))
        db.commit()
        read = db.scalar(select(UsedAssertion.expires_at))
        assert read.tzinfo is not None and read.utcoffset() == timedelta(0)
        assert read == local
        with pytest.raises(Exception, match="naive"):
            db.add(UsedAssertion(key="n" * 64, expires_at=datetime(2026, 1, 1)))
            db.flush()
        db.rollback()


def test_purge_removes_only_expired_rows(engine):
    with Session(engine) as db:
        remember(db, "_old")
        store.record_assertion(db, issuer="i", assertion_id="_old", expires_at=NOW - timedelta(seconds=1))
        store.record_assertion(db, issuer="i", assertion_id="_new", expires_at=NOW + timedelta(hours=1))
        db.commit()
        assert store.purge_expired(db, NOW + timedelta(minutes=11)) == 2
        db.commit()
        assert store.is_assertion_known(db, "i", "_new")


def test_tables_follow_the_naming_convention(engine):
    inspector = inspect(engine)
    names = set(inspector.get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= names
    assert all(name.startswith("identity_") for name in Base.metadata.tables)
    if engine.dialect.name == "postgresql":
        assert inspector.get_pk_constraint("identity_session")["name"] == "pk_identity_session"
        uniques = {u["name"] for u in inspector.get_unique_constraints("identity_role_grant")}
        assert "uq_identity_role_grant_subject_key" in uniques
    indexes = {i["name"] for i in inspector.get_indexes("identity_session")}
    assert "ix_identity_session_subject_key" in indexes
