"""The simulator's HTTP face: a Flask app with an OAuth2 token endpoint and a FHIR R4 REST API."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode

from flask import Flask, Response, request

from clinic_adapters.simulators.fhir import faults as fault_kinds
from clinic_adapters.simulators.fhir.search import BadSearch, Resource
from clinic_adapters.simulators.fhir.store import StoreError
from clinic_adapters.simulators.http_server import SOCKET_KEY
from clinic_adapters.timezones import utc_now

if TYPE_CHECKING:
    from clinic_adapters.simulators.fhir.server import FhirSimulator

FHIR_JSON = "application/fhir+json; charset=utf-8"
SEARCHABLE = frozenset(
    {
        "Organization",
        "HealthcareService",
        "Practitioner",
        "PractitionerRole",
        "Schedule",
        "Slot",
        "Appointment",
        "Patient",
    }
)
MAX_CURSORS = 500
MATCH = json.dumps({"mode": "match"})


def outcome(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> Response:
    """Return an OperationOutcome answer."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return Response(json.dumps(body), status, headers=headers, content_type=FHIR_JSON)


def resource_response(
    resource: Resource, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Return a resource with its version as ETag, as FHIR servers do."""
    version = resource["meta"]["versionId"]
    all_headers = {"ETag": f'W/"{version}"', **(headers or {})}
    return Response(json.dumps(resource), status, headers=all_headers, content_type=FHIR_JSON)


class _Pages:
    """Search result snapshots behind opaque cursors (HAPI-style ``_getpages``), bounded in number."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[str, tuple[str, list[str]]] = OrderedDict()

    def save(self, kind: str, ids: list[str]) -> str:
        cursor = secrets.token_hex(8)
        with self._lock:
            self._snapshots[cursor] = (kind, ids)
            while len(self._snapshots) > MAX_CURSORS:
                self._snapshots.popitem(last=False)
        return cursor

    def load(self, cursor: str) -> tuple[str, list[str]] | None:
        with self._lock:
            return self._snapshots.get(cursor)


def create_app(sim: FhirSimulator) -> Flask:
    """Build the WSGI app serving ``sim``'s store under ``/fhir`` and tokens under ``/oauth/token``."""
    app = Flask(__name__)
    pages = _Pages()
    store, faults, issuer = sim.store, sim.faults, sim.issuer
    # Kept for tests (validation of what adapters send); bounded so a long run stays small.
    sim.requests = deque(maxlen=2000)

    def base() -> str:
        return request.host_url.rstrip("/") + "/fhir"

    @app.post("/oauth/token")
    def token() -> Response:
        if faults.token_latency:
            time.sleep(faults.token_latency)
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            decoded = base64.b64decode(auth[6:]).decode()
            client_id, _, secret = (unquote(part) for part in decoded.partition(":"))
        if not issuer.client_ok(client_id, secret):
            return Response(json.dumps({"error": "invalid_client"}), 401, content_type="application/json")
        if request.form.get("grant_type") != "client_credentials":
            return Response(
                json.dumps({"error": "unsupported_grant_type"}), 400, content_type="application/json"
            )
        access_token, lifetime = issuer.issue()
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime}
        if request.form.get("scope"):
            body["scope"] = request.form["scope"]
        return Response(
            json.dumps(body), 200, content_type="application/json", headers={"Cache-Control": "no-store"}
        )

    @app.before_request
    def gate() -> Response | None:
        """Apply latency, injected faults and bearer-token checks to every FHIR request."""
        if not request.path.startswith("/fhir") or request.path == "/fhir/metadata":
            return None
        sim.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "args": list(request.args.items(multi=True)),
                "body": request.get_json(silent=True),
            }
        )
        if faults.latency:
            time.sleep(faults.latency)
        fault = faults.take(request.method, request.path.removeprefix("/fhir").lstrip("/"))
        if fault is not None:
            answer = _apply_fault(fault)
            if answer is not None:
                return answer
        header = request.headers.get("Authorization", "")
        if not (header.startswith("Bearer ") and issuer.valid(header[7:])):
            return outcome(
                401,
                "login",
                "a valid bearer token is required",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return None

    def _apply_fault(fault: fault_kinds.Fault) -> Response | None:
        if fault.kind == fault_kinds.HTML_503:
            html = "<html><body><h1>503 Service Unavailable</h1>Maintenance.</body></html>"
            return Response(html, 503, content_type="text/html")
        if fault.kind == fault_kinds.RATE_LIMIT:
            return outcome(429, "throttled", "too many requests", {"Retry-After": fault.retry_after or "1"})
        if fault.kind == fault_kinds.UNAUTHORIZED:
            return outcome(
                401, "login", "token rejected", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        if fault.kind == fault_kinds.DROP:
            sock = request.environ.get(SOCKET_KEY)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            return Response("", 500)  # never arrives: the connection is gone
        if fault.kind == fault_kinds.CONCURRENT_UPDATE:
            parts = request.path.strip("/").split("/")
            if len(parts) == 3:
                store.touch(parts[1], parts[2])
        return None

    @app.get("/fhir/metadata")
    def metadata() -> Response:
        body = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "kind": "instance",
            "date": utc_now().date().isoformat(),
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "resource": [
                        {"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}]}
                        for kind in sorted(SEARCHABLE)
                    ],
                }
            ],
        }
        return Response(json.dumps(body), 200, content_type=FHIR_JSON)

    def search(kind: str, params: list[tuple[str, str]]) -> Response:
        if kind not in SEARCHABLE:
            return outcome(404, "not-supported", f"unknown resource type {kind}")
        values = dict(params)
        try:
            count = max(
                1, min(int(values.get("_count", sim.config.default_page_size)), sim.config.max_page_size)
            )
        except ValueError:
            return outcome(400, "invalid", "bad _count")
        if kind == "Patient" and sim.config.auto_patients:
            for name, value in params:
                system, _, pnr = value.partition("|")
                if name == "identifier" and system == sim.config.patient_identifier_system and pnr:
                    store.add_patient(pnr)
        rejected = sorted({name for name, _ in params} & sim.config.rejected_search_params)
        if rejected:
            return outcome(400, "not-supported", f"search parameter {rejected[0]} is not supported")
        try:
            ids = store.search(kind, params)
        except BadSearch as error:
            return outcome(400, "invalid", str(error))
        return page(kind, ids, pages.save(kind, ids), 0, count)

    def page(kind: str, ids: list[str], cursor: str, offset: int, count: int) -> Response:
        # Resources arrive as JSON text (serialised under the store's lock) and are spliced in.
        entries = []
        for rid in ids[offset : offset + count]:
            resource = store.get_json(kind, rid)
            if resource is not None:
                full_url = json.dumps(f"{base()}/{kind}/{rid}")
                entries.append(f'{{"fullUrl": {full_url}, "resource": {resource}, "search": {MATCH}}}')
        links = [{"relation": "self", "url": request.url}]
        if offset + count < len(ids):
            query = urlencode({"_getpages": cursor, "_getpagesoffset": offset + count, "_count": count})
            links.append({"relation": "next", "url": f"{base()}?{query}"})
        # Like many servers: no total, so the last page is known only by a missing next link.
        bundle = {"resourceType": "Bundle", "id": secrets.token_hex(8), "type": "searchset", "link": links}
        text = f'{json.dumps(bundle)[:-1]}, "entry": [{", ".join(entries)}]}}'
        return Response(text, 200, content_type=FHIR_JSON)

    @app.get("/fhir")
    def next_page() -> Response:
        snapshot = pages.load(request.args.get("_getpages", ""))
        if snapshot is None:
            return outcome(410, "not-found", "search expired")
        try:
            offset = int(request.args.get("_getpagesoffset", "0"))
            count = min(
                int(request.args.get("_count", sim.config.default_page_size)), sim.config.max_page_size
            )
        except ValueError:
            return outcome(400, "invalid", "bad paging parameters")
        return page(snapshot[0], snapshot[1], request.args["_getpages"], offset, count)

    @app.get("/fhir/<kind>")
    def search_get(kind: str) -> Response:
        return search(kind, list(request.args.items(multi=True)))

    @app.post("/fhir/<kind>/_search")
    def search_post(kind: str) -> Response:
        # POST search keeps identifiers such as personal numbers out of URLs and access logs.
        return search(kind, list(request.args.items(multi=True)) + list(request.form.items(multi=True)))

    @app.get("/fhir/<kind>/<rid>")
    def read(kind: str, rid: str) -> Response:
        resource = store.get(kind, rid)
        if resource is None:
            return outcome(404, "not-found", f"{kind}/{rid} is not known")
        return resource_response(resource)

    @app.get("/fhir/<kind>/<rid>/_history/<vid>")
    def vread(kind: str, rid: str, vid: str) -> Response:
        resource = store.vread(kind, rid, vid)
        if resource is None:
            return outcome(404, "not-found", f"{kind}/{rid}/_history/{vid} is not known")
        return resource_response(resource)

    def _body() -> dict[str, Any] | None:
        body = request.get_json(silent=True, force=True)
        return body if isinstance(body, dict) else None

    @app.post("/fhir/Appointment")
    def create() -> Response:
        body = _body()
        if body is None:
            return outcome(400, "invalid", "a JSON Appointment is required")
        try:
            created = store.create_appointment(body)
        except StoreError as error:
            return outcome(error.status, error.code, error.text)
        location = f"{base()}/Appointment/{created['id']}/_history/{created['meta']['versionId']}"
        if sim.config.return_minimal or request.headers.get("Prefer") == "return=minimal":
            return Response(
                "", 201, headers={"Location": location, "ETag": f'W/"{created["meta"]["versionId"]}"'}
            )
        return resource_response(created, 201, {"Location": location})

    @app.put("/fhir/Appointment/<rid>")
    def update(rid: str) -> Response:
        body = _body()
        if body is None:
            return outcome(400, "invalid", "a JSON Appointment is required")
        try:
            updated = store.update_appointment(rid, body, request.headers.get("If-Match"))
        except StoreError as error:
            return outcome(error.status, error.code, error.text)
        return resource_response(updated)

    return app
