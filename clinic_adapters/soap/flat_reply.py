"""A lean reader for list answers of flat records (GetAvailableTimeslots), equal to zeep's result.

zeep builds an object per timeslot through its generic schema machinery: about 0.1 ms of CPU
each, 10 ms for one clinic's few days, and a federated search asks about a hundred clinics under
one GIL. This reader walks the parsed envelope once and turns each leaf into its value with
zeep's own simple type (same whitespace and boolean rules). It takes only the shape it fully
understands (the WSDL's record type, its fields in schema order, at most once each, required
ones present, no attributes, no nested elements or other content); for anything else it answers
``None`` and the caller lets zeep read the reply, so faults, error pages and contract breaches end
exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from lxml import etree
from zeep.loader import parse_xml
from zeep.utils import get_media_type
from zeep.xsd import Element
from zeep.xsd.types.builtins import String
from zeep.xsd.types.simple import AnySimpleType


class FlatListReader:
    """Reads ``<Response><item>…</item>*</Response>`` where every item holds simple fields only."""

    def __init__(self, binding: Any, operation: str, item: str) -> None:
        self._binding = binding
        self._ok = False
        try:
            self._learn(binding.get(operation), item)
        except Exception:  # a WSDL shaped otherwise than expected: zeep reads every answer
            self._ok = False

    def _learn(self, operation: Any, item: str) -> None:
        output = operation.output
        body = getattr(output, "body", None)
        if body is None or not isinstance(body, Element) or getattr(output, "header", None) is None:
            return
        self._envelope = etree.QName(self._binding.nsmap["soap-env"], "Envelope").text
        self._body = etree.QName(self._binding.nsmap["soap-env"], "Body").text
        self._header = etree.QName(self._binding.nsmap["soap-env"], "Header").text
        self._response = body.qname.text
        self._names = [name for name, _ in body.type.elements]  # the answer's fields, "any" included
        found = [e for name, e in body.type.elements if name == item and isinstance(e, Element)]
        if len(found) != 1 or body.type.attributes or not found[0].accepts_multiple:
            return
        self._item_name = item
        self._item = found[0].qname.text
        record = found[0].type
        fields = record.elements
        if record.attributes or not all(
            isinstance(e, Element) and isinstance(e.type, AnySimpleType) and not e.accepts_multiple
            for _, e in fields
        ):
            return
        # tag -> (position, attribute name, how to read it); required names must be present
        self._fields = {e.qname.text: (i, name, _reader(e.type)) for i, (name, e) in enumerate(fields)}
        self._empty = {name: None for name, _ in fields}
        self._required = {e.qname.text for _, e in fields if e.min_occurs > 0}
        self._ok = True

    def read(self, client: Any, response: Any) -> Any | None:
        """Return the answer as zeep would (attribute access), or None to let zeep read it."""
        if not self._ok or response.status_code != 200 or not response.content:
            return None
        if get_media_type(response.headers.get("Content-Type", "text/xml")) == "multipart/related":
            return None
        try:
            doc = parse_xml(response.content, self._binding.transport, settings=client.settings)
        except Exception:  # zeep reports it (XMLSyntaxError, forbidden DTD or entities)
            return None
        if doc.tag != self._envelope or (doc.text and doc.text.strip()):
            return None
        parts = [child for child in doc if child.tag != self._header or len(child) or child.text]
        if len(parts) != 1 or parts[0].tag != self._body or len(parts[0]) != 1 or parts[0].attrib:
            return None
        answer = parts[0][0]
        if answer.tag != self._response or answer.attrib or (answer.text and answer.text.strip()):
            return None
        items = []
        for node in answer:
            if node.tag != self._item:
                return None  # the wildcard, a comment or a stranger: zeep decides
            record = self._record(node)
            if record is None:
                return None
            items.append(record)
        if not items:
            return None  # zeep's answer for an empty list is its own business
        values = dict.fromkeys(self._names)
        values[self._item_name] = items
        return SimpleNamespace(**values)

    def _record(self, node: Any) -> SimpleNamespace | None:
        if node.attrib or (node.text and node.text.strip()):
            return None
        values = dict(self._empty)
        last = -1
        seen = set()
        for leaf in node:
            spec = self._fields.get(leaf.tag)  # comments and processing instructions: not str tags
            if spec is None or spec[0] <= last or len(leaf) or leaf.attrib:
                return None
            last = spec[0]
            seen.add(leaf.tag)
            # zeep's own conversion of a simple element (AnySimpleType.parse_xmlelement)
            values[spec[1]] = leaf.text if spec[2] is None else spec[2](leaf)
        if not self._required <= seen:
            return None
        return SimpleNamespace(**values)


def _reader(kind: AnySimpleType) -> Callable[[Any], Any] | None:
    """zeep's reading of a simple element, or None where that is its text as it stands.

    zeep reads a simple element as ``pythonvalue(text)`` (None without text), and a string's
    ``pythonvalue`` returns the text unchanged: most fields of a timeslot are strings, and a
    hundred clinics' answers are read under one GIL.
    """
    plain = (
        type(kind).parse_xmlelement is AnySimpleType.parse_xmlelement
        and type(kind).pythonvalue is String.pythonvalue
    )
    return None if plain else kind.parse_xmlelement
