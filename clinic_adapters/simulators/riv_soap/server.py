"""The simulated RIV-TA producer as a WSGI app and a threaded HTTP server you can stop and start.

In a test::

    sim = RivSoapSimulator(demo_facilities(), latency=0.0)
    url = sim.start()            # http://127.0.0.1:<free port>/
    ...
    sim.inject("html")           # the next call gets an HTML error page
    sim.stop(); sim.start()      # same port, same bookings: an outage and a recovery
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from clinic_adapters.simulators.http_server import KeepAliveServer
from clinic_adapters.simulators.riv_soap.contract_spec import OPERATIONS
from clinic_adapters.simulators.riv_soap.handlers import Handlers, NotFoundFault
from clinic_adapters.simulators.riv_soap.model import FacilitySpec
from clinic_adapters.simulators.riv_soap.soap import ClientFault, envelope, fault, parse_request
from clinic_adapters.simulators.riv_soap.store import Timebook
from clinic_adapters.timezones import utc_now

log = logging.getLogger(__name__)

INJECTION_MODES = ("fault", "client_fault", "html", "html200", "empty", "blank", "lose_reply", "delay")

_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1><p>The journal system is being upgraded.</p></body></html>"
)


@dataclass
class Injection:
    """A misbehaviour for the next ``times`` calls (of ``operation``, or of any)."""

    mode: str
    operation: str | None = None
    times: int = 1
    delay: float = 0.0


@dataclass(frozen=True)
class Exchange:
    """One call as seen on the wire (kept in memory for tests; holds personal data, never logged)."""

    operation: str | None
    request: bytes
    status: int
    response: bytes


Response = tuple[int, str, bytes]


def operation_from_path(path: str) -> str | None:
    """Return the operation a path names (``/GetAvailableTimeslots``), or None for the base."""
    return next((part for part in path.split("/") if part in OPERATIONS), None)


class RivSoapApp:
    """The WSGI application: WSDL on GET ``?wsdl``, the eleven operations on POST to any path."""

    def __init__(self, book: Timebook, *, latency: float = 0.0, keep_exchanges: int = 200) -> None:
        self.book = book
        self.handlers = Handlers(book)
        self.latency = latency
        self.exchanges: collections.deque[Exchange] = collections.deque(maxlen=keep_exchanges)
        self.calls: collections.Counter[str] = collections.Counter()
        self._injections: list[Injection] = []
        self._lock = threading.Lock()

    # -- misbehaviour -------------------------------------------------------------------------

    def inject(self, mode: str, *, operation: str | None = None, times: int = 1, delay: float = 0.0) -> None:
        """Make the next ``times`` calls misbehave.

        Modes: ``fault`` (soap:Server fault), ``client_fault``, ``html`` (HTTP 503 HTML page),
        ``html200`` (HTML with status 200), ``empty`` (an envelope with an empty body), ``blank``
        (status 200, no bytes), ``lose_reply`` (do the work, then answer 502 HTML: the reply is
        lost), ``delay`` (sleep ``delay`` seconds, then do the work and answer).
        """
        if mode not in INJECTION_MODES:
            raise ValueError(f"unknown injection mode {mode!r}")
        if operation is not None and operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        with self._lock:
            self._injections.append(Injection(mode, operation, times, delay))

    def clear_injections(self) -> None:
        with self._lock:
            self._injections.clear()

    def _take_injection(self, operation: str | None) -> Injection | None:
        with self._lock:
            for injection in self._injections:
                if injection.operation in (None, operation):
                    injection.times -= 1
                    if injection.times <= 0:
                        self._injections.remove(injection)
                    return injection
        return None

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, content_type, body = self._respond(environ)
        reason = {
            200: "OK",
            404: "Not Found",
            405: "Method Not Allowed",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }.get(status, "")
        start_response(
            f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _respond(self, environ: dict[str, Any]) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        if method == "GET":
            return self._get(environ, path)
        if method != "POST":
            return 405, "text/plain", b"method not allowed"
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length) if length else b""
        if self.latency:
            time.sleep(self.latency)
        status, content_type, body, operation = self._post(data)
        self.exchanges.append(Exchange(operation, data, status, body))
        return status, content_type, body

    def _get(self, environ: dict[str, Any], path: str) -> Response:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if path.rstrip("/").endswith("/health"):
            return 200, "text/plain", b"ok"
        if "wsdl" not in {k.lower() for k in query}:
            return 404, "text/plain", b"not found: try ?wsdl"
        from clinic_adapters.simulators.riv_soap.wsdl import cached_wsdl

        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        operation = operation_from_path(path)
        address = f"http://{host}{path}" if operation else f"http://{host}/"
        return 200, "text/xml; charset=utf-8", cached_wsdl(address, operation)

    def _post(self, data: bytes) -> tuple[int, str, bytes, str | None]:
        try:
            request = parse_request(data)
        except ClientFault as exc:
            return 500, "text/xml; charset=utf-8", fault("Client", str(exc)), None
        operation = request.operation
        self.calls[operation] += 1
        injection = self._take_injection(operation)
        if injection is not None:
            early = self._misbehave(injection)
            if early is not None:
                return (*early, operation)
        try:
            if (
                request.logical_address
                and self.book.facility(request.logical_address) is None
                and operation != "GetAllHealthcareFacilities"
            ):
                raise ClientFault("unknown LogicalAddress")
            response, _code = self.handlers.handle(request)
            result: Response = (200, "text/xml; charset=utf-8", envelope(response))
        except ClientFault as exc:
            result = (500, "text/xml; charset=utf-8", fault("Client", str(exc)))
        except NotFoundFault as exc:
            result = (500, "text/xml; charset=utf-8", fault("Client", str(exc)))
        except Exception:  # a producer's own bug: a technical fault, details stay here
            log.exception("simulator failed on %s", operation)
            result = (500, "text/xml; charset=utf-8", fault("Server", "internal error"))
        if injection is not None and injection.mode == "lose_reply":
            return 502, "text/html", _HTML_PAGE, operation
        return (*result, operation)

    @staticmethod
    def _misbehave(injection: Injection) -> Response | None:
        mode = injection.mode
        if mode == "fault":
            return 500, "text/xml; charset=utf-8", fault("Server", "Tekniskt fel i journalsystemet")
        if mode == "client_fault":
            return 500, "text/xml; charset=utf-8", fault("Client", "Felaktig begäran")
        if mode == "html":
            return 503, "text/html", _HTML_PAGE
        if mode == "html200":
            return 200, "text/html", _HTML_PAGE
        if mode == "empty":
            return 200, "text/xml; charset=utf-8", envelope(None)
        if mode == "blank":
            return 200, "text/xml; charset=utf-8", b""
        if mode == "delay":
            time.sleep(injection.delay)
        return None  # delay and lose_reply go on to do the work


class RivSoapSimulator:
    """A simulated RIV-TA ``crm:scheduling`` 1.1 producer serving some facilities over HTTP."""

    def __init__(
        self,
        facilities: Iterable[FacilitySpec],
        *,
        weeks: int = 4,
        latency: float = 0.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.book = Timebook(facilities, weeks=weeks, clock=clock)
        self.app = RivSoapApp(self.book, latency=latency)
        self.host = "127.0.0.1"
        self.port = 0
        self._server: KeepAliveServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL (the SOAP address of every operation; WSDL at ``url + "?wsdl"``)."""
        return f"http://{self.host}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, host: str | None = None, port: int | None = None) -> str:
        """Serve in a daemon thread; port 0 picks a free one, a restart reuses the last port."""
        if self._server is not None:
            return self.url
        self.host = host or self.host
        wanted = self.port if port is None else port
        self._server = KeepAliveServer(self.host, wanted, self.app)
        self.port = self._server.port
        self._thread = self._server.serve_in_thread(f"riv-sim-{self.port}")
        return self.url

    def stop(self) -> None:
        """Stop listening and cut open connections (callers then get "connection refused"); bookings
        are kept."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def open_connections(self) -> int:
        """How many client connections are open now (keep-alive tests)."""
        return self._server.open_connections() if self._server is not None else 0

    def __enter__(self) -> RivSoapSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- conveniences -------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        return self.app.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.app.latency = seconds

    def inject(self, mode: str, *, operation: str | None = None, times: int = 1, delay: float = 0.0) -> None:
        """See :meth:`RivSoapApp.inject`."""
        self.app.inject(mode, operation=operation, times=times, delay=delay)

    @property
    def exchanges(self) -> list[Exchange]:
        return list(self.app.exchanges)

    def add_facility(self, facility: FacilitySpec) -> None:
        self.book.add_facility(facility)

    def adapter_config(self, **overrides: Any) -> dict[str, Any]:
        """Return the JSON-able configuration of a ``riv-crm-scheduling`` adapter for this server."""
        return {"endpoint": self.url, "connect_timeout": 1.0, "read_timeout": 3.0, **overrides}
