"""The REST adapter for FHIR R4 record systems (Slot / Appointment); see :mod:`.adapter`."""

from clinic_adapters.fhir.adapter import HSA_SYSTEM, PERSONNUMMER_SYSTEM, FhirR4Adapter

__all__ = ["HSA_SYSTEM", "PERSONNUMMER_SYSTEM", "FhirR4Adapter"]
