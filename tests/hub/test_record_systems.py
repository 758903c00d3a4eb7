"""The hub against real record systems on 127.0.0.1: the RIV-TA SOAP and FHIR simulators.

Booking end to end, a record system dying mid-run (fallback calendar, durable sync queue, sync
after restart, refusal as a visible conflict) and federated search with slow and dead clinics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as wall

import pytest
from booking_helpers import book, bookable_day, free_slots
from sqlalchemy import select

from clinic_adapters import ClinicRef, Slot, Subject, get_adapter
from clinic_adapters.resilience import CallPool
from clinic_adapters.simulators.fhir import FhirSimulator, SimClinic, SimConfig, SimSlotType, SimWindow
from clinic_adapters.simulators.riv_soap import RivSoapSimulator
from clinic_adapters.simulators.riv_soap.presets import simple_facility
from clinic_adapters.timezones import utc_now
from hub.booking import search
from hub.booking.cache import slot_cache
from hub.booking.operations import record_system_query
from hub.booking.sync import sync_due
from hub.models import AuditEvent, Booking, CaseType, Clinic, ClinicCaseType, ClinicSlotType, SyncJob
from standalone_calendar.models import Calendar, OpeningRule, SlotType

pytestmark = pytest.mark.storage

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
FAST = {"deadline_seconds": 1.5, "failure_threshold": 1, "reset_after_seconds": 0.2, "read_retries": 0}


@pytest.fixture
def soap() -> Iterator[RivSoapSimulator]:
    sim = RivSoapSimulator(
        [
            simple_facility(
                "SE2321000016-SOAP",
                "Journalmottagningen",
                time_type_id="LAK20",
                time_type_name="Läkarbesök",
                duration_minutes=20,
                start="08:00",
                end="18:00",
                weekdays=EVERY_DAY,
            )
        ],
        weeks=3,
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def fhir() -> Iterator[FhirSimulator]:
    config = SimConfig(
        clinics=(
            SimClinic(
                hsa_id="SE2321000016-FHIR",
                name="FHIR-mottagningen",
                slot_types=(SimSlotType("LAK20", "Läkarbesök", 20),),
                windows=(SimWindow("LAK20", wall(8), wall(16), weekdays=EVERY_DAY),),
            ),
        ),
        weeks=3,
    )
    with FhirSimulator(config) as sim:
        yield sim


@pytest.fixture
def short_deadlines(app):
    saved = {k: app.config[k] for k in ("FEDERATED_DEADLINE_SECONDS", "SYNC_RETRY_BASE_SECONDS")}
    app.config.update(FEDERATED_DEADLINE_SECONDS=1.0, SYNC_RETRY_BASE_SECONDS=0.0)
    yield
    app.config.update(saved)


def remote_clinic(
    db, hsa_id: str, connection: str, config: dict, *, fallback: bool = False, resilience: dict = FAST
) -> Clinic:
    clinic = Clinic(
        hsa_id=hsa_id,
        name=f"Mottagning {hsa_id[-4:]}",
        municipality="Solna",
        city="Solna",
        connection=connection,
        connection_config={**config, "resilience": resilience},
        has_fallback_calendar=fallback,
    )
    db.add(clinic)
    db.flush()
    for case_type in (CaseType.BOOK, CaseType.REBOOK_CANCEL):
        db.add(ClinicCaseType(clinic_id=clinic.id, case_type=case_type, enabled=True))
    db.add(ClinicSlotType(clinic_id=clinic.id, code="LAK20", visible=True, names={"sv": "Läkarbesök"}))
    if fallback:
        # The reserve part of the week: late afternoons, also bookable in the record system.
        calendar = Calendar(clinic_hsa_id=hsa_id, horizon_days=21, min_notice_minutes=60)
        db.add(calendar)
        db.flush()
        kind = SlotType(
            calendar_id=calendar.id,
            code="LAK20",
            name="Läkarbesök",
            duration_minutes=20,
            capacity=1,
            cancel_deadline_minutes=0,
        )
        db.add(kind)
        db.flush()
        for weekday in EVERY_DAY:
            db.add(
                OpeningRule(
                    calendar_id=calendar.id,
                    slot_type_id=kind.id,
                    weekday=weekday,
                    start_time=wall(16),
                    end_time=wall(18),
                )
            )
    db.commit()
    return clinic


def patient_fhir_clinic(db, fhir) -> Clinic:
    """The FHIR clinic with deadlines a loaded machine does not miss: for what a search asks and
    caches, not for how long it takes."""
    return remote_clinic(
        db,
        "SE2321000016-FHIR",
        "fhir-r4",
        fhir.adapter_config(read_timeout=10.0),
        resilience={"deadline_seconds": 15.0},
    )


def _book_first(client, clinic: Clinic, key: str, **kwargs) -> dict:
    slot = free_slots(client, clinic.hsa_id, slot_type="LAK20", **kwargs)[0]
    response = book(client, clinic.hsa_id, slot["id"], key=key)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("system", ["soap", "fhir"])
def test_book_rebook_cancel_end_to_end(system, request, db, client, login) -> None:
    sim = request.getfixturevalue(system)
    connection = "riv-crm-scheduling" if system == "soap" else "fhir-r4"
    clinic = remote_clinic(db, f"SE2321000016-{system.upper()}", connection, sim.adapter_config())
    login(client)
    listing = client.get(
        f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAK20&from={bookable_day()}&to={bookable_day()}"
    ).get_json()
    assert listing["source"] == "record_system"
    first, second = listing["slots"][:2]
    booked = book(client, clinic.hsa_id, first["id"], key=f"{system}-key-1")
    assert booked.status_code == 201, booked.get_json()
    booking = booked.get_json()
    assert booking["status"] == "booked" and booking["start"] == first["start"]
    assert first["id"] not in {s["id"] for s in free_slots(client, clinic.hsa_id, slot_type="LAK20")}

    moved = client.post(f"/api/v1/bookings/{booking['id']}/rebook", json={"slot_id": second["id"]})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["start"] == second["start"]
    free_now = {s["start"] for s in free_slots(client, clinic.hsa_id, slot_type="LAK20")}
    assert first["start"] in free_now and second["start"] not in free_now

    cancelled = client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert second["start"] in {s["start"] for s in free_slots(client, clinic.hsa_id, slot_type="LAK20")}


def test_taken_time_in_record_system_is_409_and_leaves_nothing(soap, db, client, login, app) -> None:
    clinic = remote_clinic(db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config())
    login(client)
    slot = free_slots(client, clinic.hsa_id, slot_type="LAK20")[0]
    adapter = get_adapter("riv-crm-scheduling", soap.adapter_config())
    adapter.make_booking(
        ClinicRef(clinic.hsa_id),
        slot["id"],
        Subject(ref="x", personal_number="198112189876", given_name="Anna", family_name="L"),
    )
    response = book(client, clinic.hsa_id, slot["id"], key="taken-key-1")
    assert response.status_code == 409
    db.expire_all()
    assert db.scalars(select(Booking)).all() == []


def test_dead_record_system_falls_back_and_syncs_after_restart(soap, db, client, login, app, short_deadlines):
    clinic = remote_clinic(
        db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config(), fallback=True
    )
    login(client)
    soap.stop()
    started = time.monotonic()
    listing = client.get(
        f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAK20&from={bookable_day()}&to={bookable_day()}"
    ).get_json()
    assert time.monotonic() - started < 3
    assert listing["source"] == "fallback"
    assert all(s["id"].startswith("fb:") for s in listing["slots"])
    assert listing["slots"][0]["local_start"][11:16] == "16:00"
    booked = book(client, clinic.hsa_id, listing["slots"][0]["id"], key="fallback-key-1")
    assert booked.status_code == 201
    booking = booked.get_json()
    assert booking["status"] == "pending_sync"
    assert client.get("/api/v1/bookings").get_json()["bookings"][0]["status"] == "pending_sync"

    assert sync_due(app).postponed == 1  # still down: the job waits, nothing is lost
    soap.start()
    time.sleep(0.3)  # let the breaker half-open
    report = sync_due(app)
    assert (report.synced, report.conflicts) == (1, 0)
    db.expire_all()
    stored = db.get(Booking, booking["id"])
    assert stored.status == "booked" and stored.timebook == "riv-crm-scheduling" and stored.external_id
    schedule = get_adapter("riv-crm-scheduling", soap.adapter_config()).subject_schedule(
        ClinicRef(clinic.hsa_id), Subject(ref="t", personal_number="191212121212")
    )
    assert [b.slot.start.isoformat() for b in schedule] == [booking["start"]]
    assert sync_due(app).handled_job_ids == []  # done once, never again


def test_sync_refusal_becomes_a_visible_conflict(soap, db, client, login, app, short_deadlines) -> None:
    clinic = remote_clinic(
        db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config(), fallback=True
    )
    login(client)
    remote_slot = next(
        s for s in free_slots(client, clinic.hsa_id, slot_type="LAK20") if s["local_start"][11:16] == "16:00"
    )
    soap.stop()
    stale = book(client, clinic.hsa_id, remote_slot["id"], key="stale-key-1")  # listed just before the outage
    assert (
        stale.status_code == 503
        and "reserve times"
        in client.post(
            "/api/v1/bookings",
            json={"clinic": clinic.hsa_id, "slot_id": remote_slot["id"], "idempotency_key": "stale-key-2"},
            headers={"Accept-Language": "en"},
        ).get_json()["message"]
    )
    booking = _book_first(client, clinic, "fallback-key-2")
    assert booking["start"] == remote_slot["start"] and booking["status"] == "pending_sync"
    soap.start()
    # Someone at the clinic's desk books the same time in the record system meanwhile.
    get_adapter("riv-crm-scheduling", soap.adapter_config()).make_booking(
        ClinicRef(clinic.hsa_id),
        remote_slot["id"],
        Subject(ref="desk", personal_number="198112189876", given_name="Anna", family_name="Lindqvist"),
    )
    time.sleep(0.3)
    report = sync_due(app)
    assert report.conflicts == 1
    db.expire_all()
    assert db.get(Booking, booking["id"]).status == "conflict"
    job = db.scalar(select(SyncJob))
    assert job.state == "conflict" and job.last_error
    assert "booking.conflict" in set(db.scalars(select(AuditEvent.action)))
    shown = client.get("/api/v1/bookings").get_json()["bookings"]
    assert [b["status"] for b in shown] == ["conflict"]


def test_crash_after_the_remote_write_is_adopted_not_booked_twice(
    soap, db, client, login, app, short_deadlines
):
    clinic = remote_clinic(
        db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config(), fallback=True
    )
    login(client)
    soap.stop()
    booking = _book_first(client, clinic, "fallback-key-3")
    soap.start()
    tolvan = Subject(ref="t", personal_number="191212121212", given_name="Tolvan", family_name="Tolvansson")
    adapter = get_adapter("riv-crm-scheduling", soap.adapter_config())
    start = datetime.fromisoformat(booking["start"])
    remote_slot = adapter.available_slots(
        ClinicRef(clinic.hsa_id), "LAK20", start, start + timedelta(minutes=1)
    )[0]
    # A worker wrote the booking, then died before recording it.
    adapter.make_booking(ClinicRef(clinic.hsa_id), remote_slot.id, tolvan)
    time.sleep(0.3)
    assert sync_due(app).synced == 1
    schedule = adapter.subject_schedule(ClinicRef(clinic.hsa_id), tolvan)
    assert len([b for b in schedule if b.slot.start.isoformat() == booking["start"]]) == 1


def test_cancelling_a_booking_waiting_for_sync_drops_the_job(soap, db, client, login, app, short_deadlines):
    clinic = remote_clinic(
        db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config(), fallback=True
    )
    login(client)
    soap.stop()
    booking = _book_first(client, clinic, "fallback-key-4")
    assert client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}).status_code == 200
    soap.start()
    time.sleep(0.3)
    assert sync_due(app).handled_job_ids == []
    db.expire_all()
    assert db.scalar(select(SyncJob.state)) == "cancelled"


def test_federated_search_marks_slow_and_dead_clinics_within_the_deadline(
    soap, fhir, db, client, create_clinic, app, short_deadlines
) -> None:
    create_clinic(hsa_id="SE2321000016-LOCAL", slot_type="LAK20")
    remote_clinic(db, "SE2321000016-FHIR", "fhir-r4", fhir.adapter_config())
    remote_clinic(db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config())
    dead = RivSoapSimulator([simple_facility("SE2321000016-DEAD", time_type_id="LAK20")])
    dead.start()
    remote_clinic(db, "SE2321000016-DEAD", "riv-crm-scheduling", dead.adapter_config())
    dead.stop()
    soap.latency = 3.0  # far beyond the one-second federated deadline

    started = time.monotonic()
    answer = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
    elapsed = time.monotonic() - started

    statuses = {c["hsa_id"]: c["status"] for c in answer["clinics"]}
    assert statuses == {
        "SE2321000016-LOCAL": "ok",
        "SE2321000016-FHIR": "ok",
        "SE2321000016-SOAP": "slow",
        "SE2321000016-DEAD": "unavailable",
    }
    assert elapsed < 3.0, f"federated search took {elapsed:.2f} s"  # the deadline is 1 s
    starts = [t["start"] for t in answer["times"]]
    assert starts == sorted(starts) and {t["clinic"]["hsa_id"] for t in answer["times"]} <= {
        "SE2321000016-LOCAL",
        "SE2321000016-FHIR",
    }
    soap.latency = 0.0


def test_the_federated_deadline_counts_from_the_start_of_the_search(
    soap, db, client, app, short_deadlines, monkeypatch
) -> None:
    """Reading a large region's clinics takes a while before any record system is asked. The
    citizen waits for that too, so it comes out of the one-second deadline."""
    remote_clinic(db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config())
    reading = search.clinics_offering

    def a_slow_region(*args, **kwargs):
        time.sleep(0.6)
        return reading(*args, **kwargs)

    monkeypatch.setattr(search, "clinics_offering", a_slow_region)
    soap.latency = 3.0  # far beyond the deadline
    try:
        started = time.monotonic()
        answer = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
        elapsed = time.monotonic() - started
    finally:
        soap.latency = 0.0
    assert {c["hsa_id"]: c["status"] for c in answer["clinics"]} == {"SE2321000016-SOAP": "slow"}
    # Counted from the first call to a record system, the answer would come after 1.6 s.
    assert elapsed < 1.35, f"federated search took {elapsed:.2f} s"


def test_federated_search_asks_a_record_system_for_the_first_times_only(
    fhir, db, client, app, monkeypatch
) -> None:
    clinic = patient_fhir_clinic(db, fhir)
    monkeypatch.setitem(app.config, "FEDERATED_DEADLINE_SECONDS", 20.0)
    answer = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
    searched = [r for r in fhir.requests if r["path"] in ("/fhir/Slot", "/fhir")]
    # One sorted search for a page of few: the first three times, not every time of the days searched.
    assert len(searched) == 1 and ("_sort", "start") in searched[0]["args"]
    assert int(dict(searched[0]["args"])["_count"]) <= 10
    own = get_adapter("fhir-r4", fhir.adapter_config())
    try:
        start = utc_now()
        full = own.available_slots(ClinicRef(clinic.hsa_id), "LAK20", start, start + timedelta(days=2))
    finally:
        own.close()
    assert len(full) > 3 and [t["start"] for t in answer["times"]] == [s.start.isoformat() for s in full[:3]]


def test_federated_search_asks_the_slowest_record_systems_first(
    soap, fhir, db, client, app, monkeypatch
) -> None:
    from hub.booking import search
    from hub.booking.cache import SlotCache

    generous = {"deadline_seconds": 10.0}
    slow = remote_clinic(
        db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config(), resilience=generous
    )
    quick = remote_clinic(db, "SE2321000016-FHIR", "fhir-r4", fhir.adapter_config(), resilience=generous)
    app.extensions["hub.slot_cache"] = SlotCache(0)  # every search asks every record system
    orders: list[list[int]] = []

    def recording_fan_out(calls, deadline, **kwargs):
        orders.append(list(calls))
        return fan_out(calls, deadline, **kwargs)

    fan_out = search.fan_out
    monkeypatch.setattr(search, "fan_out", recording_fan_out)
    monkeypatch.setitem(app.config, "FEDERATED_DEADLINE_SECONDS", 20.0)
    soap.latency = 0.3
    for _ in range(2):
        answer = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
        assert [c["status"] for c in answer["clinics"]] == ["ok", "ok"]
    assert orders[-1] == [slow.id, quick.id]  # the slow one took longer last time
    newcomer = remote_clinic(db, "SE2321000016-NEW1", "fhir-r4", fhir.adapter_config(), resilience=generous)
    db.commit()
    client.get("/api/v1/search/first-free?slot_type=LAK20")
    assert orders[-1] == [newcomer.id, slow.id, quick.id]  # never asked: it may be the slowest
    soap.latency = 0.0


def test_federated_search_answers_from_cache_until_a_booking(
    fhir, db, client, login, app, monkeypatch
) -> None:
    # Generous deadlines: this is about the cache, and a loaded machine must not make it "slow".
    monkeypatch.setitem(app.config, "FEDERATED_DEADLINE_SECONDS", 20.0)
    clinic = patient_fhir_clinic(db, fhir)
    login(client)
    first_answer = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
    assert [c["status"] for c in first_answer["clinics"]] == ["ok"]  # answered, so it was cached
    asked = len(fhir.requests)
    again = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
    assert len(fhir.requests) == asked  # answered from the cache
    first = again["times"][0]
    assert book(client, clinic.hsa_id, first["id"], key="cache-key-1").status_code == 201
    after = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
    assert len(fhir.requests) > asked and after["times"][0]["start"] != first["start"]


@pytest.fixture
def reloads(app, monkeypatch) -> tuple[list[float], threading.Event]:
    """A fake clock for the free-time cache, and an event set when a background reload ends."""
    from hub.booking.cache import SlotCache
    from hub.booking.operations import RecordSystemQuery

    monkeypatch.setitem(app.config, "FEDERATED_DEADLINE_SECONDS", 20.0)
    now = [1000.0]
    monkeypatch.setitem(app.extensions, "hub.slot_cache", SlotCache(30.0, clock=lambda: now[0]))
    reloaded = threading.Event()
    reload = RecordSystemQuery.refresh

    def refresh(query: RecordSystemQuery, claim) -> None:
        try:
            reload(query, claim)
        finally:
            reloaded.set()

    monkeypatch.setattr(RecordSystemQuery, "refresh", refresh)
    return now, reloaded


def first_free(client) -> dict:
    return client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()


def test_a_busy_regions_search_keeps_its_answers_warm_in_the_background(fhir, db, client, reloads) -> None:
    now, reloaded = reloads
    patient_fhir_clinic(db, fhir)
    first = first_free(client)
    assert [c["status"] for c in first["clinics"]] == ["ok"] and first["times"]
    asked = len(fhir.requests)
    now[0] += 25.0  # the answer's last third: read from the cache, and reloaded behind it
    assert first_free(client)["times"] == first["times"]
    assert reloaded.wait(10) and len(fhir.requests) > asked
    asked = len(fhir.requests)
    now[0] += 10.0  # the first answer has expired; the reloaded one serves
    later = first_free(client)
    assert len(fhir.requests) == asked
    assert [c["status"] for c in later["clinics"]] == ["ok"] and later["times"] == first["times"]


def test_reloads_do_not_wait_for_the_search_workers(fhir, db, client, app, reloads) -> None:
    """In a large region one search claims hundreds of reloads: they must not hold the workers
    that the next searches' own calls need, nor queue behind them."""
    now, reloaded = reloads
    patient_fhir_clinic(db, fhir)
    assert first_free(client)["times"]
    released = threading.Event()
    busy = CallPool(1, "busy-search")
    busy.submit(released.wait, 30)  # the only search worker waits, as on a hanging system
    app.extensions["hub.federated_pool"] = busy
    try:
        now[0] += 25.0
        assert first_free(client)["times"]
        assert reloaded.wait(10)  # reloaded although no search worker was free
    finally:
        released.set()
        busy.shutdown()
        app.extensions.pop("hub.federated_pool")


def test_cached_answers_are_given_while_every_search_worker_waits_on_slow_systems(
    fhir, db, client, app, monkeypatch
) -> None:
    patient_fhir_clinic(db, fhir)
    monkeypatch.setitem(app.config, "FEDERATED_DEADLINE_SECONDS", 20.0)
    fresh = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
    assert [c["status"] for c in fresh["clinics"]] == ["ok"] and fresh["times"]

    app.config["FEDERATED_DEADLINE_SECONDS"] = 1.0
    released = threading.Event()
    busy = CallPool(1, "busy-search")
    busy.submit(released.wait, 30)  # the only worker waits, as on a record system that hangs
    app.extensions["hub.federated_pool"] = busy
    try:
        again = client.get("/api/v1/search/first-free?slot_type=LAK20").get_json()
    finally:
        released.set()
        busy.shutdown()
        app.extensions.pop("hub.federated_pool")
    assert [c["status"] for c in again["clinics"]] == ["ok"]
    assert again["times"] == fresh["times"]


def test_a_cached_answer_serves_later_searches_without_the_times_that_began_since(fhir, db, app) -> None:
    clinic = remote_clinic(db, "SE2321000016-FHIR", "fhir-r4", fhir.adapter_config())
    loaded_at = utc_now() + timedelta(hours=1)
    times = [loaded_at, loaded_at + timedelta(minutes=1), loaded_at + timedelta(minutes=7)]
    slots = [Slot(f"s{n}", clinic.hsa_id, "LAK20", t, t + timedelta(minutes=20)) for n, t in enumerate(times)]
    end = loaded_at + timedelta(days=3)
    with app.test_request_context():
        first = record_system_query(clinic, "LAK20", loaded_at, end)
        slot_cache(app).get_or_load(
            clinic.id, first._key, lambda: (loaded_at, slots)
        )  # as a search stores it
        # Searches a little later, also in the next minute, share it (no full refresh every minute).
        for seconds in (30, 90):
            later = record_system_query(clinic, "LAK20", loaded_at + timedelta(seconds=seconds), end)
            assert [s.id for s in later.cached() or []] == ["s1", "s2"][seconds // 60 :]
            assert [s.id for s in later()] == ["s1", "s2"][seconds // 60 :]
        assert len(fhir.requests) == 0
        # A search from before the cached answer's start cannot use it: the record system is asked.
        earlier = record_system_query(clinic, "LAK20", loaded_at - timedelta(minutes=30), end)
        assert earlier.cached() is None
        assert "s0" not in {s.id for s in earlier()} and len(fhir.requests) > 0


def test_a_cached_first_few_times_serve_a_later_search_only_while_enough_remain(fhir, db, app) -> None:
    clinic = remote_clinic(db, "SE2321000016-FHIR", "fhir-r4", fhir.adapter_config())
    loaded_at = utc_now() + timedelta(hours=1)
    times = [loaded_at + timedelta(minutes=m) for m in (0, 10, 20)]
    slots = [Slot(f"s{n}", clinic.hsa_id, "LAK20", t, t + timedelta(minutes=10)) for n, t in enumerate(times)]
    end = loaded_at + timedelta(days=3)
    with app.test_request_context():
        first = record_system_query(clinic, "LAK20", loaded_at, end, limit=2)
        assert first._key != record_system_query(clinic, "LAK20", loaded_at, end)._key  # not the full listing
        # A first-three search stored three times: the window's fourth may come right after them.
        three = record_system_query(clinic, "LAK20", loaded_at, end, limit=3)
        slot_cache(app).get_or_load(clinic.id, three._key, lambda: (loaded_at, slots))
        assert [s.id for s in three.cached() or []] == ["s0", "s1", "s2"]
        after_first = record_system_query(clinic, "LAK20", loaded_at + timedelta(minutes=5), end, limit=3)
        assert after_first.cached() is None  # two left of three: the record system is asked
        # Fewer times than asked for are every time the window has: they serve later searches too.
        slot_cache(app).get_or_load(clinic.id, first._key, lambda: (loaded_at, slots[:1]))
        later = record_system_query(clinic, "LAK20", loaded_at + timedelta(minutes=5), end, limit=2)
        assert later.cached() == []
        assert len(fhir.requests) == 0
        assert [s.start for s in after_first()] == sorted(s.start for s in after_first())
        assert len(fhir.requests) > 0 and len(after_first()) <= 3


def test_health_of_each_record_system_is_visible(soap, db, client, app, short_deadlines) -> None:
    from hub.booking.timebooks import health_board

    clinic = remote_clinic(db, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config())
    assert len(free_slots(client, clinic.hsa_id, slot_type="LAK20")) > 0
    soap.stop()
    response = client.get(f"/api/v1/clinics/{clinic.hsa_id}/slots?slot_type=LAK20")
    assert response.status_code == 503
    health = health_board(app).clinic(clinic.hsa_id)
    assert health.last_success is not None and health.last_error is not None
    assert health.breaker == "open" and health.last_success < utc_now() + timedelta(seconds=1)


def test_a_record_systems_parsed_contract_is_left_out_of_full_collections(soap, app) -> None:
    """A WSDL's object graph lives as long as the process; the collector must not walk it again
    and again (a 100-160 ms pause of every thread at 100 clinics, bench/federated_search.py)."""
    import gc

    from hub.booking.timebooks import Connection, connect

    before = gc.get_freeze_count()
    with app.app_context():
        connection = Connection(9001, "SE2321000016-SOAP", "riv-crm-scheduling", soap.adapter_config())
        adapter = connect(app, connection)
    assert gc.get_freeze_count() > before
    gc.collect()
    assert not any(o is adapter for o in gc.get_objects())  # frozen: in no generation the collector walks


def test_an_adapter_replaced_by_a_configuration_change_is_closed_once_its_requests_are_done(
    fhir, app, monkeypatch
) -> None:
    """Kept-alive connections to a record system's old address must not stay open for ever."""
    import hub.booking.timebooks as timebooks

    monkeypatch.setattr(timebooks, "RETIRE_AFTER_SECONDS", 0.3)
    config = fhir.adapter_config()
    with app.app_context():
        old = timebooks.connect(app, timebooks.Connection(9002, "SE2321000016-FHIR", "fhir-r4", config))
        assert old.list_time_types(ClinicRef("SE2321000016-FHIR"))  # opens a kept connection
        closed: list[float] = []
        close = old.inner.close
        monkeypatch.setattr(old.inner, "close", lambda: (closed.append(time.monotonic()), close()))
        changed = {**config, "resilience": {"deadline_seconds": 2.0}}
        replaced_at = time.monotonic()
        new = timebooks.connect(app, timebooks.Connection(9002, "SE2321000016-FHIR", "fhir-r4", changed))
    assert new is not old
    assert not closed  # a request that took it a moment ago may still be using it
    assert old.list_time_types(ClinicRef("SE2321000016-FHIR"))
    deadline = time.monotonic() + 10
    while not closed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert closed and closed[0] - replaced_at >= 0.3
    assert new.list_time_types(ClinicRef("SE2321000016-FHIR"))
