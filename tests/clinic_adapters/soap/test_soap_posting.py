"""Calls are posted through a kept-alive connection pool; its failures read as the others do."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from riv_soap_helpers import PRIMARY, REAL_WSDL_TEMPLATE, make_adapter

from clinic_adapters.errors import Unavailable
from clinic_adapters.soap import RivSchedulingAdapter
from clinic_adapters.soap.posting import Reply
from clinic_adapters.timezones import utc_now


def _search(adapter: RivSchedulingAdapter) -> int:
    now = utc_now()
    return len(adapter.available_slots(PRIMARY, "LAK30", now, now + timedelta(days=7)))


def test_calls_share_kept_alive_connections(sim):
    adapter = make_adapter(sim)
    assert _search(adapter)  # the WSDLs load too, on a connection of their own
    opened = sim.open_connections()
    for _ in range(5):
        assert _search(adapter)
    assert sim.open_connections() == opened
    adapter.close()


@pytest.fixture
def hang_up() -> Iterator[str]:
    """A producer address that reads each request and closes the connection without answering."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:  # the headers, then hang up mid-exchange
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    listener.close()


def test_a_producer_that_hangs_up_is_unavailable(hang_up):
    adapter = RivSchedulingAdapter(
        endpoint=hang_up, wsdl_url=REAL_WSDL_TEMPLATE, connect_timeout=1.0, read_timeout=2.0
    )
    with pytest.raises(Unavailable, match="connection failed"):
        _search(adapter)


@pytest.mark.parametrize(
    ("content_type", "charset"),
    [
        ("text/xml; charset=ISO-8859-1", "iso-8859-1"),
        ('text/xml;charset="utf-8"', "utf-8"),
        ("text/xml", None),
    ],
)
def test_a_reply_names_the_charset_its_content_type_gives(content_type, charset):
    assert Reply(200, b"", {"Content-Type": content_type}).encoding == charset
