"""Fixtures for the FHIR adapter tests: a real simulator on 127.0.0.1 and an adapter pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fhir_testdata import NORTH, NOW, OTHER_PNR, PNR, SOUTH, sim_config

from clinic_adapters import ClinicRef, Subject, get_adapter
from clinic_adapters.fhir import FhirR4Adapter
from clinic_adapters.simulators.fhir import FhirSimulator, SimConfig


@pytest.fixture
def make_sim() -> Iterator[Callable[..., FhirSimulator]]:
    started: list[FhirSimulator] = []

    def factory(config: SimConfig | None = None) -> FhirSimulator:
        sim = FhirSimulator(config or sim_config()).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., FhirSimulator]) -> FhirSimulator:
    return make_sim()


@pytest.fixture
def make_adapter() -> Iterator[Callable[..., FhirR4Adapter]]:
    made: list[FhirR4Adapter] = []

    def factory(sim: FhirSimulator, *, now: datetime = NOW, **overrides: Any) -> FhirR4Adapter:
        adapter = get_adapter("fhir-r4", sim.adapter_config(**overrides), clock=lambda: now)
        assert isinstance(adapter, FhirR4Adapter)
        made.append(adapter)
        return adapter

    yield factory
    for adapter in made:
        adapter.close()


@pytest.fixture
def adapter(sim: FhirSimulator, make_adapter: Callable[..., FhirR4Adapter]) -> FhirR4Adapter:
    return make_adapter(sim)


@pytest.fixture
def north() -> ClinicRef:
    # Lower case on purpose: HSA-ids compare case-insensitively, the server's search does not.
    return ClinicRef(NORTH.lower())


@pytest.fixture
def south() -> ClinicRef:
    return ClinicRef(SOUTH)


@pytest.fixture
def citizen() -> Subject:
    return Subject(ref="citizen-1", personal_number=PNR, given_name="Tolvan", family_name="Tolvansson",
                   email="tolvan@example.org")


@pytest.fixture
def other_citizen() -> Subject:
    return Subject(ref="citizen-2", personal_number=OTHER_PNR, given_name="Nittio", family_name="Nittiosson")


@pytest.fixture
def week() -> tuple[datetime, datetime]:
    return datetime(2026, 3, 23, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC)


@pytest.fixture
def fhir_client(sim: FhirSimulator) -> Iterator[httpx.Client]:
    """A plain client with a token, for looking at the simulator's state from the outside."""
    token = httpx.post(sim.token_url, data={"grant_type": "client_credentials"},
                       auth=(sim.config.client_id, sim.config.client_secret)).json()["access_token"]
    with httpx.Client(base_url=sim.base_url + "/",
                      headers={"Authorization": f"Bearer {token}"}, timeout=5) as client:
        yield client
