"""The reference FHIR simulator as a server: auth, paging, atomic booking, versions, dates."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import httpx
from fhir_testdata import PNR

from clinic_adapters.simulators.fhir import PERSONNUMMER_SYSTEM


def book(client, slot_id, patient_id):
    return client.post("Appointment", json={
        "resourceType": "Appointment", "status": "booked", "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    })


def test_fhir_calls_need_a_token(sim):
    assert httpx.get(f"{sim.base_url}/Slot").status_code == 401
    assert httpx.get(f"{sim.base_url}/metadata").status_code == 200
    bad = httpx.post(sim.token_url, data={"grant_type": "client_credentials"}, auth=("hub", "nope"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


def test_paging_returns_every_match_once_with_capped_count(fhir_client, sim):
    page = fhir_client.get("Slot", params={"status": "free", "_count": 1000}).json()
    ids = []
    while True:
        assert len(page["entry"]) <= sim.config.max_page_size
        assert "total" not in page
        ids += [e["resource"]["id"] for e in page["entry"]]
        link = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
        if link is None:
            break
        page = fhir_client.get(link).json()
    assert len(ids) == len(set(ids)) == sim.store.count("Slot")


def test_concurrent_bookings_of_one_slot_give_exactly_one_appointment(fhir_client, sim):
    patient = sim.store.add_patient(PNR)
    results: list[int] = []

    def attempt() -> None:
        results.append(book(fhir_client, "slot-1", patient).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] + [409] * 7
    assert fhir_client.get("Slot/slot-1").json()["status"] == "busy"


def test_create_answers_location_with_history_and_etag(fhir_client, sim):
    created = book(fhir_client, "slot-2", sim.store.add_patient(PNR))
    rid = created.json()["id"]
    assert created.headers["Location"].endswith(f"/Appointment/{rid}/_history/1")
    assert created.headers["ETag"] == 'W/"1"'


def test_update_needs_the_current_version(fhir_client, sim):
    appointment = book(fhir_client, "slot-3", sim.store.add_patient(PNR)).json()
    cancelled = {**appointment, "status": "cancelled"}
    url = f"Appointment/{appointment['id']}"
    assert fhir_client.put(url, json=cancelled).status_code == 428
    assert fhir_client.put(url, json=cancelled, headers={"If-Match": 'W/"7"'}).status_code == 412
    done = fhir_client.put(url, json=cancelled, headers={"If-Match": 'W/"1"'})
    assert done.status_code == 200 and done.headers["ETag"] == 'W/"2"'
    assert fhir_client.put(url, json=cancelled, headers={"If-Match": 'W/"1"'}).status_code == 412
    assert fhir_client.get("Slot/slot-3").json()["status"] == "free"


def test_unencoded_plus_in_an_offset_is_refused(fhir_client):
    # "+" unencoded in a query string means a space: the server cannot read the date.
    assert fhir_client.get("Slot?start=ge2026-03-23T08:00:00+01:00").status_code == 400
    assert fhir_client.get("Slot", params={"start": "ge2026-03-23T08:00:00+01:00"}).status_code == 200


def test_patient_search_by_post_keeps_the_number_out_of_the_url(fhir_client, sim):
    found = fhir_client.post("Patient/_search", data={"identifier": f"{PERSONNUMMER_SYSTEM}|{PNR}"}).json()
    assert [e["resource"]["identifier"][0]["value"] for e in found["entry"]] == [PNR]
    assert all(PNR not in str(r["args"]) and PNR not in r["path"] for r in sim.requests)


def test_restart_keeps_port_and_data(sim, fhir_client):
    book(fhir_client, "slot-4", sim.store.add_patient(PNR))
    port = sim.port
    sim.stop()
    sim.start()
    assert sim.port == port
    assert fhir_client.get("Slot/slot-4").json()["status"] == "busy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_serves_until_stopped():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "clinic_adapters.simulators.fhir", "--port", str(port), "--weeks", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the CLI simulator did not come up"
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_search_pages_carry_the_stored_resources_as_they_were(fhir_client, sim):
    # Pages are spliced from JSON text serialised under the store's lock: same content as a read.
    page = fhir_client.get("Slot", params={"status": "free", "_count": 5}).json()
    assert page["resourceType"] == "Bundle" and page["type"] == "searchset"
    for entry in page["entry"]:
        assert entry["search"] == {"mode": "match"}
        assert entry["fullUrl"].endswith(f"/Slot/{entry['resource']['id']}")
        assert entry["resource"] == sim.store.get("Slot", entry["resource"]["id"])
    first = page["entry"][0]["resource"]
    sim.store.set_slot_status(first["id"], "busy")
    assert first["status"] == "free"  # what was sent is not changed by a later write
    assert fhir_client.get("Slot", params={"_id": first["id"], "status": "free"}).json()["entry"] == []


def test_search_checks_every_parameter_whatever_their_order(fhir_client, sim):
    slot = sim.store.get("Slot", "slot-3")
    day = slot["start"][:10]
    both = [("start", f"ge{day}"), ("status", "busy"), ("start", f"le{day}")]
    assert fhir_client.get("Slot", params=both).json()["entry"] == []
    sim.store.set_slot_status("slot-3", "busy")
    found = [e["resource"]["id"] for e in fhir_client.get("Slot", params=both).json()["entry"]]
    assert found == ["slot-3"]


def test_slot_searches_narrowed_by_start_find_what_a_full_scan_finds(sim):
    from clinic_adapters.simulators.fhir.search import matches

    store = sim.store
    starts = sorted({s["start"] for s in (store.get("Slot", f"slot-{n}") for n in range(1, 60)) if s})
    day, a, b = starts[0][:10], starts[3], starts[40]
    queries = [
        [("start", f"ge{a}"), ("start", f"lt{b}")],
        [("start", f"gt{a}"), ("start", f"le{b}"), ("status", "free")],
        [("start", day)],
        [("start", f"eq{a}")],
        [("start", f"ne{a}")],
        [("start", f"ge{a},lt{b}")],
        [("start", f"ge{b}"), ("start", f"lt{a}")],  # empty range
    ]
    found = []
    for query in queries:
        with store.lock:
            scanned = [rid for rid, slot in store._resources["Slot"].items()
                       if matches("Slot", slot, query, store._peek)]
        assert sorted(store.search("Slot", query)) == sorted(scanned), query
        found.append(len(scanned))
    assert all(found[:5]) and found[-1] == 0


def test_slot_searches_by_clinic_find_each_clinics_slots_as_a_full_scan_does(sim):
    from clinic_adapters.simulators.fhir.search import matches

    store = sim.store
    with store.lock:
        services = list(store._resources["HealthcareService"])
        slots = store._resources["Slot"]
        first = min(slot["start"] for slot in slots.values())
    assert len(services) > 1
    seen: set[str] = set()
    for service in services:
        query = [("schedule.actor", f"HealthcareService/{service}"), ("start", f"ge{first}"),
                 ("status", "free")]
        with store.lock:
            scanned = [rid for rid, slot in slots.items() if matches("Slot", slot, query, store._peek)]
        assert scanned and sorted(store.search("Slot", query)) == sorted(scanned)
        assert not seen & set(scanned)  # a slot belongs to one clinic only
        seen |= set(scanned)


def test_a_plain_code_matches_tokens_without_a_system():
    from clinic_adapters.simulators.fhir.search import match_token

    cases = {"free": True, "|free": True, "|": True, "busy": False, "|busy": False,
             "http://hl7.org/fhir/slotstatus|free": False}
    assert {query: match_token("free", query) for query in cases} == cases


def test_a_parameter_with_commas_matches_any_of_its_values(fhir_client, sim):
    slot = sim.store.get("Slot", "slot-3")
    sim.store.set_slot_status("slot-3", "busy")
    at = [("start", f"eq{slot['start']}"), ("_count", "50")]

    def found(status: str) -> set[str]:
        entries = fhir_client.get("Slot", params=[*at, ("status", status)]).json()["entry"]
        return {e["resource"]["id"] for e in entries}

    assert "slot-3" not in found("free")
    assert found("busy-tentative,busy") == {"slot-3"}
    assert found("free,busy") == found("free") | {"slot-3"}
    assert found("busy-tentative,busy-unavailable") == set()


def test_tokens_match_any_coding_of_a_concept_or_a_list_of_them():
    from clinic_adapters.simulators.fhir.search import match_token

    concept = {"coding": [{"system": "urn:a", "code": "X"}, {"system": "urn:b", "code": "Y"}], "text": "x"}
    listed = [{"coding": [{"code": "Z"}]}, concept]
    cases = {"X": True, "Y": True, "urn:b|Y": True, "urn:a|Y": False, "|Z": True, "|X": False,
             "urn:a|": True, "Q": False}
    assert {query: match_token(listed, query) for query in cases} == cases
    assert match_token(concept, "Z") is False
    assert match_token({"system": "urn:pnr", "value": "1912"}, "urn:pnr|1912") is True


def test_a_search_page_shows_a_slot_as_it_is_after_it_changed(fhir_client, sim):
    slot = sim.store.get("Slot", "slot-3")
    at = [("start", f"eq{slot['start']}"), ("_id", "slot-3")]

    def shown() -> dict:
        (entry,) = fhir_client.get("Slot", params=at).json()["entry"]
        return entry["resource"]

    assert shown()["status"] == "free"
    sim.store.set_slot_status("slot-3", "busy")
    assert shown()["status"] == "busy"
    assert shown()["meta"]["versionId"] == sim.store.get("Slot", "slot-3")["meta"]["versionId"]
