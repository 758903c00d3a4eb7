"""Fixtures for the RIV-TA SOAP adapter tests: a real simulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from riv_soap_helpers import BOB_PNR, make_adapter, subject

from clinic_adapters.contract import Subject
from clinic_adapters.simulators.riv_soap import RivSoapSimulator, demo_facilities
from clinic_adapters.soap import RivSchedulingAdapter


@pytest.fixture
def alice() -> Subject:
    return subject()


@pytest.fixture
def bob() -> Subject:
    return subject(BOB_PNR, "citizen-bob")


@pytest.fixture
def sim() -> Iterator[RivSoapSimulator]:
    simulator = RivSoapSimulator(demo_facilities(), weeks=3)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def adapter(sim: RivSoapSimulator) -> RivSchedulingAdapter:
    return make_adapter(sim)
