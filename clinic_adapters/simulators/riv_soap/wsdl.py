"""Generate the simulator's WSDL (schemas inline) from :mod:`.contract_spec`.

One WSDL can describe all eleven operations on one port (what the simulator serves at ``?wsdl``)
or a single operation, shaped like the published per-interaction WSDLs.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from lxml import etree

from clinic_adapters.simulators.riv_soap.contract_spec import (
    CORE,
    CORE_COMPLEX,
    CORE_SIMPLE,
    EXT,
    EXT_ELEMENTS,
    IH,
    INTERACTIONS,
    ITR,
    OPERATIONS,
    WSDL,
    WSDL_SOAP,
    XS,
    El,
    responder_ext_ns,
    responder_ns,
    soap_action,
)

COMBINED_TNS = "urn:riv:crm:scheduling:1:rivtabp21"
ADDRESS_PLACEHOLDER = "http://tempuri.org"


def _x(tag: str) -> str:
    return f"{{{XS}}}{tag}"


def _schema(parent: etree._Element, tns: str, prefixes: dict[str, str]) -> etree._Element:
    nsmap = {"xs": XS, "tns": tns, **prefixes}
    schema = etree.SubElement(
        parent,
        _x("schema"),
        nsmap=nsmap,
        targetNamespace=tns,
        elementFormDefault="qualified",
        attributeFormDefault="unqualified",
    )
    for prefix, ns in prefixes.items():
        if ns != tns and prefix not in ("xs",):
            # inline schemas find each other by namespace: no schemaLocation needed
            etree.SubElement(schema, _x("import"), namespace=ns)
    return schema


def _sequence(parent: etree._Element, fields: Iterable[El], *, open_: bool) -> None:
    seq = etree.SubElement(parent, _x("sequence"))
    for field in fields:
        attrs: dict[str, str] = {}
        if field.ref:
            attrs["ref"] = field.ref
        else:
            attrs["name"] = field.name
            attrs["type"] = field.type
        if field.min != 1:
            attrs["minOccurs"] = str(field.min)
        if field.max != 1:
            attrs["maxOccurs"] = "unbounded" if field.max is None else str(field.max)
        etree.SubElement(seq, _x("element"), **attrs)
    if open_:
        etree.SubElement(
            seq, _x("any"), namespace="##other", processContents="lax", minOccurs="0", maxOccurs="unbounded"
        )


def _complex(schema: etree._Element, name: str, fields: Iterable[El], *, open_: bool = True) -> None:
    _sequence(etree.SubElement(schema, _x("complexType"), name=name), fields, open_=open_)


def _core_schemas(types: etree._Element) -> None:
    core = _schema(types, CORE, {"core": CORE, "ext": EXT})
    for name, facet in CORE_SIMPLE.items():
        restriction = etree.SubElement(
            etree.SubElement(core, _x("simpleType"), name=name), _x("restriction"), base="xs:string"
        )
        if facet and facet[0] == "pattern":
            etree.SubElement(restriction, _x("pattern"), value=facet[1])
        elif facet and facet[0] == "enum":
            for value in facet[1:]:
                etree.SubElement(restriction, _x("enumeration"), value=value)
    for name, (fields, open_) in CORE_COMPLEX.items():
        _complex(core, name, fields, open_=open_)

    ext = _schema(types, EXT, {})
    for name, type_ in EXT_ELEMENTS.items():
        etree.SubElement(ext, _x("element"), name=name, type=type_)

    itr = _schema(types, ITR, {})
    etree.SubElement(itr, _x("element"), name="LogicalAddress", type="tns:LogicalAddressType")
    etree.SubElement(
        etree.SubElement(itr, _x("simpleType"), name="LogicalAddressType"),
        _x("restriction"),
        base="xs:string",
    )

    ih = _schema(types, IH, {})
    etree.SubElement(ih, _x("element"), name="Actor", type="tns:ActorType")
    _complex(ih, "ActorType", (El("actorId", "xs:string"), El("actorType", "tns:ActorTypeEnum")))
    enum = etree.SubElement(
        etree.SubElement(ih, _x("simpleType"), name="ActorTypeEnum"), _x("restriction"), base="xs:string"
    )
    for value in ("subject_of_care", "subject_of_care_agent"):
        etree.SubElement(enum, _x("enumeration"), value=value)


def _responder_schemas(types: etree._Element, operation: str) -> None:
    spec = INTERACTIONS[operation]
    prefixes = {"core": CORE}
    if spec.ext_elements:
        prefixes["rext"] = responder_ext_ns(operation)
        rext = _schema(types, responder_ext_ns(operation), {"core": CORE})
        for name, type_ in spec.ext_elements:
            etree.SubElement(rext, _x("element"), name=name, type=type_)
    schema = _schema(types, responder_ns(operation), prefixes)
    etree.SubElement(schema, _x("element"), name=operation, type=f"tns:{operation}Type")
    etree.SubElement(schema, _x("element"), name=f"{operation}Response", type=f"tns:{operation}ResponseType")
    _complex(schema, f"{operation}Type", spec.request)
    for name, fields in spec.extra_types:
        _complex(schema, name, fields)
    _complex(schema, f"{operation}ResponseType", spec.response)


def _w(tag: str) -> str:
    return f"{{{WSDL}}}{tag}"


def _s(tag: str) -> str:
    return f"{{{WSDL_SOAP}}}{tag}"


def build_wsdl(address: str = ADDRESS_PLACEHOLDER, operations: Iterable[str] = OPERATIONS) -> bytes:
    """Return a WSDL for ``operations`` with every schema inline and the port at ``address``."""
    ops = tuple(operations)
    unknown = set(ops) - set(OPERATIONS)
    if unknown:
        raise ValueError(f"unknown operations: {sorted(unknown)}")
    single = len(ops) == 1
    tns = f"urn:riv:crm:scheduling:{ops[0]}:1:rivtabp21" if single else COMBINED_TNS
    stem = f"{ops[0]}Responder" if single else "RivSchedulingResponder"
    nsmap = {"wsdl": WSDL, "soap": WSDL_SOAP, "xs": XS, "tns": tns, "itr": ITR, "ih": IH}
    nsmap.update({f"r{i}": responder_ns(op) for i, op in enumerate(ops)})
    root = etree.Element(_w("definitions"), nsmap=nsmap, targetNamespace=tns, name=f"{stem}Interaction")

    types = etree.SubElement(root, _w("types"))
    _core_schemas(types)
    for op in ops:
        _responder_schemas(types, op)

    for i, op in enumerate(ops):
        request = etree.SubElement(root, _w("message"), name=f"{op}Request")
        etree.SubElement(request, _w("part"), name="LogicalAddress", element="itr:LogicalAddress")
        etree.SubElement(request, _w("part"), name="actor", element="ih:Actor")
        etree.SubElement(request, _w("part"), name="parameters", element=f"r{i}:{op}")
        response = etree.SubElement(root, _w("message"), name=f"{op}Response")
        etree.SubElement(response, _w("part"), name="parameters", element=f"r{i}:{op}Response")

    port_type = etree.SubElement(root, _w("portType"), name=f"{stem}Interface")
    for op in ops:
        operation = etree.SubElement(port_type, _w("operation"), name=op)
        etree.SubElement(operation, _w("input"), message=f"tns:{op}Request")
        etree.SubElement(operation, _w("output"), message=f"tns:{op}Response")

    binding = etree.SubElement(root, _w("binding"), name=f"{stem}Binding", type=f"tns:{stem}Interface")
    etree.SubElement(
        binding, _s("binding"), style="document", transport="http://schemas.xmlsoap.org/soap/http"
    )
    for op in ops:
        operation = etree.SubElement(binding, _w("operation"), name=op)
        etree.SubElement(operation, _s("operation"), soapAction=soap_action(op), style="document")
        input_ = etree.SubElement(operation, _w("input"))
        for part in ("LogicalAddress", "actor"):
            etree.SubElement(input_, _s("header"), use="literal", message=f"tns:{op}Request", part=part)
        etree.SubElement(input_, _s("body"), use="literal", parts="parameters")
        etree.SubElement(etree.SubElement(operation, _w("output")), _s("body"), use="literal")

    service = etree.SubElement(root, _w("service"), name=f"{stem}Service")
    port = etree.SubElement(service, _w("port"), name=f"{stem}Port", binding=f"tns:{stem}Binding")
    etree.SubElement(port, _s("address"), location=address)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@lru_cache(maxsize=64)
def cached_wsdl(address: str, operation: str | None = None) -> bytes:
    """Return :func:`build_wsdl` for one address (and one operation, or all), cached."""
    return build_wsdl(address, (operation,) if operation else OPERATIONS)
