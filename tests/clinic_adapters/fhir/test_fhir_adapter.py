"""The FHIR R4 adapter end to end against the reference simulator on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fhir_testdata import NORTH, PNR, sim_config

from clinic_adapters import (
    BookingStatus,
    ClinicRef,
    NotAllowed,
    NotFound,
    SlotTaken,
    Subject,
    TooLateToCancel,
    Unavailable,
    adapter_class,
)
from clinic_adapters.fhir import FhirR4Adapter
from clinic_adapters.fhir.mapping import id_from_location
from clinic_adapters.simulators.fhir import CONCURRENT_UPDATE, HTML_503, SimConfig


def first_free(adapter, clinic, week, time_type="doctor", **kwargs):
    return adapter.available_slots(clinic, time_type, *week, **kwargs)


def slot_status(fhir_client, slot_id):
    return fhir_client.get(f"Slot/{slot_id}").json()["status"]


def test_registry_key_points_at_the_adapter():
    assert adapter_class("fhir-r4") is FhirR4Adapter
    assert FhirR4Adapter.key == "fhir-r4"


def test_time_types_come_from_the_clinics_healthcare_service(adapter, north, south):
    assert [(t.id, t.name) for t in adapter.list_time_types(north)] == [
        ("blood-test", "Blood test"), ("doctor", "Doctor visit")]
    assert [t.id for t in adapter.list_time_types(south)] == ["vaccination"]


def test_unknown_clinic_is_not_found(adapter):
    with pytest.raises(NotFound):
        adapter.list_time_types(ClinicRef("SE2321000016-NONE"))


def test_performers_and_facilities(adapter, north):
    performers = adapter.list_performers(north)
    assert [(p.id, p.display_name, p.title) for p in performers] == [
        ("prac-erik", "Erik Berg", "Nurse"), ("prac-anna", "Anna Lind", "Physician")]
    assert [f.hsa_id for f in adapter.list_facilities()] == [NORTH, "SE2321000016-2AB7"]


def test_free_slots_are_complete_across_pages_and_sorted_by_instant(adapter, north, sim, week):
    slots = first_free(adapter, north, week)
    # Mon-Fri, 08:00-10:00 in 20-minute steps: 6 a day, 30 in all, over 5+ pages of 7.
    assert len(slots) == 30
    starts = [s.start for s in slots]
    assert starts == sorted(starts)
    assert all(s.start.utcoffset() == timedelta(0) for s in slots)
    assert slots[0].start == datetime(2026, 3, 23, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert {s.performer_id for s in slots} == {"prac-anna"}
    assert slots[0].performer_name == "Anna Lind"
    assert slots[0].time_type_name == "Doctor visit"
    next_links = [r for r in sim.requests if r["path"] == "/fhir" and r["method"] == "GET"]
    assert len(next_links) >= 4


def test_free_slots_respect_range_performer_and_the_clock(sim, make_adapter, north, week):
    later = make_adapter(sim, now=datetime(2026, 3, 25, 8, 50, tzinfo=UTC))  # 09:50 local
    slots = later.available_slots(north, "doctor", *week)
    assert slots[0].start == datetime(2026, 3, 26, 7, 0, tzinfo=UTC)  # nothing in the past
    assert later.available_slots(north, "doctor", *week, performer_id="prac-erik") == []
    blood = later.available_slots(north, "blood-test", *week, performer_id="prac-erik")
    assert blood and {s.performer_id for s in blood} == {"prac-erik"}


def test_book_details_schedule_and_cancel_round_trip(adapter, north, citizen, week, fhir_client):
    slot = first_free(adapter, north, week)[0]
    result = adapter.make_booking(north, slot.id, citizen, reason="Cough")
    booking = result.booking
    assert booking.status is BookingStatus.BOOKED
    assert booking.slot.start == slot.start and booking.slot.end == slot.end
    assert booking.slot.time_type_id == "doctor"
    assert booking.slot.performer_id == "prac-anna"
    assert slot_status(fhir_client, slot.id) == "busy"
    assert slot.id not in {s.id for s in first_free(adapter, north, week)}

    details = adapter.booking_details(north, booking.booking_id, citizen)
    assert details.booking_id == booking.booking_id and details.reason == "Cough"
    assert details.slot.start == slot.start
    assert [b.booking_id for b in adapter.subject_schedule(north, citizen)] == [booking.booking_id]

    assert adapter.cancel_booking(north, booking.booking_id, citizen).booking_id == booking.booking_id
    assert slot_status(fhir_client, slot.id) == "free"
    assert adapter.booking_details(north, booking.booking_id, citizen).status is BookingStatus.CANCELLED
    # Cancelling twice is the same outcome, not an error.
    adapter.cancel_booking(north, booking.booking_id, citizen)


def test_taken_slot_raises_slot_taken(adapter, north, citizen, other_citizen, week):
    slot = first_free(adapter, north, week)[0]
    adapter.make_booking(north, slot.id, citizen)
    with pytest.raises(SlotTaken):
        adapter.make_booking(north, slot.id, other_citizen)


def test_conflict_on_post_raises_slot_taken(adapter, north, citizen, other_citizen, week, sim):
    slot = first_free(adapter, north, week)[0]
    # The slot goes between our read and our POST: the server answers 409.
    original = sim.store.get
    sim.store.get = lambda kind, rid: (  # type: ignore[method-assign]
        {**original(kind, rid), "status": "free"} if kind == "Slot" else original(kind, rid))
    adapter.make_booking(north, slot.id, other_citizen)
    with pytest.raises(SlotTaken):
        adapter.make_booking(north, slot.id, citizen)
    statuses = [r for r in sim.requests if r["method"] == "POST" and r["path"] == "/fhir/Appointment"]
    assert len(statuses) == 2


def test_retry_after_own_timeout_finds_own_booking(sim, make_adapter, north, citizen, week):
    adapter = make_adapter(sim, read_timeout=0.3)
    slot = first_free(adapter, north, week)[0]
    sim.faults.latency = 0.6  # the server books, but answers after our time-out
    with pytest.raises(Unavailable):
        adapter.make_booking(north, slot.id, citizen)
    sim.faults.latency = 0
    again = adapter.make_booking(north, slot.id, citizen)  # what a resilience wrapper would do
    assert again.booking.slot.start == slot.start
    assert len(adapter.subject_schedule(north, citizen)) == 1


def test_one_time_with_several_seats_books_each_seat_once(adapter, south, week):
    slots = adapter.available_slots(south, "vaccination", *week)
    assert slots[0].free == 3 and len(slots) == 12  # Tue+Thu, 6 times each, 3 seats per time
    citizens = [Subject(ref=f"c{i}", personal_number=f"19800101000{i}") for i in range(4)]
    ids = {adapter.make_booking(south, slots[0].id, c).booking.booking_id for c in citizens[:3]}
    assert len(ids) == 3
    with pytest.raises(SlotTaken):
        adapter.make_booking(south, slots[0].id, citizens[3])
    assert slots[0].start not in {s.start for s in adapter.available_slots(south, "vaccination", *week)}


def test_rebook_moves_the_booking(adapter, north, citizen, week, fhir_client):
    first, second = first_free(adapter, north, week)[:2]
    old = adapter.make_booking(north, first.id, citizen).booking
    new = adapter.update_booking(north, old.booking_id, second.id, citizen).booking
    assert new.booking_id != old.booking_id and new.slot.start == second.start
    assert slot_status(fhir_client, first.id) == "free"
    assert slot_status(fhir_client, second.id) == "busy"
    active = [b for b in adapter.subject_schedule(north, citizen) if b.status is BookingStatus.BOOKED]
    assert [b.booking_id for b in active] == [new.booking_id]


def test_rebook_to_a_taken_time_keeps_the_old_booking(adapter, north, citizen, other_citizen, week):
    first, second = first_free(adapter, north, week)[:2]
    old = adapter.make_booking(north, first.id, citizen).booking
    adapter.make_booking(north, second.id, other_citizen)
    with pytest.raises(SlotTaken):
        adapter.update_booking(north, old.booking_id, second.id, citizen)
    assert adapter.booking_details(north, old.booking_id, citizen).status is BookingStatus.BOOKED


def test_rebook_gives_the_new_time_back_when_the_old_cannot_be_cancelled(
    adapter, north, citizen, week, sim, fhir_client
):
    first, second = first_free(adapter, north, week)[:2]
    old = adapter.make_booking(north, first.id, citizen).booking
    sim.faults.inject(HTML_503, method="PUT")  # the cancel of the old booking fails
    with pytest.raises(Unavailable):
        adapter.update_booking(north, old.booking_id, second.id, citizen)
    active = [b for b in adapter.subject_schedule(north, citizen) if b.status is BookingStatus.BOOKED]
    assert [b.booking_id for b in active] == [old.booking_id]
    assert slot_status(fhir_client, second.id) == "free"


def test_cancel_after_a_concurrent_change_reads_again_and_cancels(adapter, north, citizen, week, sim):
    slot = first_free(adapter, north, week)[0]
    booking = adapter.make_booking(north, slot.id, citizen).booking
    sim.faults.inject(CONCURRENT_UPDATE)  # another writer bumps the version before our PUT: 412
    adapter.cancel_booking(north, booking.booking_id, citizen)
    puts = [r for r in sim.requests if r["method"] == "PUT"]
    assert len(puts) == 2
    assert adapter.booking_details(north, booking.booking_id, citizen).status is BookingStatus.CANCELLED


def test_cancel_sends_if_match_as_received(adapter, north, citizen, week, sim, fhir_client):
    slot = first_free(adapter, north, week)[0]
    booking = adapter.make_booking(north, slot.id, citizen).booking
    etag = fhir_client.get(f"Appointment/{booking.booking_id}").headers["ETag"]
    assert etag == 'W/"1"'
    adapter.cancel_booking(north, booking.booking_id, citizen)
    put = next(r for r in sim.requests if r["method"] == "PUT")
    assert put["body"]["status"] == "cancelled" and put["body"]["meta"]["versionId"] == "1"


def test_another_citizens_booking_is_not_found(adapter, north, citizen, other_citizen, week):
    slot = first_free(adapter, north, week)[0]
    booking = adapter.make_booking(north, slot.id, citizen).booking
    with pytest.raises(NotFound):
        adapter.booking_details(north, booking.booking_id, other_citizen)
    with pytest.raises(NotFound):
        adapter.cancel_booking(north, booking.booking_id, other_citizen)
    with pytest.raises(NotFound):
        adapter.booking_details(ClinicRef("SE2321000016-2AB7"), booking.booking_id, citizen)
    assert adapter.subject_schedule(north, other_citizen) == []


def test_started_time_cannot_be_cancelled_or_booked(sim, make_adapter, north, citizen, week):
    adapter = make_adapter(sim)
    slot, next_slot = first_free(adapter, north, week)[:2]
    booking = adapter.make_booking(north, slot.id, citizen).booking
    late = make_adapter(sim, now=next_slot.start + timedelta(minutes=1))
    with pytest.raises(TooLateToCancel):
        late.cancel_booking(north, booking.booking_id, citizen)
    with pytest.raises(NotAllowed):
        late.make_booking(north, next_slot.id, Subject(ref="x", personal_number=PNR))


def test_unknown_slot_is_not_found(adapter, north, citizen):
    with pytest.raises(NotFound):
        adapter.make_booking(north, "slot-does-not-exist", citizen)


def test_patient_identifier_system_must_match_exactly(make_sim, make_adapter, north, citizen, week):
    oid_system = "urn:oid:1.2.752.129.2.1.3.1"
    config: SimConfig = sim_config(auto_patients=False, ignored_search_params=frozenset({"identifier"}))
    sim = make_sim(config)
    sim.store.add_patient(PNR, system=oid_system)  # same number, other spelling of the system
    adapter = make_adapter(sim)
    slot = first_free(adapter, north, week)[0]
    with pytest.raises(Exception, match="does not know the patient"):
        adapter.make_booking(north, slot.id, citizen)
    sim.store.add_patient(PNR)  # now also under the URI form the adapter is configured with
    assert adapter.make_booking(north, slot.id, citizen).booking.booking_id


def test_location_header_id_is_not_the_last_segment():
    assert id_from_location("https://x/fhir/Appointment/abc/_history/3") == "abc"
    assert id_from_location("Appointment/abc") == "abc"


def test_a_create_answered_with_location_only_is_read_back(make_sim, make_adapter, north, citizen, week):
    sim = make_sim(sim_config(return_minimal=True))
    adapter = make_adapter(sim)
    slot = first_free(adapter, north, week)[0]
    booking = adapter.make_booking(north, slot.id, citizen).booking
    created = next(r for r in sim.requests if r["method"] == "POST" and r["path"] == "/fhir/Appointment")
    assert created["body"]["slot"] == [{"reference": f"Slot/{slot.id}"}]
    assert booking.booking_id.startswith("appt-") and booking.slot.start == slot.start


def test_health_reports_reachability(sim, adapter):
    assert adapter.health().ok
    sim.stop()
    health = adapter.health()
    assert not health.ok and health.last_error is not None and health.last_success is not None


def test_retry_after_own_timeout_on_a_multi_seat_time_books_no_second_seat(sim, make_adapter, south, citizen,
                                                                           week):
    adapter = make_adapter(sim, read_timeout=0.3)
    slot = adapter.available_slots(south, "vaccination", *week)[0]
    sim.faults.latency = 0.6
    with pytest.raises(Unavailable):
        adapter.make_booking(south, slot.id, citizen)
    sim.faults.latency = 0
    adapter.make_booking(south, slot.id, citizen)
    assert len(adapter.subject_schedule(south, citizen)) == 1
    assert adapter.available_slots(south, "vaccination", *week)[0].free == 2


def test_a_slot_taken_in_the_record_system_is_not_offered(adapter, north, sim, week):
    slot = first_free(adapter, north, week)[0]
    sim.store.set_slot_status(slot.id, "busy")
    assert slot.id not in {s.id for s in first_free(adapter, north, week)}


def _schedule_reads(sim) -> int:
    return len([r for r in sim.requests if r["method"] == "GET" and r["path"] == "/fhir/Schedule"])


def test_listings_reuse_the_schedules_for_a_while_and_a_booking_reads_them_afresh(
    adapter, north, sim, week, citizen, monkeypatch
):
    listed = first_free(adapter, north, week)
    assert first_free(adapter, north, week) == listed
    assert _schedule_reads(sim) == 1  # one request fewer of three on the second listing

    # A practitioner's schedule closed meanwhile: its times may still be listed for a while, but
    # booking one reads the schedules afresh and is refused.
    with sim.store.lock:
        for schedule in list(sim.store._resources["Schedule"].values()):
            schedule["active"] = False
            sim.store._put(schedule)  # a new version, as every change of the server's makes
    assert first_free(adapter, north, week) == listed
    with pytest.raises(NotFound):
        adapter.make_booking(north, listed[0].id, citizen)
    assert _schedule_reads(sim) == 2
    assert first_free(adapter, north, week) == []  # the booking's fresh read serves listings too

    monkeypatch.setattr("clinic_adapters.fhir.queries.LISTING_SCHEDULES_SECONDS", 0.0)
    first_free(adapter, north, week)
    assert _schedule_reads(sim) == 3  # once they are older than that, a listing reads them too


def slot_searches(sim):
    """Slot searches and the next pages the adapter followed, in the order sent."""
    return [r for r in sim.requests if r["method"] == "GET" and r["path"] in ("/fhir/Slot", "/fhir")]


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 13, 100])
def test_earliest_slots_are_the_first_times_of_the_full_listing_with_their_seats(adapter, north, south, week,
                                                                                  limit):
    for clinic, time_type in ((north, "doctor"), (north, "blood-test"), (south, "vaccination")):
        full = adapter.available_slots(clinic, time_type, *week)
        assert adapter.earliest_slots(clinic, time_type, *week, limit) == full[:limit]
    assert adapter.earliest_slots(south, "vaccination", *week, 1)[0].free == 3


def test_earliest_slots_read_only_the_pages_they_need(adapter, north, sim, week):
    assert len(adapter.available_slots(north, "doctor", *week)) == 30
    sim.requests.clear()
    first = adapter.earliest_slots(north, "doctor", *week, 3)
    assert [s.start for s in first] == [datetime(2026, 3, 23, 7, 0, tzinfo=UTC) + timedelta(minutes=20 * n)
                                        for n in range(3)]
    searches = slot_searches(sim)
    # One page of at most 7 (the server's cap) holds the first three times and the start of a fourth.
    assert len(searches) == 1 and ("_sort", "start") in searches[0]["args"]


def test_earliest_slots_from_a_server_that_ignores_sort_read_every_page(make_sim, make_adapter, north, week):
    sim = make_sim(sim_config(ignored_search_params=frozenset({"_sort"})))
    adapter = make_adapter(sim)
    full = adapter.available_slots(north, "doctor", *week)
    sim.requests.clear()
    assert adapter.earliest_slots(north, "doctor", *week, 3) == full[:3]
    assert len(slot_searches(sim)) >= 5  # 30 times in pages of 7: out of order, so all of them


def test_earliest_slots_want_a_limit_of_at_least_one(adapter, north, week):
    with pytest.raises(ValueError, match="limit"):
        adapter.earliest_slots(north, "doctor", *week, 0)


def test_earliest_slots_trust_no_order_when_the_self_link_drops_sort(week):
    """A server that follows the spec names in its ``self`` link only the parameters it used."""
    from clinic_adapters.fhir.mapping import ScheduleInfo
    from clinic_adapters.fhir.queries import FhirQueries
    from clinic_adapters.fhir.transport import Page

    def slot(n):
        start = week[0] + timedelta(hours=n)
        return {"resourceType": "Slot", "id": f"s{n}", "status": "free",
                "schedule": {"reference": "Schedule/a"},
                "start": start.isoformat(), "end": (start + timedelta(minutes=20)).isoformat()}

    class Unsorting:
        served = 0

        def pages(self, kind, params, post=False):
            # In order by chance on every page, as insertion order often is; but not asked for.
            for chunk in ([slot(1), slot(2), slot(3), slot(4)], [slot(5), slot(0)]):
                self.served += 1
                yield Page(chunk, "https://fhir.example/Slot?start=ge2026-03-23&_count=10")

    http = Unsorting()
    found = FhirQueries(http, "urn:pnr", None).first_free_slots(  # type: ignore[arg-type]
        "hs", {"a": ScheduleInfo("a")}, *week, None, 2)
    assert http.served == 2 and "s0" in {s["id"] for s in found}


def test_earliest_slots_from_a_server_that_refuses_sort_search_unsorted_from_then_on(make_sim, make_adapter,
                                                                                      north, week):
    sim = make_sim(sim_config(rejected_search_params=frozenset({"_sort"})))
    adapter = make_adapter(sim)
    full = adapter.available_slots(north, "doctor", *week)
    for search in range(2):
        sim.requests.clear()
        assert adapter.earliest_slots(north, "doctor", *week, 3) == full[:3]
        refused = [r for r in slot_searches(sim) if ("_sort", "start") in r["args"]]
        assert len(refused) == (1 if search == 0 else 0)  # asked once, then known
