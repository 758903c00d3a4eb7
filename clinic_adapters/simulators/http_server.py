"""A small threaded WSGI server with HTTP/1.1 keep-alive, for the simulated record systems.

Why not werkzeug's or wsgiref's development servers: both close the connection after every
answer (werkzeug sends ``Connection: close``, wsgiref speaks HTTP/1.0). Real record systems
keep connections open, and with a hundred simulated clinics on one small machine a new TCP
connection and a new thread per request was a large part of the benchmark's CPU
(bench/federated_search.py), on the hub's side as well as the simulators'.

A stopped server must look dead to its clients, also to those holding a kept-alive
connection: :meth:`KeepAliveServer.stop` closes the listening socket *and* cuts every open
connection, idle or busy, as a crashed process would. A connection accepted during the stop
is closed at once.
"""

from __future__ import annotations

import contextlib
import io
import selectors
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from urllib.parse import unquote

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: An idle kept-alive connection is closed after this long, so forgotten clients do not hold
#: threads forever. Clients (httpx, urllib3) notice a closed idle connection and open a new one.
IDLE_SECONDS = 30.0
#: Environ key of the connection's socket (a simulator's "drop the connection" fault uses it).
SOCKET_KEY = "simulator.socket"
_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Serves the requests of one connection in turn until the client or the server closes it."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    server: KeepAliveServer

    def setup(self) -> None:
        super().setup()
        # Answers go out whole and at once (see _run_wsgi); never hold back a last small segment.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._refused = not self.server.track(self.connection)
        if self._refused:  # accepted while the server stops: never answered
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self.server.untrack(self.connection)
        with contextlib.suppress(OSError):  # the server may have cut the connection already
            super().finish()

    def handle(self) -> None:
        if not self._refused:
            with contextlib.suppress(OSError):  # cut by stop(), or the client went away
                super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: URLs may carry identifiers, and tests stay quiet."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method goes to the WSGI app
            return self._run_wsgi
        raise AttributeError(name)

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "iso-8859-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            SOCKET_KEY: self.connection,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ and key.startswith("HTTP_") else value
        return environ

    def _run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Our clients send a Content-Length; without one the body's end is unknown here.
            self.send_error(411, "a Content-Length is required")
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        # Read the whole body even if the app does not: the next request starts right after it.
        body = self.rfile.read(length) if length else b""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        result = self.server.app(self._environ(body), start_response)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = started
        code, _, reason = status.partition(" ")
        payload = b"".join(chunks)
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        # Always a length (the apps answer whole bodies), so the connection can carry on.
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Head and body in one write: two small writes on a kept connection meet the client's
        # delayed ACK (Nagle), 40 ms per answer.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(payload)
        self.flush_headers()


class KeepAliveServer(ThreadingMixIn, HTTPServer):
    """One thread per connection; :meth:`stop` ends serving and cuts every open connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, app: WsgiApp) -> None:
        self.app = app
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()
        self._stopping = False
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stop_loop = threading.Event()
        self._loop_done = threading.Event()
        self._loop_done.set()
        super().__init__((host, port), KeepAliveHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN (a DNS query); the address is enough.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def track(self, connection: socket.socket) -> bool:
        """Register an accepted connection; False if the server is stopping (close it)."""
        with self._live_lock:
            if self._stopping:
                return False
            self._live.add(connection)
            return True

    def untrack(self, connection: socket.socket) -> None:
        with self._live_lock:
            self._live.discard(connection)

    def open_connections(self) -> int:
        with self._live_lock:
            return len(self._live)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept connections until :meth:`shutdown`, sleeping in select until one arrives.

        socketserver's loop wakes every ``poll_interval`` to look for a shutdown: a hundred idle
        simulators in one process (the federated benchmark) woke 2,000 times a second, 44 ms of
        CPU per second. Here shutdown wakes the loop through a socket pair instead.
        """
        with self._live_lock:  # a stop before the loop began: never touch the closed sockets
            if self._stop_loop.is_set():
                return
            self._loop_done.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                selector.register(self._wake_reader, selectors.EVENT_READ)
                while not self._stop_loop.is_set():
                    for key, _events in selector.select():
                        if key.fileobj is self.socket and not self._stop_loop.is_set():
                            self._handle_request_noblock()
        finally:
            self._loop_done.set()

    def shutdown(self) -> None:
        """Stop the :meth:`serve_forever` loop and wait until it has ended."""
        with self._live_lock:
            self._stop_loop.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")
        self._loop_done.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a time-out test) is not worth a traceback."""

    def stop(self) -> None:
        """Stop accepting, then cut every open connection (idle kept-alive ones included)."""
        self.shutdown()
        self.server_close()
        with self._live_lock:
            self._stopping = True
            live, self._live = list(self._live), set()
        for connection in live:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)

    def serve_in_thread(self, name: str) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name=name, daemon=True)
        thread.start()
        return thread
