"""Run the simulator as a real HTTP server in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from clinic_adapters.simulators.fhir.app import create_app
from clinic_adapters.simulators.fhir.auth import TokenIssuer
from clinic_adapters.simulators.fhir.config import SimConfig, demo_config
from clinic_adapters.simulators.fhir.faults import Faults
from clinic_adapters.simulators.fhir.store import FhirStore


class _QuietHandler(WSGIRequestHandler):
    """A request handler that writes no access log (URLs may carry identifiers) and tracks sockets."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def setup(self) -> None:
        super().setup()
        self.server.live_sockets.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.live_sockets.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()


class FhirSimulator:
    """A reference FHIR R4 record system: OAuth2 token endpoint plus Slot/Appointment REST API.

    Use it as a context manager or call :meth:`start` / :meth:`stop`; ``port=0`` picks a free port.
    ``store`` holds the resources, ``faults`` injects failures, ``issuer`` the tokens (``revoke_all``).
    A stopped simulator can be started again on the same port with its data intact.
    """

    def __init__(self, config: SimConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or demo_config()
        self.host = host
        self.port = port
        self.store = FhirStore(self.config)
        self.faults = Faults()
        self.issuer = TokenIssuer(
            self.config.client_id, self.config.client_secret, self.config.token_lifetime
        )
        self.requests: deque[dict[str, Any]] = deque()
        self.app = create_app(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/fhir"

    @property
    def token_url(self) -> str:
        return f"http://{self.host}:{self.port}/oauth/token"

    def adapter_config(self, **overrides: Any) -> dict[str, Any]:
        """Return a JSON-able ``FhirR4Adapter`` configuration pointing at this simulator."""
        config: dict[str, Any] = {
            "base_url": self.base_url,
            "token_url": self.token_url,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "scope": "system/Slot.read system/Appointment.write",
            "connect_timeout": 1.0,
            "read_timeout": 2.0,
            "patient_identifier_system": self.config.patient_identifier_system,
        }
        config.update(overrides)
        return config

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> FhirSimulator:
        """Bind (port 0 → a free port, remembered for restarts) and serve in a daemon thread."""
        if self._server is not None:
            return self
        server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
        server.live_sockets = set()  # type: ignore[attr-defined]
        self.port = server.port
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fhir-sim-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection, as a crashed server would."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for sock in list(server.live_sockets):  # type: ignore[attr-defined]
            with contextlib.suppress(OSError):  # already closed by its client
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI)."""
        server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
        server.live_sockets = set()  # type: ignore[attr-defined]
        self.port = server.port
        self._server = server
        try:
            server.serve_forever()
        finally:
            self._server = None
            server.server_close()

    def __enter__(self) -> FhirSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
