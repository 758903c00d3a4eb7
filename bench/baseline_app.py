"""The bare baseline: Flask, one pooled connection, one conditional UPDATE per request.

It is the floor the hub is compared with: same gunicorn settings, same PostgreSQL, same client,
but none of the hub's work (session, citizen, idempotency, calendar rules, audit). Served by
gunicorn as ``baseline_app:create_app()`` with ``BENCH_BASELINE_DATABASE_URL`` set.
"""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify, request
from sqlalchemy import create_engine, text

TABLE = "baseline_seat"

# The same statement shape as the calendar's take_seat, on a table of its own.
TAKE_SEAT = text(f"UPDATE {TABLE} SET booked = booked + 1 WHERE id = :id AND booked < capacity RETURNING id")

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id serial PRIMARY KEY,
    capacity integer NOT NULL,
    booked integer NOT NULL DEFAULT 0,
    CHECK (booked >= 0 AND booked <= capacity)
)
"""


def create_app() -> Flask:
    app = Flask(__name__)
    # The hub's pool size, but no pre-ping: the baseline is the floor, and the hub's per-checkout
    # ping is one of the costs the comparison should show.
    engine = create_engine(os.environ["BENCH_BASELINE_DATABASE_URL"], pool_size=10, max_overflow=50)

    @app.post("/book")
    def book() -> tuple[Response, int]:
        body = request.get_json(force=True)
        with engine.begin() as conn:
            seat = conn.execute(TAKE_SEAT, {"id": int(body["seat_id"])}).scalar_one_or_none()
        if seat is None:
            return jsonify(code="slot_taken"), 409
        return jsonify(id=seat), 201

    @app.get("/ready")
    def ready() -> Response:
        return jsonify(ok=True)

    return app
