"""A reference FHIR R4 record system (OAuth2 + Slot/Appointment) for tests and vendor conformance.

Start one in-process::

    from clinic_adapters.simulators.fhir import FhirSimulator, demo_config

    with FhirSimulator(demo_config()) as sim:       # or FhirSimulator(SimConfig(clinics=...))
        adapter = get_adapter("fhir-r4", sim.adapter_config())
        sim.faults.latency = 0.2                     # slow every FHIR request
        sim.faults.inject(HTML_503)                  # the next FHIR request gets an HTML 503
        sim.faults.inject(DROP, method="POST", path="Appointment")  # cut the next booking's connection
        sim.faults.inject(RATE_LIMIT, retry_after="1")
        sim.issuer.revoke_all()                      # 401 on a token the client thinks is valid
        sim.store.set_slot_status("slot-1", "busy")  # booked by staff in the record system
        sim.store.add_patient("191212121212")        # patients also appear on first search
        sim.stop(); sim.start()                      # crash and come back on the same port, same data

``sim.requests`` keeps the last requests (method, path, args, JSON body) for assertions.

or from a shell: ``python -m clinic_adapters.simulators.fhir --port 8089``.
"""

from clinic_adapters.simulators.fhir.config import (
    HSA_SYSTEM,
    PERSONNUMMER_SYSTEM,
    SLOT_TYPE_SYSTEM,
    SimClinic,
    SimConfig,
    SimPractitioner,
    SimSlotType,
    SimWindow,
    demo_config,
)
from clinic_adapters.simulators.fhir.faults import (
    CONCURRENT_UPDATE,
    DROP,
    HTML_503,
    RATE_LIMIT,
    UNAUTHORIZED,
    Faults,
)
from clinic_adapters.simulators.fhir.server import FhirSimulator

__all__ = [
    "CONCURRENT_UPDATE",
    "DROP",
    "HSA_SYSTEM",
    "HTML_503",
    "PERSONNUMMER_SYSTEM",
    "RATE_LIMIT",
    "SLOT_TYPE_SYSTEM",
    "UNAUTHORIZED",
    "Faults",
    "FhirSimulator",
    "SimClinic",
    "SimConfig",
    "SimPractitioner",
    "SimSlotType",
    "SimWindow",
    "demo_config",
]
