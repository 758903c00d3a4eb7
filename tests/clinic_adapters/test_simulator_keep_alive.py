"""Both simulated record systems keep connections open (HTTP/1.1), and a stopped one is dead
also on connections its clients kept: no answer on them, refusal on new ones."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from clinic_adapters import ClinicRef, get_adapter
from clinic_adapters.errors import Unavailable
from clinic_adapters.simulators.fhir import FhirSimulator, SimClinic, SimConfig, SimSlotType, SimWindow
from clinic_adapters.simulators.riv_soap import RivSoapSimulator
from clinic_adapters.simulators.riv_soap.presets import simple_facility
from clinic_adapters.timezones import utc_now

HSA_ID = "SE2321000016-KA01"
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
Connect = Callable[[], http.client.HTTPConnection]


class Sim:
    """One simulator behind a common face: its adapter, a plain GET path and start/stop."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.adapters: list[Any] = []
        if kind == "soap":
            facility = simple_facility(HSA_ID, time_type_id="VACC", start="09:00", end="16:00",
                                       weekdays=EVERY_DAY)
            self.server: Any = RivSoapSimulator([facility], weeks=2)
            self.path = "/?wsdl"
            self.connection = "riv-crm-scheduling"
        else:
            from datetime import time as wall

            clinic = SimClinic(
                hsa_id=HSA_ID,
                name="Keep-alive clinic",
                slot_types=(SimSlotType("VACC", "Vaccination", 10),),
                windows=(SimWindow("VACC", wall(9), wall(16), weekdays=EVERY_DAY),),
            )
            self.server = FhirSimulator(SimConfig(clinics=(clinic,), weeks=2))
            self.path = "/fhir/metadata"
            self.connection = "fhir-r4"

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def port(self) -> int:
        return self.server.port

    def set_latency(self, seconds: float) -> None:
        if self.kind == "soap":
            self.server.latency = seconds
        else:
            self.server.faults.latency = seconds

    def adapter(self) -> Any:
        self.adapters.append(get_adapter(self.connection, self.server.adapter_config(read_timeout=2.0)))
        return self.adapters[-1]


@pytest.fixture(params=["soap", "fhir"])
def sim(request: pytest.FixtureRequest) -> Iterator[Sim]:
    simulator = Sim(request.param)
    simulator.start()
    yield simulator
    simulator.stop()
    for adapter in simulator.adapters:
        adapter.close()


@pytest.fixture
def connect(sim: Sim) -> Iterator[Connect]:
    opened: list[http.client.HTTPConnection] = []

    def factory() -> http.client.HTTPConnection:
        opened.append(http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5))
        return opened[-1]

    yield factory
    for conn in opened:
        conn.close()


def get(conn: http.client.HTTPConnection, path: str) -> http.client.HTTPResponse:
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response


def first_free(adapter: Any) -> list:
    start = utc_now() + timedelta(hours=1)
    return adapter.available_slots(ClinicRef(HSA_ID), "VACC", start, start + timedelta(days=3))


def test_one_connection_carries_many_requests(sim: Sim, connect: Connect) -> None:
    conn = connect()
    first = get(conn, sim.path)
    sock = conn.sock
    second = get(conn, sim.path)
    assert first.status == second.status == 200
    assert first.version == 11 and not second.will_close
    assert conn.sock is sock  # the same TCP connection
    assert sim.server.open_connections() == 1


def test_an_unread_request_body_does_not_spoil_the_next_request(sim: Sim, connect: Connect) -> None:
    conn = connect()
    conn.request("PUT", sim.path, body=b"x" * 5000)  # not a method these paths read bodies for
    response = conn.getresponse()
    response.read()
    assert response.status >= 400
    assert get(conn, sim.path).status == 200


def test_a_stopped_simulator_answers_nothing_on_a_kept_connection(sim: Sim, connect: Connect) -> None:
    conn = connect()
    assert get(conn, sim.path).status == 200
    sim.stop()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        get(conn, sim.path)  # same socket: cut by the stop
    with pytest.raises(ConnectionRefusedError):
        get(connect(), sim.path)


def test_adapters_see_a_stopped_simulator_as_down_and_a_restarted_one_as_up(sim: Sim) -> None:
    adapter = sim.adapter()
    assert first_free(adapter)  # the connection is now warm and kept
    assert sim.server.open_connections() >= 1
    sim.stop()
    with pytest.raises(Unavailable):
        first_free(adapter)
    sim.start()  # same port: the adapter's pool must not reuse the dead connection
    assert first_free(adapter)


def test_a_request_in_flight_is_cut_when_the_simulator_stops(sim: Sim, connect: Connect) -> None:
    conn = connect()
    assert get(conn, sim.path).status == 200
    sim.set_latency(0.5)  # slows the record system's work (POSTs and FHIR reads)
    failures: list[BaseException] = []

    def call(send: Callable[[], Any]) -> None:
        try:
            send()
        except Exception as error:  # whatever the client saw
            failures.append(error)

    adapter = sim.adapter()
    first_free(adapter)
    thread = threading.Thread(target=call, args=(lambda: first_free(adapter),))
    thread.start()
    time.sleep(0.2)
    sim.stop()
    thread.join(timeout=5)
    assert len(failures) == 1 and isinstance(failures[0], Unavailable)


def test_start_and_stop_are_prompt_even_back_to_back() -> None:
    # The accept loop sleeps until a connection or a stop arrives (no polling), and a stop that
    # comes before the loop has begun must neither hang nor touch the closed sockets.
    from clinic_adapters.simulators.http_server import KeepAliveServer

    def app(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    began = time.monotonic()
    for _ in range(20):
        server = KeepAliveServer("127.0.0.1", 0, app)
        thread = server.serve_in_thread("keep-alive-test")
        server.stop()
        thread.join(timeout=5)
        assert not thread.is_alive()
    assert time.monotonic() - began < 2.0
    server = KeepAliveServer("127.0.0.1", 0, app)
    thread = server.serve_in_thread("keep-alive-test")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        assert get(conn, "/").status == 200
    finally:
        conn.close()
        server.stop()
        thread.join(timeout=5)
