"""Many citizens pressing "book" on the same time at once: the database keeps the capacity."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from booking_helpers import free_slots
from flask import Flask
from sqlalchemy import func, select
from stdnum import luhn
from werkzeug.serving import make_server

from hub.citizens import Identity, citizen_for_login
from hub.db import database
from hub.models import Booking
from standalone_calendar.models import SeatCount

ATTEMPTS = 50


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _session_cookies(app: Flask, count: int) -> list[str]:
    """Log in ``count`` distinct citizens and return their session cookies."""
    serializer = app.session_interface.get_signing_serializer(app)
    cookies = []
    with app.app_context(), database(app).session_scope() as db:
        for n in range(count):
            number = f"19800101{n:03d}"
            number += luhn.calc_check_digit(number[2:])
            citizen = citizen_for_login(db, Identity(number, f"Test{n}", "Person"))
            cookies.append(serializer.dumps({"citizen_id": citizen.id, "login_method": "dev"}))
    return cookies


def _rush(base_url: str, cookies: list[str], hsa_id: str, slot_id: str) -> tuple[Counter, float]:
    barrier = threading.Barrier(len(cookies))

    def attempt(n: int) -> int:
        with requests.Session() as http:
            http.cookies.set("session", cookies[n])
            barrier.wait()
            response = http.post(
                f"{base_url}/api/v1/bookings",
                json={"clinic": hsa_id, "slot_id": slot_id, "idempotency_key": f"rush-{n:04d}"},
                timeout=120,
            )
            return response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(cookies)) as pool:
        statuses = Counter(pool.map(attempt, range(len(cookies))))
    return statuses, time.perf_counter() - started


@pytest.mark.parametrize("capacity", [1, 3])
def test_concurrent_attempts_never_exceed_capacity(
    app, db, live_server, create_clinic, client, capacity
) -> None:
    clinic = create_clinic(capacity=capacity)
    slot = free_slots(client, clinic.hsa_id)[0]
    cookies = _session_cookies(app, ATTEMPTS)

    statuses, seconds = _rush(live_server, cookies, clinic.hsa_id, slot["id"])

    print(
        f"\n{ATTEMPTS} attempts, capacity {capacity}: {dict(statuses)} in {seconds:.2f} s "
        f"on {database(app).engine.dialect.name}"
    )
    assert statuses == Counter({201: capacity, 409: ATTEMPTS - capacity})
    db.expire_all()
    booked = db.scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.slot_id == slot["id"], Booking.status == "booked")
    )
    assert booked == capacity
    assert db.scalar(select(SeatCount.booked)) == capacity
    assert db.scalar(select(func.count()).select_from(Booking)) == capacity  # refused attempts left nothing


@pytest.mark.parametrize("capacity", [1, 3])
def test_a_double_click_books_once_and_every_click_is_answered_with_that_booking(
    app, db, live_server, create_clinic, client, capacity
) -> None:
    """The same request, sent several times at once (double click, app retry): one booking, and
    every answer names it; none says the time is taken."""
    clinic = create_clinic(capacity=capacity)
    slot = free_slots(client, clinic.hsa_id)[0]
    cookie = _session_cookies(app, 1)[0]
    clicks = 8
    barrier = threading.Barrier(clicks)

    def click(_n: int) -> tuple[int, str | None]:
        with requests.Session() as http:
            http.cookies.set("session", cookie)
            barrier.wait()
            response = http.post(
                f"{live_server}/api/v1/bookings",
                json={"clinic": clinic.hsa_id, "slot_id": slot["id"], "idempotency_key": "double-click"},
                timeout=120,
            )
            return response.status_code, response.json().get("id")

    with ThreadPoolExecutor(max_workers=clicks) as pool:
        answers = list(pool.map(click, range(clicks)))

    statuses = Counter(status for status, _ in answers)
    assert statuses == Counter({201: 1, 200: clicks - 1}), answers
    assert len({booking_id for _, booking_id in answers}) == 1
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Booking)) == 1
    assert db.scalar(select(SeatCount.booked)) == 1
