"""Server-side sessions: token hashing, rotation, idle and absolute time-outs (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from identity import sessions
from identity.models import IdentitySession
from identity.subject import VerifiedSubject

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = sessions.SessionPolicy(
    idle_timeout=timedelta(minutes=15), absolute_timeout=timedelta(hours=8), secret_key=b"p" * 32
)
SUBJECT = VerifiedSubject(
    personal_number="198001010019",
    given_name="Astrid",
    family_name="Andersson",
    display_name="Astrid Andersson",
    loa="http://id.elegnamnden.se/loa/1.0/loa3",
    idp="bankid",
    birth_date=date(1980, 1, 1),
)


def start(db: Session, previous: str | None = None, idp_subject: str | None = "nameid-1") -> str:
    return sessions.start(
        db,
        POLICY,
        SUBJECT,
        protocol="saml",
        idp_session={"session_index": "_s1"},
        idp_subject=idp_subject,
        now=NOW,
        previous_token=previous,
    )


def test_session_round_trip_and_only_the_token_hash_is_stored(engine):
    with Session(engine) as db:
        token = start(db)
        db.commit()
        active = sessions.load(db, POLICY, token, now=NOW + timedelta(minutes=1))
        assert active is not None and active.subject == SUBJECT
        assert active.idp_session == {"session_index": "_s1"}
        assert db.scalar(select(func.count()).where(IdentitySession.id == token)) == 0
        assert sessions.load(db, POLICY, "forged-token", now=NOW) is None


def test_personal_number_and_names_rest_only_sealed(engine):
    with Session(engine) as db:
        start(db)
        db.commit()
    with engine.connect() as connection:
        row = " ".join(str(value) for value in connection.execute(select(IdentitySession.__table__)).one())
    for plain in ("198001010019", "8001010019", "Astrid", "Andersson", "1980-01-01"):
        assert plain not in row


def test_a_session_sealed_under_another_secret_ends(engine):
    with Session(engine) as db:
        token = start(db)
        db.commit()
        rotated = sessions.SessionPolicy(POLICY.idle_timeout, POLICY.absolute_timeout, b"q" * 32)
        assert sessions.load(db, rotated, token, now=NOW) is None
        db.commit()
        assert db.scalar(select(func.count()).select_from(IdentitySession)) == 0


def test_login_rotates_the_session(engine):
    with Session(engine) as db:
        old = start(db)
        new = start(db, previous=old)
        db.commit()
        assert new != old
        assert sessions.load(db, POLICY, old, now=NOW) is None
        assert sessions.load(db, POLICY, new, now=NOW) is not None


def test_idle_time_out_ends_the_session(engine):
    with Session(engine) as db:
        token = start(db)
        db.commit()
        assert sessions.load(db, POLICY, token, now=NOW + timedelta(minutes=15)) is None
        db.commit()
        assert db.scalar(select(func.count()).select_from(IdentitySession)) == 0


def test_activity_keeps_the_session_until_the_absolute_limit(engine):
    with Session(engine) as db:
        token = start(db)
        db.commit()
        moment = NOW
        while moment + timedelta(minutes=10) < NOW + timedelta(hours=8):
            moment += timedelta(minutes=10)
            assert sessions.load(db, POLICY, token, now=moment) is not None, moment
            db.commit()
        assert sessions.load(db, POLICY, token, now=NOW + timedelta(hours=8)) is None


def test_identity_provider_logout_ends_the_matching_sessions(engine):
    with Session(engine) as db:
        token = start(db)
        other = start(db, idp_subject="nameid-2")
        db.commit()
        assert sessions.end_for_idp_subject(db, "bankid", "nameid-1", "_s1") == 1
        db.commit()
        assert sessions.load(db, POLICY, token, now=NOW) is None
        assert sessions.load(db, POLICY, other, now=NOW) is not None


def test_all_sessions_of_a_person_can_be_ended(engine):
    with Session(engine) as db:
        first, second = start(db), start(db)
        db.commit()
        active = sessions.load(db, POLICY, first, now=NOW)
        assert sessions.end_all_for(db, active.subject_key) == 2
        db.commit()
        assert sessions.load(db, POLICY, second, now=NOW) is None


def test_purge_removes_idle_and_expired_sessions(engine):
    with Session(engine) as db:
        start(db)
        db.commit()
        assert sessions.purge_expired(db, POLICY, NOW + timedelta(minutes=5)) == 0
        assert sessions.purge_expired(db, POLICY, NOW + timedelta(minutes=16)) == 1
        db.commit()


def test_subject_repr_leaves_out_the_number_and_names():
    text = repr(SUBJECT)
    assert "198001010019" not in text and "Astrid" not in text and "bankid" in text
