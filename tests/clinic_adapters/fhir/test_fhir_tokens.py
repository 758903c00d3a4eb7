"""OAuth2 client credentials: tokens are reused, renewed before expiry, and fetched once on a 401."""

from __future__ import annotations

import time

import pytest
from fhir_testdata import sim_config

from clinic_adapters import Unavailable
from clinic_adapters.simulators.fhir import UNAUTHORIZED


def test_a_token_is_reused_while_valid(make_sim, make_adapter, north):
    sim = make_sim(sim_config(token_lifetime=60))  # with Authlib's default 60 s leeway: every call
    adapter = make_adapter(sim)
    for _ in range(5):
        adapter.list_time_types(north)
    assert sim.issuer.issued == 1


def test_an_expired_token_is_replaced(make_sim, make_adapter, north):
    # Two seconds: Authlib keeps whole-second expiry times, so one second could end mid-call.
    sim = make_sim(sim_config(token_lifetime=2))
    adapter = make_adapter(sim)
    adapter.list_time_types(north)
    time.sleep(2.1)
    adapter.list_time_types(north)
    assert sim.issuer.issued == 2


def test_a_401_on_an_unexpired_token_fetches_once_and_retries(sim, adapter, north):
    adapter.list_time_types(north)
    sim.issuer.revoke_all()  # the server forgot our token (restart, key rotation)
    assert adapter.list_time_types(north)
    assert sim.issuer.issued == 2


def test_a_second_401_is_unavailable(sim, adapter, north):
    adapter.list_time_types(north)
    sim.faults.inject(UNAUTHORIZED, count=2)
    with pytest.raises(Unavailable, match="HTTP 401"):
        adapter.list_time_types(north)
    assert sim.issuer.issued == 2


def test_a_booking_survives_a_revoked_token(sim, adapter, north, citizen, week):
    slot = adapter.available_slots(north, "doctor", *week)[0]
    sim.issuer.revoke_all()
    assert adapter.make_booking(north, slot.id, citizen).booking.booking_id
    assert sim.store.count("Appointment") == 1
