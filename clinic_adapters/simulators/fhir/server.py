"""Run the simulator as a real HTTP server in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from clinic_adapters.simulators.fhir.app import create_app
from clinic_adapters.simulators.fhir.auth import TokenIssuer
from clinic_adapters.simulators.fhir.config import SimConfig, demo_config
from clinic_adapters.simulators.fhir.faults import Faults
from clinic_adapters.simulators.fhir.store import FhirStore
from clinic_adapters.simulators.http_server import KeepAliveServer


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
        self._server: KeepAliveServer | None = None
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
        server = KeepAliveServer(self.host, self.port, self.app)
        self.port = server.port
        self._server = server
        self._thread = server.serve_in_thread(f"fhir-sim-{self.port}")
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (kept-alive ones too), as a crashed server would."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def open_connections(self) -> int:
        """How many client connections are open now (keep-alive tests)."""
        return self._server.open_connections() if self._server is not None else 0

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI)."""
        server = KeepAliveServer(self.host, self.port, self.app)
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
