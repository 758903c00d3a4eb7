"""SOAP 1.1 envelopes for the simulator: read a request, write answers and faults."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from clinic_adapters.simulators.riv_soap.contract_spec import IH, ITR, OPERATIONS, SOAP_ENV, responder_ns

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


class ClientFault(Exception):
    """The request is malformed or names something unknown (answered as ``soap:Client``)."""


@dataclass(frozen=True)
class Request:
    operation: str
    logical_address: str | None
    actor_id: str | None
    actor_type: str | None
    body: etree._Element  # the operation element, e.g. {…MakeBookingResponder:1}MakeBooking

    def child(self, name: str, ns: str | None = None) -> etree._Element | None:
        return self.body.find(f"{{{ns or responder_ns(self.operation)}}}{name}")

    def text(self, name: str, ns: str | None = None) -> str | None:
        element = self.child(name, ns)
        return element.text.strip() if element is not None and element.text else None

    def texts(self, name: str, ns: str | None = None) -> list[str]:
        return [
            e.text.strip()
            for e in self.body.findall(f"{{{ns or responder_ns(self.operation)}}}{name}")
            if e.text
        ]

    def required(self, name: str, ns: str | None = None) -> str:
        value = self.text(name, ns)
        if value is None:
            raise ClientFault(f"{self.operation}: missing {name}")
        return value


def parse_request(data: bytes) -> Request:
    """Parse a SOAP 1.1 request to one of the eleven operations (namespaces checked exactly)."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ClientFault("request is not well-formed XML") from exc
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise ClientFault("not a SOAP 1.1 envelope")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) == 0:
        raise ClientFault("empty SOAP body")
    payload = body[0]
    qname = etree.QName(payload)
    if qname.localname not in OPERATIONS or qname.namespace != responder_ns(qname.localname):
        raise ClientFault(f"unknown operation element {qname.localname}")
    header = root.find(f"{{{SOAP_ENV}}}Header")
    logical = actor_id = actor_type = None
    if header is not None:
        logical = header.findtext(f"{{{ITR}}}LogicalAddress")
        actor = header.find(f"{{{IH}}}Actor")
        if actor is not None:
            actor_id = actor.findtext(f"{{{IH}}}actorId")
            actor_type = actor.findtext(f"{{{IH}}}actorType")
    return Request(
        operation=qname.localname,
        logical_address=logical.strip() if logical else None,
        actor_id=actor_id.strip() if actor_id else None,
        actor_type=actor_type.strip() if actor_type else None,
        body=payload,
    )


def envelope(payload: etree._Element | None) -> bytes:
    """Wrap a body element in a SOAP 1.1 envelope."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    if payload is not None:
        body.append(payload)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def fault(code: str, text: str) -> bytes:
    """Return a SOAP 1.1 fault envelope; ``code`` is ``Client`` or ``Server``."""
    element = etree.Element(f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(element, "faultcode").text = f"soap:{code}"
    etree.SubElement(element, "faultstring").text = text
    return envelope(element)
