"""A reference RIV-TA ``crm:scheduling`` 1.1 record system (SOAP producer) for tests and the demo.

Start it in-process::

    from clinic_adapters.simulators.riv_soap import RivSoapSimulator, demo_facilities

    with RivSoapSimulator(demo_facilities(), weeks=4, latency=0.05) as sim:
        adapter = get_adapter("riv-crm-scheduling", sim.adapter_config())
        sim.inject("html", operation="MakeBooking")   # the next booking meets an error page
        sim.stop(); sim.start()                        # an outage; same port, bookings kept

A clinic in a few words: ``simple_facility("SE2321000016-abcd", start="09:00", end="12:00")``;
several clinics: ``RivSoapSimulator([simple_facility(a), simple_facility(b)])``; a clock of your
own: ``RivSoapSimulator(..., clock=lambda: fixed_instant)``.

or from a shell: ``python -m clinic_adapters.simulators.riv_soap --port 8089 --seed demo``.
"""

from clinic_adapters.simulators.riv_soap.model import (
    CareTypeSpec,
    FacilitySpec,
    OpeningWindow,
    PerformerSpec,
    TimeTypeSpec,
    facility_from_dict,
)
from clinic_adapters.simulators.riv_soap.presets import (
    DEMO_LAB,
    DEMO_PRIMARY,
    PRESETS,
    demo_facilities,
    simple_facility,
)
from clinic_adapters.simulators.riv_soap.server import RivSoapApp, RivSoapSimulator
from clinic_adapters.simulators.riv_soap.store import Timebook
from clinic_adapters.simulators.riv_soap.wsdl import build_wsdl

__all__ = [
    "DEMO_LAB",
    "DEMO_PRIMARY",
    "PRESETS",
    "CareTypeSpec",
    "FacilitySpec",
    "OpeningWindow",
    "PerformerSpec",
    "RivSoapApp",
    "RivSoapSimulator",
    "TimeTypeSpec",
    "Timebook",
    "build_wsdl",
    "demo_facilities",
    "facility_from_dict",
    "simple_facility",
]
