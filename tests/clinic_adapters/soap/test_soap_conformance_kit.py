"""The whole vendor conformance kit, run against our SOAP adapter and the reference producer."""

from __future__ import annotations

from datetime import time

import pytest
from riv_soap_helpers import make_adapter

from clinic_adapters.contract import ClinicRef
from clinic_adapters.simulators.riv_soap import (
    FacilitySpec,
    OpeningWindow,
    PerformerSpec,
    RivSoapSimulator,
    TimeTypeSpec,
)
from clinic_adapters.testing import KitContext, Verdict, dst_days, run_kit
from clinic_adapters.timezones import utc_now

HSA = "SE2321000016-KIT1"
STHLM = "Europe/Stockholm"


def _kit_clinic(clock_days: list) -> FacilitySpec:
    return FacilitySpec(
        hsa_id=HSA,
        name="Konformansmottagningen",
        time_types=(TimeTypeSpec("K30", "Besök", 30),),
        performers=(
            PerformerSpec("SE2321000016-P001", "Lisa", "Ek"),
            PerformerSpec("SE2321000016-P002", "Omar", "Al-Sayed"),
        ),
        windows=(
            OpeningWindow(
                "K30", time(8, 0), time(12, 0), (0, 1, 2, 3, 4, 5, 6), performer_id="SE2321000016-P001"
            ),
            OpeningWindow("K30", time(13, 0), time(15, 0), (0, 2, 4), performer_id="SE2321000016-P002"),
            # open through the night of each coming clock change, so the kit's DST checks run
            OpeningWindow(
                "K30", time(0, 0), time(5, 0), performer_id="SE2321000016-P001", dates=tuple(clock_days)
            ),
        ),
    )


@pytest.fixture
def kit_sim():
    days = dst_days(STHLM, utc_now().date())
    sim = RivSoapSimulator([_kit_clinic(days)], weeks=60)
    sim.start()
    yield sim, days
    sim.stop()


def test_the_soap_adapter_passes_the_whole_conformance_kit(kit_sim):
    sim, days = kit_sim
    ctx = KitContext(adapter=make_adapter(sim), clinic=ClinicRef(HSA), time_type_id="K30", dst=days)
    report = run_kit(ctx)
    failed = [r.line() for r in report.results if r.verdict is Verdict.FAIL]
    assert not failed
    skipped = {r.check for r in report.results if r.verdict is Verdict.SKIP}
    assert skipped <= {"booking.series_booking_is_all_or_nothing"}, skipped
