"""zeep plumbing: WSDLs, per-operation addresses, headers, time limits, and the one error mapping.

Every technical failure becomes :class:`~clinic_adapters.errors.Unavailable` here (or its
:class:`~clinic_adapters.errors.InvalidResponse` subclass for answers not in the contract's
shape); a SOAP fault becomes :class:`SoapFault` (an ``Unavailable``) so that the one operation
where a fault means "not found" (GetBookingDetails, trap 5) can say so. Messages carry no
personal data: fault texts from the producer are kept off the exception's message.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import urllib3
import zeep
import zeep.exceptions
from zeep.transports import Transport
from zeep.wsdl import Document

from clinic_adapters.errors import AdapterError, InvalidResponse, Unavailable
from clinic_adapters.pooled_http import connection_pool
from clinic_adapters.soap.envelopes import EnvelopeCache
from clinic_adapters.soap.flat_reply import FlatListReader
from clinic_adapters.soap.personal_data import NoBodyLogger
from clinic_adapters.soap.posting import PooledTransport
from clinic_adapters.timezones import utc_now

log = logging.getLogger("clinic_adapters.soap")

OPERATION_PLACEHOLDER = "{operation}"
# Parsed WSDLs are shared by every adapter instance (the hub may build adapters per request) and
# re-read after this many seconds, so a producer's new contract version is picked up.
WSDL_CACHE_SECONDS = 3600.0
_SETTINGS = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
_documents: dict[str, tuple[Document, float]] = {}
_documents_lock = threading.Lock()


def _document(url: str, transport: Transport) -> Document:
    """Return the parsed WSDL at ``url`` from the shared cache, loading it when missing or stale."""
    with _documents_lock:
        cached = _documents.get(url)
        if cached is not None and time.monotonic() - cached[1] < WSDL_CACHE_SECONDS:
            return cached[0]
    document = Document(url, transport, settings=_SETTINGS)  # outside the lock: may be slow
    with _documents_lock:
        _documents[url] = (document, time.monotonic())
    return document


def forget_wsdls() -> None:
    """Drop every cached WSDL (tests; an administrator's "reload contract")."""
    with _documents_lock:
        _documents.clear()


class SoapFault(Unavailable):
    """The producer answered with a SOAP fault.

    ``code`` is the fault code (``soap:Client``, ``soap:Server`` or None for a fault-shaped page);
    ``producer_text`` is the producer's fault string: it may hold personal data, so it is not in
    the message, is never logged, and serves only to recognise "not found".
    """

    def __init__(self, operation: str, code: str | None, producer_text: str | None) -> None:
        super().__init__(f"{operation}: SOAP fault {code or '(no code)'}")
        self.code = code
        self.producer_text = producer_text or ""

    @property
    def is_client_fault(self) -> bool:
        return bool(self.code) and self.code.split(":")[-1].lower() == "client"


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float

    def pair(self) -> tuple[float, float]:
        return (self.connect, self.read)


class RivClient:
    """zeep clients for one producer connection; thread-safe, lazy (no I/O in the constructor).

    ``endpoint`` is the SOAP address of every operation, or a template with ``{operation}``
    (RIV-TA producers often serve one address per interaction). ``wsdl_url`` is one WSDL holding
    all operations, or a template with ``{operation}`` naming one WSDL per interaction (the
    published contract ships eleven, all with a placeholder address: we set it per operation,
    trap 11). Default: ``<endpoint>?wsdl``.
    """

    def __init__(
        self,
        endpoint: str,
        wsdl_url: str | None,
        timeouts: Timeouts,
        *,
        health_read_timeout: float,
        session: requests.Session | None = None,
        plugins: list[Any] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.wsdl_url = wsdl_url or self._default_wsdl(endpoint)
        self.timeouts = timeouts
        self.session = session or requests.Session()
        # REQUESTS_CA_BUNDLE on this machine would override session.verify (PITFALLS.md).
        self.session.trust_env = False
        self.pool = connection_pool()
        self.transport = self._transport(timeouts.read)
        self.health_transport = self._transport(min(timeouts.read, health_read_timeout))
        self.plugins = list(plugins or [])
        self._lock = threading.Lock()
        self._clients: dict[str, zeep.Client] = {}
        self._services: dict[tuple[str, bool], Any] = {}
        self._readers: dict[tuple[str, bool], FlatListReader] = {}
        self._envelopes = EnvelopeCache()
        self.last_success: datetime | None = None
        self.last_error: datetime | None = None
        self.last_error_text: str | None = None

    @staticmethod
    def _default_wsdl(endpoint: str) -> str:
        base = endpoint.split("?", 1)[0]
        return f"{base}?wsdl"

    def _transport(self, read_timeout: float) -> Transport:
        transport = PooledTransport(
            self.pool,
            session=self.session,
            timeout=self.timeouts.pair(),  # WSDL and schema loading
            operation_timeout=(self.timeouts.connect, read_timeout),  # each call
        )
        transport.logger = NoBodyLogger()  # zeep would log whole envelopes at DEBUG
        return transport

    def close(self) -> None:
        """Close the kept-alive connections of calls and of WSDL loading."""
        self.pool.clear()
        self.session.close()

    # -- WSDL and services --------------------------------------------------------------------

    def address(self, operation: str) -> str:
        return self.endpoint.replace(OPERATION_PLACEHOLDER, operation)

    def _client(self, operation: str) -> zeep.Client:
        url = self.wsdl_url.replace(OPERATION_PLACEHOLDER, operation)
        client = self._clients.get(url)
        if client is None:
            try:
                document = _document(url, self.transport)
                client = zeep.Client(
                    document, transport=self.transport, settings=_SETTINGS, plugins=self.plugins
                )
            except Exception as exc:  # any failure to load the contract is an outage of this connection
                raise Unavailable(f"WSDL could not be loaded ({type(exc).__name__})") from exc
            self._clients[url] = client
        return client

    def service(self, operation: str, *, health: bool = False) -> Any:
        """Return a zeep service proxy for ``operation`` at its address (WSDL loaded once)."""
        key = (operation, health)
        with self._lock:
            service = self._services.get(key)
            if service is not None:
                return service
            client = self._client(operation)
            binding = next(
                (b for b in client.wsdl.bindings.values() if operation in b.all()),
                None,
            )
            if binding is None:
                raise Unavailable(f"the WSDL has no operation {operation}")
            if health:
                client = copy.copy(client)  # same parsed WSDL, shorter time limit
                client.transport = self.health_transport
            service = client.create_service(binding.name, self.address(operation))
            self._services[key] = service
            return service

    def _reader(self, operation: str, health: bool, service: Any, item: str) -> FlatListReader:
        key = (operation, health)
        with self._lock:
            reader = self._readers.get(key)
            if reader is None:
                reader = self._readers[key] = FlatListReader(service._binding, operation, item)
            return reader

    # -- calls --------------------------------------------------------------------------------

    def call(
        self,
        operation: str,
        *,
        logical_address: str,
        actor_id: str,
        actor_type: str,
        health: bool = False,
        flat_list: str | None = None,
        **body: Any,
    ) -> Any:
        """Call an operation with the ``LogicalAddress`` and ``Actor`` headers; map every failure.

        ``flat_list`` names the repeated element of an answer that is a list of flat records: such
        an answer is read by :class:`FlatListReader` when it has the plain shape, by zeep otherwise.
        """
        headers = {
            "LogicalAddress": logical_address,
            "actor": {"actorId": actor_id, "actorType": actor_type},
        }
        started = time.monotonic()
        try:
            service = self.service(operation, health=health)
            proxy = getattr(service, operation)
            client = service._client
            if flat_list and not self.plugins and client.wsse is None:
                reader = self._reader(operation, health, service, flat_list)
                if EnvelopeCache.reusable(service, operation):
                    message, http_headers = self._envelopes.built(
                        service, operation, proxy._merge_soap_headers(headers), body
                    )
                    address = service._binding_options["address"]
                    response = client.transport.post(address, message, http_headers)
                else:
                    with client.settings(raw_response=True):
                        response = proxy(_soapheaders=headers, **body)
                result = reader.read(client, response)
                if result is None:  # not the plain shape: zeep reads it (faults and breaches included)
                    result = service._binding.process_reply(client, service._binding.get(operation), response)
            else:
                result = proxy(_soapheaders=headers, **body)
            if result is None:
                # e.g. spyne's empty envelope after a failure of its own (PITFALLS.md)
                raise InvalidResponse(f"{operation}: empty answer")
        except AdapterError as exc:
            self._failed(operation, logical_address, exc, started)
            raise
        except zeep.exceptions.Fault as exc:
            fault = SoapFault(operation, exc.code, exc.message)
            if fault.code:
                # A fault proves the producer answered: reachable, even when it means "not found".
                self._succeeded()
                log.info("RIV %s to %s: SOAP fault %s", operation, logical_address, fault.code)
            else:
                # fault-shaped XML without a code: an error page, not the producer (trap 10)
                self._failed(operation, logical_address, fault, started)
            raise fault from exc
        except Exception as exc:
            error = _technical_error(operation, exc)
            self._failed(operation, logical_address, error, started)
            raise error from exc
        self._succeeded()
        log.debug("RIV %s to %s: %.0f ms", operation, logical_address, (time.monotonic() - started) * 1000)
        return result

    def _succeeded(self) -> None:
        self.last_success = utc_now()

    def _failed(self, operation: str, logical_address: str, error: AdapterError, started: float) -> None:
        self.last_error = utc_now()
        self.last_error_text = str(error)
        log.warning(
            "RIV %s to %s failed after %.0f ms: %s",
            operation,
            logical_address,
            (time.monotonic() - started) * 1000,
            error,
        )


def _technical_error(operation: str, exc: Exception) -> Unavailable:
    """Map a transport or parsing failure to a typed error whose message holds no personal data."""
    # urllib3's NewConnectionError is also a ConnectTimeoutError: a refusal is not a time-out.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return Unavailable(f"{operation}: connection failed")
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
        return Unavailable(f"{operation}: time-out")
    if isinstance(
        exc,
        requests.ConnectionError
        | urllib3.exceptions.ProtocolError
        | urllib3.exceptions.SSLError
        | urllib3.exceptions.ProxyError,
    ):
        return Unavailable(f"{operation}: connection failed")
    if isinstance(exc, requests.RequestException | urllib3.exceptions.HTTPError):
        return Unavailable(f"{operation}: HTTP error ({type(exc).__name__})")
    if isinstance(exc, zeep.exceptions.TransportError):
        # an HTML error page, a proxy's 502, a 404 for a wrong address (trap 10)
        if 200 <= exc.status_code < 300:
            return InvalidResponse(f"{operation}: HTTP {exc.status_code} without a SOAP envelope")
        return Unavailable(f"{operation}: HTTP {exc.status_code}")
    if isinstance(
        exc,
        zeep.exceptions.XMLSyntaxError
        | zeep.exceptions.XMLParseError
        | zeep.exceptions.DTDForbidden
        | zeep.exceptions.EntitiesForbidden
        | zeep.exceptions.ExternalReferenceForbidden,
    ):
        return InvalidResponse(f"{operation}: answer is not the contract's XML ({type(exc).__name__})")
    if isinstance(exc, zeep.exceptions.ValidationError):
        return InvalidResponse(f"{operation}: message breaks the contract ({type(exc).__name__})")
    # zeep raises TypeError/AttributeError/IndexError on some empty or odd envelopes
    return InvalidResponse(f"{operation}: unexpected answer ({type(exc).__name__})")
