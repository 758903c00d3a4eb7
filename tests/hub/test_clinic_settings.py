"""Each process keeps a clinic's booking settings; a change anywhere reaches the next booking."""

from __future__ import annotations

from booking_helpers import book, free_slots
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import CaseType, Clinic, ClinicCaseType, ClinicSlotType


def _stamp(session: Session, hsa_id: str) -> str:
    stamp = session.scalar(select(Clinic.settings_stamp).where(Clinic.hsa_id == hsa_id))
    session.commit()
    return stamp


def test_online_booking_switched_off_elsewhere_refuses_the_next_attempt(
    client, login, create_clinic, elsewhere
):
    clinic = create_clinic(capacity=3)
    login(client)
    slots = free_slots(client, clinic.hsa_id)
    assert book(client, clinic.hsa_id, slots[0]["id"], key="key-first-0001").status_code == 201

    switch = elsewhere.scalar(
        select(ClinicCaseType).where(
            ClinicCaseType.clinic_id == clinic.id, ClinicCaseType.case_type == "book"
        )
    )
    switch.enabled = False
    elsewhere.commit()
    refused = book(client, clinic.hsa_id, slots[1]["id"], key="key-second-001")
    assert (refused.status_code, refused.get_json()["code"]) == (422, "not_allowed")

    switch.enabled = True
    elsewhere.commit()
    assert book(client, clinic.hsa_id, slots[1]["id"], key="key-third-0001").status_code == 201


def test_a_slot_type_hidden_elsewhere_cannot_be_booked(client, login, create_clinic, elsewhere) -> None:
    clinic = create_clinic()
    login(client)
    first, second = free_slots(client, clinic.hsa_id)[:2]
    assert book(client, clinic.hsa_id, first["id"], key="key-first-0001").status_code == 201  # kept now
    elsewhere.scalar(select(ClinicSlotType).where(ClinicSlotType.clinic_id == clinic.id)).visible = False
    elsewhere.commit()
    assert book(client, clinic.hsa_id, second["id"], key="key-second-001").status_code == 404


def test_a_clinic_closed_for_the_hub_elsewhere_is_not_found(client, login, create_clinic, elsewhere) -> None:
    clinic = create_clinic()
    login(client)
    first, second = free_slots(client, clinic.hsa_id)[:2]
    assert book(client, clinic.hsa_id, first["id"], key="key-first-0001").status_code == 201  # kept now
    elsewhere.get(Clinic, clinic.id).active = False
    elsewhere.commit()
    assert book(client, clinic.hsa_id, second["id"], key="key-second-001").status_code == 404


def test_settings_edits_change_the_stamp_and_bookings_do_not(client, login, create_clinic, elsewhere) -> None:
    clinic = create_clinic(case_types=(CaseType.BOOK,))
    login(client)
    before = _stamp(elsewhere, clinic.hsa_id)
    assert book(client, clinic.hsa_id, free_slots(client, clinic.hsa_id)[0]["id"]).status_code == 201
    assert _stamp(elsewhere, clinic.hsa_id) == before

    elsewhere.add(ClinicCaseType(clinic_id=clinic.id, case_type=CaseType.REBOOK_CANCEL, enabled=True))
    elsewhere.commit()
    assert _stamp(elsewhere, clinic.hsa_id) != before


def _plan_nodes(node: dict) -> list[dict]:
    return [node, *(n for child in node.get("Plans", []) for n in _plan_nodes(child))]


def test_the_booking_context_reads_one_acceptance_whatever_the_plan(app, db, create_clinic) -> None:
    """A prepared statement runs on a generic plan after a few executions: the citizen's
    acceptance must still be found by both columns of its key, not among everyone's (a rush has
    as many acceptances as citizens)."""
    import re
    import uuid
    from datetime import UTC, datetime

    import pytest
    from sqlalchemy import text

    import terms.models as terms
    from hub.booking.clinic_settings import _CONTEXT
    from standalone_calendar.seats import SeatProbe

    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    clinic = create_clinic()
    now = datetime.now(UTC)
    version = terms.TermsVersion(
        clinic_key=clinic.hsa_id,
        case_type="book",
        number=1,
        points={"sv": ["x"]},
        author_key="a",
        created_at=now,
        updated_at=now,
        approved_by="b",
        approved_at=now,
    )
    db.add(version)
    db.flush()
    citizens = [str(uuid.uuid4()) for _ in range(300)]
    db.add_all(terms.Acceptance(version_id=version.id, citizen_ref=c, accepted_at=now) for c in citizens)
    db.commit()
    db.execute(text("ANALYZE terms_acceptance"))
    for by in ("id", "lookup_key", "session"):
        sql = str(_CONTEXT[by].statement.compile(dialect=db.get_bind().dialect))
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        for n, name in enumerate(names, 1):
            sql = sql.replace(f"%({name})s", f"${n}")
        values = {"idempotency_key": "k", "citizen": citizens[7], "case_type": "book"}
        values["hsa_id"] = clinic.hsa_id
        values.update(SeatProbe.no_params())  # no calendar time asked about
        args = ", ".join(
            "1" if name not in values else "NULL" if values[name] is None else f"'{values[name]}'"
            for name in names
        )
        db.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        db.connection().exec_driver_sql(f"PREPARE context_{by} AS {sql}".replace("%%", "%"))
        plan = db.connection().exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE context_{by}({args})")
        nodes = _plan_nodes(plan.scalar()[0]["Plan"])
        db.rollback()
        read = [node["Actual Rows"] for node in nodes if node.get("Relation Name") == "terms_acceptance"]
        assert read and max(read) <= 1, (by, read)
        assert all(node.get("Rows Removed by Join Filter", 0) <= 1 for node in nodes), by
