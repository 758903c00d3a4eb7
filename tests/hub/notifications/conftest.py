"""Fixtures for the notification tests: an app with notifications installed, a real SMTP server
and a real SMS provider on 127.0.0.1, and a helper to book."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from notify_helpers import MailBox, SmsProvider, SmtpServer, free_port

_apps: dict[str, Flask] = {}


@pytest.fixture
def napp(app: Flask) -> Flask:
    """The test app with notifications installed (a twin of ``app`` on the same database)."""
    from hub import create_app
    from hub.notifications import init_app

    url = app.config["DATABASE_URL"]
    if url not in _apps:
        twin = create_app(
            {**{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "DEV_LOGIN")}, "DATABASE_URL": url}
        )
        twin.config.update(PORTAL_URL="https://portal.example/", SMS_PROVIDER="none")
        init_app(twin)
        _apps[url] = twin
    return _apps[url]


@pytest.fixture(scope="session", autouse=True)
def _dispose_twins() -> Iterator[None]:
    yield
    from hub.db import database

    for twin in _apps.values():
        database(twin).engine.dispose()


@pytest.fixture
def nclient(napp: Flask) -> FlaskClient:
    return napp.test_client()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, box)
    finally:
        controller.stop()


@pytest.fixture
def sms_provider() -> Iterator[SmsProvider]:
    state = SmsProvider(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key")
            with lock:
                state.requests.append({"key": key, **body})
                if state.fail_with:
                    status, answer = state.fail_with, {"error": "refused"}
                elif key in state.delivered:
                    status, answer = 200, {"id": state.delivered[key]["id"], "repeated": True}
                else:
                    state.delivered[key] = {"id": f"sms-{len(state.delivered) + 1}", **body}
                    status, answer = 201, {"id": state.delivered[key]["id"]}
            state.received.set()
            if state.hold is not None:
                state.hold.wait(30)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a killed client leaves a broken pipe behind; that is the point of some tests

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def set_profile(nclient: FlaskClient) -> Callable[..., Any]:
    """Save the logged-in citizen's contact details and consent through the JSON endpoint."""

    def _set(**values: Any) -> dict[str, Any]:
        body = {"email": "", "phone": "", "email_consent": False, "sms_consent": False, "language": "sv"}
        body.update(values)
        response = nclient.put("/api/v1/profile/notifications", json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return _set


@pytest.fixture
def book_one(nclient: FlaskClient) -> Callable[..., dict[str, Any]]:
    """Book the first free time at a clinic as the logged-in citizen."""
    counter = iter(range(1, 1000))

    def _book(hsa_id: str, index: int = 0) -> dict[str, Any]:
        day = date.today() + timedelta(days=3)  # clear of 24-hour cancellation deadlines
        slots = nclient.get(f"/api/v1/clinics/{hsa_id}/slots?slot_type=LAKARBESOK&from={day}&to={day}")
        slot = slots.get_json()["slots"][index]
        body = {"clinic": hsa_id, "slot_id": slot["id"], "idempotency_key": f"notify-key-{next(counter):04d}"}
        response = nclient.post("/api/v1/bookings", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return _book
