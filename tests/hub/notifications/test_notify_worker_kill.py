"""A worker process killed (SIGKILL) after the provider took a message and before it was marked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from notify_helpers import make_worker, outbox

from clinic_adapters.timezones import utc_now
from hub.notifications.models import State

ROOT = Path(__file__).resolve().parents[3]
WORKER = """
from hub import create_app
from hub.notifications import init_app, senders_for
from hub.notifications.worker import Worker

app = create_app()
init_app(app)
Worker(app, senders_for(app)).run_once()
"""


def _run_and_kill(env: dict[str, str], received: threading.Event) -> None:
    """Start a worker process and SIGKILL it once the provider has the first message."""
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env={**os.environ, **env})
    try:
        assert received.wait(30), "the worker process never reached the provider"
        os.kill(worker.pid, signal.SIGKILL)  # the provider has the message; the worker never hears back
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)


def _env(napp, tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        "HUB_DATABASE_URL": napp.config["DATABASE_URL"],
        "HUB_SECRET_KEY": napp.config["SECRET_KEY"],
        "HUB_INSTANCE_PATH": str(tmp_path),
        **{f"HUB_{name}": value for name, value in settings.items()},
    }


def test_killed_sms_worker_process_sends_nothing_twice_after_restart_and_sends_the_rest(
    napp, nclient, login, create_clinic, set_profile, book_one, sms_provider, db, tmp_path
) -> None:
    clinic = create_clinic(capacity=2)
    login(nclient, "tolvan")
    set_profile(phone="0701234567", sms_consent=True)
    first, second = book_one(clinic.hsa_id, 0), book_one(clinic.hsa_id, 1)

    sms_provider.hold = threading.Event()
    try:
        _run_and_kill(
            _env(napp, tmp_path, SMS_PROVIDER="http", SMS_HTTP_URL=sms_provider.url), sms_provider.received
        )
    finally:
        sms_provider.hold.set()
    assert len(sms_provider.delivered) == 1
    states = {m.booking_id: m.state for m in outbox(db)}
    assert sorted(states.values()) == [State.PENDING, State.SENDING]

    sms_provider.hold = None
    make_worker(napp, sms=sms_provider).run_once(now=utc_now() + timedelta(minutes=6))

    assert {m.booking_id: m.state for m in outbox(db)} == {first["id"]: State.SENT, second["id"]: State.SENT}
    keys = [r["key"] for r in sms_provider.requests]
    assert len(keys) == 3 and len(set(keys)) == 2, "the message in doubt was asked again with its key"
    assert len(sms_provider.delivered) == 2, "and every message reached the phone once"


def test_killed_mail_worker_process_leaves_the_mail_in_doubt_and_sends_the_rest(
    napp, nclient, login, create_clinic, set_profile, book_one, smtp_server, db, tmp_path
) -> None:
    clinic = create_clinic(capacity=2)
    login(nclient, "tolvan")
    set_profile(email="tolvan@example.se", email_consent=True)
    book_one(clinic.hsa_id, 0)
    book_one(clinic.hsa_id, 1)

    smtp_server.box.hold = threading.Event()
    settings = {"SMTP_HOST": smtp_server.host, "SMTP_PORT": str(smtp_server.port), "SMS_PROVIDER": "none"}
    try:
        _run_and_kill(_env(napp, tmp_path, **settings), smtp_server.box.received)
    finally:
        smtp_server.box.hold.set()
    assert len(smtp_server.box.messages) == 1

    make_worker(napp, smtp=smtp_server).run_once(now=utc_now() + timedelta(minutes=6))

    assert sorted(m.state for m in outbox(db)) == [State.IN_DOUBT, State.SENT]
    ids = [m["Message-ID"] for m in smtp_server.box.messages]
    assert len(ids) == 2 and len(set(ids)) == 2, "the mail in doubt was not sent again; the other one was"
