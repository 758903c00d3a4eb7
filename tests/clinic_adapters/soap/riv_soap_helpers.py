"""Helpers for the RIV-TA SOAP tests: contract paths, test subjects, the real XSDs (trap 1 patched)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from functools import cache
from pathlib import Path

from lxml import etree

from clinic_adapters.contract import ClinicRef, Subject
from clinic_adapters.simulators.riv_soap import (
    DEMO_LAB,
    DEMO_PRIMARY,
    FacilitySpec,
    OpeningWindow,
    RivSoapSimulator,
    TimeTypeSpec,
)
from clinic_adapters.soap import RivSchedulingAdapter

REPO = Path(__file__).resolve().parents[3]
CONTRACT = REPO.parent / "shared" / "contracts" / "riv-crm-scheduling-1.1"
INTERACTIONS = CONTRACT / "interactions"
# One WSDL per interaction, as published; the adapter sets each one's address (trap 11).
REAL_WSDL_TEMPLATE = str(
    INTERACTIONS / "{operation}Interaction" / "{operation}Interaction_1.1_RIVTABP21.wsdl"
)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
# Valid test numbers (date + Luhn); never real people.
ALICE_PNR = "198112289874"
BOB_PNR = "199001011239"

PRIMARY = ClinicRef(DEMO_PRIMARY)
LAB = ClinicRef(DEMO_LAB)


def subject(pnr: str = ALICE_PNR, ref: str = "citizen-alice") -> Subject:
    return Subject(
        ref=ref, personal_number=pnr, given_name="Alice", family_name="Testsson", phone="0701234567"
    )


def make_adapter(sim: RivSoapSimulator, **config: object) -> RivSchedulingAdapter:
    settings: dict[str, object] = {"endpoint": sim.url, "connect_timeout": 1.0, "read_timeout": 2.0}
    settings.update(config)
    return RivSchedulingAdapter(**settings)  # type: ignore[arg-type]


def dst_facility(hsa_id: str = "SE2321000016-DST1") -> FacilitySpec:
    """A clinic open through the night of both 2026 clock changes, 30-minute times."""
    from datetime import date

    return FacilitySpec(
        hsa_id=hsa_id,
        name="Nattöppna mottagningen",
        time_types=(TimeTypeSpec("NATT30", "Nattbesök", 30),),
        windows=(
            OpeningWindow("NATT30", time(1, 0), time(4, 0), dates=(date(2026, 3, 29), date(2026, 10, 25))),
        ),
    )


def fixed_clock(instant: datetime):
    return lambda: instant.astimezone(UTC)


# -- the real XSDs, with trap 1 worked around in memory ---------------------------------------------

_BROKEN_PATTERN = "^[0-9]{8}[0-9pPtTfF][0-9]{3}$"
_FIXED_PATTERN = "[0-9]{8}[0-9pPtTfF][0-9]{3}"


class _PatchedCoreResolver(etree.Resolver):
    """Serve the core schema with the ^…$ personal-number pattern fixed; the file stays untouched."""

    def resolve(self, system_url, public_id, context):
        if system_url and system_url.endswith("crm_scheduling_1.1.xsd"):
            text = (CONTRACT / "core_components" / "crm_scheduling_1.1.xsd").read_text(encoding="utf-8")
            assert _BROKEN_PATTERN in text  # the trap is still there: the patch is still needed
            return self.resolve_string(
                text.replace(_BROKEN_PATTERN, _FIXED_PATTERN), context, base_url=system_url
            )
        return None


def _load_schema(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser()
    parser.resolvers.add(_PatchedCoreResolver())
    return etree.XMLSchema(etree.parse(str(path), parser))


@cache
def responder_schema(operation: str) -> etree.XMLSchema:
    return _load_schema(INTERACTIONS / f"{operation}Interaction" / f"{operation}Responder_1.1.xsd")


@cache
def header_schemas() -> tuple[etree.XMLSchema, etree.XMLSchema]:
    core = CONTRACT / "core_components"
    return (
        _load_schema(core / "itintegration_registry_1.0.xsd"),
        _load_schema(core / "interoperability_headers_1.0.xsd"),
    )


def body_of(envelope: bytes) -> etree._Element:
    root = etree.fromstring(envelope)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None and len(body) == 1, "one element in the SOAP body"
    return body[0]


def assert_valid(schema: etree.XMLSchema, element: etree._Element) -> None:
    document = etree.ElementTree(etree.fromstring(etree.tostring(element)))
    if not schema.validate(document):
        raise AssertionError(f"{etree.QName(element).localname} invalid: {schema.error_log}")
