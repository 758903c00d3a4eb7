"""The outbox worker: concurrent claims, the command line, backoff."""

from __future__ import annotations

import json
import threading

from notify_helpers import make_worker, outbox
from sqlalchemy import select

from hub.models import Citizen
from hub.notifications.models import Channel, Kind, OutboxMessage, State
from hub.notifications.worker import WorkerSettings, backoff


def test_two_workers_never_claim_the_same_message(napp, nclient, login, db) -> None:
    login(nclient, "tolvan")
    db.rollback()
    citizen_id = db.scalar(select(Citizen.id))
    for n in range(30):
        db.add(
            OutboxMessage(
                dedupe_key=f"test:{n}",
                kind=Kind.BULK,
                channel=Channel.SMS,
                citizen_id=citizen_id,
                sealed_content="x",
            )
        )
    db.commit()
    workers = [make_worker(napp), make_worker(napp)]
    claimed: list[list[str]] = [[], []]

    def drain(index: int) -> None:
        while (message_id := workers[index].claim()) is not None:
            claimed[index].append(message_id)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    everything = claimed[0] + claimed[1]
    assert len(everything) == 30 and len(set(everything)) == 30
    assert {m.state for m in outbox(db)} == {State.SENDING}
    assert all(m.attempts == 1 for m in outbox(db))


def test_command_line_worker_sends_what_is_due(
    napp, nclient, login, create_clinic, set_profile, book_one, tmp_path, monkeypatch, db
) -> None:
    monkeypatch.setitem(napp.config, "SMS_PROVIDER", "file")
    monkeypatch.setitem(napp.config, "SMS_OUTBOX_FILE", str(tmp_path / "sms.jsonl"))
    clinic = create_clinic()
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    book_one(clinic.hsa_id)

    result = napp.test_cli_runner().invoke(args=["notifications-worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "Sent 1 message(s)." in result.output
    (line,) = (tmp_path / "sms.jsonl").read_text().splitlines()
    assert json.loads(line)["to"] == "+46701234567"
    assert [m.state for m in outbox(db)] == [State.SENT]


def test_backoff_grows_and_is_capped() -> None:
    settings = WorkerSettings(retry_base_seconds=60, retry_max_seconds=600)
    delays = [backoff(n, settings).total_seconds() for n in range(1, 7)]
    assert 48 <= delays[0] <= 60 and 96 <= delays[1] <= 120 and 192 <= delays[2] <= 240
    assert all(d <= 600 for d in delays) and delays[-1] >= 480
