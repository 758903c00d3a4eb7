"""The FHIR adapter's two writes: create an Appointment, and cancel one by conditional update."""

from __future__ import annotations

from typing import Any

from clinic_adapters.errors import InvalidResponse, NotFound, Refused
from clinic_adapters.fhir import mapping
from clinic_adapters.fhir.mapping import INACTIVE_STATES, Resource
from clinic_adapters.fhir.transport import FhirTransport


def outcome_text(response: Any) -> tuple[str, str | None]:
    """Return (issue codes for the log, human text for the citizen) of an OperationOutcome answer.

    ``diagnostics`` is left out on purpose: it is technical and may echo what we sent.
    """
    try:
        body = response.json()
    except ValueError:
        return "no OperationOutcome", None
    issues = (body.get("issue") or []) if isinstance(body, dict) else []
    codes = ",".join(str(i.get("code")) for i in issues) or "no issue"
    texts = [(i.get("details") or {}).get("text") for i in issues]
    return codes, next((t for t in texts if t), None)


def post_appointment(http: FhirTransport, body: Resource) -> tuple[int, Resource | None, Any]:
    """POST an Appointment; return (status, created resource or None, response)."""
    response = http.request("POST", "Appointment", json=body, headers={"Prefer": "return=representation"})
    if response.status_code not in (200, 201):
        return response.status_code, None, response
    created = http.json(response, "POST Appointment") if response.content else {}
    if created.get("resourceType") != "Appointment" or not created.get("id"):
        # return=minimal servers: Location names …/Appointment/{id}/_history/{vid}, id not last.
        rid = mapping.id_from_location(response.headers.get("Location", ""))
        if rid is None:
            raise InvalidResponse("POST Appointment: no Appointment and no Location in the answer")
        created, _ = http.read("Appointment", rid)
        if created is None:
            raise InvalidResponse("POST Appointment: the created Appointment cannot be read")
    return response.status_code, created, response


def cancel_appointment(http: FhirTransport, appointment: Resource, etag: str | None) -> None:
    """PUT the appointment as read with ``status=cancelled`` and ``If-Match`` as received.

    On 412 it reads again: already cancelled (perhaps by our own PUT whose reply was lost) is
    success; otherwise the cancellation is applied once to the new version, since it is still
    what the citizen asked for. This is optimistic concurrency, not a transport retry.
    """
    for attempt in range(2):
        version = (appointment.get("meta") or {}).get("versionId")
        match = etag or (f'W/"{version}"' if version else None)
        response = http.request(
            "PUT", f"Appointment/{appointment['id']}", json={**appointment, "status": "cancelled"},
            headers={"If-Match": match} if match else {})
        status = response.status_code
        if status == 200:
            return
        if status in (404, 410):
            raise NotFound("no such booking")
        if status == 412 and attempt == 0:
            fresh, fresh_etag = http.read("Appointment", appointment["id"])
            if fresh is None:
                raise NotFound("no such booking")
            if fresh.get("status") in INACTIVE_STATES:
                return
            appointment, etag = fresh, fresh_etag
            continue
        codes, text = outcome_text(response)
        if status in (400, 409, 412, 422):
            raise Refused(f"PUT Appointment: HTTP {status} ({codes})", citizen_message=text)
        raise InvalidResponse(f"PUT Appointment: unexpected HTTP {status}")
