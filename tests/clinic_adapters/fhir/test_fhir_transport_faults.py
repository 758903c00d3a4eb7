"""Wire faults end as Unavailable, quickly: HTML 503, refused and dropped connections, time-outs, 429."""

from __future__ import annotations

import socket
import time

import pytest

from clinic_adapters import Unavailable, get_adapter
from clinic_adapters.simulators.fhir import DROP, HTML_503, RATE_LIMIT


def requests_to(sim, method, path):
    return [r for r in sim.requests if r["method"] == method and r["path"] == path]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_html_503_is_unavailable(sim, adapter, north):
    sim.faults.inject(HTML_503)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="HTTP 503"):
        adapter.list_time_types(north)
    assert time.monotonic() - started < 1
    assert adapter.list_time_types(north)  # the next call goes through


def test_refused_connection_is_unavailable_quickly(north):
    port = free_port()  # nothing listens here
    adapter = get_adapter("fhir-r4", {
        "base_url": f"http://127.0.0.1:{port}/fhir", "token_url": f"http://127.0.0.1:{port}/oauth/token",
        "client_id": "hub", "client_secret": "x", "connect_timeout": 0.5, "read_timeout": 0.5})
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable, match="connection failed"):
            adapter.list_time_types(north)
        assert time.monotonic() - started < 1
        assert not adapter.health().ok
    finally:
        adapter.close()


def test_stopped_server_is_unavailable_and_recovers_on_restart(sim, adapter, north):
    assert adapter.list_time_types(north)
    sim.stop()  # also cuts the adapter's kept-alive connection
    with pytest.raises(Unavailable):
        adapter.list_time_types(north)
    sim.start()  # same port, same data
    assert adapter.list_time_types(north)


def test_read_timeout_is_unavailable_within_the_timeout(sim, make_adapter, north):
    adapter = make_adapter(sim, read_timeout=0.3)
    adapter.list_time_types(north)  # token and clinic lookup done
    sim.faults.latency = 1.0
    started = time.monotonic()
    with pytest.raises(Unavailable, match="timed out"):
        adapter.list_time_types(north)
    assert time.monotonic() - started < 0.9


def test_slow_token_endpoint_is_unavailable(sim, make_adapter, north):
    adapter = make_adapter(sim, read_timeout=0.3)
    sim.faults.token_latency = 1.0
    with pytest.raises(Unavailable, match="timed out"):
        adapter.list_time_types(north)


def test_dropped_connection_is_unavailable(sim, adapter, north):
    sim.faults.inject(DROP)
    with pytest.raises(Unavailable, match="connection failed"):
        adapter.list_time_types(north)


def test_wrong_client_secret_is_unavailable(sim, make_adapter, north):
    adapter = make_adapter(sim, client_secret="wrong")
    with pytest.raises(Unavailable, match="invalid_client"):
        adapter.list_time_types(north)


def test_read_honours_one_short_retry_after(sim, adapter, north):
    adapter.list_time_types(north)
    sim.faults.inject(RATE_LIMIT, retry_after="0.2")
    started = time.monotonic()
    assert adapter.list_time_types(north)
    assert time.monotonic() - started >= 0.2


def test_read_retries_a_429_only_once(sim, adapter, north):
    adapter.list_time_types(north)
    sim.faults.inject(RATE_LIMIT, count=2, retry_after="0")
    with pytest.raises(Unavailable, match="HTTP 429"):
        adapter.list_time_types(north)


def test_retry_after_beyond_the_timeout_is_not_waited_for(sim, adapter, north):
    adapter.list_time_types(north)
    sim.faults.inject(RATE_LIMIT, retry_after="120")
    started = time.monotonic()
    with pytest.raises(Unavailable, match="HTTP 429"):
        adapter.list_time_types(north)
    assert time.monotonic() - started < 1


def test_write_is_never_retried_on_429(sim, adapter, north, citizen, week):
    slot = adapter.available_slots(north, "doctor", *week)[0]
    sim.faults.inject(RATE_LIMIT, retry_after="0", method="POST", path="Appointment")
    with pytest.raises(Unavailable, match="HTTP 429"):
        adapter.make_booking(north, slot.id, citizen)
    assert len(requests_to(sim, "POST", "/fhir/Appointment")) == 1


def test_html_503_on_booking_is_unavailable_and_books_nothing(sim, adapter, north, citizen, week):
    slot = adapter.available_slots(north, "doctor", *week)[0]
    sim.faults.inject(HTML_503, method="POST", path="Appointment")
    with pytest.raises(Unavailable):
        adapter.make_booking(north, slot.id, citizen)
    assert len(requests_to(sim, "POST", "/fhir/Appointment")) == 1
    assert sim.store.count("Appointment") == 0


def test_a_refused_fhir_server_behind_a_working_token_endpoint_is_a_connection_failure(sim, north):
    # The token comes from the simulator; the FHIR requests go to a port nobody listens on.
    adapter = get_adapter("fhir-r4", sim.adapter_config(base_url=f"http://127.0.0.1:{free_port()}/fhir"))
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable, match="connection failed"):
            adapter.list_time_types(north)
        assert time.monotonic() - started < 1
    finally:
        adapter.close()


@pytest.fixture
def tokenless_endpoint():
    """A token endpoint answering 200 with JSON that holds no access token."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"token_type": "Bearer", "expires_in": 300}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token"
    server.shutdown()
    server.server_close()


def test_a_token_answer_without_an_access_token_is_unavailable(sim, north, tokenless_endpoint):
    adapter = get_adapter("fhir-r4", sim.adapter_config(token_url=tokenless_endpoint))
    try:
        with pytest.raises(Unavailable, match="unreadable token response"):
            adapter.list_time_types(north)
        assert not [r for r in sim.requests if r["path"].startswith("/fhir")]  # nothing sent unauthorised
    finally:
        adapter.close()


def test_query_values_arrive_as_sent_whatever_their_characters(sim, adapter):
    # ":" and "/" go unencoded (a query without "%" is cheaper to send); the rest stays encoded.
    values = [("start", "ge2026-03-23T08:00:00+01:00"), ("identifier", "urn:oid:1.2.3|SE 1&2=3%"),
              ("schedule.actor", "HealthcareService/hs-1"), ("_count", "2,3"), ("name", "Åsa/ö?#")]
    adapter._http.request("GET", "Patient", params=values)
    (sent,) = requests_to(sim, "GET", "/fhir/Patient")
    assert sent["args"] == values
