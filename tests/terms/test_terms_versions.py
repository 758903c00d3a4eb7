"""Terms versions: four eyes, immutable once approved, the current version, acceptances."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

import terms

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POINTS = {"sv": ["Kom i tid"], "en": ["Be on time"], "de": ["Seien Sie pünktlich"]}
CLINIC = "SE2321000016-ABCD"


def test_the_author_cannot_approve_their_own_version(db) -> None:
    version = terms.save_draft(db, CLINIC, "book", POINTS, author_key="anna", now=NOW)
    with pytest.raises(terms.SelfApproval):
        terms.approve(db, version, approver_key="anna", now=NOW)
    assert terms.current(db, CLINIC, "book") is None
    terms.approve(db, version, approver_key="bert", now=NOW)
    assert terms.current(db, CLINIC, "book").number == 1


def test_the_database_refuses_a_self_approved_row_too(db) -> None:
    version = terms.save_draft(db, CLINIC, "book", POINTS, author_key="anna", now=NOW)
    version.approved_by, version.approved_at = "anna", NOW
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_an_approved_version_never_changes_and_a_new_draft_is_the_next_number(db) -> None:
    first = terms.save_draft(db, CLINIC, "book", POINTS, author_key="anna", now=NOW)
    terms.approve(db, first, approver_key="bert", now=NOW)
    with pytest.raises(terms.NotEditable):
        terms.approve(db, first, approver_key="carl", now=NOW)
    second = terms.save_draft(db, CLINIC, "book", {**POINTS, "sv": ["Ny text"]}, author_key="bert", now=NOW)
    assert (second.number, first.points["sv"]) == (2, ["Kom i tid"])
    # Whoever edits the waiting draft becomes its author, so they cannot approve it either.
    again = terms.save_draft(db, CLINIC, "book", POINTS, author_key="anna", now=NOW)
    assert again.id == second.id and again.author_key == "anna"
    with pytest.raises(terms.SelfApproval):
        terms.approve(db, again, approver_key="anna", now=NOW)
    assert terms.current(db, CLINIC, "book").number == 1  # only approved versions are shown


def test_a_new_approved_version_needs_a_new_acceptance(db) -> None:
    assert terms.has_accepted(db, CLINIC, "book", "citizen-1")  # nothing to accept yet
    first = terms.save_draft(db, CLINIC, "book", POINTS, author_key="anna", now=NOW)
    terms.approve(db, first, approver_key="bert", now=NOW)
    assert not terms.has_accepted(db, CLINIC, "book", "citizen-1")
    acceptance = terms.accept(db, CLINIC, "book", 1, citizen_ref="citizen-1", now=NOW)
    assert (acceptance.version.number, acceptance.citizen_ref, acceptance.accepted_at) == (
        1,
        "citizen-1",
        NOW,
    )
    assert terms.has_accepted(db, CLINIC, "book", "citizen-1")
    second = terms.save_draft(db, CLINIC, "book", POINTS, author_key="anna", now=NOW)
    terms.approve(db, second, approver_key="bert", now=NOW)
    assert not terms.has_accepted(db, CLINIC, "book", "citizen-1")
    with pytest.raises(terms.NotCurrent):
        terms.accept(db, CLINIC, "book", 1, citizen_ref="citizen-1", now=NOW)
    terms.accept(db, CLINIC, "book", 2, citizen_ref="citizen-1", now=NOW)
    assert terms.has_accepted(db, CLINIC, "book", "citizen-1")
    assert terms.has_accepted(db, CLINIC, "rebook_cancel", "citizen-1")  # per case type


def test_points_are_required_in_every_language(db) -> None:
    with pytest.raises(terms.InvalidPoints) as refused:
        terms.save_draft(db, CLINIC, "book", {"sv": ["Kom i tid"], "en": ["  "]}, author_key="a", now=NOW)
    assert refused.value.problems == {"en": "missing", "de": "missing"}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<script>alert(1)</script>Kom i tid", "Kom i tid"),
        ('<img src=x onerror="alert(1)">Ta med legitimation', "Ta med legitimation"),
        ("<b>Fet</b> & <i>kursiv</i>", "Fet & kursiv"),
        ("a < b och c > d", "a < b och c > d"),
        ("<a href='javascript:alert(1)'>klicka</a>", "klicka"),
        ("rad\u0000med\u200bkontroll", "radmedkontroll"),
    ],
)
def test_clinic_text_loses_every_tag(raw: str, clean: str) -> None:
    assert terms.clean_point(raw) == clean


def test_the_demo_terms_seed_once(db) -> None:
    from hub.admin.demo_seed import seed_demo_terms

    assert seed_demo_terms(db, CLINIC) is True
    assert seed_demo_terms(db, CLINIC) is False
    assert terms.current(db, CLINIC, "book").number == 1
