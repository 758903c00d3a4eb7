"""Server-side sessions: token hashing, rotation, idle and absolute time-outs, activity written
behind the requests (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from identity import sessions
from identity.last_seen import LastSeenWriter
from identity.models import IdentitySession
from identity.store import digest
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


def _writer(engine, delay: float = 3600.0) -> LastSeenWriter:
    @contextmanager
    def open_session() -> Iterator[Session]:
        with Session(engine) as db, db.begin():
            yield db

    return LastSeenWriter(open_session, delay=delay)


def _stored_last_seen(engine) -> datetime:
    with Session(engine) as db:
        return db.scalar(select(IdentitySession.last_seen_at))


def test_activity_of_a_request_that_is_rolled_back_still_counts(engine):
    """A refused request (rolled back) is still the citizen's activity."""
    writer = _writer(engine)
    with Session(engine) as db:
        token = start(db)
        db.commit()
        later = NOW + timedelta(minutes=10)
        assert sessions.load(db, POLICY, token, now=later, last_seen=writer) is not None
        db.rollback()  # the request was refused
    assert _stored_last_seen(engine) == NOW  # not written by the request …
    assert writer.write() == 1  # … but behind it
    assert _stored_last_seen(engine) == later
    assert writer.noted(digest(token)) is None


def test_a_noted_activity_counts_in_this_process_before_it_is_written(engine):
    writer = _writer(engine)
    with Session(engine) as db:
        token = start(db)
        db.commit()
        assert sessions.load(db, POLICY, token, now=NOW + timedelta(minutes=10), last_seen=writer)
        # 20 minutes after the stored time, 10 after the noted one: alive (idle time-out 15).
        assert sessions.load(db, POLICY, token, now=NOW + timedelta(minutes=20), last_seen=writer)
        assert sessions.load(db, POLICY, token, now=NOW + timedelta(minutes=36), last_seen=writer) is None


def test_noted_activity_is_written_by_the_timer_and_never_moves_back(engine):
    writer = _writer(engine, delay=0.05)
    with Session(engine) as db:
        token = start(db)
        db.commit()
        sessions.load(db, POLICY, token, now=NOW + timedelta(minutes=10), last_seen=writer)
        db.rollback()
        assert writer.noted(digest(token)) == NOW + timedelta(minutes=10)
        with Session(engine) as other, other.begin():  # another process saw it later, and wrote
            other.execute(update(IdentitySession).values(last_seen_at=NOW + timedelta(minutes=12)))
    deadline = time.monotonic() + 10
    while writer.noted(digest(token)) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer.noted(digest(token)) is None
    assert _stored_last_seen(engine) == NOW + timedelta(minutes=12)


def test_many_sessions_are_written_together_each_with_its_own_second(engine, monkeypatch):
    monkeypatch.setattr("identity.last_seen._IDS_PER_STATEMENT", 2)  # several statements per second
    writer = _writer(engine)
    offsets = [timedelta(minutes=10, milliseconds=500), timedelta(minutes=10, milliseconds=900)]
    offsets += [timedelta(minutes=11), timedelta(minutes=12, milliseconds=250)]
    with Session(engine) as db:
        tokens = [start(db) for _ in offsets]
        db.commit()
        for token, offset in zip(tokens, offsets, strict=True):
            assert sessions.load(db, POLICY, token, now=NOW + offset, last_seen=writer) is not None
        db.rollback()
    assert writer.write() == len(tokens)
    with Session(engine) as db:
        stored = dict(db.execute(select(IdentitySession.id, IdentitySession.last_seen_at)).all())
    assert [stored[digest(t)] for t in tokens] == [
        NOW + timedelta(minutes=10),
        NOW + timedelta(minutes=10),
        NOW + timedelta(minutes=11),
        NOW + timedelta(minutes=12),
    ]
